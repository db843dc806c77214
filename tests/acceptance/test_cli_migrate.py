"""`pulp2to3 migrate`, `watch` and `demo` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from pulp2to3.sample import SampleSummary, generate_sample
from tests.cli_support import CLI, submit
from tests.embedded_support import embedded_data_dir
from tests.migration_support import worker_env, workers
from tests.ports_support import free_port
from tests.waiting_support import eventually

pytestmark = pytest.mark.timeout(240)


def test_migrate_runs_a_plan_with_its_own_workers_and_exits_0(db_url: str, tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=4, units=300, seed=3)
    result = subprocess.run(
        [*CLI, "migrate", str(sample.plan_path), "--workers", "2"],
        env=worker_env(db_url, sample, tmp_path / "media"),
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": completed" in result.stdout
    assert "migrate_content.iso: completed (300/300)" in result.stdout


def test_migrate_of_a_broken_plan_file_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"plugins": [{"type": "iso", "repositories": [{"name": "x"}]}]}))
    sample = generate_sample(tmp_path / "sample", repos=1, units=5, seed=3)
    env = worker_env(db_url, sample, tmp_path / "media")
    invalid = subprocess.run(
        [*CLI, "migrate", str(plan), "--workers", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert invalid.returncode == 2
    assert "'repository_versions' is a required property" in invalid.stderr
    missing = subprocess.run(
        [*CLI, "migrate", str(tmp_path / "nope.json"), "--workers", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def demo_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP2TO3_")}
    env.pop("DATABASE_URL", None)
    env.update(PULP2TO3_DATA_DIR=str(data_dir), PULP2TO3_API_BIND=f"127.0.0.1:{port}")
    return env


def test_demo_migrates_a_sample_on_an_embedded_server() -> None:
    with embedded_data_dir() as data_dir:
        result = subprocess.run(
            [*CLI, "demo", "--repos", "3", "--units", "120", "--exit"],
            env=demo_env(data_dir, free_port()), capture_output=True, text=True, timeout=200,
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert ": completed" in result.stdout
        assert "http://" not in result.stdout  # nothing serves once it exits: no URL to try
        assert not (data_dir / "demo" / "postgres" / "postmaster.pid").exists()


def _http_status(url: str) -> int:
    request = urllib.request.Request(url, method="HEAD")  # noqa: S310 - our loopback URL
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_demo_on_a_taken_port_serves_on_another_with_its_workers_until_sigterm() -> None:
    with socket.socket() as taken, embedded_data_dir() as data_dir:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = subprocess.Popen(
            [*CLI, "demo", "--repos", "2", "--units", "40"],
            env=demo_env(data_dir, port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        try:
            assert demo.stdout is not None
            lines = []
            for line in demo.stdout:
                lines.append(line)
                if "keep serving" in line:
                    break
            output = "".join(lines)
            assert f"Port {port} is taken by another program" in output, output
            urls = re.findall(r"http://\S+", output)
            assert len(urls) == 4, output
            # The URLs printed serve (the API asks for the password printed with it).
            assert _http_status(urls[0]) == 200, urls[0]
            assert urls[0].endswith("/"), urls[0]  # a distribution's listing
            assert _http_status(urls[1]) == 200, urls[1]
            assert "302" in output  # what the on_demand files answer is said
            assert _http_status(urls[2]) == 200, urls[2]  # the dashboard
            status_url = urls[3] + "status/"
            with urllib.request.urlopen(status_url, timeout=10) as response:  # noqa: S310
                # The workers stay while the API serves: a plan run through it is migrated.
                assert json.load(response)["online_workers"]
        finally:
            demo.send_signal(signal.SIGTERM)
            demo.communicate(timeout=60)
        assert demo.returncode == 128 + signal.SIGTERM
        assert not (data_dir / "demo" / "postgres" / "postmaster.pid").exists()


def _interactive_migrate(
    db_url: str, tmp_path: Path, sample: SampleSummary, workers: int
) -> subprocess.Popen[str]:
    """``pulp2to3 migrate`` of the sample, its stdin a pipe to answer Ctrl-C's question."""
    return subprocess.Popen(
        [*CLI, "migrate", str(sample.plan_path), "--workers", str(workers)],
        env=worker_env(db_url, sample, tmp_path / "media"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_until_interruptible(process: subprocess.Popen[str]) -> None:
    """Read the process's output up to the line it prints once Ctrl-C asks instead of stopping."""
    assert process.stdout is not None
    for line in process.stdout:
        if "Ctrl-C to pause, resume or cancel it" in line:
            return
    raise AssertionError("the command ended before it watched the migration")


def _interrupt_and_answer(migrate: subprocess.Popen[str], answer: str) -> None:
    assert migrate.stdin is not None
    migrate.send_signal(signal.SIGINT)
    migrate.stdin.write(answer + "\n")
    migrate.stdin.flush()


def test_ctrl_c_asks_and_cancels_the_migration(db_url: str, tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=2, units=20, seed=5)
    # No workers: the migration waits, so the question comes while it is unfinished.
    migrate = _interactive_migrate(db_url, tmp_path, sample, workers=0)
    try:
        _wait_until_interruptible(migrate)
        _interrupt_and_answer(migrate, "c")
        stdout, stderr = migrate.communicate(timeout=60)
    finally:
        migrate.kill()
    assert "Pause (p) or cancel (c) the migration, or go on watching (Enter)?" in stdout, (
        stdout + stderr
    )
    assert ": canceled" in stdout
    assert migrate.returncode == 1


def test_ctrl_c_pauses_and_then_resumes_the_migration(db_url: str, tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=10, units=3000, seed=5)
    migrate = _interactive_migrate(db_url, tmp_path, sample, workers=1)
    try:
        _wait_until_interruptible(migrate)
        _wait_for_report(db_url, "running")
        _interrupt_and_answer(migrate, "p")
        _wait_for_report(db_url, "paused")
        _interrupt_and_answer(migrate, "r")
        stdout, stderr = migrate.communicate(timeout=120)
    finally:
        migrate.kill()
    assert "Resume (r) or cancel (c) the migration, or go on watching (Enter)?" in stdout, (
        stdout + stderr
    )
    assert ": completed" in stdout
    assert migrate.returncode == 0


def test_watch_follows_a_migration_started_elsewhere_to_its_end(
    db_url: str, tmp_path: Path
) -> None:
    sample = generate_sample(tmp_path / "sample", repos=3, units=200, seed=4)
    env = worker_env(db_url, sample, tmp_path / "media")
    migration_id = submit(db_url, sample)
    watch = subprocess.Popen(
        [*CLI, "watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_until_interruptible(watch)
        assert watch.poll() is None  # nothing runs the migration yet: it waits
        with workers(1, env):
            stdout, stderr = watch.communicate(timeout=120)
    finally:
        watch.kill()
    assert watch.returncode == 0, stdout + stderr
    assert f"Migration {migration_id}: completed" in stdout
    assert "migrate_content.iso: completed (200/200)" in stdout
    # Watching a finished report by its href shows its outcome at once.
    again = subprocess.run(
        [*CLI, "watch", f"/pulp/api/v3/migrationreport/{migration_id}/"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"Migration {migration_id}: completed" in again.stdout


def test_ctrl_c_in_watch_can_quit_watching_and_leaves_the_migration_alone(
    db_url: str, tmp_path: Path
) -> None:
    sample = generate_sample(tmp_path / "sample", repos=2, units=20, seed=5)
    env = worker_env(db_url, sample, tmp_path / "media")
    migration_id = submit(db_url, sample)
    watch = subprocess.Popen(
        [*CLI, "watch", migration_id], env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until_interruptible(watch)
        _interrupt_and_answer(watch, "q")
        stdout, stderr = watch.communicate(timeout=60)
    finally:
        watch.kill()
    assert "quit watching (q)" in stdout, stdout + stderr
    assert f"Migration {migration_id}: waiting" in stdout
    assert watch.returncode == 1
    assert _report_status(db_url) == "waiting"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (None, "no migration is unfinished: name the report to watch"),
        ("not-a-report", "'not-a-report' is not a report id nor a report href"),
        (
            "00000000-0000-0000-0000-000000000000",
            "there is no migration report 00000000-0000-0000-0000-000000000000",
        ),
    ],
)
def test_watch_without_a_report_to_watch_is_a_clear_error(
    db_url: str, argument: str | None, message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP2TO3_")}
    env["PULP2TO3_DATABASE_URL"] = db_url
    result = subprocess.run(
        [*CLI, "watch", *([argument] if argument else [])],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == f"pulp2to3 watch: {message}"


def _wait_for_report(db_url: str, status: str) -> None:
    async def has_status() -> bool:
        return await _status(db_url) == status

    asyncio.run(eventually(has_status, 60, f"the migration to be {status}"))


async def _status(db_url: str) -> str | None:
    connection = await asyncpg.connect(db_url)
    try:
        value: str | None = await connection.fetchval("SELECT status FROM migration")
        return value
    finally:
        await connection.close()


def _report_status(db_url: str) -> str | None:
    return asyncio.run(_status(db_url))
