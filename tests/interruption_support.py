"""A migration interrupted at a seeded random point, then finished: canceled through the API and
run again, or its worker killed (SIGKILL) in the middle of a batch. Its whole target is then held
to a clean run's of the same sample, row for row (``tests/target_support.py``).

The point is a step and a moment in it: a cancel comes once ``after_batches`` of that step's
batches are done, a kill while a batch of it is in its transaction. From the moment the step
runs, the steps that need it are held (``writes_held`` on a table each writes), so the migration
cannot run past the point before the cancel lands however fast it is (a step beside it, such as
create_repositories beside compute_version_content, runs on); a kill holds the step's own
table, so the killed batch is mid-transaction. The last step, create_distributions, is not
chosen: its table cannot be held from the start (premigrate removes the distributions of
repositories no longer planned), and a cancel at its start is a cancel in create_publications
once all its batches are done.
"""

from __future__ import annotations

import dataclasses
import random
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Literal

import asyncpg

from pulp2to3.actors.registry import steps_for
from pulp2to3.database import create_pool
from pulp2to3.plan import parse_plan
from pulp2to3.sample import SampleSummary
from tests.kill_loop_support import WorkerFleet
from tests.migration_http_support import (
    STEP_ORDER,
    Client,
    api_client,
    call,
    job_states,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, writes_held
from tests.target_support import Target, counters, target
from tests.waiting_support import eventually

# A table each step writes and no step before it: held, the step's batches wait on it.
WRITTEN_BY = {
    "premigrate": "pulp2_repository",
    "premigrate_merge": "pulp2_content",
    "migrate_content.iso": "content",
    "compute_version_content": "version_content_input",
    "create_repositories": "repository",
    "create_repo_versions": "repository_content",
    "create_publications": "publication",
    "create_distributions": "distribution",  # and premigrate: see above
}
WORKERS = 2
# The steps that need each step, in an ISO migration.
NEEDED_BY = {
    step.code: [other.code for other in steps if step.code in other.needs]
    for steps in [steps_for(parse_plan({"plugins": [{"type": "iso"}]}))]
    for step in steps
}


@dataclasses.dataclass(frozen=True)
class Interruption:
    how: Literal["cancel", "kill"]
    step: str
    after_batches: int  # of the step, done before the cancel (a kill comes before its first)

    @classmethod
    def choose(
        cls, seed: int, how: Literal["cancel", "kill"], batches: dict[str, int]
    ) -> Interruption:
        """A random step of those the clean run had batches in, and a random moment in it."""
        chooser = random.Random(seed)
        step = chooser.choice([code for code in STEP_ORDER[:-1] if batches.get(code)])
        after = 0 if how == "kill" else chooser.randrange(batches[step])
        return cls(how, step, after)


@dataclasses.dataclass(frozen=True)
class Outcome:
    target: Target
    counters: list[tuple[object, ...]]
    batches: dict[str, int]  # batches recorded per step, over every run of the sample
    landed: str  # where the interruption came: the step's batches done by then


async def _batches(
    connection: asyncpg.Connection, migration_id: str | None = None
) -> dict[str, int]:
    rows = await connection.fetch(
        "SELECT step_code, count(*) FROM migration_batch_progress"
        " WHERE $1::uuid IS NULL OR migration_id = $1::uuid GROUP BY step_code",
        migration_id,
    )
    return {row["step_code"]: row["count"] for row in rows}


def _id(report_href: str) -> str:
    return report_href.rstrip("/").rsplit("/", 1)[-1]


async def _step_status(pool: asyncpg.Pool, report_href: str, step: str, status: str) -> bool:
    async with pool.acquire() as connection:
        found: bool = await connection.fetchval(
            "SELECT count(*) > 0 FROM migration_step"
            " WHERE migration_id = $1 AND code = $2 AND status = $3",
            _id(report_href),
            step,
            status,
        )
    return found


async def migrate(
    db_url: str,
    sample: SampleSummary,
    media_root: Path,
    interruption: Interruption | None = None,
    seed: int = 0,
) -> Outcome:
    """Migrate ``sample`` into ``db_url`` (the schema, nothing migrated) with real workers,
    through the API: at once, or interrupted as ``interruption`` says and then finished."""
    async with await create_pool(db_url, min_size=1, max_size=6) as pool:
        fleet = WorkerFleet(pool, worker_env(db_url, sample, media_root))
        try:
            for _ in range(WORKERS):
                await fleet.start()
            async with api_client(db_url, pool, sample, media_root) as client:
                landed = ""
                if interruption is None:
                    report_href = await start(client, sample)
                elif interruption.how == "cancel":
                    landed = await _cancel(client, pool, sample, interruption)
                    report_href = await start(client, sample)
                else:
                    report_href, landed = await _kill(
                        client, pool, sample, fleet, interruption, seed
                    )
                report = await wait_finished(client, report_href, within=240)
                assert report["status"] == "completed", report
        finally:
            fleet.stop()
        async with pool.acquire() as connection:
            return Outcome(
                target=await target(connection, media_root),
                counters=await counters(connection),
                batches=await _batches(connection),
                landed=landed,
            )


async def _cancel(
    client: Client, pool: asyncpg.Pool, sample: SampleSummary, at: Interruption
) -> str:
    async with AsyncExitStack() as next_steps_held:
        # The step's own table is held until it runs, then the tables of the steps that need
        # it: a table a step writes may be written by an earlier one too (premigrate removes
        # distributions).
        async with writes_held(pool, WRITTEN_BY[at.step]):
            report_href = await start(client, sample)
            await eventually(
                lambda: _step_status(pool, report_href, at.step, "running"),
                120,
                f"{at.step} to run",
            )
            for step in NEEDED_BY[at.step]:
                await next_steps_held.enter_async_context(writes_held(pool, WRITTEN_BY[step]))
        done = 0

        async def reached() -> bool:
            nonlocal done
            async with pool.acquire() as connection:
                done = (await _batches(connection, _id(report_href))).get(at.step, 0)
            return done >= at.after_batches or await _step_status(
                pool, report_href, at.step, "completed"
            )

        await eventually(reached, 120, f"{at.after_batches} batches of {at.step} to be done")
        canceled = await call(client, "PATCH", report_href, 200, {"status": "canceled"})
        assert canceled["status"] == "canceled"

    async def all_stopped() -> bool:
        return not await job_states(pool, report_href)

    await eventually(all_stopped, 60, "every job of the canceled migration to stop")
    return f"canceled in {at.step} after {done} of its batches"


async def _kill(
    client: Client,
    pool: asyncpg.Pool,
    sample: SampleSummary,
    fleet: WorkerFleet,
    at: Interruption,
    seed: int,
) -> tuple[str, str]:
    chooser = random.Random(seed)
    async with writes_held(pool, WRITTEN_BY[at.step]):
        report_href = await start(client, sample)
        await eventually(
            lambda: fleet.kill_busy(at.step, chooser),
            120,
            f"a worker running a batch of {at.step} to be killed",
        )
    return report_href, f"killed a worker in a batch of {at.step}"
