"""The operator's commands (``reports``, ``report``, ``pause``, ``resume``, ``cancel``,
``tasks``) against a real ``pulp2to3 api`` process, as an operator runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pulp2to3.sample import generate_sample
from tests.cli_support import (
    CLI,
    PASSWORD,
    api_server,
    read_until,
    run_cli,
    submit,
)
from tests.migration_support import worker_env, workers
from tests.ports_support import free_port

pytestmark = pytest.mark.timeout(240)


def operator_env(db_url: str, tmp_path: Path, port: int) -> dict[str, str]:
    sample = generate_sample(tmp_path / "sample", repos=2, units=30, seed=7)
    env = worker_env(db_url, sample, tmp_path / "media")
    env.update(PULP2TO3_API_BIND=f"127.0.0.1:{port}", PULP2TO3_ADMIN_PASSWORD=PASSWORD)
    return env


def test_reports_tasks_and_cancel_through_the_api(db_url: str, tmp_path: Path) -> None:
    env = operator_env(db_url, tmp_path, free_port())
    sample = generate_sample(tmp_path / "sample", repos=2, units=30, seed=7)
    migration_id = submit(db_url, sample)
    with api_server(env):
        listed = run_cli("reports", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [report["status"] for report in json.loads(listed.stdout)] == ["waiting"]
        table = run_cli("reports", "--log-level", "debug", env=env)
        assert f"{migration_id}  waiting" in table.stdout, table.stdout + table.stderr

        shown = run_cli("report", migration_id, env=env)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.splitlines()[0] == f"Migration {migration_id}: waiting"

        tasks = json.loads(run_cli("tasks", "--json", "--report", migration_id, env=env).stdout)
        assert [task["name"] for task in tasks] == ["pulp2to3.migrate"]
        assert run_cli("tasks", "--state", "failed", env=env).stdout == "No tasks.\n"

        refused = run_cli("pause", migration_id, env=env)
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1
        assert "409 This migration has not started yet" in refused.stderr

        canceled = run_cli("cancel", f"/pulp/api/v3/migrationreport/{migration_id}/", env=env)
        assert canceled.returncode == 0, canceled.stderr
        assert canceled.stdout == f"Migration {migration_id}: canceled\n"
        again = run_cli("report", migration_id, "--watch", "--json", env=env)
        assert again.returncode == 1  # watched to its end, which is not a completion
        assert json.loads(again.stdout)["status"] == "canceled"


def test_the_api_refusing_or_missing_is_one_line(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = operator_env(db_url, tmp_path, port)
    missing = run_cli("reports", env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith(
        f"pulp2to3 reports: no answer from the API at http://127.0.0.1:{port}"
    )
    assert missing.stderr.count("\n") == 1
    with api_server(env):
        wrong = run_cli("tasks", env={**env, "PULP2TO3_ADMIN_PASSWORD": "wrong"})
        assert wrong.returncode == 2
        assert "401" in wrong.stderr
        assert wrong.stderr.count("\n") == 1
        unknown = run_cli("resume", "00000000-0000-0000-0000-000000000000", env=env)
        assert unknown.returncode == 2
        assert "404" in unknown.stderr


def test_report_watch_goes_on_through_an_api_restart(db_url: str, tmp_path: Path) -> None:
    env = operator_env(db_url, tmp_path, free_port())
    sample = generate_sample(tmp_path / "sample", repos=2, units=30, seed=7)
    migration_id = submit(db_url, sample)
    watch = subprocess.Popen(
        [*CLI, "report", migration_id, "--watch"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert watch.stdout is not None
        assert watch.stderr is not None
        with api_server(env):
            assert "watching it through" in watch.stdout.readline()
            # Not drawn on a pipe, the notices are logged: the watch reached the API.
            read_until(watch.stderr, "waiting for a worker")
        # The API stopped: the watch says so and goes on.
        read_until(watch.stderr, "no answer from the API")
        assert watch.poll() is None
        with workers(1, worker_env(db_url, sample, tmp_path / "media")), api_server(env):
            stdout, stderr = watch.communicate(timeout=180)
    finally:
        watch.kill()
    assert watch.returncode == 0, stdout + stderr
    assert f"Migration {migration_id}: completed" in stdout
    assert "migrate_content.iso: completed (30/30)" in stdout
