"""Whole migrations of generated samples: real worker processes, real HTTP, a real database."""

from __future__ import annotations

import hashlib
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from tests.filesystems_support import resize, small_filesystem
from tests.migration_http_support import (
    API,
    CREATED_BY_STEP,
    STEP_ORDER,
    Client,
    api_client,
    call,
    check_complete_and_counted_once,
    check_files,
    check_report,
    check_result,
    job_states,
    start,
    wait_finished,
)
from tests.migration_support import (
    base_path,
    expected_state,
    worker_env,
    workers,
)
from tests.waiting_support import eventually

# Half on_demand, a third in several repositories, and some files revised upstream (Pulp 2 kept
# both units of one name; a Pulp 3 version holds the newer).
SAMPLE: dict[str, Any] = dict(
    repos=20, units=2400, on_demand=0.5, overlap=0.3, revisions=0.05, seed=7
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"), **SAMPLE)


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
async def client(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, media_root: Path
) -> AsyncIterator[Client]:
    async with api_client(db_url, pool, sample, media_root) as client:
        yield client


async def test_a_full_migration_through_http_with_two_workers(
    client: Client, pool: asyncpg.Pool, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    with workers(2, worker_env(db_url, sample, media_root)):
        report_href = await start(client, sample)
        report = await wait_finished(client, report_href)
    check_report(report)
    await check_result(pool, sample, media_root)
    await check_files(pool, sample, media_root)

    content_step = report["steps"][STEP_ORDER.index("migrate_content.iso")]
    assert content_step["total"] == sample.units
    tasks = [await call(client, "GET", href, 200) for href in content_step["tasks"]]
    assert all(task["state"] == "completed" for task in tasks)
    assert {task["step"] for task in tasks} == {"migrate_content.iso"}
    assert len({task["worker"] for task in tasks}) == 2, "both workers took content batches"
    overlapping = any(
        a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"]
        for i, a in enumerate(tasks)
        for b in tasks[i + 1 :]
        if a["worker"] != b["worker"]
    )
    assert overlapping, "batches of the content step ran at the same time on both workers"
    # Every step's tasks finished before the first task of a step that needs it started.
    step_tasks = {
        step["code"]: [await call(client, "GET", href, 200) for href in step["tasks"]]
        for step in report["steps"]
    }
    for step in report["steps"]:
        for need in step["needs"]:
            assert max(t["finished_at"] for t in step_tasks[need]) <= min(
                t["started_at"] for t in step_tasks[step["code"]]
            )
    # compute_version_content started with create_repositories, in the same poll.
    started = {step["code"]: step["started_at"] for step in report["steps"]}
    assert started["compute_version_content"] == started["create_repositories"]
    # The tasks name what they created: every repository, remote, publication and distribution.
    for code, listings in CREATED_BY_STEP.items():
        created = [href for task in step_tasks[code] for href in task["created_resources"]]
        listed = [
            item["pulp_href"]
            for listing in listings
            for item in (await call(client, "GET", f"{API}{listing}?limit=1000", 200))["results"]
        ]
        assert sorted(created) == sorted(listed), code
    assert all(not task["created_resources"] for task in step_tasks["migrate_content.iso"])

    await check_content_app(client, sample)


async def check_content_app(client: Client, sample: SampleSummary) -> None:
    distributions = await call(client, "GET", f"{API}distributions/?limit=1000", 200)
    dump = open_dump(sample.dump_path)
    units = {(unit["name"], unit["checksum"]): unit for unit in dump.iter_collection("units_iso")}
    importer_repo = {str(i["_id"]): i["repo_id"] for i in dump.iter_collection("repo_importers")}
    # An on_demand file is fetched through the remote of the distribution's own repository.
    urls = {
        (entry["unit_id"], importer_repo[entry["importer_id"]]): entry["url"]
        for entry in dump.iter_collection("lazy_content_catalog")
    }
    repo_of_base_path = {
        base_path(distributor.get("config", {}), distributor["repo_id"]): distributor["repo_id"]
        for distributor in dump.iter_collection("repo_distributors")
    }
    files = redirects = 0
    for distribution in distributions["results"]:
        base = f"/pulp/content/{distribution['base_path']}/"
        manifest = await client.get(base + "PULP_MANIFEST")
        assert manifest.status == 200
        for line in (await manifest.text()).splitlines()[:40]:
            name, sha256, _size = line.split(",")
            unit = units[name, sha256]
            response = await client.get(base + name, allow_redirects=False)
            if unit.get("downloaded", True):
                assert response.status == 200
                assert hashlib.sha256(await response.read()).hexdigest() == sha256
                files += 1
            else:
                assert response.status == 302
                repo_id = repo_of_base_path[distribution["base_path"]]
                assert response.headers["Location"] == urls[(unit["_id"], repo_id)]
                redirects += 1
        for escape in ("../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fetc%2fpasswd"):
            response = await client.get(base + escape, allow_redirects=False)
            assert response.status == 404, escape
    assert files
    assert redirects


async def test_cancel_in_the_content_step_then_a_new_run_completes_the_same(
    client: Client, pool: asyncpg.Pool, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    env = worker_env(db_url, sample, media_root)
    with workers(2, env):
        report_href = await start(client, sample)

        async def content_running() -> bool:
            report = await call(client, "GET", report_href, 200)
            steps = {step["code"]: step for step in report["steps"]}
            return steps.get("migrate_content.iso", {}).get("status") == "running"

        await eventually(content_running, 60, "the content step to start")
        canceled = await call(client, "PATCH", report_href, 200, {"status": "canceled"})
        assert canceled["status"] == "canceled"

        async def all_stopped() -> bool:
            return await job_states(pool, report_href) == Counter()

        await eventually(all_stopped, 10, "every job of the canceled migration to stop")
        assert (await call(client, "GET", report_href, 200))["status"] == "canceled"

        second = await start(client, sample)
        check_report(await wait_finished(client, second))
    await check_result(pool, sample, media_root)


async def test_a_paused_migration_stands_still_and_once_resumed_completes_the_same(
    client: Client, pool: asyncpg.Pool, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    with workers(2, worker_env(db_url, sample, media_root)):
        report_href = await start(client, sample)
        report: dict[str, Any] = {}

        async def status_is(wanted: str) -> bool:
            nonlocal report
            report = await call(client, "GET", report_href, 200)
            return bool(report["status"] == wanted)

        await eventually(lambda: status_is("running"), 60, "the migration to start")
        pausing = await call(client, "PATCH", report_href, 200, {"status": "paused"})
        assert pausing["status"] in ("pausing", "paused")
        await eventually(lambda: status_is("paused"), 30, "the migration to be paused")
        assert (await call(client, "PATCH", report_href, 200, {"status": "paused"}))["status"] == (
            "paused"
        )
        # Paused: no task of the migration runs, nothing moves, and the polls have stopped,
        # while the workers go on running other jobs (their periodic upkeep, every 5 s).
        assert (await job_states(pool, report_href))["task doing"] == 0
        async with pool.acquire() as connection:
            last_job = await connection.fetchval("SELECT max(id) FROM procrastinate_jobs")

        async def upkeep_ran() -> bool:
            async with pool.acquire() as connection:
                return bool(
                    await connection.fetchval(
                        "SELECT count(*) FROM procrastinate_jobs WHERE id > $1"
                        " AND task_name LIKE '%retry_stalled_jobs' AND status = 'succeeded'",
                        last_job,
                    )
                )

        await eventually(upkeep_ran, 30, "the workers to run their upkeep while paused")
        assert await call(client, "GET", report_href, 200) == report
        states = await job_states(pool, report_href)
        assert set(states) <= {"task todo"}, states

        resumed = await call(client, "PATCH", report_href, 200, {"status": "running"})
        assert resumed["status"] == "running"
        check_report(await wait_finished(client, report_href))
    await check_result(pool, sample, media_root)


async def test_a_run_after_pulp2_grew_adds_versions_where_repositories_changed(
    client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    sample: SampleSummary,
    media_root: Path,
    tmp_path: Path,
) -> None:
    # The same seed with more units: the same repositories and units, and 5 more units
    # (Pulp 2 synced again), written as a new dump and tree.
    grown = generate_sample(tmp_path / "grown", **(SAMPLE | {"units": 2405}))
    before, after = expected_state(sample).versions, expected_state(grown).versions
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed
    assert changed != set(after)
    with workers(2, worker_env(db_url, sample, media_root)):
        check_report(await wait_finished(client, await start(client, sample)))
    await check_result(pool, sample, media_root)
    with workers(2, worker_env(db_url, grown, media_root)):
        check_report(await wait_finished(client, await start(client, grown)))
    await check_result(pool, grown, media_root)
    async with pool.acquire() as connection:
        latest = dict(
            await connection.fetch(
                "SELECT r.name, max(v.number) FROM repository r"
                " JOIN repository_version v ON v.repository_id = r.id GROUP BY r.name"
            )
        )
    assert latest == {name: 2 if name in changed else 1 for name in after}


async def test_a_worker_killed_mid_content_step_loses_nothing(
    client: Client, pool: asyncpg.Pool, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    env = worker_env(db_url, sample, media_root)
    with workers(2, env) as processes:
        report_href = await start(client, sample)

        async def content_running() -> bool:
            async with pool.acquire() as connection:
                running = await connection.fetchval(
                    "SELECT count(*) FROM migration_task t JOIN procrastinate_jobs j"
                    " ON j.id = t.job_id WHERE t.step_code = 'migrate_content.iso'"
                    " AND j.status = 'doing'"
                )
            return bool(running)

        await eventually(content_running, 60, "a content batch to run")
        processes[0].send_signal(signal.SIGKILL)
        report = await wait_finished(client, report_href, within=240)
    await check_complete_and_counted_once(report, pool, sample, media_root)


async def test_a_worker_killed_while_the_migration_pauses_loses_nothing(
    client: Client, pool: asyncpg.Pool, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    """The killed worker's batch stalls; once it is noticed and retried, the retry is held too,
    the migration is paused, and after a resume it completes with the same result."""
    with workers(2, worker_env(db_url, sample, media_root)) as processes:
        report_href = await start(client, sample)
        running_on: list[str] = []

        async def content_running() -> bool:
            nonlocal running_on
            async with pool.acquire() as connection:
                running_on = [
                    row["worker_name"]
                    for row in await connection.fetch(
                        "SELECT t.worker_name FROM migration_task t JOIN procrastinate_jobs j"
                        " ON j.id = t.job_id WHERE t.step_code = 'migrate_content.iso'"
                        " AND j.status = 'doing' AND t.worker_name IS NOT NULL"
                    )
                ]
            return bool(running_on)

        await eventually(content_running, 60, "a content batch to run")
        await call(client, "PATCH", report_href, 200, {"status": "paused"})
        # Kill the worker running that batch (worker names end with their pid).
        victim = next(p for p in processes if running_on[0].endswith(f"-{p.pid}"))
        victim.send_signal(signal.SIGKILL)

        async def paused() -> bool:
            report = await call(client, "GET", report_href, 200)
            return bool(report["status"] == "paused")

        await eventually(paused, 90, "the migration to be paused despite the dead worker")
        assert (await job_states(pool, report_href))["task doing"] == 0
        await call(client, "PATCH", report_href, 200, {"status": "running"})
        report = await wait_finished(client, report_href, within=240)
    await check_complete_and_counted_once(report, pool, sample, media_root)


async def test_a_corrupt_dump_fails_the_report_with_the_reason(
    client: Client, db_url: str, sample: SampleSummary, media_root: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.archive"
    data = sample.dump_path.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    env = worker_env(db_url, sample, media_root) | {"PULP2TO3_PULP2_DUMP": str(broken)}
    with workers(1, env):
        report = await wait_finished(client, await start(client, sample), within=60)
    assert report["status"] == "failed"
    assert str(broken) in report["error"]
    assert "offset" in report["error"]


async def test_validation_lists_everything_the_source_lacks(
    client: Client, db_url: str, sample: SampleSummary, media_root: Path
) -> None:
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": "ghost",
                        "pulp2_importer_repository_id": "no-importer",
                        "repository_versions": [
                            {
                                "pulp2_repository_id": "no-repo",
                                "pulp2_distributor_repository_ids": ["no-distributor"],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    created = await call(client, "POST", f"{API}migration-plans/", 201, {"plan": plan})
    run = await call(client, "POST", created["pulp_href"] + "run/", 202, {"dry_run": True})
    with workers(1, worker_env(db_url, sample, media_root)):
        report = await wait_finished(client, run["report"], within=60)
    assert report["status"] == "failed"
    for missing in ("'no-importer'", "'no-repo'", "'no-distributor'"):
        assert missing in report["error"]


@pytest.fixture
def broken_sample(tmp_path: Path) -> tuple[SampleSummary, dict[str, Any], dict[str, Any]]:
    """A small sample with the file of one downloaded unit missing and the file of another a
    symlink to a file outside the Pulp 2 root (each the only unit of its checksum)."""
    small = generate_sample(tmp_path / "small", repos=3, units=120, on_demand=0.2, seed=11)
    downloaded = [
        unit
        for unit in open_dump(small.dump_path).iter_collection("units_iso")
        if unit.get("downloaded", True)
    ]
    uses = Counter(unit["checksum"] for unit in downloaded)
    missing, escaping = [unit for unit in downloaded if uses[unit["checksum"]] == 1][:2]

    def source(unit: dict[str, Any]) -> Path:
        return small.pulp_root / str(unit["_storage_path"]).removeprefix("/var/lib/pulp/")

    source(missing).unlink()
    outside = tmp_path / "outside.iso"
    outside.write_bytes(source(escaping).read_bytes())
    source(escaping).unlink()
    source(escaping).symlink_to(outside)
    return small, missing, escaping


async def test_skip_corrupted_names_a_missing_file_and_a_file_outside_the_root_as_unit_failures(
    client: Client,
    db_url: str,
    tmp_path: Path,
    pool: asyncpg.Pool,
    broken_sample: tuple[SampleSummary, dict[str, Any], dict[str, Any]],
) -> None:
    small, missing, escaping = broken_sample
    media_root = tmp_path / "media"
    with workers(2, worker_env(db_url, small, media_root)):
        report = await wait_finished(client, await start(client, small, skip_corrupted=True))
    assert report["status"] == "completed", report
    assert report["skip_corrupted"] is True
    content = next(s for s in report["steps"] if s["code"] == "migrate_content.iso")
    assert content["failed"] == 2
    assert content["done"] == small.units - 2
    named = {failure["unit"]: failure["reason"] for failure in content["failed_units"]}
    assert set(named) == {missing["_id"], escaping["_id"]}
    assert all(reason for reason in named.values())
    async with pool.acquire() as connection:
        stored = await connection.fetch("SELECT file FROM artifact")
    # Nothing from outside the root was read into the artifact storage.
    hashes = {hashlib.sha256((media_root / row["file"]).read_bytes()).hexdigest() for row in stored}
    assert escaping["checksum"] not in hashes


async def test_without_skip_corrupted_a_missing_file_fails_its_content_step_at_its_end(
    client: Client,
    db_url: str,
    tmp_path: Path,
    broken_sample: tuple[SampleSummary, dict[str, Any], dict[str, Any]],
) -> None:
    """pulp-2to3-migration's default: the content step tries every unit, then fails naming the
    unit whose file is missing; the file outside the root is no corrupt file, only a failure."""
    small, missing, escaping = broken_sample
    with workers(2, worker_env(db_url, small, tmp_path / "media")):
        report = await wait_finished(client, await start(client, small))
    assert report["status"] == "failed", report
    assert report["skip_corrupted"] is False
    steps = {step["code"]: step for step in report["steps"]}
    content = steps["migrate_content.iso"]
    assert content["status"] == "failed"
    assert content["done"] + content["failed"] == small.units
    assert {failure["unit"] for failure in content["failed_units"]} == {
        missing["_id"],
        escaping["_id"],
    }
    assert "migrate_content.iso" in report["error"]
    assert missing["_id"] in report["error"]
    assert escaping["_id"] not in report["error"]
    assert steps["create_repositories"]["status"] == "skipped"


async def test_a_full_media_root_fails_units_by_name_then_a_rerun_completes_the_same(
    client: Client, db_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    """The media root is a tmpfs with room for about half the files (the sample's tree is on
    another filesystem: every file is copied). The units that do not fit fail, named with
    ENOSPC; no temporary file stays; with space freed, the next run completes the same as an
    undisturbed one."""
    small = generate_sample(tmp_path / "small", repos=3, units=120, on_demand=0.2, seed=11)
    with small_filesystem(tmp_path / "media", 160 << 10) as media_root:
        env = worker_env(db_url, small, media_root)
        with workers(2, env):
            report = await wait_finished(client, await start(client, small))
        content = next(s for s in report["steps"] if s["code"] == "migrate_content.iso")
        assert content["failed"] > 0, report
        assert content["done"] + content["failed"] == small.units
        for failure in content["failed_units"]:
            assert "(ENOSPC)" in failure["reason"], failure
        # Then the publications' PULP_MANIFEST files have no room either: that step fails.
        assert report["status"] == "failed", report
        assert "No space left on device" in report["error"]
        assert not list(media_root.rglob("*.part"))

        resize(media_root, 16 << 20)
        with workers(2, env):
            report = await wait_finished(client, await start(client, small))
        assert report["status"] == "completed", report
        await check_result(pool, small, media_root)
        assert not list(media_root.rglob("*.part"))
