"""Migration plans, runs, reports and tasks: the endpoints an operator drives a migration with."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from pulp2to3.coordination import MigrationStatus, TaskState
from pulp2to3.http import filters, state
from pulp2to3.http.bodies import json_object
from pulp2to3.http.errors import NOT_FOUND, APIError
from pulp2to3.http.pagination import page_of
from pulp2to3.http.rendering import json_response, rfc3339
from pulp2to3.http.views import (
    detail_response,
    distribution_href,
    list_response,
    path_uuid,
    publication_href,
    remote_href,
    repository_href,
)
from pulp2to3.plan import PlanError, parse_plan, plan_object
from pulp2to3.queue.control import Outcome, cancel_migration, pause_migration, resume_migration
from pulp2to3.queue.dispatch import queue_migration
from pulp2to3.queue.resets import queue_reset
from pulp2to3.store import migrations, plans, tasks
from pulp2to3.store.lists import Op

API = "/pulp/api/v3/"
PLANS = f"{API}migration-plans/"
REPORTS = f"{API}migrationreport/"
TASKS = f"{API}tasks/"
TASK_GROUPS = f"{API}task-groups/"
CREATED_HREF = {
    tasks.ResourceKind.REPOSITORY: repository_href,
    tasks.ResourceKind.REMOTE: remote_href,
    tasks.ResourceKind.PUBLICATION: publication_href,
    tasks.ResourceKind.DISTRIBUTION: distribution_href,
}

# pulp-2to3-migration's MigrationPlanRun: its generated client always sends all three.
RUN_OPTIONS = frozenset({"validate", "dry_run", "skip_corrupted"})
REPORT_FIELDS = (
    "pulp_href", "pulp_created", "plan", "task", "status", "started_at", "finished_at", "error",
    "steps",
)  # fmt: skip
# What a PATCH of the report's status asks for; "cancel" is accepted as "canceled".
STATUS_CHANGES = {
    "canceled": cancel_migration,
    "cancel": cancel_migration,
    "paused": pause_migration,
    "running": resume_migration,
}


def _time(moment: Any) -> str | None:
    return None if moment is None else rfc3339(moment)


def plan_href(plan_id: uuid.UUID) -> str:
    return f"{PLANS}{plan_id}/"


def task_href(job_id: int) -> str:
    return f"{TASKS}{job_id}/"


def report_href(migration_id: uuid.UUID) -> str:
    return f"{REPORTS}{migration_id}/"


def _plan_json(plan: plans.StoredPlan) -> dict[str, Any]:
    return {
        "pulp_href": plan_href(plan.id),
        "pulp_created": rfc3339(plan.created_at),
        "plan": plan.plan,
    }


def _report_json(report: migrations.ReportView) -> dict[str, Any]:
    return {
        "pulp_href": report_href(report.id),
        "pulp_created": rfc3339(report.created_at),
        "plan": plan_href(report.plan_id),
        "task": None if report.task_job_id is None else task_href(report.task_job_id),
        "status": report.status,
        "started_at": _time(report.started_at),
        "finished_at": _time(report.finished_at),
        "error": report.error,
        "steps": [
            {
                "code": step.code,
                "description": step.description,
                "status": step.status,
                "needs": step.needs,
                "total": step.total,
                "done": step.done,
                "failed": step.failed,
                "started_at": _time(step.started_at),
                "finished_at": _time(step.finished_at),
                "tasks": [task_href(job_id) for job_id in step.job_ids],
                "task_counts": step.task_counts,
                "units_per_second": step.rate,
                "eta_seconds": step.eta,
                "failed_units": [
                    {"unit": unit, "reason": reason} for unit, reason in step.failures
                ],
            }
            for step in report.steps
        ],
        "units_per_second": report.rate,
        "eta_seconds": report.eta,
        "validate": report.options.validate,
        "dry_run": report.options.dry_run,
        "skip_corrupted": report.options.skip_corrupted,
        "kind": report.kind,
    }


def task_group_href(migration_id: uuid.UUID) -> str:
    return f"{TASK_GROUPS}{migration_id}/"


def _progress_reports(task: tasks.TaskRow) -> list[dict[str, Any]]:
    """pulpcore's progress reports: a step task's one, of its batch."""
    if task.progress is None:
        return []
    progress = task.progress
    return [
        {
            "message": progress.step_description,
            "code": task.step,
            "state": task.state,
            "total": progress.total,
            "done": progress.done,
            "suffix": f"{progress.failed} failed" if progress.failed else None,
        }
    ]


def task_json(task: tasks.TaskRow) -> dict[str, Any]:
    """pulpcore's ``TaskResponse``, every field, plus ``report`` and ``step``."""
    error = None
    if task.error_description is not None:
        error = {"description": task.error_description, "traceback": task.error_traceback or ""}
    return {
        "pulp_href": task_href(task.job_id),
        "pulp_created": rfc3339(task.created_at),
        "pulp_last_updated": rfc3339(task.last_updated_at),
        "name": task.name,
        # The tasks of one migration share its id as their correlation id, as its log lines do.
        "logging_cid": str(task.migration_id),
        "created_by": None,  # one configured user, who has no href
        "state": task.state,
        "unblocked_at": _time(task.unblocked_at),
        "started_at": _time(task.started_at),
        "finished_at": _time(task.finished_at),
        "worker": task.worker,
        "error": error,
        "parent_task": None,
        "child_tasks": [],
        "task_group": task_group_href(task.migration_id),
        "progress_reports": _progress_reports(task),
        "created_resources": [
            CREATED_HREF[created.kind](created.pulp_id) for created in task.created_resources
        ],
        "reserved_resources_record": [plan_href(task.plan_id)],
        "report": report_href(task.migration_id),
        "step": task.step,
    }


