"""A PostgreSQL server of the test's own, which the test may stop and start at will.

Never the shared cluster on 5432: other tests run against it. The server lives in a temporary
folder on a free port; as root it runs as ``postgres`` (initdb refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import pytest

from pulp2to3 import database
from pulp2to3.schema import init_db

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
SYSTEM_USER = "postgres"


def _bin_dir() -> Path:
    for candidate in BIN_DIRS:
        if (candidate / "pg_ctl").exists():
            return candidate
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        pytest.skip("no initdb/pg_ctl (PostgreSQL server binaries) on this machine")
    return Path(POSTGRES_BIN_PATH)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateServer:
    def __init__(
        self, root: Path, listen: Sequence[str] = ("127.0.0.1",), trust: Sequence[str] = ()
    ) -> None:
        """``listen``: the addresses it listens on; ``trust``: networks (CIDR) whose clients it
        lets in besides this host's."""
        self.bin = _bin_dir()
        self.pgdata = root / "data"
        self.port = _free_port()
        self.listen = ",".join(listen)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            if shutil.which("runuser") is None:
                pytest.skip("running as root needs runuser to start PostgreSQL as postgres")
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.writelines(f"host all all {network} trust\n" for network in trust)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.pgdata} -c listen_addresses={self.listen}"
        log = str(self.pgdata / "server.log")
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", log, "-w", "start")

    @property
    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_server(
    listen: Sequence[str] = ("127.0.0.1",), trust: Sequence[str] = ()
) -> Iterator[PrivateServer]:
    """A running private server, stopped and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="pulp2to3-private-pg-"))
    try:
        server = PrivateServer(root, listen, trust)
        server.start()
        try:
            yield server
        finally:
            if server.running:
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _admin(server: PrivateServer, statement: str) -> None:
    connection = await asyncpg.connect(server.url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def database_on(server: PrivateServer) -> AsyncIterator[str]:
    """The URL of a new database with the schema on ``server``, dropped at the end (the server
    is started again first if the test left it stopped)."""
    name = f"pulp2to3_p_{uuid.uuid4().hex[:12]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = database.with_database(server.url, name)
    connection = await asyncpg.connect(url)
    try:
        await init_db(connection)
    finally:
        await connection.close()
    try:
        yield url
    finally:
        if not server.running:
            server.start()
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
