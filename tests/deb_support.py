"""Debian test helpers: what a generated sample's Debian repositories must publish (read from
the dump, not from the migration), and apt-get pointed at a repository URL with no system file
touched."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary
from pulp2to3.sample.writer import ArchiveDumpWriter
from pulp2to3.settings import load_settings
from tests.migration_http_support import HEADERS, Client
from tests.migration_support import base_path, worker_env

DIRECTORY = "deb_distributor"
DEB_SAMPLE: dict[str, Any] = dict(repos=3, units=24, on_demand=0.5, overlap=0.3, seed=13)
DEB_STEPS = ("migrate_content.deb_release", "migrate_content.deb", "migrate_content.deb_component")


async def serve(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, media_root: Path
) -> AsyncIterator[Client]:
    """The API and content app over real HTTP, for workers migrating ``sample``."""
    env = worker_env(db_url, sample, media_root) | {"PULP2TO3_ADMIN_PASSWORD": "secret"}
    server = TestServer(http_app.init(load_settings(env), pool), host="127.0.0.1")
    async with TestClient(server, headers=HEADERS) as client:
        yield client


def check_completed(report: dict[str, Any]) -> None:
    """Completed, every step done; the Debian steps with no failed unit."""
    assert report["status"] == "completed", report
    for step in report["steps"]:
        assert step["status"] == "completed", step
        assert step["done"] + step["failed"] == step["total"], step
        if step["code"] in DEB_STEPS:
            assert step["failed_units"] == [], step


@dataclasses.dataclass(frozen=True)
class ExpectedRelease:
    codename: str
    suite: str | None
    components: dict[str, set[str]]  # component -> "name:arch=version" of its packages

    @property
    def architectures(self) -> set[str]:
        return {entry.split(":")[1].split("=")[0] for p in self.components.values() for entry in p}


def expected_releases(sample: SampleSummary) -> dict[str, dict[str, ExpectedRelease]]:
    """Base path of each deb distributor -> distribution (no slashes around) -> what its
    release publishes, from the dump's units alone."""
    dump = open_dump(sample.dump_path)
    packages = {
        unit["_id"]: f"{unit['package']}:{unit['architecture']}={unit['version']}"
        for unit in dump.iter_collection("units_deb")
    }
    releases: dict[str, dict[str, ExpectedRelease]] = defaultdict(dict)
    for unit in dump.iter_collection("units_deb_release"):
        releases[unit["repoid"]][unit["distribution"].strip("/")] = ExpectedRelease(
            unit["codename"], unit["suite"], {}
        )
    for unit in dump.iter_collection("units_deb_component"):
        release = releases[unit["repoid"]][unit["distribution"].strip("/")]
        release.components[unit["name"]] = {packages[p] for p in unit["packages"]}
    return {
        base_path(d.get("config", {}), d["repo_id"]): releases.get(d["repo_id"], {})
        for d in dump.iter_collection("repo_distributors")
        if d["distributor_type_id"] == DIRECTORY
    }


def expected_simple(sample: SampleSummary) -> dict[str, ExpectedRelease]:
    """Base path of each deb distributor -> the simple layout's release: every package of its
    repository in component ``all``."""
    dump = open_dump(sample.dump_path)
    packages = {
        unit["_id"]: f"{unit['package']}:{unit['architecture']}={unit['version']}"
        for unit in dump.iter_collection("units_deb")
    }
    held: dict[str, set[str]] = defaultdict(set)
    for membership in dump.iter_collection("repo_content_units"):
        if membership["unit_id"] in packages:
            held[membership["repo_id"]].add(packages[membership["unit_id"]])
    return {
        base_path(d.get("config", {}), d["repo_id"]): ExpectedRelease(
            "default", "default", {"all": held[d["repo_id"]]}
        )
        for d in dump.iter_collection("repo_distributors")
        if d["distributor_type_id"] == DIRECTORY
    }


