"""A PostgreSQL server of the test's own, which the test may stop and start at will.

Never the shared cluster on 5432: other tests run against it. Three kinds, each stopped and
started with its own real tools: a server in a temporary folder on a free port run with
``pg_ctl`` (as root it runs as ``postgres``: initdb refuses root); a Debian cluster made with
``pg_createcluster`` and run with ``pg_ctlcluster``, as a packaged PostgreSQL is; the embedded
server (pgserver) that the CLI starts when no database URL is set.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Protocol

import asyncpg
import pytest

from pulp2to3 import database
from pulp2to3.schema import init_db
from tests.ports_support import free_port

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
SYSTEM_USER = "postgres"
DEBIAN_INSTALLS = Path("/usr/lib/postgresql")  # <major version>/bin/ of each installed server
DEBIAN_TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")
KINDS = ("pg_ctl", "pg_ctlcluster", "embedded")  # what --server / the tests' parameter name


class RestartableServer(Protocol):
    """A running server a test may stop, start and restart; ``url`` is its admin URL."""

    @property
    def url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def restart(self) -> None: ...


def _bin_dir() -> Path:
    for candidate in BIN_DIRS:
        if (candidate / "pg_ctl").exists():
            return candidate
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        pytest.skip("no initdb/pg_ctl (PostgreSQL server binaries) on this machine")
    return Path(POSTGRES_BIN_PATH)


class PrivateServer:
    def __init__(
        self, root: Path, listen: Sequence[str] = ("127.0.0.1",), trust: Sequence[str] = ()
    ) -> None:
        """``listen``: the addresses it listens on; ``trust``: networks (CIDR) whose clients it
        lets in besides this host's."""
        self.bin = _bin_dir()
        self.pgdata = root / "data"
        self.port = free_port()
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


class DebianCluster:
    """A cluster of Debian's postgresql-common tools, of its own name and port (never
    ``main``): created with ``pg_createcluster``, run with ``pg_ctlcluster``, dropped at the end.
    """

    def __init__(self, version: str, name: str, port: int) -> None:
        self.version, self.name, self.port = version, name, port
        _run_quietly(
            "pg_createcluster", version, name, "-p", str(port), "--start-conf", "manual",
            "--", "--auth=trust",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, action: str) -> None:
        # The cluster is the test's own: run it directly even where systemd manages clusters.
        _run_quietly("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action)

    @property
    def running(self) -> bool:
        status = ["pg_ctlcluster", self.version, self.name, "status"]
        return subprocess.run(status, capture_output=True).returncode == 0

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")  # pg_ctlcluster's default mode: fast

    def restart(self) -> None:
        self._ctl("restart")

    def drop(self) -> None:
        _run_quietly("pg_dropcluster", "--stop", self.version, self.name)


def _run_quietly(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def debian_cluster(name: str | None = None, port: int | None = None) -> Iterator[DebianCluster]:
    """A running cluster of its own (a new name and a free port unless given), dropped at the
    end. Skipped, naming the tool, where Debian's cluster tools are missing or not root."""
    missing = [tool for tool in DEBIAN_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"no {', '.join(missing)} (Debian's postgresql-common) on this machine")
    if os.geteuid() != 0:
        pytest.skip("pg_createcluster makes clusters under /etc and /var/lib only as root")
    versions = sorted(
        (int(path.parent.parent.name) for path in DEBIAN_INSTALLS.glob("*/bin/initdb")),
        reverse=True,
    )
    if not versions:
        pytest.skip(f"no PostgreSQL server under {DEBIAN_INSTALLS} for pg_createcluster")
    name = name or f"pulp2to3_{uuid.uuid4().hex[:8]}"
    cluster = DebianCluster(str(versions[0]), name, port or free_port())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.drop()


class EmbeddedServer:
    """The embedded server as the CLI starts it (``pulp2to3.embedded``), stopped and started
    again with pgserver's own ``pg_ctl`` and start-up: on the same socket, so the URL holds."""

    def __init__(self, data_dir: Path) -> None:
        from pulp2to3 import embedded

        self.url = embedded.start_embedded_server(data_dir)
        # Imported after pulp2to3.embedded, which quiets pgserver's import-time warning.
        from pgserver.postgres_server import get_server

        self._server = get_server(embedded.server_folder(data_dir))  # the one just started

    @property
    def running(self) -> bool:
        return (self._server.pgdata / "postmaster.pid").exists()

    def stop(self) -> None:
        from pgserver._commands import create_command_function

        pg_ctl = create_command_function("pg_ctl")  # pgserver's own, as it stops the server
        pg_ctl(
            ["-m", "fast", "-w", "stop"], pgdata=self._server.pgdata, user=self._server.system_user
        )

    def start(self) -> None:
        with self._server._lock:
            self._server.ensure_postgres_running()
        assert self._server.get_uri() == self.url, "the embedded server came back elsewhere"

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def embedded_server() -> Iterator[EmbeddedServer]:
    """The embedded server in a data folder of its own, stopped and deleted at the end."""
    from tests.embedded_support import embedded_data_dir

    with embedded_data_dir() as data_dir:
        server = EmbeddedServer(data_dir)
        try:
            yield server
        finally:
            server._server.cleanup()  # stops it: this process is its only owner


@contextmanager
def restartable_server(kind: str) -> Iterator[RestartableServer]:
    """A running server of ``kind`` (one of KINDS), gone at the end."""
    servers: dict[str, Callable[[], AbstractContextManager[RestartableServer]]] = {
        "pg_ctl": private_server,
        "pg_ctlcluster": debian_cluster,
        "embedded": embedded_server,
    }
    with servers[kind]() as server:
        yield server


async def _admin(server: RestartableServer, statement: str) -> None:
    connection = await asyncpg.connect(server.url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def database_on(server: RestartableServer) -> AsyncIterator[str]:
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
