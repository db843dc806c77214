"""The ``pulp2to3`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import sys
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog

from pulp2to3.coordination import MigrationStatus, TaskState
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

API_NOTE = (
    " Through the REST API at PULP2TO3_API_BIND, with PULP2TO3_ADMIN_USER and"
    " PULP2TO3_ADMIN_PASSWORD."
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class CommandError(Exception):
    """A command cannot run; the message says why, for the operator."""


ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_T = TypeVar("_T")


def _exit_on_signal(signum: int, frame: object) -> None:
    # Leave through SystemExit so that exit handlers run: the embedded server is stopped by one.
    sys.exit(128 + signum)


def _run(main: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(main)``, where SIGTERM or SIGHUP (the terminal closed) cancels ``main``, so
    that its cleanups run (worker and API processes stopped, connections closed), and then
    exits with 128 + the signal; the embedded server is released by the exit handlers.

    (A handler raising SystemExit at any point of the event loop's own code was sometimes
    lost there, leaving the command running.)"""
    received: list[int] = []

    async def cancellable() -> _T:
        task = asyncio.current_task()
        assert task is not None

        def end(signum: int) -> None:
            received.append(signum)
            task.cancel()

        loop = asyncio.get_running_loop()
        for signum in ENDING_SIGNALS:
            loop.add_signal_handler(signum, end, signum)
        return await main

    try:
        return asyncio.run(cancellable())
    except asyncio.CancelledError:
        if received:
            sys.exit(128 + received[0])
        raise
    finally:
        # The loop put the default actions back; outside it, a signal exits at once.
        for signum in ENDING_SIGNALS:
            signal.signal(signum, _exit_on_signal)


async def _init_db() -> None:
    from pulp2to3 import database
    from pulp2to3.queue.application import database_url
    from pulp2to3.schema import SchemaError, init_db

    connection = await database.connect(await database_url())
    try:
        applied = await init_db(connection)
    except SchemaError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await connection.close()
    log.info("database_initialized", migrations_applied=applied)


def cmd_init_db(args: argparse.Namespace) -> None:
    _run(_init_db())


async def _rotate_key() -> int:
    from pulp2to3 import runner
    from pulp2to3.encryption import load_keys
    from pulp2to3.plugins.pulp2_configs import SECRET_OPTIONS
    from pulp2to3.queue.application import database_url
    from pulp2to3.store.encryption import rotate_secrets

    settings = load_settings()
    keys = load_keys(settings.db_encryption_key, settings.data_dir)
    async with runner.connection_to(await database_url()) as connection:
        return await rotate_secrets(connection, keys, SECRET_OPTIONS)


def cmd_rotate_key(args: argparse.Namespace) -> None:
    from pulp2to3.encryption import SecretKeyError

    try:
        rows = _run(_rotate_key())
    except SecretKeyError as exc:
        raise CommandError(str(exc)) from exc
    print(f"Re-encrypted the secrets of {rows} importers and remotes with the first key")


def cmd_generate_sample(args: argparse.Namespace) -> None:
    from pulp2to3.sample import generate_sample

    summary = generate_sample(
        args.directory,
        repos=args.repos,
        units=args.units,
        on_demand=args.on_demand,
        overlap=args.overlap,
        revisions=args.revisions,
        fmt=args.format,
        gzip=args.gzip,
        seed=args.seed,
        plugins=args.type,
    )
    if summary.repos:
        print(
            f"Wrote {summary.repos} ISO repositories and {summary.units} units"
            f" ({summary.downloaded_units} downloaded, {summary.on_demand_units} on_demand,"
            f" {summary.multi_repo_units} in several repositories)"
        )
    if summary.rpm is not None:
        counts = ", ".join(f"{count} {kind}" for kind, count in summary.rpm.unit_counts.items())
        print(f"Wrote {summary.rpm.repos} RPM repositories: {counts}")
    if summary.deb is not None:
        counts = ", ".join(f"{count} {kind}" for kind, count in summary.deb.unit_counts.items())
        print(f"Wrote {summary.deb.repos} Debian repositories: {counts}")
    print(
        f"  dump ({summary.fmt}{', gzip' if summary.gzip else ''}): {summary.dump_path}\n"
        f"  file tree (stands for /var/lib/pulp): {summary.pulp_root}\n"
        f"  plan: {summary.plan_path}\n"
        f"Migrate it with: PULP2TO3_PULP2_DUMP={summary.dump_path}"
        f" PULP2TO3_PULP2_ROOT={summary.pulp_root} pulp2to3 migrate {summary.plan_path}"
    )


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

    from pulp2to3 import database
    from pulp2to3.http import limits
    from pulp2to3.http.app import COMMAND_TIMEOUT, init
    from pulp2to3.queue import app
    from pulp2to3.queue.application import database_url

    # No connection made up front (the API may start while the database is down); a statement
    # that gets no answer in time becomes a 503, never a request that hangs.
    pool = await database.create_pool(
        await database_url(), min_size=0, command_timeout=COMMAND_TIMEOUT
    )
    async with pool, app.open_async(pool=pool):
        await _require_schema()
        cap = limits.fit_open_files(settings.api_max_connections)
        async with limits.serving(
            init(settings, pool),
            settings.api_host,
            settings.api_port,
            read_timeout=settings.api_read_timeout,
            max_connections=cap,
        ):
            log.info(
                "api_listening",
                url=f"http://{settings.api_host}:{settings.api_port}/",
                max_connections=cap,
                read_timeout=settings.api_read_timeout,
            )
            await asyncio.Event().wait()  # until the process is interrupted


