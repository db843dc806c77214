"""Task groups, in pulpcore's shape: each migration is one, so that a client that waits on a
run's task group, as Katello did with pulp-2to3-migration, waits for the whole migration."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pulp2to3.http.migrations import (
    TASK_GROUPS,
    plan_href,
    task_group_href,
    task_json,
)
from pulp2to3.http.pagination import page_of
from pulp2to3.http.views import detail_response, list_response, path_uuid
from pulp2to3.store import task_groups

# pulpcore's task states, each counted in a group (``skipped`` never occurs here).
COUNTED_STATES = ("waiting", "skipped", "running", "completed", "canceled", "failed", "canceling")
# pulpcore's MinimalTaskResponse: what a group lists of each task.
MINIMAL_TASK_FIELDS = (
    "pulp_href", "pulp_created", "pulp_last_updated", "name", "state", "unblocked_at",
    "started_at", "finished_at", "worker",
)  # fmt: skip


def _description(group: task_groups.GroupState) -> str:
    what = "Reset" if group.kind == "reset" else "Dry run" if group.dry_run else "Migration"
    return f"{what} of the migration plan {plan_href(group.plan_id)}"


def task_group_json(group: task_groups.TaskGroup) -> dict[str, Any]:
    state = group.state
    return {
        "pulp_href": task_group_href(state.migration_id),
        "description": _description(state),
        "all_tasks_dispatched": state.all_tasks_dispatched,
        **{name: state.task_states.get(name, 0) for name in COUNTED_STATES},
        "group_progress_reports": [
            {
                "message": step.description,
                "code": step.code,
                "total": step.total,
                "done": step.done,
                "suffix": f"{step.failed} failed" if step.failed else None,
            }
            for step in group.steps
        ],
        "tasks": [
            {name: value for name, value in task_json(task).items() if name in MINIMAL_TASK_FIELDS}
            for task in group.tasks
        ],
    }


async def list_task_groups(request: web.Request) -> web.Response:
    return await list_response(
        request, page_of(request), task_groups.list_task_groups, task_group_json
    )


async def get_task_group(request: web.Request) -> web.Response:
    return await detail_response(
        request, path_uuid(request), task_groups.get_task_group, task_group_json
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(TASK_GROUPS, list_task_groups)
    app.router.add_get(TASK_GROUPS + "{id}/", get_task_group)
