"""Migration plans, runs, reports and tasks: the endpoints an operator drives a migration with."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from pulp2to3.coordination import ReportStatus, TaskState
from pulp2to3.http import state
from pulp2to3.http.bodies import json_object
from pulp2to3.http.errors import NOT_FOUND, APIError
from pulp2to3.http.pagination import page_of, page_response
from pulp2to3.http.rendering import json_response, rfc3339
from pulp2to3.plan import PlanError, parse_plan, plan_object
from pulp2to3.queue.cancel import CancelOutcome, cancel_migration
from pulp2to3.queue.dispatch import start_run
from pulp2to3.store import plans, reports, tasks

API = "/pulp/api/v3/"
PLANS = f"{API}migration-plans/"
REPORTS = f"{API}migrationreport/"
TASKS = f"{API}tasks/"

REPORT_FIELDS = (
    "pulp_href", "pulp_created", "plan", "task", "status", "started_at", "finished_at", "error",
    "steps",
)  # fmt: skip
CANCEL_VALUES = frozenset({"canceled", "cancel"})


def _uuid(request: web.Request, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise APIError(404, NOT_FOUND) from None


def _time(moment: Any) -> str | None:
    return None if moment is None else rfc3339(moment)


def plan_href(plan_id: uuid.UUID) -> str:
    return f"{PLANS}{plan_id}/"


def task_href(job_id: int) -> str:
    return f"{TASKS}{job_id}/"


def report_href(report_id: uuid.UUID) -> str:
    return f"{REPORTS}{report_id}/"


def _plan_json(plan: plans.StoredPlan) -> dict[str, Any]:
    return {
        "pulp_href": plan_href(plan.id),
        "pulp_created": rfc3339(plan.created_at),
        "plan": plan.plan,
    }


def _report_json(report: reports.ReportView) -> dict[str, Any]:
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
                "total": step.total,
                "done": step.done,
                "failed": step.failed,
                "started_at": _time(step.started_at),
                "finished_at": _time(step.finished_at),
                "tasks": [task_href(job_id) for job_id in step.job_ids],
                "task_counts": step.task_counts,
                "failed_units": [
                    {"unit": unit, "reason": reason} for unit, reason in step.failures
                ],
            }
            for step in report.steps
        ],
    }


def _task_json(task: tasks.TaskRow) -> dict[str, Any]:
    error = None
    if task.error_description is not None:
        error = {"description": task.error_description, "traceback": task.error_traceback or ""}
    return {
        "pulp_href": task_href(task.job_id),
        "pulp_created": rfc3339(task.created_at),
        "name": task.name,
        "state": task.state,
        "started_at": _time(task.started_at),
        "finished_at": _time(task.finished_at),
        "worker": task.worker,
        "error": error,
        "report": report_href(task.report_id),
        "step": task.step,
        "created_resources": task.created_resources,
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
    page = page_of(request)
    async with request.app[state.POOL].acquire() as connection:
        count, rows = await plans.list_plans(connection, page.limit, page.offset)
    return json_response(page_response(request, page, count, [_plan_json(p) for p in rows]))


async def get_plan(request: web.Request) -> web.Response:
    async with request.app[state.POOL].acquire() as connection:
        stored = await plans.get_plan(connection, _uuid(request))
    if stored is None:
        raise APIError(404, NOT_FOUND)
    return json_response(_plan_json(stored))


async def delete_plan(request: web.Request) -> web.Response:
    async with request.app[state.POOL].acquire() as connection:
        try:
            deleted = await plans.delete_plan(connection, _uuid(request))
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
    plan_id = _uuid(request)
    body = await json_object(request, writable={"validate", "dry_run"})
    validate, dry_run = _flag(body, "validate"), _flag(body, "dry_run")
    async with request.app[state.POOL].acquire() as connection:
        if await plans.get_plan(connection, plan_id) is None:
            raise APIError(404, NOT_FOUND)
        try:
            report_id, job_id = await start_run(
                connection, plan_id, validate=validate, dry_run=dry_run
            )
        except reports.RunConflict:
            raise APIError(
                409, "Another migration is unfinished: only one runs at a time."
            ) from None
    return json_response({"task": task_href(job_id), "report": report_href(report_id)}, status=202)


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
    status = _choice(request, "status", frozenset(ReportStatus))
    async with request.app[state.POOL].acquire() as connection:
        count, rows = await reports.list_reports(connection, status, page.limit, page.offset)
    return json_response(page_response(request, page, count, [_report_json(r) for r in rows]))


async def _report_or_404(request: web.Request, report_id: uuid.UUID) -> dict[str, Any]:
    async with request.app[state.POOL].acquire() as connection:
        report = await reports.get_report(connection, report_id)
    if report is None:
        raise APIError(404, NOT_FOUND)
    return _report_json(report)


async def get_report(request: web.Request) -> web.Response:
    return json_response(await _report_or_404(request, _uuid(request)))


async def patch_report(request: web.Request) -> web.Response:
    report_id = _uuid(request)
    read_only = set(REPORT_FIELDS) - {"status"}
    body = await json_object(request, writable={"status"}, read_only=read_only)
    if body.get("status") not in CANCEL_VALUES:
        raise APIError.field_errors(
            {"status": ['The only change a report accepts is {"status": "canceled"}.']}
        )
    async with request.app[state.POOL].acquire() as connection:
        outcome = await cancel_migration(connection, report_id)
    if outcome is CancelOutcome.NOT_FOUND:
        raise APIError(404, NOT_FOUND)
    if outcome is CancelOutcome.FINISHED:
        raise APIError(409, "This migration is finished: there is nothing to cancel.")
    return json_response(await _report_or_404(request, report_id))


# --- tasks ------------------------------------------------------------------------------------


async def list_tasks(request: web.Request) -> web.Response:
    page = page_of(request)
    report = request.query.get("report") or None
    try:
        report_id = None if report is None else uuid.UUID(report.rstrip("/").rsplit("/", 1)[-1])
    except ValueError:
        raise APIError.field_errors({"report": ["Must be a valid report id."]}) from None
    where = tasks.TaskFilter(
        report_id=report_id,
        step=request.query.get("step") or None,
        state=_choice(request, "state", frozenset(TaskState)),
    )
    async with request.app[state.POOL].acquire() as connection:
        count, rows = await tasks.list_tasks(connection, where, page.limit, page.offset)
    return json_response(page_response(request, page, count, [_task_json(t) for t in rows]))


async def get_task(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise APIError(404, NOT_FOUND)
    async with request.app[state.POOL].acquire() as connection:
        task = await tasks.get_task(connection, int(raw))
    if task is None:
        raise APIError(404, NOT_FOUND)
    return json_response(_task_json(task))


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(PLANS, create_plan)
    router.add_get(PLANS, list_plans)
    router.add_get(PLANS + "{id}/", get_plan)
    router.add_delete(PLANS + "{id}/", delete_plan)
    router.add_post(PLANS + "{id}/run/", run_plan)
    router.add_get(REPORTS, list_reports)
    router.add_get(REPORTS + "{id}/", get_report)
    router.add_patch(REPORTS + "{id}/", patch_report)
    router.add_get(TASKS, list_tasks)
    router.add_get(TASKS + "{id}/", get_task)
