"""What a new user hit with the CLI: every way it ends releases the embedded server, a wrong
database URL or a missing dump is one line, and messages say what to do next."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from pulp2to3.database import with_database
from pulp2to3.sample import generate_sample
from tests.cli_support import CLI, read_until, run_cli, submit
from tests.embedded_support import embedded_data_dir
from tests.migration_support import worker_env

pytestmark = pytest.mark.timeout(180)


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP2TO3_")}
    env.pop("DATABASE_URL", None)
    env["PULP2TO3_DATA_DIR"] = str(data_dir)
    return env


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_every_way_migrate_ends_releases_the_embedded_server(
    tmp_path: Path, signum: signal.Signals
) -> None:
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=1)
    with embedded_data_dir() as data_dir:
        migrate = subprocess.Popen(
            # No worker: the migration waits, and the command with it, until the signal.
            [*CLI, "migrate", str(sample.plan_path), "--workers", "0"],
            env=embedded_env(data_dir),
            # SIGINT asks what to do; with stdin closed nobody can answer, and the command ends.
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        pgdata = data_dir / "postgres"
        try:
            try:
                read_until(migrate.stdout, "Ctrl-C to pause")
            except AssertionError as exc:
                raise AssertionError(migrate.communicate()[1]) from exc
            assert (pgdata / "postmaster.pid").exists()
            migrate.send_signal(signum)
            _, stderr = migrate.communicate(timeout=60)
        finally:
            migrate.kill()
        assert migrate.returncode in (128 + signum, 130), stderr
        assert "Traceback" not in stderr
        assert not (pgdata / "postmaster.pid").exists()


def test_a_command_ending_in_an_error_releases_the_embedded_server(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"plugins": [{"type": "iso", "repositories": [{"name": "x"}]}]}))
    with embedded_data_dir() as data_dir:
        # The plan is checked once the database is up: the error comes with the server running.
        result = run_cli("migrate", str(plan), "--workers", "0", env=embedded_env(data_dir))
        assert result.returncode == 2
        assert "the plan is not valid" in result.stderr
        assert (data_dir / "postgres" / "PG_VERSION").exists()
        assert not (data_dir / "postgres" / "postmaster.pid").exists()


def test_an_owner_that_died_unannounced_does_not_keep_the_embedded_server() -> None:
    with embedded_data_dir() as data_dir:
        env = embedded_env(data_dir)
        pgdata = data_dir / "postgres"
        attach = (
            "import pathlib, sys; from pulp2to3 import embedded;"
            f"embedded.start_embedded_server(pathlib.Path({str(data_dir)!r}));"
            "print('attached', flush=True); sys.stdin.read()"
        )
        with subprocess.Popen(
            [sys.executable, "-c", attach], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        ) as owner:  # fmt: skip
            try:
                assert owner.stdout is not None
                assert "attached\n" in owner.stdout  # (after the line it logs)
            finally:
                owner.kill()  # no exit handler runs: it stays listed as an owner
        assert owner.pid in json.loads((pgdata / ".handle_pids.json").read_text())
        assert (pgdata / "postmaster.pid").exists()
        result = run_cli("init-db", env=env)
        assert result.returncode == 0, result.stderr
        # The last living process stopped the server.
        assert not (pgdata / "postmaster.pid").exists()
        assert "embedded_postgres_dead_owners_forgotten" in result.stderr


@pytest.mark.parametrize(
    ("url", "failure"),
    [
        ("postgresql://postgres:s3cret@127.0.0.1:1/postgres", "cannot reach PostgreSQL"),
        ("UNKNOWN_DATABASE", 'database "pulp2to3_no_such_database" does not exist'),
        ("postgresql://nobody_here:s3cret@127.0.0.1:5432/postgres", '"nobody_here"'),
    ],
)
@pytest.mark.parametrize("command", ["init-db", "migrate"])
def test_a_wrong_database_url_is_one_line_naming_it_without_its_password(
    server_url: str, tmp_path: Path, command: str, url: str, failure: str
) -> None:
    if url == "UNKNOWN_DATABASE":
        url = with_database(server_url, "pulp2to3_no_such_database")
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=1)
    env = worker_env(url, sample, tmp_path / "media")
    args = [command] if command == "init-db" else [command, str(sample.plan_path)]
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("error: ")]
    assert len(lines) == 1, result.stderr  # ("error: " lines are librpm's, on machines without it)
    shown = url.replace(":s3cret@", ":***@")
    assert lines[0].startswith(f"pulp2to3 {command}: cannot use the database {shown}: ")
    assert failure in lines[0]
    assert "s3cret" not in result.stderr


def test_workers_below_0_are_refused(db_url: str, tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=1)
    env = worker_env(db_url, sample, tmp_path / "media")
    result = run_cli("migrate", str(sample.plan_path), "--workers", "-1", env=env)
    assert result.returncode == 2
    assert "--workers: must be at least 0, not -1" in result.stderr


async def _migrations(db_url: str) -> int:
    connection = await asyncpg.connect(db_url)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM migration")
        return count
    finally:
        await connection.close()


def test_a_missing_dump_is_found_before_a_migration_is_created(db_url: str, tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=1)
    env = worker_env(db_url, sample, tmp_path / "media")
    env["PULP2TO3_PULP2_DUMP"] = str(tmp_path / "nowhere.archive")
    result = run_cli("migrate", str(sample.plan_path), "--workers", "1", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        f"PULP2TO3_PULP2_DUMP names {tmp_path / 'nowhere.archive'}, which does not exist"
    )
    assert asyncio.run(_migrations(db_url)) == 0


@pytest.mark.parametrize(
    "order",
    [
        ["--log-level", "INFO", "migrate", "PLAN"],
        ["migrate", "--log-level", "info", "PLAN"],
        ["migrate", "PLAN", "--log-level", "INFO"],
    ],
)
def test_an_unfinished_migration_is_named_with_the_way_out_and_log_level_goes_anywhere(
    db_url: str, tmp_path: Path, order: list[str]
) -> None:
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=1)
    env = worker_env(db_url, sample, tmp_path / "media")
    unfinished = submit(db_url, sample)
    args = [str(sample.plan_path) if arg == "PLAN" else arg for arg in order]
    result = run_cli(*args, "--workers", "0", env=env)
    assert result.returncode == 2, result.stderr
    assert f"pulp2to3 migrate: migration {unfinished} is unfinished (waiting)" in result.stderr
    assert f"`pulp2to3 watch {unfinished}`" in result.stderr
    assert f"`pulp2to3 cancel {unfinished}`" in result.stderr
    assert "database_initialized" in result.stderr  # logged at INFO
