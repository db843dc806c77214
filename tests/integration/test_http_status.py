"""``GET /pulp/api/v3/status/`` and the JSON error shape, over real HTTP against a real database."""

from __future__ import annotations

import datetime
import io
from collections.abc import AsyncIterator
from importlib import metadata

import asyncpg
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from pulp2to3 import database
from pulp2to3.http import app as http_app
from pulp2to3.http.errors import APIError
from pulp2to3.queue.application import STALLED_AFTER
from pulp2to3.settings import Settings, load_settings
from tests.http_support import Client, client_for

STATUS = "/pulp/api/v3/status/"
# aiohttp's default client_max_size
AIOHTTP_MAX_BODY = 1024**2


def settings_for(url: str) -> Settings:
    return load_settings({"PULP2TO3_DATABASE_URL": url})


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    async with client_for(http_app.init(settings_for(db_url), pool), authenticated=False) as client:
        yield client


async def get_status(client: Client) -> dict[str, object]:
    response = await client.get(STATUS)
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body, dict)
    return body


async def defer_jobs(connection: asyncpg.Connection, count: int) -> list[int]:
    """Queue ``count`` jobs through Procrastinate's own SQL function."""
    ids: list[int] = await connection.fetchval(
        "SELECT procrastinate_defer_jobs_v1(array_agg("
        "  ROW('default', 'tests.record', 0, NULL, NULL, '{}'::jsonb, NULL)"
        "  ::procrastinate_job_to_defer_v1))"
        "  FROM generate_series(1, $1)",
        count,
    )
    return ids


async def register_worker(connection: asyncpg.Connection) -> int:
    worker_id: int = await connection.fetchval("SELECT procrastinate_register_worker_v1()")
    return worker_id


def parse_rfc3339(text: str) -> datetime.datetime:
    assert text.endswith("Z")
    moment = datetime.datetime.fromisoformat(text)
    assert moment.utcoffset() == datetime.timedelta(0)
    return moment


async def test_status_lists_the_versions(client: Client, pool: asyncpg.Pool) -> None:
    body = await get_status(client)
    async with pool.acquire() as connection:
        server_version = await connection.fetchval("SHOW server_version")
    assert body["versions"] == [
        {"component": "pulp2to3", "version": metadata.version("pulp2to3")},
        {"component": "procrastinate", "version": metadata.version("procrastinate")},
        {"component": "postgresql", "version": server_version},
    ]
    assert body["database_connection"] == {"connected": True}


async def test_an_empty_queue_has_no_workers_and_no_tasks(client: Client) -> None:
    body = await get_status(client)
    assert body["online_workers"] == []
    assert body["tasks"] == {"queued": 0, "running": 0}


async def test_status_needs_no_authentication_and_answers_head(client: Client) -> None:
    response = await client.head(STATUS)
    assert response.status == 200


