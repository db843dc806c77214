"""The ``pulp2to3`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from pulp2to3.logs import configure_logging
from pulp2to3.settings import ConfigError, load_settings

log = structlog.get_logger(__name__)

DESCRIPTION = """\
Migrate a Pulp 2 installation (its MongoDB dump and /var/lib/pulp tree) into a Pulp 3-shaped
PostgreSQL store, as many small jobs run by any number of worker processes.

Configuration comes from PULP2TO3_* environment variables (see the README). With no
PULP2TO3_DATABASE_URL (or DATABASE_URL) set, an embedded PostgreSQL is started in
$PULP2TO3_DATA_DIR/postgres and stopped when the last process using it exits.
"""


class CommandError(Exception):
    """A command cannot run; the message says why, for the operator."""


async def _init_db() -> None:
    from pulp2to3 import database
    from pulp2to3.queue.application import database_url
    from pulp2to3.schema import init_db

    connection = await database.connect(await database_url())
    try:
        await init_db(connection)
    finally:
        await connection.close()
    log.info("database_initialized")


def cmd_init_db(args: argparse.Namespace) -> None:
    asyncio.run(_init_db())


def cmd_generate_sample(args: argparse.Namespace) -> None:
    from pulp2to3.sample import generate_sample

    summary = generate_sample(
        args.directory,
        repos=args.repos,
        units=args.units,
        on_demand=args.on_demand,
        overlap=args.overlap,
        fmt=args.format,
        gzip=args.gzip,
        seed=args.seed,
    )
    print(summary.describe())


async def _require_schema() -> None:
    from pulp2to3.queue import app

    if not await app.check_connection_async():
        raise CommandError("the database has no pulp2to3 schema: run `pulp2to3 init-db` first")


async def _run_worker(concurrency: int, queues: list[str] | None) -> None:
    from pulp2to3.queue import app

    async with app.open_async():
        await _require_schema()
        name = f"{socket.gethostname()}-{os.getpid()}"
        if queues:
            await app.run_worker_async(concurrency=concurrency, queues=queues, name=name)
        else:
            await app.run_worker_async(concurrency=concurrency, name=name)


def cmd_worker(args: argparse.Namespace) -> None:
    asyncio.run(_run_worker(args.concurrency, args.queue or None))


async def _serve_api(insecure_dev: bool) -> None:
    settings = load_settings()
    if settings.admin_password is None and not insecure_dev:
        raise CommandError(
            "PULP2TO3_ADMIN_PASSWORD is not set: the API refuses to start without credentials"
            " (use --insecure-dev to run without a password on a development machine)"
        )
    from aiohttp import web

    from pulp2to3.http.app import init
    from pulp2to3.queue import app

    async with app.open_async():
        await _require_schema()
        runner = web.AppRunner(init(settings, app.connector.pool))  # type: ignore[attr-defined]
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.api_host, settings.api_port)
            await site.start()
            log.info("api_listening", url=f"http://{settings.api_host}:{settings.api_port}/")
            await asyncio.Event().wait()  # until the process is interrupted
        finally:
            await runner.cleanup()


def cmd_api(args: argparse.Namespace) -> None:
    try:
        asyncio.run(_serve_api(args.insecure_dev))
    except KeyboardInterrupt:
        log.info("api_stopped")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulp2to3", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: INFO)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], None], text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func)
        return sub

    command(
        "init-db",
        cmd_init_db,
        "Install pulp2to3's tables and Procrastinate's queue in the database."
        " Safe to run again: it changes nothing the second time.",
    )

    sample = command(
        "generate-sample",
        cmd_generate_sample,
        "Write a Pulp 2 sample in the real formats: a mongodump of pulp_database (archive or"
        " folder), the /var/lib/pulp file tree, and a migration plan covering it.",
    )
    sample.add_argument(
        "directory", type=Path, help="folder to write dump/, pulp/ and plan.json into"
    )
    sample.add_argument("--repos", type=_positive, default=10, help="ISO repositories (default 10)")
    sample.add_argument("--units", type=_positive, default=1000, help="ISO units (default 1000)")
    sample.add_argument(
        "--on-demand",
        type=_fraction,
        default=0.5,
        help="fraction of units never downloaded (lazy catalog only; default 0.5)",
    )
    sample.add_argument(
        "--overlap",
        type=_fraction,
        default=0.3,
        help="fraction of units in more than one repository (default 0.3)",
    )
    sample.add_argument(
        "--format",
        choices=["archive", "folder"],
        default="archive",
        help="mongodump --archive (one file) or --out (a folder of .bson); default archive",
    )
    sample.add_argument("--gzip", action="store_true", help="compress as mongodump --gzip does")
    sample.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")

    worker = command(
        "worker",
        cmd_worker,
        "Run a worker that takes the migration's jobs from the queue. Start as many as you like,"
        " on as many machines as share the database, the dump and the storage."
        " Equivalent: procrastinate --app=pulp2to3.queue.app worker",
    )
    worker.add_argument(
        "--concurrency",
        type=_positive,
        default=1,
        help="jobs run at once by this process (default 1)",
    )
    worker.add_argument(
        "--queue", action="append", help="only take jobs of this queue (repeatable; default: all)"
    )

    api = command(
        "api",
        cmd_api,
        "Serve the REST API on PULP2TO3_API_BIND (default 127.0.0.1:24817). It keeps no state:"
        " run several behind a load balancer if you like.",
    )
    api.add_argument(
        "--insecure-dev",
        action="store_true",
        help="start even without PULP2TO3_ADMIN_PASSWORD (development only)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        args.func(args)
    except (CommandError, ConfigError) as exc:
        print(f"pulp2to3 {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