def cmd_api(args: argparse.Namespace) -> None:
    try:
        _run(_serve_api(args.insecure_dev))
    except KeyboardInterrupt:
        log.info("api_stopped")


async def _ask_what_to_do(connection: Any, migration_id: Any, *, can_quit: bool) -> bool:
    """Ctrl-C while watching: pause, resume or cancel the migration, go on watching, or (when
    ``can_quit``) stop watching; True for the last."""
    from pulp2to3.coordination import PAUSED_MIGRATION_STATUSES
    from pulp2to3.queue.control import (
        Outcome,
        cancel_migration,
        pause_migration,
        resume_migration,
    )
    from pulp2to3.store import migrations

    report = await migrations.get_migration(connection, migration_id)
    paused = report is not None and report.status in PAUSED_MIGRATION_STATUSES
    if paused:
        question, changes = "Resume (r) or cancel (c)", {"r": resume_migration}
    else:
        question, changes = "Pause (p) or cancel (c)", {"p": pause_migration}
    quit_choice = ", quit watching (q)" if can_quit else ""
    prompt = f"\n{question} the migration{quit_choice}, or go on watching (Enter)? "
    try:
        answer = (await asyncio.to_thread(input, prompt)).strip().lower()[:1]
    except EOFError:  # nobody to answer (stdin closed): Ctrl-C stops this command
        raise KeyboardInterrupt from None
    if can_quit and answer == "q":
        return True
    change = {"c": cancel_migration, **changes}.get(answer)
    if change is not None and await change(connection, migration_id) is Outcome.NOT_STARTED:
        print("The migration has not started yet: it can be canceled, not paused.")
    return False


