"""A TCP proxy that makes a link slow: what the target sends reaches the client ``delay`` seconds
later, in order, as ``tc qdisc ... netem delay`` on the client's link would (this machine's
kernel has no netem). Each round trip through it takes ``delay`` longer. Used by the suite's
slow-database test and by ``benchmarks/network_faults.py --fault delay``.
"""

from __future__ import annotations

import asyncio
import contextlib


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

    async def send() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
        queue.put_nowait(None)
        await sender
    finally:
        sender.cancel()
        writer.close()


class DelayProxy:
    def __init__(self, listen: tuple[str, int], target: tuple[str, int], delay: float) -> None:
        self.listen, self.target, self.delay = listen, target, delay
        self.connections = 0  # relayed so far
        self._server: asyncio.Server | None = None

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self.connections += 1
        with contextlib.suppress(OSError):
            await asyncio.gather(
                _pipe(client_r, target_w, 0), _pipe(target_r, client_w, self.delay)
            )

    async def __aenter__(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._handle, *self.listen)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
