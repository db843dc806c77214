"""How long the API takes to answer wrong credentials, and whether they slow the right ones
(docs/reliability.md).

A ``pulp2to3 api`` process on a scratch database of the local cluster. For each kind of
credentials (wrong password of the right length, of another length, wrong user, both wrong,
a malformed header), ``--requests`` GETs of the task list one after another: their median and
spread, which must not tell the kinds apart. Then the right credentials' latency before and
after 1,000 wrong passwords in a row, and while 1,000 are sent by ``--flood`` concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import common

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulp2to3 import runner
from pulp2to3.schema import init_db
from tests.ports_support import free_port

USER, PASSWORD = "admin", "correct-horse-battery"
TASKS = "/pulp/api/v3/tasks/"


def basic(user: str, password: str) -> str:
    return aiohttp.encode_basic_auth(user, password)


KINDS = {
    "right": basic(USER, PASSWORD),
    "wrong password, same length": basic(USER, "x" * len(PASSWORD)),
    "wrong password, 1 character": basic(USER, "x"),
    "wrong password, 1,000 characters": basic(USER, "x" * 1000),
    "wrong user": basic("someone", PASSWORD),
    "both wrong": basic("someone", "x"),
    "malformed header": "Basic !!!",
}


async def timed(session: aiohttp.ClientSession, url: str, authorization: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.get(url, headers={"Authorization": authorization}) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def series(
    session: aiohttp.ClientSession, url: str, authorization: str, count: int
) -> tuple[set[int], list[float]]:
    statuses, times = set(), []
    for _ in range(count):
        status, seconds = await timed(session, url, authorization)
        statuses.add(status)
        times.append(seconds * 1000)
    return statuses, times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(times):.2f} ms, p90 {p90:.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--flood", type=int, default=50)
    args = parser.parse_args()
    bind = f"127.0.0.1:{free_port()}"
    url = f"http://{bind}{TASKS}"
    async with common.scratch_database(common.LOCAL_SERVER) as db:
        async with runner.connection_to(db) as connection:
            await init_db(connection)
        env = runner.child_environment(db, admin_user=USER, admin_password=PASSWORD, api_bind=bind)
        api = runner.api_process(env)
        try:
            async with aiohttp.ClientSession() as session:
                await common.wait_for(lambda: answers(session, url), "the API to listen", 30)
                for kind, authorization in KINDS.items():
                    statuses, times = await series(session, url, authorization, args.requests)
                    print(f"{kind}: {sorted(statuses)} {summary(times)}", flush=True)
                _, before = await series(session, url, KINDS["right"], args.requests)
                await series(session, url, KINDS["wrong password, same length"], 1000)
                _, after = await series(session, url, KINDS["right"], args.requests)
                print(
                    f"right credentials before 1,000 wrong passwords in a row: {summary(before)};"
                    f" after: {summary(after)}",
                    flush=True,
                )
                started = time.perf_counter()
                flood = asyncio.create_task(flooding(session, url, args.flood))
                during: list[float] = []
                while not flood.done():
                    _, times = await series(session, url, KINDS["right"], 1)
                    during += times
                print(
                    f"right credentials while {args.flood} clients send 1,000 wrong passwords"
                    f" ({time.perf_counter() - started:.1f} s): {len(during)} requests,"
                    f" {summary(during)}",
                    flush=True,
                )
        finally:
            runner.stop_processes([api])


async def answers(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        status, _ = await timed(session, url, KINDS["right"])
    except aiohttp.ClientConnectionError:
        return False
    return status == 200


async def flooding(session: aiohttp.ClientSession, url: str, clients: int) -> None:
    wrong = KINDS["wrong password, same length"]
    each = 1000 // clients
    await asyncio.gather(*(series(session, url, wrong, each) for _ in range(clients)))


if __name__ == "__main__":
    asyncio.run(main())
