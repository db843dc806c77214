"""pulp-2to3-migration's generated client (0.17.0) and pulpcore's (tasks, task groups), unchanged,
against a real ``pulp2to3 api`` process and real workers, as Katello drove a migration: create
a plan, run it, wait on its task group, read its tasks, list and filter the Pulp 2 mapping with
every filter pulp-2to3-migration declared, reset, and run again."""

from __future__ import annotations

import asyncio
import datetime
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from pulpcore.client import pulp_2to3_migration as migration_client
from pulpcore.client import pulpcore as core_client

from pulp2to3.sample import SampleSummary, generate_sample
from tests.migration_support import worker_env, workers
from tests.ports_support import free_port
from tests.waiting_support import eventually

pytestmark = pytest.mark.timeout(300)

PASSWORD = "secret"
T = TypeVar("T")


@pytest.fixture
def sample(tmp_path: Path) -> SampleSummary:
    return generate_sample(tmp_path / "sample", repos=3, units=90, on_demand=0.3, seed=5)


@pytest.fixture
def env(db_url: str, sample: SampleSummary, tmp_path: Path) -> dict[str, str]:
    return worker_env(db_url, sample, tmp_path / "media") | {"PULP2TO3_ADMIN_PASSWORD": PASSWORD}


@pytest.fixture
def api_url(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A real ``pulp2to3 api`` process; its base URL once it answers."""
    port = free_port()
    log = tmp_path / "api.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulp2to3.cli", "api"],
            env=env | {"PULP2TO3_API_BIND": f"127.0.0.1:{port}"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"

    async def answers() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{url}/pulp/api/v3/status/") as response,
            ):
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    try:
        asyncio.run(eventually(answers, 30, "the API answers"))
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Clients:
    """The APIs of both generated clients, configured as a user would."""

    def __init__(self, url: str) -> None:
        migration = migration_client.ApiClient(
            migration_client.Configuration(host=url, username="admin", password=PASSWORD)
        )
        core = core_client.ApiClient(
            core_client.Configuration(host=url, username="admin", password=PASSWORD)
        )
        self.plans = migration_client.MigrationPlansApi(migration)
        self.pulp2_content = migration_client.Pulp2ContentApi(migration)
        self.pulp2_repositories = migration_client.Pulp2RepositoriesApi(migration)
        self.tasks = core_client.TasksApi(core)
        self.task_groups = core_client.TaskGroupsApi(core)


def until(check: Callable[[], T | None], within: float, what: str) -> T:
    """What ``check`` gives once it gives something (the blocking clients, polled)."""
    found: list[T] = []

    async def holds() -> bool:
        value = check()
        if value is not None:
            found.append(value)
        return bool(found)

    asyncio.run(eventually(holds, within, what))
    return found[0]


def finished_group(clients: Clients, href: str) -> Any:
    def done() -> Any:
        group = clients.task_groups.read(href)
        unfinished = group.waiting + group.running + group.canceling
        return group if group.all_tasks_dispatched and unfinished == 0 else None

    return until(done, 180, f"the task group {href} is done")


def run_and_wait(clients: Clients, plan_href: str, *, dry_run: bool = False) -> Any:
    """Run the plan as Katello did, and wait on the task group of the run's task."""
    run = clients.plans.run(
        plan_href,
        migration_client.MigrationPlanRun(validate=True, dry_run=dry_run, skip_corrupted=False),
    )
    task = clients.tasks.read(run.task)
    assert task.task_group is not None
    group = finished_group(clients, task.task_group)
    assert (group.failed, group.canceled, group.skipped) == (0, 0, 0), group
    assert group.completed == len(group.tasks)
    return group


def listed(api: Any, **filters: Any) -> list[Any]:
    page = api.list(limit=1000, **filters)
    assert page.count == len(page.results)
    return list(page.results)


def check_content_filters(clients: Clients, sample: SampleSummary) -> None:
    everything = listed(clients.pulp2_content)
    assert len(everything) == sample.units
    api = clients.pulp2_content
    first, second = everything[0], everything[1]
    assert [c.pulp2_id for c in listed(api, pulp2_id=first.pulp2_id)] == [first.pulp2_id]
    both = {c.pulp2_id for c in listed(api, pulp2_id__in=[first.pulp2_id, second.pulp2_id])}
    assert both == {first.pulp2_id, second.pulp2_id}
    assert len(listed(api, pulp2_content_type_id="iso")) == sample.units
    assert len(listed(api, pulp2_content_type_id__in=["iso", "rpm"])) == sample.units
    assert listed(api, pulp2_content_type_id="rpm") == []
    assert listed(api, pulp2_last_updated__lt=0) == []
    times = sorted(c.pulp2_last_updated for c in everything)
    middle = times[len(times) // 2]
    assert len(listed(api, pulp2_last_updated__lt=middle)) == sum(t < middle for t in times)
    assert len(listed(api, pulp2_last_updated__lte=middle)) == sum(t <= middle for t in times)
    assert len(listed(api, pulp2_last_updated__gt=middle)) == sum(t > middle for t in times)
    assert len(listed(api, pulp2_last_updated__gte=middle)) == sum(t >= middle for t in times)
    low, high = times[1], times[-2]
    in_range = listed(api, pulp2_last_updated__range=[low, high])
    assert len(in_range) == sum(low <= t <= high for t in times)
    moment = datetime.datetime.fromtimestamp(middle, datetime.UTC)
    assert {c.pulp2_last_updated for c in listed(api, pulp2_last_updated=moment)} == {middle}
    migrated = next(c for c in everything if c.pulp3_content is not None)
    found = listed(api, pulp3_content=migrated.pulp3_content)
    assert migrated.pulp2_id in {c.pulp2_id for c in found}
    newest_first = listed(api, ordering="-pulp2_last_updated")
    assert [c.pulp2_last_updated for c in newest_first] == sorted(times, reverse=True)
    shaped = listed(api, fields="pulp2_id,pulp2_content_type_id,pulp2_last_updated")
    assert all(c.pulp_href is None and c.pulp2_id for c in shaped)
    assert all(c.pulp3_content is None for c in listed(api, exclude_fields="pulp3_content"))
    detail = api.read(first.pulp_href)
    assert detail.to_dict() == first.to_dict()
    # Every field of pulp-2to3-migration 0.17's Pulp2ContentSerializer, with its type.
    for unit in everything:
        assert isinstance(unit.pulp_created, datetime.datetime)
        assert unit.pulp2_content_type_id == "iso"
        assert isinstance(unit.pulp2_last_updated, int)
        assert unit.pulp2_storage_path.startswith("/var/lib/pulp/content/")
        assert isinstance(unit.downloaded, bool)
        assert unit.pulp3_content.startswith("/pulp/api/v3/content/")
        assert unit.pulp3_repository_version is None
    assert any(unit.downloaded for unit in everything)
    assert not all(unit.downloaded for unit in everything)


def check_repository_filters(clients: Clients, sample: SampleSummary) -> None:
    api = clients.pulp2_repositories
    everything = listed(api)
    assert len(everything) == sample.repos
    assert all(r.is_migrated and not r.not_in_plan for r in everything)
    assert all(r.pulp3_repository_href for r in everything)
    first, second = everything[0], everything[1]
    assert [r.pulp2_repo_id for r in listed(api, pulp2_repo_id=first.pulp2_repo_id)] == [
        first.pulp2_repo_id
    ]
    both = listed(api, pulp2_repo_id__in=[first.pulp2_repo_id, second.pulp2_repo_id])
    assert {r.pulp2_repo_id for r in both} == {first.pulp2_repo_id, second.pulp2_repo_id}
    assert len(listed(api, is_migrated=True)) == sample.repos
    assert listed(api, is_migrated=False) == []
    assert listed(api, not_in_plan=True) == []
    names = [r.pulp2_repo_id for r in listed(api, ordering="-pulp2_repo_id")]
    assert names == sorted(names, reverse=True)
    assert api.read(first.pulp_href).to_dict() == first.to_dict()
    # Every field of pulp-2to3-migration 0.17's Pulp2RepositoriesSerializer, with its type.
    for repository in everything:
        assert isinstance(repository.pulp_created, datetime.datetime)
        assert repository.pulp2_object_id
        assert repository.pulp2_repo_type == "iso"
        assert repository.pulp3_repository_version.startswith(
            f"{repository.pulp3_repository_href}versions/"
        )
        assert repository.pulp3_remote_href.split("/")[4] == "remotes"
        assert repository.pulp3_publication_href.split("/")[4] == "publications"
        assert [href.split("/")[4] for href in repository.pulp3_distribution_hrefs] == [
            "distributions"
        ]


def check_tasks(clients: Clients, group: Any) -> None:
    """Every task of the group, read through TasksApi, and what the creating ones created."""
    created: dict[str, list[str]] = {}
    for minimal in group.tasks:
        task = clients.tasks.read(minimal.pulp_href)
        assert task.state == "completed", task
        assert task.task_group == group.pulp_href
        assert task.logging_cid
        for href in task.created_resources:
            created.setdefault(href.split("/")[4], []).append(href)
    assert set(created) == {"repositories", "remotes", "publications", "distributions"}
    in_group = clients.tasks.list(task_group=group.pulp_href, limit=1000)
    assert in_group.count == len(group.tasks)
    assert group.group_progress_reports[0].code == "premigrate"
    assert all(step.done <= step.total for step in group.group_progress_reports)


def check_task_filters(clients: Clients, group: Any, plan_href: str) -> None:
    """Every filter of pulpcore 3.49's task list, through TasksApi.list, on a group's tasks."""
    everything = [clients.tasks.read(t.pulp_href) for t in group.tasks]
    mine = sorted(t.pulp_href for t in everything)

    def hrefs(**filters: Any) -> list[str]:
        page = clients.tasks.list(limit=1000, task_group=group.pulp_href, **filters)
        assert page.count == len(page.results)
        return sorted(t.pulp_href for t in page.results)

    def those(check: Callable[[Any], bool]) -> list[str]:
        return sorted(t.pulp_href for t in everything if check(t))

    one = next(t for t in everything if t.created_resources)
    assert hrefs() == mine
    assert hrefs(state="completed") == mine
    assert hrefs(state__in=["completed", "failed"]) == mine
    assert hrefs(state__ne="completed") == []
    assert hrefs(name=one.name) == those(lambda t: t.name == one.name)
    assert hrefs(name__contains=one.name[-6:]) == those(lambda t: one.name[-6:] in t.name)
    assert hrefs(name__in=[one.name]) == those(lambda t: t.name == one.name)
    assert hrefs(name__ne=one.name) == those(lambda t: t.name != one.name)
    assert hrefs(logging_cid=one.logging_cid) == mine
    assert hrefs(logging_cid__contains=one.logging_cid[:8]) == mine
    assert hrefs(worker=one.worker) == those(lambda t: t.worker == one.worker)
    assert hrefs(worker__in=[one.worker]) == those(lambda t: t.worker == one.worker)
    assert hrefs(worker__isnull=False) == those(lambda t: t.worker is not None)
    for moment in ("started_at", "finished_at"):
        times = sorted(getattr(t, moment) for t in everything)
        middle = times[len(times) // 2]
        for op, holds in (
            ("", lambda a, b: a == b),
            ("__lt", lambda a, b: a < b),
            ("__lte", lambda a, b: a <= b),
            ("__gt", lambda a, b: a > b),
            ("__gte", lambda a, b: a >= b),
        ):
            expected = those(
                lambda t, h=holds, m=moment, at=middle: h(getattr(t, m), at)  # type: ignore[misc]
            )
            assert hrefs(**{moment + op: middle}) == expected, moment + op
        assert hrefs(**{moment + "__range": [times[0], times[-1]]}) == mine
    assert hrefs(parent_task=one.pulp_href) == []
    assert hrefs(child_tasks=one.pulp_href) == []
    assert hrefs(created_resources=one.created_resources[0]) == [one.pulp_href]
    assert hrefs(pulp_href__in=[one.pulp_href]) == [one.pulp_href]
    assert hrefs(pulp_id__in=[one.pulp_href.split("/")[-2]]) == [one.pulp_href]
    assert hrefs(reserved_resources_record=[plan_href]) == mine
    assert hrefs(reserved_resources=plan_href) == mine
    assert hrefs(reserved_resources__in=[plan_href]) == mine
    assert hrefs(exclusive_resources=plan_href) == mine
    assert hrefs(exclusive_resources__in=[plan_href]) == mine
    assert hrefs(shared_resources=plan_href) == []
    assert hrefs(shared_resources__in=[plan_href]) == []
    newest = clients.tasks.list(limit=1000, task_group=group.pulp_href, ordering=["-started_at"])
    starts = [t.started_at for t in newest.results]
    assert starts == sorted(starts, reverse=True)
    asked = ["pulp_href", "name", "logging_cid", "state"]  # it requires name and logging_cid
    shaped = clients.tasks.list(task_group=group.pulp_href, fields=asked)
    assert all(t.state == "completed" and t.started_at is None for t in shaped.results)


def test_the_generated_clients_drive_a_migration_a_reset_and_a_second_migration(
    api_url: str, env: dict[str, str], sample: SampleSummary
) -> None:
    clients = Clients(api_url)
    plan = clients.plans.create(
        migration_client.Pulp2to3MigrationMigrationPlan(
            plan=json.loads(sample.plan_path.read_text())
        )
    )
    assert clients.plans.read(plan.pulp_href).plan == json.loads(sample.plan_path.read_text())
    assert [p.pulp_href for p in clients.plans.list().results] == [plan.pulp_href]
    with workers(2, env):
        dry = run_and_wait(clients, plan.pulp_href, dry_run=True)
        assert dry.description.startswith("Dry run")
        assert dry.group_progress_reports == []
        assert listed(clients.pulp2_content) == []

        group = run_and_wait(clients, plan.pulp_href)
        check_tasks(clients, group)
        check_task_filters(clients, group, plan.pulp_href)
        check_content_filters(clients, sample)
        check_repository_filters(clients, sample)

        reset = clients.plans.reset(plan.pulp_href)
        until(
            lambda: clients.tasks.read(reset.task).state == "completed" or None,
            60,
            "the reset task completes",
        )
        assert listed(clients.pulp2_content) == []
        assert listed(clients.pulp2_repositories) == []

        again = run_and_wait(clients, plan.pulp_href)
        check_tasks(clients, again)
        reset_group = clients.tasks.read(reset.task).task_group
        groups = [g.pulp_href for g in clients.task_groups.list(limit=1000).results]
        assert groups == [dry.pulp_href, group.pulp_href, reset_group, again.pulp_href]
        check_content_filters(clients, sample)
        check_repository_filters(clients, sample)
