"""A worker whose every round trip to PostgreSQL takes 50 ms longer completes the migration, the
same. The delay is a proxy in front of the server (this machine's kernel has no ``tc netem``:
docs/reliability.md); the long run is ``benchmarks/network_faults.py --fault delay``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulp2to3 import database
from pulp2to3.sample import generate_sample
from tests.delay_proxy_support import DelayProxy
from tests.migration_http_support import (
    api_client,
    check_complete_and_counted_once,
    check_files,
    start,
    wait_finished,
)
from tests.migration_support import worker_env, workers
from tests.ports_support import free_port
from tests.private_postgres_support import database_on, private_server

DELAY = 0.05

pytestmark = pytest.mark.timeout(300)


async def test_a_worker_on_a_slow_link_completes_the_migration_the_same(tmp_path: Path) -> None:
    sample = generate_sample(tmp_path / "sample", repos=3, units=120, on_demand=0.3, seed=5)
    media_root = tmp_path / "media"
    # A server of its own: on TCP whatever the suite's server is (the proxy relays TCP).
    with private_server() as server:
        async with database_on(server) as db_url:
            listen = ("127.0.0.1", free_port())
            slow_url = db_url.replace(f":{server.port}/", f":{listen[1]}/", 1)
            pool = await database.create_pool(db_url, min_size=0)
            async with (
                pool,
                DelayProxy(listen, ("127.0.0.1", server.port), DELAY) as proxy,
                api_client(db_url, pool, sample, media_root) as client,
            ):
                with workers(1, worker_env(slow_url, sample, media_root)):
                    report = await wait_finished(client, await start(client, sample), within=240)
                assert proxy.connections > 0  # the worker reached the database through it
                await check_complete_and_counted_once(report, pool, sample, media_root)
                await check_files(pool, sample, media_root)
