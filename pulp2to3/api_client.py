"""The REST API as the operator commands use it: reports, their status changes, and tasks.

The API's address is ``PULP2TO3_API_BIND`` (a wildcard bind is reached on the loopback) and
its credentials ``PULP2TO3_ADMIN_USER``/``PULP2TO3_ADMIN_PASSWORD``, as the API reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from pulp2to3.coordination import FINISHED_MIGRATION_STATUSES
from pulp2to3.settings import Settings
from pulp2to3.store.migrations import ReportView, StepView

API = "/pulp/api/v3/"
REPORTS = f"{API}migrationreport/"
TASKS = f"{API}tasks/"
STATUS = f"{API}status/"
TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=5)
WATCH_EVERY = 0.5
# What a proxy, or the API while its database is down, answers: try again later.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class APIError(Exception):
    """The API refused the request; the message says what it answered."""


class APIUnreachable(APIError):
    """No answer from the API (refused, reset, timed out), or one saying to try later."""


def api_root(settings: Settings) -> str:
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind, reached on the loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def _detail(body: Any) -> str:
    """The API's error body in one line: its ``detail``, or each field's errors."""
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])
        return "; ".join(
            f"{field}: {' '.join(map(str, errors)) if isinstance(errors, list) else errors}"
            for field, errors in body.items()
        )
    return str(body).strip()[:200]


class Client:
    def __init__(self, session: aiohttp.ClientSession, root: str) -> None:
        self._session = session
        self.root = root

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> Any:
        url = path if path.startswith("http") else self.root + path
        try:
            async with self._session.request(method, url, params=params, json=body) as response:
                answer: Any = (
                    await response.json()
                    if response.content_type == "application/json"
                    else await response.text()
                )
                if response.status in UNAVAILABLE_STATUSES:
                    raise APIUnreachable(f"{url} answered {response.status}: {_detail(answer)}")
                if response.status >= 400:
                    raise APIError(f"{method} {url}: {response.status} {_detail(answer)}")
                return answer
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            reason = str(exc) or "timed out"
            raise APIUnreachable(f"no answer from the API at {self.root}: {reason}") from exc

    async def every(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every object of a list, page after page."""
        results: list[dict[str, Any]] = []
        page: str | None = path
        query: dict[str, str] | None = params
        while page is not None:
            answer = await self.request("GET", page, params=query)
            results.extend(answer["results"])
            page, query = answer.get("next"), None  # `next` carries the query
        return results

    async def reports(self, status: str | None = None) -> list[dict[str, Any]]:
        return await self.every(REPORTS, {"status": status} if status else {})

    async def report(self, migration_id: uuid.UUID) -> dict[str, Any]:
        answer: dict[str, Any] = await self.request("GET", f"{REPORTS}{migration_id}/")
        return answer

    async def change_status(self, migration_id: uuid.UUID, status: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.request(
            "PATCH", f"{REPORTS}{migration_id}/", body={"status": status}
        )
        return answer

    async def tasks(
        self, state: str | None = None, migration_id: uuid.UUID | None = None
    ) -> list[dict[str, Any]]:
        params = {"state": state} if state else {}
        if migration_id is not None:
            params["report"] = str(migration_id)
        return await self.every(TASKS, params)

    async def workers_online(self) -> int:
        status = await self.request("GET", STATUS)
        return len(status.get("online_workers", ()))


@contextlib.asynccontextmanager
async def client(settings: Settings) -> AsyncIterator[Client]:
    auth = None
    if settings.admin_password is not None:
        auth = aiohttp.BasicAuth(settings.admin_user, settings.admin_password)
    async with aiohttp.ClientSession(auth=auth, timeout=TIMEOUT) as session:
        yield Client(session, api_root(settings))


def _time(text: str | None) -> datetime.datetime | None:
    return None if text is None else datetime.datetime.fromisoformat(text)


def _id_of(href: str) -> int:
    return int(href.rstrip("/").rsplit("/", 1)[-1])


def report_view(data: dict[str, Any]) -> ReportView:
    """The report as the API shows it, in the shape the terminal's bars draw."""
    created = _time(data["pulp_created"])
    assert created is not None
    return ReportView(
        id=uuid.UUID(data["pulp_href"].rstrip("/").rsplit("/", 1)[-1]),
        created_at=created,
        plan_id=uuid.UUID(data["plan"].rstrip("/").rsplit("/", 1)[-1]),
        task_job_id=None if data.get("task") is None else _id_of(data["task"]),
        status=data["status"],
        started_at=_time(data.get("started_at")),
        finished_at=_time(data.get("finished_at")),
        error=data.get("error"),
        steps=[
            StepView(
                code=step["code"],
                description=step["description"],
                status=step["status"],
                needs=list(step.get("needs", ())),
                total=step["total"],
                done=step["done"],
                failed=step["failed"],
                started_at=_time(step.get("started_at")),
                finished_at=_time(step.get("finished_at")),
                job_ids=[_id_of(href) for href in step.get("tasks", ())],
                task_counts=dict(step.get("task_counts", {})),
                failures=[
                    (failure["unit"], failure["reason"]) for failure in step.get("failed_units", ())
                ],
                rate=step.get("units_per_second"),
                eta=step.get("eta_seconds"),
            )
            for step in data["steps"]
        ],
        rate=data.get("units_per_second"),
        eta=data.get("eta_seconds"),
    )


async def watch(
    api: Client,
    migration_id: uuid.UUID,
    show: Callable[[dict[str, Any], bool], None],
    unreachable: Callable[[str], None],
) -> dict[str, Any]:
    """Call ``show`` with the report, and whether a worker is online, every half second until
    the report is finished; return it. The API may go away meanwhile (a restart, its database
    down): ``unreachable`` says so, and the watch goes on once it answers again."""
    while True:
        try:
            report = await api.report(migration_id)
            online = await api.workers_online() > 0
        except APIUnreachable as exc:
            unreachable(f"{exc}: still trying")
            await asyncio.sleep(WATCH_EVERY)
            continue
        show(report, online)
        if report["status"] in FINISHED_MIGRATION_STATUSES:
            return report
        await asyncio.sleep(WATCH_EVERY)