def moved_memberships(sample: SampleSummary, out: Path) -> SampleSummary:
    """``sample`` after Pulp 2 changed component memberships alone (the same units in the same
    repositories): in each repository ``stable``'s ``asgard`` gives its first package to
    ``jotunheimr`` and ``ragnarok/updates/``'s ``asgard`` lets every package go. The changed
    component units are a day newer. The dump is written anew, in an archive under ``out``."""
    dump = open_dump(sample.dump_path)
    components = list(dump.iter_collection("units_deb_component"))
    moved = {
        c["repoid"]: sorted(c["packages"])[0]
        for c in components
        if (c["distribution"], c["name"]) == ("stable", "asgard") and c["packages"]
    }
    assert moved
    for component in components:
        before = list(component["packages"])
        key = (component["distribution"], component["name"])
        if key == ("stable", "asgard"):
            component["packages"].remove(moved.get(component["repoid"]))
        elif key == ("stable", "jotunheimr") and component["repoid"] in moved:
            component["packages"] = sorted({*before, moved[component["repoid"]]})
        elif key == ("ragnarok/updates/", "asgard"):
            component["packages"] = []
        if component["packages"] != before:
            component["_last_updated"] += 86400
    target = out / "dump.archive"
    with ArchiveDumpWriter(target, dump.database, compress=False) as writer:
        for name in dump.collections():
            collection = writer.collection(name)
            documents = components if name == "units_deb_component" else dump.iter_collection(name)
            for document in documents:
                collection.write(document)
    return dataclasses.replace(sample, dump_path=target, fmt="archive", gzip=False)


class Apt:
    """apt-get and apt-cache with every path of their own under ``root``: sources, lists,
    caches, status and trusted keys; nothing of /etc/apt or /var/lib/apt is read or written."""

    def __init__(self, root: Path, architectures: list[str]) -> None:
        self.root = root
        for folder in (
            "etc/preferences.d",
            "etc/trusted.gpg.d",
            "lists/partial",
            "cache/archives/partial",
            "log",
        ):
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "status").touch()
        self.options = [
            f"-oDir::Etc={root / 'etc'}",
            f"-oDir::Etc::sourcelist={root / 'etc' / 'sources.list'}",
            "-oDir::Etc::sourceparts=-",
            f"-oDir::Etc::main={root / 'etc' / 'apt.conf'}",
            "-oDir::Etc::parts=-",
            f"-oDir::Etc::preferencesparts={root / 'etc' / 'preferences.d'}",
            f"-oDir::Etc::trustedparts={root / 'etc' / 'trusted.gpg.d'}",
            f"-oDir::State={root}",
            f"-oDir::State::Lists={root / 'lists'}",
            f"-oDir::State::status={root / 'status'}",
            f"-oDir::Cache={root / 'cache'}",
            f"-oDir::Log={root / 'log'}",
            f"-oAPT::Architecture={architectures[0]}",
            f"-oAPT::Architectures={','.join(architectures)}",
            "-oAcquire::Languages=none",
            "-oAcquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
            "-oDebug::NoLocking=1",
            "-oAPT::Sandbox::User=root",
        ]

    def sources(self, lines: list[str]) -> None:
        (self.root / "etc" / "sources.list").write_text("".join(f"{line}\n" for line in lines))

    async def run(self, tool: str, *args: str, cwd: Path | None = None) -> tuple[int, str]:
        """The tool's exit code and output (run without blocking the event loop, which serves
        the content app apt reads)."""
        process = await asyncio.create_subprocess_exec(
            tool, *self.options, *args,
            cwd=cwd, env=os.environ | {"LC_ALL": "C"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, output.decode()


@dataclasses.dataclass(frozen=True)
class GpgKey:
    home: Path
    fingerprint: str
    public: Path  # the exported public key, a keyring apt's signed-by= takes


def _gpg(home: Path, *args: str) -> bytes:
    gpg = shutil.which("gpg")
    assert gpg is not None
    return subprocess.run(
        [gpg, "--homedir", str(home), "--batch", *args],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip


@contextmanager
def gpg_key() -> Iterator[GpgKey]:
    """A fresh signing key without a passphrase in a GnuPG home of its own (a short path: the
    agent's socket lives there); its agent is stopped at the end."""
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
    home.chmod(0o700)
    try:
        _gpg(home, "--passphrase", "", "--quick-gen-key", "Zoo Signer <zoo@example.com>",
             "ed25519", "sign", "never")  # fmt: skip
        [fingerprint] = [
            line.split(":")[9]
            for line in _gpg(home, "--with-colons", "--list-secret-keys").decode().splitlines()
            if line.startswith("fpr:")
        ][:1]
        public = home / "public.gpg"
        public.write_bytes(_gpg(home, "--export", fingerprint))
        yield GpgKey(home, fingerprint, public)
    finally:
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            subprocess.run(
                [gpgconf, "--homedir", str(home), "--kill", "all"], check=False, timeout=60
            )
        shutil.rmtree(home, ignore_errors=True)
