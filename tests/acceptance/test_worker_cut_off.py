"""A worker cut off from PostgreSQL in the middle of a batch: the batch runs again on another
worker once the cut-off one's heartbeat is overdue, the migration completes the same, and when
the link comes back the cut-off worker commits and records nothing of its stale attempt.

The worker runs in a network namespace of its own and reaches a private server on the veth
address; the test cuts the link (``ip link set down``: packets dropped, no error at either end)
while the worker's batch waits, its work done, to record its counters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3 import database
from pulp2to3.http import app as http_app
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.kill_loop_support import WORKER_COMMAND
from tests.migration_http_support import (
    HEADERS,
    check_complete_and_counted_once,
    check_files,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, workers
from tests.netns_support import Namespace, namespace, why_no_namespace
from tests.private_postgres_support import database_on, private_server
from tests.waiting_support import eventually

# Three content batches (1,000 units each): one for the worker to be cut off in, two more.
SAMPLE: dict[str, Any] = dict(repos=20, units=3000, on_demand=0.5, overlap=0.3, seed=13)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture
def netns() -> Iterator[Namespace]:
    reason = why_no_namespace()
    if reason is not None:
        pytest.skip(reason)
    with namespace() as made:
        yield made


async def fetchval(pool: asyncpg.Pool, query: str, *args: Any) -> Any:
    async with pool.acquire() as connection:
        return await connection.fetchval(query, *args)


async def test_a_worker_cut_off_mid_batch_commits_nothing_when_its_link_comes_back(
    netns: Namespace, sample: SampleSummary, tmp_path: Path
) -> None:
    media_root = tmp_path / "media"
    with private_server(listen=("127.0.0.1", netns.host_address), trust=(netns.network,)) as server:
        async with database_on(server) as db_url:
            env = worker_env(db_url, sample, media_root)
            cut_off_env = env | {
                "PULP2TO3_DATABASE_URL": db_url.replace("127.0.0.1", netns.host_address)
            }
            pool = await database.create_pool(db_url, min_size=0)
            settings = load_settings(env | {"PULP2TO3_ADMIN_PASSWORD": "secret"})
            log = tmp_path / "cut-off-worker.log"
            async with (
                pool,
                TestClient(TestServer(http_app.init(settings, pool)), headers=HEADERS) as client,
            ):
                cut_off = netns.start(WORKER_COMMAND, cut_off_env, log)
                try:
                    report, held = await cut_off_mid_batch(client, pool, sample, netns, env)
                    netns.restore()
                    await eventually(
                        lambda: logged(log, "job_taken_over"), 120, "the stale attempt to end"
                    )
                    assert cut_off.poll() is None, log.read_text()
                finally:
                    cut_off.terminate()
                    cut_off.wait(30)
                await check_complete_and_counted_once(report, pool, sample, media_root)
                await check_files(pool, sample, media_root)
                async with pool.acquire() as connection:
                    job = await connection.fetchrow(
                        "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = $1", held
                    )
    assert job["status"] == "succeeded"
    assert job["attempts"] >= 2  # taken over (one more), then succeeded (one more)
    taken_over = [line for line in events(log) if line["event"] == "job_taken_over"]
    assert [line["job_id"] for line in taken_over] == [held]


async def cut_off_mid_batch(
    client: Any, pool: asyncpg.Pool, sample: SampleSummary, netns: Namespace, env: dict[str, str]
) -> tuple[dict[str, Any], int]:
    """Run the migration on the namespaced worker until its content batch waits to record its
    counters (the test holds their table), cut its link, let another worker finish the
    migration; return the report and the id of the job the cut-off worker held."""
    report_href = await start(client, sample)

    async def premigrated() -> bool:
        return bool(
            await fetchval(
                pool,
                "SELECT count(*) > 0 AND bool_and(j.status = 'succeeded') FROM migration_task t"
                " JOIN procrastinate_jobs j ON j.id = t.job_id"
                " WHERE t.step_code = 'premigrate_merge'",
            )
        )

    await eventually(premigrated, 120, "premigrate_merge to complete")
    async with pool.acquire() as blocker, blocker.transaction():
        await blocker.execute("LOCK TABLE migration_batch_progress IN SHARE MODE")

        async def waiting() -> bool:
            return bool(
                await fetchval(
                    pool,
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE client_addr = $1::inet AND wait_event_type = 'Lock'",
                    netns.inner_address,
                )
            )

        await eventually(waiting, 120, "the cut-off worker's batch to wait for the lock")
        held: int = await fetchval(
            pool,
            "SELECT j.id FROM procrastinate_jobs j JOIN migration_task t ON t.job_id = j.id"
            " WHERE j.status = 'doing' AND t.step_code = 'migrate_content.iso'",
        )
        netns.cut()
    with workers(1, env):
        report = await wait_finished(client, report_href, within=240)
    return report, held


async def logged(log: Path, event: str) -> bool:
    return event in await asyncio.to_thread(log.read_text, errors="replace")


def events(log: Path) -> list[dict[str, Any]]:
    """The worker's log lines (JSON, one a line)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
