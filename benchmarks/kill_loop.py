"""A migration whose processes are killed in a loop, against the same migration undisturbed.

    python benchmarks/kill_loop.py --units 50000 --repos 100 --workers 3 --kill-every 5

First a run without faults, then the same sample again while, every --kill-every seconds, one
process gets SIGKILL and a new one starts in its place: in turn a random worker, the worker
running the coordinator's poll, another random worker, and the API (`pulp2to3 api`). At the end
both targets are compared (the tests' state of content, artifacts, on_demand URLs, versions,
manifests and distributions, and every row of every target table by natural keys) with each
other and with what the sample must give, and every step's counters must be exact. Prints
the extra time.
Scratch databases on the local server (PULP2TO3_BENCH_SERVER_URL to use another).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import common
from database_restarts import answers_200

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from pulp2to3 import runner
from pulp2to3.coordination import FINISHED_MIGRATION_STATUSES, MigrationStatus
from pulp2to3.database import create_pool
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from pulp2to3.store import migrations
from tests.kill_loop_support import WorkerFleet
from tests.migration_support import MigrationState, actual_state, expected_state
from tests.ports_support import free_port
from tests.target_support import Target, differences, target

SERVER_URL = os.environ.get("PULP2TO3_BENCH_SERVER_URL", common.LOCAL_SERVER)
STATUS = "/pulp/api/v3/status/"
USER, PASSWORD = "admin", secrets.token_urlsafe(12)
CONTENT_STEP = "migrate_content.iso"


@dataclass
class Outcome:
    status: str
    elapsed: float
    state: MigrationState
    target: Target
    counters_exact: bool
    content_counted: int
    kills: dict[str, int] = field(default_factory=dict)
    api_back: list[float] = field(default_factory=list)


class Faults:
    """The rotation of kills: random worker, coordinator's worker, random worker, API."""

    ROTATION = ("worker", "coordinator's worker", "worker", "API")

    def __init__(self, fleet: WorkerFleet, env: dict[str, str], migration_id: str, seed: int):
        self.fleet = fleet
        self.env = env
        self.migration_id = migration_id
        self.chooser = random.Random(seed)  # noqa: S311 (picks workers, no secret)
        self.api = runner.api_process(env)
        self.kills: dict[str, int] = {}
        self.api_back: list[float] = []
        self.turn = 0

    async def inject(self, session: aiohttp.ClientSession) -> None:
        kind = self.ROTATION[self.turn % len(self.ROTATION)]
        print(f"  killing: {kind}", flush=True)
        self.turn += 1
        if kind == "API":
            self.api.send_signal(signal.SIGKILL)
            self.api.wait()
            self.api = runner.api_process(self.env)
            self.api_back.append(
                await common.wait_for(lambda: answers_200(session, STATUS), "the API")
            )
        elif kind == "coordinator's worker":
            # A poll takes milliseconds every half second: look for it for a while.
            deadline = time.monotonic() + 20
            while not await self.fleet.kill_coordinator(self.migration_id):
                if time.monotonic() > deadline:
                    kind = "worker (no poll running)"
                    await self.fleet.replace(self.chooser.choice(list(self.fleet.processes)))
                    break
                await asyncio.sleep(0.005)
        else:
            await self.fleet.replace(self.chooser.choice(list(self.fleet.processes)))
        self.kills[kind] = self.kills.get(kind, 0) + 1
        print(f"  killed: {kind}", flush=True)


async def migrate(
    sample: SampleSummary, media: Path, workers: int, kill_every: float | None, seed: int
) -> Outcome:
    url = await common.create_database(SERVER_URL)
    try:
        pool = await create_pool(url, min_size=1, max_size=4)
        async with pool:
            async with pool.acquire() as connection:
                await init_db(connection)
            api_bind = f"127.0.0.1:{free_port()}"
            env = common.migration_environment(
                url, sample, media, admin_user=USER, admin_password=PASSWORD, api_bind=api_bind
            )
            fleet = WorkerFleet(pool, env)
            faults: Faults | None = None
            auth = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
            try:
                for _ in range(workers):
                    await fleet.start()
                async with pool.acquire() as connection:
                    started = time.monotonic()
                    migration_id = await runner.submit(connection, sample.plan_path.read_text())
                if kill_every is not None:
                    faults = Faults(fleet, env, str(migration_id), seed)
                async with aiohttp.ClientSession(f"http://{api_bind}", headers=auth) as session:
                    while True:
                        async with pool.acquire() as connection:
                            report = await migrations.get_migration(connection, migration_id)
                        assert report is not None
                        if MigrationStatus(report.status) in FINISHED_MIGRATION_STATUSES:
                            break
                        await asyncio.sleep(kill_every or runner.WATCH_EVERY)
                        if faults is not None:
                            await faults.inject(session)
                elapsed = time.monotonic() - started
            finally:
                fleet.stop()
                if faults is not None:
                    runner.stop_processes([faults.api])
            async with pool.acquire() as connection:
                state = await actual_state(connection, media)
                whole = await target(connection, media)
                counted = await connection.fetchval(
                    "SELECT coalesce(sum(done), 0) FROM migration_batch_progress"
                    " WHERE step_code = $1",
                    CONTENT_STEP,
                )
    finally:
        await common.drop_database(SERVER_URL, url)
    return Outcome(
        status=report.status,
        elapsed=elapsed,
        state=state,
        target=whole,
        counters_exact=all(s.done == s.total and s.failed == 0 for s in report.steps),
        content_counted=int(counted),
        kills=faults.kills if faults else {},
        api_back=faults.api_back if faults else [],
    )


def describe(label: str, outcome: Outcome, sample: SampleSummary) -> str:
    kills = ", ".join(f"{n} {kind}" for kind, n in outcome.kills.items()) or "none"
    api = f"; API 200 again after ≤ {max(outcome.api_back):.1f} s" if outcome.api_back else ""
    return (
        f"{label}: {outcome.status} in {outcome.elapsed:.1f} s; kills: {kills}{api};"
        f" steps' counters exact:"
        f" {outcome.counters_exact}; content counted {outcome.content_counted}/{sample.units}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=5, help="seconds between two kills")
    parser.add_argument("--seed", type=int, default=1, help="which workers are picked")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pulp2to3-bench")
    args = parser.parse_args()
    sample_dir = args.work / f"sample-{args.repos}-{args.units}"
    shutil.rmtree(sample_dir, ignore_errors=True)
    sample = generate_sample(sample_dir, repos=args.repos, units=args.units, seed=1)
    calm = await migrate(sample, args.work / "media-calm", args.workers, None, args.seed)
    print(describe("no fault", calm, sample))
    killed = await migrate(
        sample, args.work / "media-killed", args.workers, args.kill_every, args.seed
    )
    print(describe(f"a kill every {args.kill_every:g} s", killed, sample))
    expected = expected_state(sample)
    unequal = differences(calm.target, killed.target)
    print(
        f"extra time: {killed.elapsed - calm.elapsed:+.1f} s;"
        f" target equals the undisturbed one: {killed.state == calm.state};"
        f" both equal the expected one: {killed.state == expected == calm.state};"
        f" whole target equal row for row: {not unequal}"
    )
    for table, (missing, extra) in unequal.items():
        print(f"  {table}: only without faults {missing}, only with kills {extra}")


if __name__ == "__main__":
    asyncio.run(main())