# --- plans ------------------------------------------------------------------------------------


async def create_plan(request: web.Request) -> web.Response:
    body = await json_object(request, writable={"plan"}, read_only={"pulp_href", "pulp_created"})
    if "plan" not in body:
        raise APIError.field_errors({"plan": ["This field is required."]})
    try:
        raw = plan_object(body["plan"])
        parse_plan(raw)  # validation only: the plan is stored as the user wrote it
    except PlanError as exc:
        raise APIError.field_errors({"plan": exc.messages}) from None
    async with request.app[state.POOL].acquire() as connection:
        stored = await plans.insert_plan(connection, raw)
    return json_response(_plan_json(stored), status=201)


async def list_plans(request: web.Request) -> web.Response:
    return await list_response(request, page_of(request), plans.list_plans, _plan_json)


async def get_plan(request: web.Request) -> web.Response:
    return await detail_response(request, path_uuid(request), plans.get_plan, _plan_json)


async def delete_plan(request: web.Request) -> web.Response:
    async with request.app[state.POOL].acquire() as connection:
        try:
            deleted = await plans.delete_plan(connection, path_uuid(request))
        except plans.PlanBusy:
            raise APIError(409, "A migration of this plan is unfinished.") from None
    if not deleted:
        raise APIError(404, NOT_FOUND)
    return web.Response(status=204)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise APIError.field_errors({name: ["Must be a valid boolean."]})
    return value


async def run_plan(request: web.Request) -> web.Response:
    plan_id = path_uuid(request)
    body = await json_object(request, writable=RUN_OPTIONS)
    validate, dry_run = _flag(body, "validate"), _flag(body, "dry_run")
    skip_corrupted = _flag(body, "skip_corrupted")
    async with request.app[state.POOL].acquire() as connection:
        if await plans.get_plan(connection, plan_id) is None:
            raise APIError(404, NOT_FOUND)
        try:
            migration_id, job_id = await queue_migration(
                connection,
                plan_id,
                validate=validate,
                dry_run=dry_run,
                skip_corrupted=skip_corrupted,
            )
        except migrations.MigrationConflict:
            raise APIError(
                409,
                "Another migration or a reset is unfinished: only one runs at a time.",
            ) from None
    return json_response(
        {"task": task_href(job_id), "report": report_href(migration_id)}, status=202
    )


async def reset_plan(request: web.Request) -> web.Response:
    plan_id = path_uuid(request)
    await json_object(request, writable=())
    async with request.app[state.POOL].acquire() as connection:
        if await plans.get_plan(connection, plan_id) is None:
            raise APIError(404, NOT_FOUND)
        try:
            reset_id, job_id = await queue_reset(connection, plan_id)
        except migrations.MigrationConflict:
            raise APIError(
                409, "A migration or a reset is unfinished: reset once it has finished."
            ) from None
    return json_response({"task": task_href(job_id), "report": report_href(reset_id)}, status=202)


# --- reports ----------------------------------------------------------------------------------


def _choice(request: web.Request, name: str, allowed: frozenset[str]) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise APIError.field_errors(
            {name: [f'Select a valid choice. "{value}" is not one of the available choices.']}
        )
    return value


async def list_reports(request: web.Request) -> web.Response:
    page = page_of(request)
    status = _choice(request, "status", frozenset(MigrationStatus))
    return await list_response(
        request,
        page,
        lambda connection, limit, offset: migrations.list_migrations(
            connection, status, limit, offset
        ),
        _report_json,
    )


async def get_report(request: web.Request) -> web.Response:
    return await detail_response(
        request, path_uuid(request), migrations.get_migration, _report_json
    )


