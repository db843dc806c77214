"""POST migration-plans/{id}/reset/ over real HTTP against a real database (no worker: what
the reset task does is tested with workers in tests/acceptance/test_bindings.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.http_support import Client, app_for, client_for
from tests.migration_http_support import call, new_plan

API = "/pulp/api/v3/"


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    async with client_for(app_for(db_url, pool), authenticated=True) as client:
        yield client


async def test_a_reset_is_a_queued_task_and_a_report_of_kind_reset(client: Client) -> None:
    plan = await new_plan(client)
    reset = await call(client, "POST", plan["pulp_href"] + "reset/", 202)
    task = await call(client, "GET", reset["task"], 200)
    assert (task["name"], task["state"]) == ("pulp2to3.reset", "waiting")
    report = await call(client, "GET", reset["report"], 200)
    assert (report["kind"], report["status"], report["plan"]) == (
        "reset",
        "waiting",
        plan["pulp_href"],
    )
    group = await call(client, "GET", task["task_group"], 200)
    assert group["description"].startswith("Reset of the migration plan")


async def test_no_reset_while_a_migration_is_unfinished_and_no_run_while_a_reset_is(
    client: Client,
) -> None:
    plan = await new_plan(client)
    run = await call(client, "POST", plan["pulp_href"] + "run/", 202)
    await call(client, "POST", plan["pulp_href"] + "reset/", 409)
    await call(client, "PATCH", run["report"], 200, {"status": "canceled"})
    await call(client, "POST", plan["pulp_href"] + "reset/", 202)
    refused = await call(client, "POST", plan["pulp_href"] + "run/", 409)
    assert "reset" in refused["detail"]
    await call(client, "POST", plan["pulp_href"] + "reset/", 409)
    await call(client, "DELETE", plan["pulp_href"], 409)


async def test_concurrent_runs_and_resets_give_one_202(client: Client) -> None:
    plan = await new_plan(client)
    answers = await asyncio.gather(
        *(
            client.post(plan["pulp_href"] + ("run/" if n % 2 else "reset/"), json={})
            for n in range(10)
        )
    )
    assert sorted(answer.status for answer in answers) == [202] + [409] * 9


async def test_a_reset_takes_no_fields_and_needs_a_plan(client: Client) -> None:
    plan = await new_plan(client)
    errors = await call(client, "POST", plan["pulp_href"] + "reset/", 400, {"all": True})
    assert errors == {"all": ["Unexpected field."]}
    unknown = f"{API}migration-plans/00000000-0000-0000-0000-000000000000/reset/"
    await call(client, "POST", unknown, 404)
