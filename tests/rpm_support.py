"""RPM test helpers: a sample's repository published apart from any migration (what dnf must
see there), a real package built with rpmbuild, and dnf pointed at a repository URL.

The dump's units are decoded by the plugin's pure decoders and written by ``write_repodata``
from memory, no database involved: the expected side of the publisher's and the migration's
tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pulp2to3.plugins.rpm import advisories, comps, metadata_files, modules
from pulp2to3.plugins.rpm.config import PublicationSettings
from pulp2to3.plugins.rpm.packages import RpmPackage, decode_package
from pulp2to3.plugins.rpm.publish import ExtraMetadata, write_repodata
from pulp2to3.sample import SampleSummary
from tests.sample_support import Documents, local


@dataclasses.dataclass(frozen=True)
class Published:
    nevras: set[str]
    advisories: dict[str, set[str]]
    """Advisory id -> the NEVRAs its collections keep in this repository."""
    modules: set[str]
    groups: set[str]
    """Group and environment ids (``dnf group list`` shows both)."""


def nevra(package: RpmPackage) -> str:
    return f"{package.name}-{package.epoch}:{package.version}-{package.release}.{package.arch}"


def publish_sample_repo(
    sample: SampleSummary,
    docs: Documents,
    repo_id: str,
    target: Path,
    settings: PublicationSettings,
) -> Published:
    """Decode what ``repo_id`` holds and publish it in ``target``, as the RPM plugin will."""
    held_ids = {m["unit_id"] for m in docs["repo_content_units"] if m["repo_id"] == repo_id}

    def held(kind: str) -> list[dict[str, Any]]:
        return [unit for unit in docs[f"units_{kind}"] if unit["_id"] in held_ids]

    packages = [decode_package(unit, kind) for kind in ("rpm", "srpm") for unit in held(kind)]
    module_units = held("modulemd")
    repo_modules = [
        modules.decode_module(unit, local(sample, unit["_storage_path"]).read_text())
        for unit in module_units
    ]
    defaults = [
        modules.decode_module_defaults(unit, local(sample, unit["_storage_path"]).read_text())
        for unit in held("modulemd_defaults")
    ]
    pkglists: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pkglist in docs["erratum_pkglists"]:
        pkglists[pkglist["errata_id"]].append(pkglist)
    holds = {p.nevra for p in packages}
    refs = {m.ref for m in repo_modules}
    advisory_entries = []
    for unit in held("erratum"):
        advisory = advisories.decode_advisory(unit)
        merged = advisories.merge_pkglists(advisory.id, pkglists[advisory.id])
        advisory_entries.append((advisory, advisories.filter_collections(merged, holds, refs)))
    document = comps.build_comps(
        [comps.decode_group(u) for u in held("package_group")],
        [comps.decode_category(u) for u in held("package_category")],
        [comps.decode_environment(u) for u in held("package_environment")],
        [comps.decode_langpacks(u) for u in held("package_langpacks")],
    )
    extras = [
        ExtraMetadata(unit["data_type"], local(sample, unit["_storage_path"]))
        for unit in held("yum_repo_metadata_file")
        if not metadata_files.is_skipped(unit)
    ]

    def stream() -> Iterator[RpmPackage]:
        yield from packages

    write_repodata(
        target,
        packages=stream(),
        package_count=len(packages),
        settings=settings,
        advisories=iter(advisory_entries),
        module_snippets=iter([m.snippet for m in repo_modules] + [d.snippet for d in defaults]),
        comps=document,
        extra_metadata=extras,
        revision=1,
    )
    return Published(
        nevras={nevra(p) for p in packages},
        advisories={
            a.id: {
                f"{p.name}-{p.epoch}:{p.version}-{p.release}.{p.arch}"
                for c in collections
                for p in c.packages
            }
            for a, collections in advisory_entries
        },
        modules={f"{m.name}:{m.stream}" for m in repo_modules},
        groups={g.id for g in document.groups} | {e.id for e in document.environments},
    )


WALRUS_SPEC = """Name: walrus
Version: 5.21
Release: 1
Summary: A walrus for the migration test
License: MIT
BuildArch: noarch
AutoReqProv: no

%description
A tiny package built by the pulp2to3 tests: {{ not a template }}.

%install
mkdir -p %{buildroot}/usr/share/walrus
echo tusk > %{buildroot}/usr/share/walrus/tusk

%files
/usr/share/walrus/tusk

%changelog
* Mon Jan 01 2024 Zoo Keeper <zoo@example.com> - 5.21-1
- First walrus
"""


def build_rpm(folder: Path) -> Path:
    spec = folder / "walrus.spec"
    spec.write_text(WALRUS_SPEC)
    rpmbuild = shutil.which("rpmbuild")
    assert rpmbuild is not None
    subprocess.run(
        [rpmbuild, "-bb", "--define", f"_topdir {folder / 'top'}", str(spec)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    [built] = (folder / "top" / "RPMS" / "noarch").glob("walrus-*.rpm")
    return built


async def dnf(root: Path, url: str, *args: str) -> list[str]:
    """dnf on the repository at ``url`` alone, its state and cache under ``root`` (run without
    blocking the event loop, which serves the content app dnf reads)."""
    process = await asyncio.create_subprocess_exec(
        "dnf", "-q", "--setopt=reposdir=/dev/null", f"--installroot={root}", "--releasever=8",
        f"--setopt=cachedir={root / 'cache'}", "--setopt=t.module_hotfixes=1",
        f"--repofrompath=t,{url}", "--repo=t", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    return sorted(line for line in stdout.decode().splitlines() if line.strip())
