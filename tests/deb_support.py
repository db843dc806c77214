"""Debian test helpers: what a generated sample's Debian repositories must publish (read from
the dump, not from the migration), and apt-get pointed at a repository URL with no system file
touched."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections import defaultdict
from pathlib import Path

from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary
from tests.migration_support import base_path

DIRECTORY = "deb_distributor"


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