async def test_workers_with_a_fresh_heartbeat_are_online(
    client: Client, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as connection:
        fresh = await register_worker(connection)
        stale = await register_worker(connection)
        await connection.execute(
            "UPDATE procrastinate_workers"
            " SET last_heartbeat = now() - make_interval(secs => $2) WHERE id = $1",
            stale,
            STALLED_AFTER + 5,
        )
        heartbeat = await connection.fetchval(
            "SELECT last_heartbeat FROM procrastinate_workers WHERE id = $1", fresh
        )
    body = await get_status(client)
    workers = body["online_workers"]
    assert isinstance(workers, list)
    assert [worker["name"] for worker in workers] == [f"worker-{fresh}"]
    assert parse_rfc3339(workers[0]["last_heartbeat"]) == heartbeat


async def test_queued_and_running_tasks_are_counted(client: Client, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await defer_jobs(connection, 3)
        worker_id = await register_worker(connection)
        # A worker takes one job, the way Procrastinate's workers do.
        fetched = await connection.fetchrow(
            "SELECT * FROM procrastinate_fetch_job_v2(NULL, $1)", worker_id
        )
        assert fetched is not None
        assert fetched["status"] == "doing"
        # Finished jobs are neither queued nor running.
        [finished] = await defer_jobs(connection, 1)
        await connection.execute(
            "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = $1", finished
        )
    body = await get_status(client)
    assert body["tasks"] == {"queued": 2, "running": 1}
    workers = body["online_workers"]
    assert isinstance(workers, list)
    assert [worker["name"] for worker in workers] == [f"worker-{worker_id}"]


def assert_unreachable(body: dict[str, object]) -> None:
    assert body["database_connection"] == {"connected": False}
    assert body["online_workers"] == []
    assert body["tasks"] == {"queued": None, "running": None}
    assert body["versions"] == [
        {"component": "pulp2to3", "version": metadata.version("pulp2to3")},
        {"component": "procrastinate", "version": metadata.version("procrastinate")},
        {"component": "postgresql", "version": None},
    ]


async def test_a_closed_pool_reports_not_connected(db_url: str) -> None:
    closed = await database.create_pool(db_url, min_size=1, max_size=2)
    await closed.close()
    with capture_logs() as logs:
        async with client_for(
            http_app.init(settings_for(db_url), closed), authenticated=False
        ) as client:
            assert_unreachable(await get_status(client))
    assert [entry["event"] for entry in logs] == ["status_database_unreachable"]


async def test_a_server_that_refuses_connections_reports_not_connected(
    unused_tcp_port: int,
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{unused_tcp_port}/postgres"
    # min_size=0: the pool opens no connection until a request needs one.
    refusing = await database.create_pool(url, min_size=0, max_size=2)
    try:
        async with client_for(
            http_app.init(settings_for(url), refusing), authenticated=False
        ) as client:
            assert_unreachable(await get_status(client))
    finally:
        await refusing.close()


async def test_an_unknown_path_is_a_json_404(client: Client) -> None:
    for path in ("/pulp/api/v3/nothing-here/", "/nothing-here", "/pulp/api/v3/status"):
        response = await client.get(path)
        assert response.status == 404, path
        assert response.content_type == "application/json"
        assert await response.json() == {"detail": "Not found."}


async def test_a_wrong_method_is_a_json_405(client: Client) -> None:
    response = await client.delete(STATUS)
    assert response.status == 405
    assert response.content_type == "application/json"
    assert await response.json() == {"detail": 'Method "DELETE" not allowed.'}
    assert "GET" in response.headers["Allow"]


async def test_an_unhandled_exception_is_a_json_500_without_the_traceback(
    db_url: str, pool: asyncpg.Pool
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app = http_app.init(settings_for(db_url), pool)
    app.router.add_get("/broken/", broken)
    with capture_logs() as logs:
        async with client_for(app, authenticated=False) as client:
            response = await client.get("/broken/")
            assert response.status == 500
            assert response.content_type == "application/json"
            text = await response.text()
    assert "secret" not in text
    assert "Traceback" not in text
    assert await response.json() == {"detail": "Internal server error."}
    [entry] = [entry for entry in logs if entry["event"] == "http_unhandled_exception"]
    assert entry["log_level"] == "error"
    assert entry["exc_info"] is True
    assert entry["path"] == "/broken/"


async def raise_field_errors(request: web.Request) -> web.Response:
    raise APIError.field_errors({"plan": ["This field is required."]})


async def raise_conflict(request: web.Request) -> web.Response:
    raise APIError(409, "A migration is already running.")


async def read_too_much(request: web.Request) -> web.Response:
    await request.read()  # aiohttp raises its own 413 past client_max_size
    return web.json_response({})


@pytest.mark.parametrize(
    ("handler", "status", "body"),
    [
        (raise_field_errors, 400, {"plan": ["This field is required."]}),
        (raise_conflict, 409, {"detail": "A migration is already running."}),
        (read_too_much, 413, {"detail": "Request Entity Too Large."}),
    ],
)
async def test_errors_raised_by_handlers_and_aiohttp_are_json(
    db_url: str, pool: asyncpg.Pool, handler: object, status: int, body: object
) -> None:
    app = http_app.init(settings_for(db_url), pool)
    app.router.add_post("/raises/", handler)  # type: ignore[arg-type]
    async with client_for(app, authenticated=False) as client:
        # A body over the limit is refused (413) before any handler runs: only one reads it.
        size = AIOHTTP_MAX_BODY + 1 if handler is read_too_much else 1
        response = await client.post("/raises/", data=io.BytesIO(b"x" * size))
        assert response.status == status
        assert response.content_type == "application/json"
        assert await response.json() == body


async def test_null_characters_are_refused_before_they_reach_the_database(
    client: Client, pool: asyncpg.Pool
) -> None:
    """PostgreSQL's text and jsonb cannot hold NUL: a filter with one is a field error, a path
    with one leads nowhere, a body with one stores nothing."""
    response = await client.get("/pulp/api/v3/pulp2content/?pulp2_id=a%00b&limit=5")
    assert response.status == 400
    assert await response.json() == {"pulp2_id": ["Null characters are not allowed."]}
    for path in ("/pulp/content/a%00b/PULP_MANIFEST", "/pulp/api/v3/repositories/%00/"):
        response = await client.get(path)
        assert response.status == 404, path
        assert await response.json() == {"detail": "Not found."}
    for plan in ({"plugins": [{"type": "iso\u0000"}]}, {"plugins\u0000": []}):
        response = await client.post("/pulp/api/v3/migration-plans/", json={"plan": plan})
        assert response.status == 400
        assert await response.json() == {"detail": "Null characters are not allowed."}
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM migration_plan") == 0
