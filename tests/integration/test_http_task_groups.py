"""Tasks in pulpcore's shape and migrations as pulpcore task groups, over real HTTP against a
real database (no worker: the steps a coordinator would write are written here)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.http_support import Client, app_for, client_for
from tests.migration_http_support import call, new_plan

API = "/pulp/api/v3/"
# Every field of pulpcore's TaskResponse (pulpcore-client 3.49), then ours.
PULPCORE_TASK_FIELDS = {
    "pulp_href", "pulp_created", "pulp_last_updated", "state", "name", "logging_cid",
    "created_by", "unblocked_at", "started_at", "finished_at", "error", "worker", "parent_task",
    "child_tasks", "task_group", "progress_reports", "created_resources",
    "reserved_resources_record",
}  # fmt: skip
# pulpcore's MinimalTaskResponse: what a group lists of each task.
MINIMAL_TASK_FIELDS = (
    "pulp_href", "pulp_created", "pulp_last_updated", "name", "state", "unblocked_at",
    "started_at", "finished_at", "worker",
)  # fmt: skip
GROUP_COUNTS = ("waiting", "skipped", "running", "completed", "canceled", "failed", "canceling")


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    async with client_for(app_for(db_url, pool), authenticated=True) as client:
        yield client


def id_of(href: str) -> str:
    return href.rstrip("/").rsplit("/", 1)[-1]


async def test_a_run_is_a_task_group_its_task_belongs_to(client: Client) -> None:
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    task = await call(client, "GET", started["task"], 200)
    assert set(task) == PULPCORE_TASK_FIELDS | {"report", "step"}
    migration_id = id_of(started["report"])
    assert task["task_group"] == f"{API}task-groups/{migration_id}/"
    assert task["logging_cid"] == migration_id
    assert task["reserved_resources_record"] == [plan["pulp_href"]]
    assert task["progress_reports"] == []
    assert task["unblocked_at"] == task["pulp_created"]
    assert (task["parent_task"], task["child_tasks"], task["created_by"]) == (None, [], None)

    group = await call(client, "GET", task["task_group"], 200)
    assert group["pulp_href"] == task["task_group"]
    assert plan["pulp_href"] in group["description"]
    assert group["all_tasks_dispatched"] is False
    assert {state: group[state] for state in GROUP_COUNTS} == {
        state: int(state == "waiting") for state in GROUP_COUNTS
    }
    assert group["group_progress_reports"] == []
    assert group["tasks"] == [{name: task[name] for name in MINIMAL_TASK_FIELDS}]
    listed = await call(client, "GET", f"{API}task-groups/", 200)
    assert listed["count"] == 1
    assert listed["results"] == [group]

    mine = await call(client, "GET", f"{API}tasks/?task_group={task['task_group']}", 200)
    assert [t["pulp_href"] for t in mine["results"]] == [started["task"]]
    other = f"{API}task-groups/{uuid.uuid4()}/"
    assert (await call(client, "GET", f"{API}tasks/?task_group={other}", 200))["count"] == 0
    await call(client, "GET", other, 404)
    await call(client, "GET", f"{API}task-groups/not-a-uuid/", 404)
    await call(client, "GET", f"{API}tasks/?task_group=nonsense", 400)
    # Filters add up, as pulpcore's do: a report of another task group gives nothing.
    both = f"{API}tasks/?task_group={other}&report={started['report']}"
    assert (await call(client, "GET", both, 200))["count"] == 0


async def _run_with_steps(
    client: Client, pool: asyncpg.Pool
) -> tuple[dict[str, Any], dict[str, Any], uuid.UUID]:
    """A migration as a coordinator leaves it: premigrate completed (3 units, one failed) with
    one batch task, create_repositories still waiting."""
    plan = await new_plan(client)
    started = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    migration_id = uuid.UUID(id_of(started["report"]))
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE migration SET status = 'running', started_at = now() WHERE id = $1",
            migration_id,
        )
        await connection.execute(
            "INSERT INTO migration_step (migration_id, position, code, description, status,"
            " total) VALUES ($1, 0, 'premigrate', 'Read the Pulp 2 dump', 'completed', 3),"
            " ($1, 1, 'create_repositories', 'Create repositories', 'waiting', 0)",
            migration_id,
        )
        job_id = await connection.fetchval(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
            " VALUES ('default', 'pulp2to3.premigrate', $1, 'succeeded') RETURNING id",
            {"migration_id": str(migration_id), "batch_key": "b0", "args": {"units": 3}},
        )
        await connection.execute(
            "INSERT INTO migration_task (job_id, migration_id, step_code, batch_key)"
            " VALUES ($1, $2, 'premigrate', 'b0')",
            job_id,
            migration_id,
        )
        await connection.execute(
            "INSERT INTO migration_batch_progress (migration_id, step_code, batch_key, done,"
            " failed) VALUES ($1, 'premigrate', 'b0', 2, 1)",
            migration_id,
        )
    task = await call(client, "GET", f"{API}tasks/{job_id}/", 200)
    return started, task, migration_id


async def test_a_group_reports_each_step_and_is_dispatched_once_no_step_waits(
    client: Client, pool: asyncpg.Pool
) -> None:
    started, task, migration_id = await _run_with_steps(client, pool)
    assert task["progress_reports"] == [
        {
            "message": "Read the Pulp 2 dump",
            "code": "premigrate",
            "state": "completed",
            "total": 3,
            "done": 2,
            "suffix": "1 failed",
        }
    ]
    group = await call(client, "GET", task["task_group"], 200)
    assert group["group_progress_reports"] == [
        {
            "message": "Read the Pulp 2 dump",
            "code": "premigrate",
            "total": 3,
            "done": 2,
            "suffix": "1 failed",
        },
        {
            "message": "Create repositories",
            "code": "create_repositories",
            "total": 0,
            "done": 0,
            "suffix": None,
        },
    ]
    assert (group["waiting"], group["completed"]) == (1, 1)
    assert [t["pulp_href"] for t in group["tasks"]] == [started["task"], task["pulp_href"]]
    assert group["all_tasks_dispatched"] is False
    # Every step started: not dispatched yet while one runs, as the poll that closes the last
    # one also finishes the migration (a client seeing the group done may reset at once).
    for status, dispatched in (("running", False), ("completed", True)):
        async with pool.acquire() as connection:
            await connection.execute(
                "UPDATE migration_step SET status = $2 WHERE migration_id = $1",
                migration_id,
                status,
            )
        group = await call(client, "GET", task["task_group"], 200)
        assert group["all_tasks_dispatched"] is dispatched, status
