"""Plans, runs, reports and tasks over real HTTP against a real database (no worker here)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from pulp2to3.store.progress import Created, record_created
from pulp2to3.store.tasks import ResourceKind
from tests.http_support import Client, app_for, client_for

API = "/pulp/api/v3/"
PLAN = {"plugins": [{"type": "iso"}]}
STATUS_CHANGE_MESSAGE = (
    'A report accepts {"status": "canceled"}, {"status": "paused"} or {"status": "running"}'
    " (to resume a paused one)."
)


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    async with client_for(app_for(db_url, pool), authenticated=True) as client:
        yield client


async def call(
    client: Client, method: str, path: str, expected: int, body: Any = None, **kwargs: Any
) -> Any:
    response = await client.request(method, path, json=body, **kwargs)
    text = await response.text()
    assert response.status == expected, text
    if response.status == 204:
        return None
    assert response.content_type == "application/json"
    return json.loads(text)


async def new_plan(client: Client, plan: Any = PLAN) -> dict[str, Any]:
    created: dict[str, Any] = await call(
        client, "POST", f"{API}migration-plans/", 201, {"plan": plan}
    )
    return created


async def test_a_plan_is_created_read_listed_and_deleted(client: Client) -> None:
    created = await new_plan(client)
    assert created["plan"] == PLAN
    assert created["pulp_href"].startswith(f"{API}migration-plans/")
    assert created["pulp_created"].endswith("Z")
    assert await call(client, "GET", created["pulp_href"], 200) == created
    listed = await call(client, "GET", f"{API}migration-plans/", 200)
    assert listed == {"count": 1, "next": None, "previous": None, "results": [created]}
    await call(client, "DELETE", created["pulp_href"], 204)
    await call(client, "GET", created["pulp_href"], 404)
    await call(client, "DELETE", created["pulp_href"], 404)


async def test_a_plan_given_as_a_json_string_is_stored_as_an_object(client: Client) -> None:
    assert (await new_plan(client, json.dumps(PLAN)))["plan"] == PLAN


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"plan": "{not json"}, "The plan is not valid JSON"),
        ({"plan": [1]}, "The plan must be a JSON object."),
        ({"plan": {"plugins": []}}, "plan.plugins: [] should be non-empty"),
        ({"plan": {"plugins": [{"type": "iso"}, {"type": "iso"}]}}, "Plugin iso is listed more"),
        (
            {"plan": {"plugins": [{"type": "docker"}]}},
            "Migration of docker plugin is not supported.",
        ),
        (
            {"plan": {"plugins": [{"type": "iso", "repositories": [{"name": "x"}]}]}},
            "plan.plugins[0].repositories[0]: 'repository_versions' is a required property",
        ),
    ],
)
async def test_bad_plans_are_400_saying_what_and_where(
    client: Client, body: dict[str, Any], message: str
) -> None:
    errors = await call(client, "POST", f"{API}migration-plans/", 400, body)
    assert any(text.startswith(message) for text in errors["plan"]), errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{nope", "JSON parse error"),
        (b"[1, 2]", "Invalid data. Expected a JSON object."),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    client: Client, raw: bytes, expected: str
) -> None:
    response = await client.post(
        f"{API}migration-plans/", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["detail"].startswith(expected)


async def test_unknown_and_read_only_fields_are_400(client: Client) -> None:
    errors = await call(
        client, "POST", f"{API}migration-plans/", 400, {"plan": PLAN, "extra": 1, "pulp_href": "x"}
    )
    assert errors == {"extra": ["Unexpected field."], "pulp_href": ["This field is read-only."]}


async def test_run_creates_a_waiting_report_and_queues_the_migration_task(
    client: Client, pool: asyncpg.Pool
) -> None:
    plan = await new_plan(client)
    # What pulp-2to3-migration-client's MigrationPlanRun always sends.
    options = {"validate": True, "dry_run": False, "skip_corrupted": True}
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202, options)
    report = await call(client, "GET", started["report"], 200)
    assert {name: report[name] for name in options} == options
    assert report["status"] == "waiting"
    assert report["plan"] == plan["pulp_href"]
    assert report["task"] == started["task"]
    assert report["steps"] == []
    task = await call(client, "GET", started["task"], 200)
    assert task["name"] == "pulp2to3.migrate"
    assert task["state"] == "waiting"
    assert task["report"] == started["report"]
    assert task["step"] is None
    async with pool.acquire() as connection:
        job = await connection.fetchrow("SELECT status::text, args FROM procrastinate_jobs")
    assert job["status"] == "todo"
    assert job["args"] == {"migration_id": report["pulp_href"].rstrip("/").rsplit("/", 1)[-1]}


async def test_run_refuses_bad_flags_and_unknown_plans(client: Client) -> None:
    plan = await new_plan(client)
    errors = await call(client, "POST", plan["pulp_href"] + "run/", 400, {"validate": "yes"})
    assert errors == {"validate": ["Must be a valid boolean."]}
    errors = await call(client, "POST", plan["pulp_href"] + "run/", 400, {"skip_corrupted": 1})
    assert errors == {"skip_corrupted": ["Must be a valid boolean."]}
    errors = await call(client, "POST", plan["pulp_href"] + "run/", 400, {"fast": True})
    assert errors == {"fast": ["Unexpected field."]}
    unknown = f"{API}migration-plans/00000000-0000-0000-0000-000000000000/run/"
    await call(client, "POST", unknown, 404)
    await call(client, "POST", f"{API}migration-plans/not-a-uuid/run/", 404)


async def test_twenty_concurrent_runs_give_one_202_and_nineteen_409(client: Client) -> None:
    plan = await new_plan(client)

    async def run() -> int:
        response = await client.post(plan["pulp_href"] + "run/", json={})
        await response.read()
        return response.status

    statuses = await asyncio.gather(*(run() for _ in range(20)))
    assert sorted(statuses) == [202] + [409] * 19


async def test_a_plan_with_an_unfinished_migration_cannot_be_deleted(client: Client) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    await call(client, "DELETE", plan["pulp_href"], 409)
    await call(client, "PATCH", started["report"], 200, {"status": "canceled"})
    await call(client, "DELETE", plan["pulp_href"], 204)
    await call(client, "GET", started["report"], 404)


async def test_cancel_cancels_the_queued_task_then_the_report(
    client: Client, pool: asyncpg.Pool
) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    report = await call(client, "PATCH", started["report"], 200, {"status": "cancel"})
    assert report["status"] == "canceled"
    assert report["finished_at"] is not None
    task = await call(client, "GET", started["task"], 200)
    assert task["state"] == "canceled"
    async with pool.acquire() as connection:
        assert (
            await connection.fetchval("SELECT status::text FROM procrastinate_jobs") == "cancelled"
        )
    # A new run may start once the first is canceled.
    await call(client, "POST", plan["pulp_href"] + "run/", 202)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"status": "paused2"}, "status", STATUS_CHANGE_MESSAGE),
        ({"status": "completed"}, "status", STATUS_CHANGE_MESSAGE),
        ({"status": {}}, "status", STATUS_CHANGE_MESSAGE),
        ({"status": ["paused"]}, "status", STATUS_CHANGE_MESSAGE),
        ({}, "status", STATUS_CHANGE_MESSAGE),
        ({"status": "canceled", "colour": "red"}, "colour", "Unexpected field."),
        ({"status": "canceled", "error": "x"}, "error", "This field is read-only."),
    ],
)
async def test_patch_accepts_only_a_status_change(
    client: Client, body: dict[str, Any], field: str, message: str
) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    errors = await call(client, "PATCH", started["report"], 400, body)
    assert errors[field] == [message]
    assert (await call(client, "GET", started["report"], 200))["status"] == "waiting"


@pytest.mark.parametrize("change", ["canceled", "paused", "running"])
async def test_patch_on_a_finished_report_is_409(client: Client, change: str) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    await call(client, "PATCH", started["report"], 200, {"status": "canceled"})
    conflict = await call(client, "PATCH", started["report"], 409, {"status": change})
    assert conflict["detail"] == "This migration is finished: its status can no longer change."


@pytest.mark.parametrize("change", ["paused", "running"])
async def test_a_migration_not_started_yet_cannot_be_paused_or_resumed(
    client: Client, change: str
) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    conflict = await call(client, "PATCH", started["report"], 409, {"status": change})
    assert "not started" in conflict["detail"]
    assert (await call(client, "GET", started["report"], 200))["status"] == "waiting"
    await call(client, "PATCH", started["report"], 200, {"status": "canceled"})


async def test_reports_and_tasks_are_listed_and_filtered(client: Client) -> None:
    plan = await new_plan(client)
    first = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    await call(client, "PATCH", first["report"], 200, {"status": "canceled"})
    second = await call(client, "POST", plan["pulp_href"] + "run/", 202)

    waiting = await call(client, "GET", f"{API}migrationreport/?status=waiting", 200)
    assert [r["pulp_href"] for r in waiting["results"]] == [second["report"]]
    everything = await call(client, "GET", f"{API}migrationreport/?limit=1", 200)
    assert everything["count"] == 2
    assert everything["next"] is not None
    await call(client, "GET", f"{API}migrationreport/?status=bogus", 400)

    canceled = await call(client, "GET", f"{API}tasks/?state=canceled", 200)
    assert [t["pulp_href"] for t in canceled["results"]] == [first["task"]]
    migration_id = second["report"].rstrip("/").rsplit("/", 1)[-1]
    mine = await call(client, "GET", f"{API}tasks/?report={migration_id}", 200)
    assert [t["pulp_href"] for t in mine["results"]] == [second["task"]]
    await call(client, "GET", f"{API}tasks/?state=bogus", 400)
    # A filter pulpcore does not declare, or one not offered here (q), is refused; a value the
    # filter cannot take is a field error, never a server error.
    for refused in ("bogus=1", "q=state%3Dcompleted", "ordering=versions"):
        assert set(await call(client, "GET", f"{API}tasks/?{refused}", 400)) == {
            refused.split("=")[0]
        }
    for bad in ("started_at__lt=yesterday", "parent_task=abc", f"pulp_id__in={2**63}",
                "worker__isnull=maybe", "finished_at__range=2020-01-01"):  # fmt: skip
        assert set(await call(client, "GET", f"{API}tasks/?{bad}", 400)) == {bad.split("=")[0]}
    assert (await call(client, "GET", f"{API}tasks/?state__ne=canceled", 200))["count"] == 1
    await call(client, "GET", f"{API}tasks/999999/", 404)
    await call(client, "GET", f"{API}tasks/abc/", 404)
    await call(client, "GET", f"{API}tasks/{2**63}/", 404)  # past a job id (bigint)
    # The furthest page there can be is empty; one past it is a field error, not a crash.
    far = await call(client, "GET", f"{API}migrationreport/?offset={2**63 - 1}", 200)
    assert far["results"] == []
    await call(client, "GET", f"{API}migrationreport/?offset={2**63}", 400)
    await call(client, "GET", f"{API}migrationreport/not-a-uuid/", 404)


async def test_a_task_shows_the_hrefs_of_what_it_created(
    client: Client, pool: asyncpg.Pool
) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    job_id = int(started["task"].rstrip("/").rsplit("/", 1)[-1])
    async with pool.acquire() as connection:
        remote = await connection.fetchval(
            "INSERT INTO remote (pulp_type, name, url, policy)"
            " VALUES ('file.file', 'r', 'http://x/', 'immediate') RETURNING id"
        )
        repository = await connection.fetchval(
            "INSERT INTO repository (pulp_type, name) VALUES ('file.file', 'r') RETURNING id"
        )
        # A retried job adds what its new attempt created to what the committed one named.
        await record_created(connection, job_id, [Created(ResourceKind.REPOSITORY, repository)])
        await record_created(connection, job_id, [Created(ResourceKind.REMOTE, remote)])
    repositories = await call(client, "GET", f"{API}repositories/", 200)
    remotes = await call(client, "GET", f"{API}remotes/", 200)
    task = await call(client, "GET", started["task"], 200)
    assert task["created_resources"] == [
        repositories["results"][0]["pulp_href"],
        remotes["results"][0]["pulp_href"],
    ]
