"""The CLI as an operator runs it: real subprocesses, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.embedded_support import embedded_data_dir
from tests.waiting_support import eventually

CLI = [sys.executable, "-m", "pulp2to3.cli"]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def env_with(**values: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"PULP2TO3_DATABASE_URL", "DATABASE_URL"}
    }
    env.update(values)
    return env


async def fetchval(url: str, query: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


def test_init_db_installs_both_schemas_and_is_harmless_twice(empty_db_url: str) -> None:
    env = env_with(PULP2TO3_DATABASE_URL=empty_db_url)
    for _ in range(2):
        result = run_cli("init-db", env=env)
        assert result.returncode == 0, result.stderr
    assert asyncio.run(fetchval(empty_db_url, "SELECT to_regclass('procrastinate_jobs')::text"))
    assert asyncio.run(fetchval(empty_db_url, "SELECT to_regclass('migration')::text"))


def test_init_db_refuses_a_database_newer_than_the_code(db_url: str) -> None:
    asyncio.run(fetchval(db_url, "INSERT INTO schema_migration (name) VALUES ('9999_future')"))
    result = run_cli("init-db", env=env_with(PULP2TO3_DATABASE_URL=db_url))
    assert result.returncode == 2
    assert "newer than this pulp2to3" in result.stderr
    assert "9999_future" in result.stderr


def test_without_a_database_url_the_embedded_server_is_used_and_stopped() -> None:
    with embedded_data_dir() as data_dir:
        env = env_with(PULP2TO3_DATA_DIR=str(data_dir))
        for _ in range(2):
            result = run_cli("init-db", env=env)
            assert result.returncode == 0, result.stderr
            assert "embedded_postgres_started" in result.stderr
        pgdata = data_dir / "postgres"
        assert (pgdata / "PG_VERSION").is_file()
        # The last process using the server stopped it on exit.
        assert not (pgdata / "postmaster.pid").exists()
        check = (
            "import asyncio, asyncpg, pathlib; from pulp2to3 import embedded;"
            f"server = embedded.start_embedded_server(pathlib.Path({str(data_dir)!r}));"
            "url = asyncio.run(embedded.ensure_database(server));"
            "print(asyncio.run(asyncpg.connect(url)).__class__.__name__)"
        )
        probe = subprocess.run(
            [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=False
        )
        assert probe.returncode == 0, probe.stderr


def test_worker_refuses_a_database_without_schema(empty_db_url: str) -> None:
    result = run_cli("worker", env=env_with(PULP2TO3_DATABASE_URL=empty_db_url))
    assert result.returncode == 2
    assert "run `pulp2to3 init-db` first" in result.stderr


def test_worker_runs_jobs_and_stops_cleanly_on_sigterm(db_url: str) -> None:
    worker = subprocess.Popen(
        [*CLI, "worker", "--concurrency", "2"],
        env=env_with(PULP2TO3_DATABASE_URL=db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        async def upkeep_ran() -> bool:
            query = (
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name LIKE '%retry_stalled_jobs' AND status = 'succeeded'"
            )
            return await fetchval(db_url, query) != 0

        # The worker defers and runs its own periodic upkeep job within seconds.
        asyncio.run(eventually(upkeep_ran, 30, "the periodic upkeep job to run"))
        workers = asyncio.run(fetchval(db_url, "SELECT count(*) FROM procrastinate_workers"))
        assert workers == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert asyncio.run(fetchval(db_url, "SELECT count(*) FROM procrastinate_workers")) == 0


def test_api_refuses_to_start_without_a_password(db_url: str) -> None:
    result = run_cli("api", env=env_with(PULP2TO3_DATABASE_URL=db_url))
    assert result.returncode == 2
    assert "PULP2TO3_ADMIN_PASSWORD is not set" in result.stderr


def test_bad_configuration_is_a_clear_error(db_url: str) -> None:
    result = run_cli(
        "init-db", env=env_with(PULP2TO3_DATABASE_URL=db_url, PULP2TO3_API_BIND="nonsense")
    )
    assert result.returncode == 2
    assert "PULP2TO3_API_BIND must be host:port" in result.stderr


def test_generate_sample_writes_a_dump_the_reader_reads_and_a_plan(tmp_path: Path) -> None:
    from pulp2to3.plan import parse_plan
    from pulp2to3.pulp2 import open_dump

    result = run_cli(
        "generate-sample", str(tmp_path), "--repos", "3", "--units", "50", "--format", "folder",
        "--gzip", env=env_with(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 3 ISO repositories and 50 units" in result.stdout
    dump = open_dump(tmp_path / "dump")
    assert sum(1 for _ in dump.iter_collection("units_iso")) == 50
    plan = parse_plan((tmp_path / "plan.json").read_text())
    assert [r.name for r in plan.plugins[0].repositories or ()] == sorted(
        doc["repo_id"] for doc in dump.iter_collection("repos")
    )


def test_generate_sample_writes_iso_and_rpm_together(tmp_path: Path) -> None:
    from pulp2to3.pulp2 import open_dump

    result = run_cli(
        "generate-sample", str(tmp_path), "--type", "iso,rpm", "--repos", "2", "--units", "20",
        env=env_with(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 ISO repositories and 20 units" in result.stdout
    assert "Wrote 2 RPM repositories: 18 rpm, 2 srpm," in result.stdout
    dump = open_dump(next((tmp_path / "dump").iterdir()))
    assert sum(1 for _ in dump.iter_collection("units_iso")) == 20
    assert sum(1 for _ in dump.iter_collection("units_rpm")) == 18
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [plugin["type"] for plugin in plan["plugins"]] == ["iso", "rpm"]
    refused = run_cli("generate-sample", str(tmp_path), "--type", "docker", env=env_with())
    assert refused.returncode == 2
    assert "must be some of iso, rpm, deb" in refused.stderr


def test_generate_sample_rejects_bad_options(tmp_path: Path) -> None:
    result = run_cli("generate-sample", str(tmp_path), "--on-demand", "1.5", env=env_with())
    assert result.returncode == 2
    assert "must be between 0 and 1" in result.stderr
