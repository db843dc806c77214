"""Time premigrate: ``python benchmarks/premigrate.py --units 100000``.

Generates a sample, creates a scratch database with the schema on the server named by
``PULP2TO3_DATABASE_URL`` (default: the local cluster), stages the dump into it (a first run,
then a re-run that finds nothing changed) and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from pulp2to3 import database
from pulp2to3.actors.premigrate import premigrate_dump
from pulp2to3.actors.steps import Run
from pulp2to3.plan import parse_plan
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.schema import init_db
from pulp2to3.settings import load_settings

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _bench(server: str, summary: SampleSummary, runs: int) -> None:
    name = f"pulp2to3_bench_{uuid.uuid4().hex[:12]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        connection = await database.connect(database.with_database(server, name))
        try:
            await init_db(connection)
            plan = json.loads(summary.plan_path.read_text())
            report_id = await connection.fetchval(
                "WITH p AS (INSERT INTO migration_plan (plan) VALUES ($1::jsonb) RETURNING id)"
                " INSERT INTO migration_report (plan_id, status, started_at, expanded_plan)"
                " SELECT id, 'running', now(), $1::jsonb FROM p RETURNING id",
                plan,
            )
            settings = dataclasses.replace(
                load_settings(), pulp2_dump=summary.dump_path, pulp2_root=summary.pulp_root
            )
            run = Run(report_id=report_id, plan=parse_plan(plan), settings=settings)
            documents = sum(
                count
                for collection, count in summary.collection_counts.items()
                if collection not in ("users", "task_status")
            )
            for number in range(1, runs + 1):
                started = time.perf_counter()
                async with connection.transaction():
                    await premigrate_dump(connection, run, {})
                elapsed = time.perf_counter() - started
                print(
                    f"run {number}: {documents:,} documents in {elapsed:.2f} s, "
                    f"{documents / elapsed:,.0f} documents/s"
                )
        finally:
            await connection.close()
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--fmt", choices=["archive", "folder"], default="archive")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--runs", type=int, default=2, help="the first stages, the others re-run")
    args = parser.parse_args()
    server = os.environ.get("PULP2TO3_DATABASE_URL") or DEFAULT_SERVER
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = generate_sample(
            Path(scratch), repos=args.repos, units=args.units, fmt=args.fmt, gzip=args.gzip
        )
        print(
            f"sample: {summary.units:,} units, {summary.memberships:,} memberships, "
            f"{summary.lazy_entries:,} catalog entries, {args.fmt}"
            f"{' gzip' if args.gzip else ''}, generated in {time.perf_counter() - started:.1f} s"
        )
        asyncio.run(_bench(server, summary, args.runs))


if __name__ == "__main__":
    main()
