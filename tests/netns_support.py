"""A network namespace joined to this host by a veth pair: a process started in it reaches the
host only through that link, which a fault run cuts (``ip link set ... down``: the packets are
dropped, no error reaches either end) and restores. Needs ``ip`` and the right to make
namespaces (root); a test skips, naming what is missing, where they cannot be made."""

from __future__ import annotations

import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

IP = shutil.which("ip") or "/usr/sbin/ip"


class Namespace:
    def __init__(self) -> None:
        self.name = f"p2t3-{uuid.uuid4().hex[:6]}"
        self.host_link = f"{self.name}h"  # interface names hold at most 15 characters
        self.inner_link = f"{self.name}w"
        # A /30 of its own in 10.213.0.0/16, so that runs side by side do not meet.
        base = f"10.213.{random.randrange(256)}.{random.randrange(64) * 4}"
        prefix, last = base.rsplit(".", 1)
        self.network = f"{base}/30"
        self.host_address = f"{prefix}.{int(last) + 1}"
        self.inner_address = f"{prefix}.{int(last) + 2}"

    def _ip(self, *args: str, inside: bool = False) -> None:
        command = self.command([IP, *args]) if inside else [IP, *args]
        subprocess.run(command, check=True, capture_output=True)

    def create(self) -> None:
        self._ip("netns", "add", self.name)
        self._ip(
            "link", "add", self.host_link, "type", "veth", "peer", "name", self.inner_link,
            "netns", self.name,
        )  # fmt: skip
        self._ip("addr", "add", f"{self.host_address}/30", "dev", self.host_link)
        self._ip("link", "set", self.host_link, "up")
        self._ip("addr", "add", f"{self.inner_address}/30", "dev", self.inner_link, inside=True)
        self._ip("link", "set", self.inner_link, "up", inside=True)
        self._ip("link", "set", "lo", "up", inside=True)

    def delete(self) -> None:
        # Deleting the namespace deletes the veth pair with it.
        subprocess.run([IP, "netns", "delete", self.name], capture_output=True)

    def cut(self) -> None:
        self._ip("link", "set", self.host_link, "down")

    def restore(self) -> None:
        self._ip("link", "set", self.host_link, "up")

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return [IP, "netns", "exec", self.name, *argv]

    def start(self, argv: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """``argv`` started inside the namespace in a session of its own, its output appended
        to ``log``."""
        with log.open("ab") as out:
            return subprocess.Popen(
                self.command(argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def why_no_namespace() -> str | None:
    """Why a namespace cannot be made here, or None when it can."""
    if not shutil.which(IP):
        return "no `ip` (iproute2) to make a network namespace"
    probe = Namespace()
    try:
        probe.create()
    except subprocess.CalledProcessError as exc:
        return f"cannot make a network namespace with a veth pair: {exc.stderr.decode().strip()}"
    finally:
        probe.delete()
    return None


@contextmanager
def namespace() -> Iterator[Namespace]:
    made = Namespace()
    made.create()
    try:
        yield made
    finally:
        made.delete()