async def patch_report(request: web.Request) -> web.Response:
    migration_id = path_uuid(request)
    read_only = set(REPORT_FIELDS) - {"status"}
    body = await json_object(request, writable={"status"}, read_only=read_only)
    status = body.get("status")
    change = STATUS_CHANGES.get(status) if isinstance(status, str) else None
    if change is None:
        raise APIError.field_errors(
            {
                "status": [
                    'A report accepts {"status": "canceled"}, {"status": "paused"} or'
                    ' {"status": "running"} (to resume a paused one).'
                ]
            }
        )
    async with request.app[state.POOL].acquire() as connection:
        outcome = await change(connection, migration_id)
    if outcome is Outcome.NOT_FOUND:
        raise APIError(404, NOT_FOUND)
    if outcome is Outcome.FINISHED:
        raise APIError(409, "This migration is finished: its status can no longer change.")
    if outcome is Outcome.NOT_STARTED:
        raise APIError(
            409, "This migration has not started yet: it can be canceled, not paused or resumed."
        )
    return await detail_response(request, migration_id, migrations.get_migration, _report_json)


# --- tasks ------------------------------------------------------------------------------------


_CHANGES = (Op.EQ, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.RANGE)

# pulpcore 3.49's task filters (its TaskFilter), and ``report`` and ``step`` of ours. ``q``
# (pulpcore's filter expressions) is not offered; resources are named by the href of the plan a
# task reserves, and no task has a parent or children.
TASK_FILTERS = (
    filters.Filter("state", (Op.EQ, Op.IN, Op.NE), filters.Choice(tuple(TaskState))),
    filters.Filter("worker", (Op.EQ, Op.IN, Op.ISNULL), filters.text),
    filters.Filter("name", (Op.EQ, Op.CONTAINS, Op.IN, Op.NE), filters.text),
    filters.Filter("logging_cid", (Op.EQ, Op.CONTAINS), filters.text),
    filters.Filter("started_at", _CHANGES, filters.moment),
    filters.Filter("finished_at", _CHANGES, filters.moment),
    filters.Filter("parent_task", (Op.EQ,), filters.task_id),
    filters.Filter("child_tasks", (Op.EQ,), filters.task_id),
    filters.Filter("task_group", (Op.EQ,), filters.uuid_of_href),
    filters.Filter("created_resources", (Op.EQ,), filters.uuid_of_href),
    filters.Filter("pulp_href", (Op.IN,), filters.task_id),
    filters.Filter("pulp_id", (Op.IN,), filters.task_id),
    filters.Filter("reserved_resources_record", (Op.ALL,), filters.uuid_of_href),
    filters.Filter("reserved_resources", (Op.EQ, Op.IN), filters.uuid_of_href),
    filters.Filter("exclusive_resources", (Op.EQ, Op.IN), filters.uuid_of_href),
    filters.Filter("shared_resources", (Op.EQ, Op.IN), filters.uuid_of_href),
    filters.Filter("report", (Op.EQ,), filters.uuid_of_href),
    filters.Filter("step", (Op.EQ,), filters.text),
)
# pulpcore's orderings but enc_args, enc_kwargs and versions, which no task here records.
TASK_ORDERING = (
    "pulp_id", "pk", "pulp_created", "pulp_last_updated", "state", "name", "logging_cid",
    "unblocked_at", "started_at", "finished_at", "error", "reserved_resources_record",
)  # fmt: skip


async def list_tasks(request: web.Request) -> web.Response:
    page = page_of(request)
    conditions, ordering = filters.list_query(request, TASK_FILTERS, TASK_ORDERING)
    return await list_response(
        request,
        page,
        lambda connection, limit, offset: tasks.list_tasks(
            connection, conditions, ordering, limit, offset
        ),
        filters.shaped(request, task_json),
    )


async def get_task(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit() or int(raw) > filters.MAX_JOB_ID:
        raise APIError(404, NOT_FOUND)
    return await detail_response(
        request, int(raw), tasks.get_task, filters.shaped(request, task_json)
    )


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(PLANS, create_plan)
    router.add_get(PLANS, list_plans)
    router.add_get(PLANS + "{id}/", get_plan)
    router.add_delete(PLANS + "{id}/", delete_plan)
    router.add_post(PLANS + "{id}/run/", run_plan)
    router.add_post(PLANS + "{id}/reset/", reset_plan)
    router.add_get(REPORTS, list_reports)
    router.add_get(REPORTS + "{id}/", get_report)
    router.add_patch(REPORTS + "{id}/", patch_report)
    router.add_get(TASKS, list_tasks)
    router.add_get(TASKS + "{id}/", get_task)
