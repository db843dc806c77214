"""A bounded load on the API: ``clients`` loops, each sending its next GET when the last was
answered, round the given paths, until told to stop. Every answer other than 200, and every
request that failed, is an error, named."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Sequence

import aiohttp


@dataclasses.dataclass
class Load:
    latencies: list[float] = dataclasses.field(default_factory=list)  # seconds, answered 200
    errors: list[str] = dataclasses.field(default_factory=list)

    def percentile(self, share: float) -> float:
        """The latency under which ``share`` (0-1) of the answered requests came back."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def _client(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    offset: int,
    stop: asyncio.Event,
    load: Load,
) -> None:
    index = offset
    while not stop.is_set():
        url = urls[index % len(urls)]
        index += 1
        started = time.monotonic()
        try:
            async with session.get(url) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            load.errors.append(f"GET {url}: {type(exc).__name__}: {exc}")
            continue
        if status == 200:
            load.latencies.append(time.monotonic() - started)
        else:
            load.errors.append(f"GET {url}: {status}")


async def apply_load(
    session: aiohttp.ClientSession, urls: Sequence[str], clients: int, stop: asyncio.Event
) -> Load:
    """GET ``urls`` from ``clients`` concurrent loops until ``stop`` is set."""
    load = Load()
    await asyncio.gather(*(_client(session, urls, n, stop, load) for n in range(clients)))
    return load