async def _watch_interruptibly(pool: Any, migration_id: Any, bars: Any, *, can_quit: bool) -> Any:
    """Watch the report until it is finished (or the user quits watching); on Ctrl-C ask what
    to do with the migration, on the pool's other connection. Returns the report last seen."""
    import asyncpg

    from pulp2to3 import runner
    from pulp2to3.database import is_unavailable
    from pulp2to3.store import migrations

    async def watch() -> Any:
        return await runner.watch(pool, migration_id, bars.show, bars.notice)

    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    quitting = ", or to quit watching" if can_quit else ""
    print(f"Migration {migration_id}: Ctrl-C to pause, resume or cancel it{quitting}.", flush=True)
    watcher = asyncio.create_task(watch(), name="watch report")
    try:
        while True:
            waiter = asyncio.create_task(interrupted.wait(), name="wait for Ctrl-C")
            done, _ = await asyncio.wait({watcher, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if watcher in done:
                waiter.cancel()
                return watcher.result()
            interrupted.clear()
            try:
                async with pool.acquire() as connection:
                    if await _ask_what_to_do(connection, migration_id, can_quit=can_quit):
                        watcher.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await watcher
                        return await migrations.get_migration(connection, migration_id)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                if not is_unavailable(exc):
                    raise
                print(
                    f"\nThe database is out of reach ({exc}): the migration cannot change"
                    " until it is back. Still watching.",
                    flush=True,
                )
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        watcher.cancel()


async def _show(pool: Any, migration_id: Any, *, can_quit: bool) -> Any:
    """Live bars until the migration ends (or the user quits watching), then its outcome."""
    from pulp2to3.bars import StepBars, outcome_lines

    with StepBars() as bars:
        report = await _watch_interruptibly(pool, migration_id, bars, can_quit=can_quit)
    print("\n".join(outcome_lines(report)))
    return report


async def _run_and_show(url: str, raw_plan: object, validate: bool) -> Any:
    from pulp2to3 import runner
    from pulp2to3.plan import PlanError
    from pulp2to3.store.migrations import MigrationConflict

    async with runner.pool_to(url) as pool:
        try:
            async with pool.acquire() as connection:
                migration_id = await runner.submit(connection, raw_plan, validate=validate)
        except PlanError as exc:
            raise CommandError("the plan is not valid: " + "; ".join(exc.messages)) from exc
        except MigrationConflict as exc:
            async with pool.acquire() as connection:
                raise CommandError(await _conflict_message(connection)) from exc
        return await _show(pool, migration_id, can_quit=False)


async def _conflict_message(connection: Any) -> str:
    from pulp2to3.store import migrations

    unfinished = await migrations.unfinished_migration(connection)
    report = None if unfinished is None else await migrations.get_migration(connection, unfinished)
    if report is None:  # it finished meanwhile
        return "another migration was unfinished: run this again"
    return (
        f"migration {report.id} is unfinished ({report.status}) and only one runs at a time:"
        f" follow it with `pulp2to3 watch {report.id}` (Ctrl-C there pauses or cancels it),"
        f" or cancel it with `pulp2to3 cancel {report.id}` through the API, then run this again"
    )


def _report_id(text: str) -> uuid.UUID:
    """A report id, given as its UUID or its href."""
    from pulp2to3.hrefs import migration_id_of

    try:
        return migration_id_of(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a report id nor a report href") from None


async def _watch(report: str | None) -> int:
    import asyncpg

    from pulp2to3 import runner
    from pulp2to3.queue.application import database_url
    from pulp2to3.store import migrations

    async with runner.pool_to(await database_url()) as pool:
        try:
            async with pool.acquire() as connection:
                migration_id = (
                    _report_id(report)
                    if report
                    else await migrations.unfinished_migration(connection)
                )
                if migration_id is None:
                    raise CommandError("no migration is unfinished: name the report to watch")
                if await migrations.get_migration(connection, migration_id) is None:
                    raise CommandError(f"there is no migration report {migration_id}")
        except asyncpg.UndefinedTableError:
            raise CommandError("the database has no pulp2to3 schema: nothing to watch") from None
        shown = await _show(pool, migration_id, can_quit=True)
    return 0 if shown.status == "completed" else 1


def cmd_watch(args: argparse.Namespace) -> int:
    return _run(_watch(args.report))


def _load_plan(plan_path: Path) -> object:
    try:
        return json.loads(plan_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {plan_path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CommandError(f"{plan_path} is not JSON: {exc}") from exc


def _require_dump(workers: int) -> None:
    """The workers this command starts read the dump named here: a missing one is said before
    a migration is created, not as its failure. (Workers run elsewhere have their own.)"""
    if workers == 0:
        return
    dump = load_settings().pulp2_dump
    if dump is None:
        raise CommandError(
            "PULP2TO3_PULP2_DUMP is not set: name the mongodump of pulp_database to migrate"
        )
    if not dump.exists():
        raise CommandError(f"PULP2TO3_PULP2_DUMP names {dump}, which does not exist")


async def _migrate(raw_plan: object, workers: int, validate: bool) -> int:
    from pulp2to3 import runner
    from pulp2to3.queue.application import database_url

    _require_dump(workers)
    await _init_db()
    url = await database_url()
    with runner.worker_processes(workers, runner.child_environment(url)):
        report = await _run_and_show(url, raw_plan, validate)
    return 0 if report.status == "completed" else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    return _run(_migrate(_load_plan(args.plan), args.workers, args.validate))


async def _demo(repos: int, units: int, workers: int, stay: bool) -> int:
    from pulp2to3 import demo, runner
    from pulp2to3.schema import init_db

    settings = load_settings()
    overrides: dict[str, Path | str] = {}
    if stay:
        port = demo.api_port(settings.api_host, settings.api_port)
        if port != settings.api_port:
            print(
                f"Port {settings.api_port} is taken by another program: the demo's API serves"
                f" on port {port} instead."
            )
        settings = dataclasses.replace(settings, api_port=port)
        overrides["api_bind"] = f"{settings.api_host}:{port}"
    print(f"Generating a Pulp 2 sample ({repos} repositories, {units} units)...")
    setup = await demo.prepare(settings, repos=repos, units=units)
    env = runner.child_environment(
        setup.database_url,
        pulp2_dump=setup.sample.dump_path,
        pulp2_root=setup.sample.pulp_root,
        media_root=setup.media_root,
        admin_password=setup.password,
        **overrides,
    )
    async with runner.connection_to(setup.database_url) as connection:
        await init_db(connection)
    raw_plan = await asyncio.to_thread(_load_plan, setup.sample.plan_path)
    # The workers run as long as the API serves: a plan run through it is migrated too.
    with runner.worker_processes(workers, env):
        if not stay:
            report = await _run_and_show(setup.database_url, raw_plan, validate=True)
            return 0 if report.status == "completed" else 1
        return await _demo_serving(settings, setup, env, raw_plan)


async def _demo_serving(settings: Any, setup: Any, env: dict[str, str], raw_plan: object) -> int:
    """The demo's migration with its API serving, then what it published, until Ctrl-C."""
    from pulp2to3 import api_client, demo, runner
    from pulp2to3.store.distributions import distribution_base_paths

    api = runner.api_process(env)
    try:
        root = api_client.api_root(settings)
        try:
            await demo.wait_until_serving(api, root)
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        await _run_and_show(setup.database_url, raw_plan, validate=True)
        async with runner.connection_to(setup.database_url) as connection:
            base_paths = await distribution_base_paths(connection)
        print()
        shown = await demo.published(root, base_paths)
        if shown is not None:
            print(f"Browse what was published: {shown.listing}")
            if shown.file is not None:
                print(f"Download a file of it: {shown.file}")
            print(
                "(Files Pulp 2 never downloaded, on_demand, answer a 302 to their remote's URL,"
                " as Pulp's content app does; the generated sample's remotes name a host that"
                " does not exist, so those redirects lead nowhere.)"
            )
        print(f"Watch it in a browser: {root}/  (user admin, password {setup.password})")
        print(f"API: {root}/pulp/api/v3/  (the same user and password)")
        print("The API and the workers keep serving until you press Ctrl-C.", flush=True)
        code = await asyncio.to_thread(api.wait)
        print(f"pulp2to3 demo: the API stopped (exit code {code})", file=sys.stderr)
        return 1
    finally:
        runner.stop_processes([api])


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        return _run(_demo(args.repos, args.units, args.workers, not args.exit))
    except KeyboardInterrupt:
        return 0


# --- the operator's commands, through the REST API -------------------------------------------


def _through_api(run: Callable[[Any], Awaitable[int | None]]) -> int | None:
    """Run ``run(client)`` against the configured API; its refusals become one line."""
    from pulp2to3 import api_client

    async def go() -> int | None:
        async with api_client.client(load_settings()) as api:
            return await run(api)

    try:
        return _run(go())
    except api_client.APIError as exc:
        raise CommandError(str(exc)) from exc


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _href_id(href: str | None) -> str:
    return "-" if href is None else href.rstrip("/").rsplit("/", 1)[-1]


def cmd_reports(args: argparse.Namespace) -> int | None:
    async def run(api: Any) -> None:
        reports = await api.reports(args.status)
        if args.json:
            _print_json(reports)
            return
        if not reports:
            print("No migration reports.")
            return
        print(f"{'REPORT':<36}  {'STATUS':<9}  {'CREATED':<27}  FINISHED")
        for report in reports:
            print(
                f"{_href_id(report['pulp_href']):<36}  {report['status']:<9}"
                f"  {report['pulp_created']:<27}  {report['finished_at'] or '-'}"
            )

    return _through_api(run)


def cmd_report(args: argparse.Namespace) -> int | None:
    from pulp2to3 import api_client
    from pulp2to3.bars import StepBars, outcome_lines

    migration_id = _report_id(args.report)

    async def run(api: Any) -> int:
        if not args.watch:
            report = await api.report(migration_id)
        elif args.json:
            report = await api_client.watch(api, migration_id, lambda *_: None, lambda _: None)
        else:
            print(f"Migration {migration_id}: watching it through {api.root}.", flush=True)
            with StepBars() as bars:
                report = await api_client.watch(
                    api,
                    migration_id,
                    lambda data, online: bars.show(api_client.report_view(data), online),
                    bars.notice,
                )
        if args.json:
            _print_json(report)
        else:
            print("\n".join(outcome_lines(api_client.report_view(report))))
        return 0 if not args.watch or report["status"] == "completed" else 1

    return _through_api(run)


def _status_change(status: str) -> Callable[[argparse.Namespace], int | None]:
    def change(args: argparse.Namespace) -> int | None:
        migration_id = _report_id(args.report)

        async def run(api: Any) -> None:
            report = await api.change_status(migration_id, status)
            if args.json:
                _print_json(report)
            else:
                print(f"Migration {migration_id}: {report['status']}")

        return _through_api(run)

    return change


def cmd_tasks(args: argparse.Namespace) -> int | None:
    migration_id = None if args.report is None else _report_id(args.report)

    async def run(api: Any) -> None:
        tasks = await api.tasks(args.state, migration_id)
        if args.json:
            _print_json(tasks)
            return
        if not tasks:
            print("No tasks.")
            return
        print(f"{'TASK':>10}  {'STATE':<9}  {'STEP':<24}  NAME")
        for task in tasks:
            print(
                f"{_href_id(task['pulp_href']):>10}  {task['state']:<9}"
                f"  {task.get('step') or '-':<24}  {task['name']}"
            )
            if task.get("error"):
                print(f"{'':>10}  error: {task['error']['description']}")

    return _through_api(run)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text}")
        return value

    return parse


_positive = _at_least(1)


def _plugin_types(text: str) -> tuple[str, ...]:
    from pulp2to3.sample.generate import PLUGINS

    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    if not chosen or not set(chosen) <= set(PLUGINS):
        raise argparse.ArgumentTypeError(f"must be some of {', '.join(PLUGINS)}, not {text!r}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulp2to3", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    log_help = (
        "DEBUG, INFO, WARNING or ERROR (default: WARNING for the commands that show progress"
        " bars, which would drown in log lines, INFO otherwise); before or after the command"
    )
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, help=log_help)
    # The same option after the command; SUPPRESS keeps a value given before it.
    logging_options = argparse.ArgumentParser(add_help=False)
    logging_options.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help=log_help,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int | None], text: str, details: str = ""
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=text, description=text + details, parents=[logging_options]
        )
        sub.set_defaults(func=func)
        return sub

    command(
        "init-db",
        cmd_init_db,
        "Install pulp2to3's tables and Procrastinate's queue in the database."
        " Safe to run again: it changes nothing the second time.",
    )

    command(
        "rotate-key",
        cmd_rotate_key,
        "Re-encrypt every stored importer secret with the first key file of"
        " PULP2TO3_DB_ENCRYPTION_KEY (the others only decrypt). Run it with the new key first"
        " and the old one after it, then drop the old one.",
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
    sample.add_argument(
        "--type",
        type=_plugin_types,
        default=("iso",),
        help="the plugins to write repositories of, comma-separated: iso, rpm, deb or several"
        " (default iso)",
    )
    sample.add_argument(
        "--repos", type=_positive, default=10, help="repositories per plugin (default 10)"
    )
    sample.add_argument(
        "--units",
        type=_positive,
        default=1000,
        help="ISO units, or RPM or Debian packages, per plugin (default 1000)",
    )
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
        "--revisions",
        type=_fraction,
        default=0.0,
        help="fraction of units that are a new revision of a recent unit's file: same name and"
        " repositories, other bytes, as Pulp 2 keeps both when remove_missing is off (default 0)",
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
    migrate = command(
        "migrate",
        cmd_migrate,
        "Store PLAN.json, run it, and show live progress (one bar per step); exit 0 when the"
        " migration completes, 1 otherwise. Ctrl-C asks whether to pause, resume or cancel it.",
    )
    migrate.add_argument("plan", type=Path, help="a migration plan (pulp-2to3-migration's format)")
    migrate.add_argument(
        "--workers",
        type=_at_least(0),
        default=2,
        help="worker processes to start for this run (default 2; 0 when workers run elsewhere,"
        " which then read the dump named in their own configuration)",
    )
    migrate.add_argument(
        "--validate",
        action="store_true",
        help="fail at once if the plan names Pulp 2 repositories, importers or distributors"
        " that the dump lacks",
    )

    watch = command(
        "watch",
        cmd_watch,
        "Show a migration's live progress (one bar per step) until it ends: the unfinished one,"
        " or the report named. Ctrl-C asks whether to pause, resume or cancel it, or to quit"
        " watching. Exits 0 when the migration completed, 1 otherwise.",
    )
    watch.add_argument(
        "report", nargs="?", help="a report id or href (default: the unfinished one)"
    )

    def operator_command(
        name: str, func: Callable[[argparse.Namespace], int | None], text: str
    ) -> argparse.ArgumentParser:
        sub = command(name, func, text, API_NOTE)
        sub.add_argument("--json", action="store_true", help="print the API's JSON, for scripts")
        return sub

    reports = operator_command("reports", cmd_reports, "List the migration reports, newest first.")
    reports.add_argument(
        "--status", choices=[status.value for status in MigrationStatus], help="only these"
    )
    report = operator_command(
        "report",
        cmd_report,
        "Show a migration report: its status and each step's counts. With --watch, show live"
        " bars until the migration ends (exit 0 when it completed, 1 otherwise), going on"
        " through restarts of the API.",
    )
    report.add_argument("report", help="a report id or href")
    report.add_argument("--watch", action="store_true", help="follow it until it ends")
    for name, status, text in (
        ("pause", "paused", "Pause a migration: its running tasks finish, no new one starts."),
        ("resume", "running", "Resume a paused migration."),
        (
            "cancel",
            "canceled",
            "Cancel a migration: no task of it starts again and its running ones stop; what"
            " earlier batches committed stays, and a later run continues from there.",
        ),
    ):
        change = operator_command(name, _status_change(status), text)
        change.add_argument("report", help="a report id or href")
    tasks = operator_command(
        "tasks", cmd_tasks, "List the tasks (jobs) of migrations, with the errors of failed ones."
    )
    tasks.add_argument(
        "--state", choices=[state.value for state in TaskState], help="only tasks in this state"
    )
    tasks.add_argument("--report", help="only the tasks of this report (id or href)")

    demo = command(
        "demo",
        cmd_demo,
        "Migrate a generated sample on an embedded PostgreSQL of its own (in"
        " $PULP2TO3_DATA_DIR/demo) with worker processes and the API (on a free port when"
        " PULP2TO3_API_BIND's is taken), show it live, then print URLs to try and serve them,"
        " with the workers, until Ctrl-C.",
    )
    demo.add_argument("--repos", type=_positive, default=20, help="repositories (default 20)")
    demo.add_argument("--units", type=_positive, default=2000, help="units (default 2000)")
    demo.add_argument("--workers", type=_positive, default=2, help="worker processes (default 2)")
    demo.add_argument(
        "--exit",
        action="store_true",
        help="stop right after the migration (no API is started, no URL printed)",
    )
    return parser


QUIET_COMMANDS = frozenset({"migrate", "demo", "watch", "report"})


def without_password(url: str) -> str:
    """``url`` with its password (in the user part or the query) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, server = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{server}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def _database_refused(exc: Exception) -> str:
    url = load_settings().database_url
    where = "the embedded PostgreSQL" if url is None else without_password(url)
    return f"cannot use the database {where}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    import asyncpg

    args = build_parser().parse_args(argv)
    configure_logging(args.log_level or ("WARNING" if args.command in QUIET_COMMANDS else "INFO"))
    if args.command != "worker":  # a worker stops gracefully on SIGTERM by itself
        for signum in ENDING_SIGNALS:
            signal.signal(signum, _exit_on_signal)
    try:
        outcome = args.func(args)
    except (CommandError, ConfigError) as exc:
        print(f"pulp2to3 {args.command}: {exc}", file=sys.stderr)
        return 2
    # The database cannot be used at all: nothing listens (or the host is unknown), the
    # database does not exist, the user or password is refused.
    except (
        asyncpg.PostgresConnectionError,
        asyncpg.InvalidCatalogNameError,
        asyncpg.InvalidAuthorizationSpecificationError,
    ) as exc:
        print(f"pulp2to3 {args.command}: {_database_refused(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())
