"""Publishing RPM content as repodata/, read back by createrepo_c and by a real dnf."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import shutil
import sqlite3
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import createrepo_c as cr
import pytest

from pulp2to3.plugins.rpm import advisories, comps, metadata_files, modules
from pulp2to3.plugins.rpm.config import PublicationSettings
from pulp2to3.plugins.rpm.packages import RpmPackage, decode_package
from pulp2to3.plugins.rpm.publish import (
    ExtraMetadata,
    PackageCountMismatch,
    write_repodata,
)
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.sample.rpm_documents import repodata_templates
from tests.sample_support import Documents, local, read


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


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("rpm"), repos=2, units=60, overlap=0.5, plugins=("rpm",), seed=3
    )


@pytest.fixture(scope="module")
def docs(sample: SampleSummary) -> Documents:
    return read(sample)


def repomd_records(target: Path) -> dict[str, Any]:
    repomd = cr.Repomd(str(target / "repodata" / "repomd.xml"))
    return {record.type: record for record in repomd.records}


@pytest.mark.parametrize(
    "settings",
    [
        PublicationSettings("sha256", generate_sqlite=False),
        PublicationSettings("sha1", generate_sqlite=True),
        PublicationSettings("sha512", generate_sqlite=True),
    ],
    ids=lambda s: f"{s.checksum_type}-sqlite-{s.generate_sqlite}",
)
def test_createrepo_reads_the_publication_back(
    sample: SampleSummary, docs: Documents, tmp_path: Path, settings: PublicationSettings
) -> None:
    published = publish_sample_repo(sample, docs, "rpm-repo-0000", tmp_path, settings)
    records = repomd_records(tmp_path)
    expected_types = {"primary", "filelists", "other", "updateinfo", "modules", "group"}
    expected_types |= {"group_gz", "productid"}
    if settings.generate_sqlite:
        expected_types |= {"primary_db", "filelists_db", "other_db"}
    assert set(records) == expected_types
    for record in records.values():
        path = tmp_path / record.location_href
        assert record.checksum_type == settings.checksum_type
        assert path.name.startswith(record.checksum)
        assert hashlib.new(settings.checksum_type, path.read_bytes()).hexdigest() == (
            record.checksum
        )
    reader = cr.RepositoryReader.from_path(str(tmp_path))
    read_back = list(reader.iter_packages())
    assert {
        f"{p.name}-{p.epoch}:{p.version}-{p.release}.{p.arch}" for p in read_back
    } == published.nevras
    assert all(p.location_href.startswith(f"Packages/{p.name[0]}/") for p in read_back)
    assert all(len(p.changelogs) <= 10 for p in read_back)
    assert any(len(p.changelogs) == 10 for p in read_back)
    assert {a.id for a in reader.advisories()} == set(published.advisories)
    if settings.generate_sqlite:
        database = tmp_path / "primary.sqlite"
        database.write_bytes(
            bz2.decompress((tmp_path / records["primary_db"].location_href).read_bytes())
        )
        with sqlite3.connect(database) as connection:
            (count,) = connection.execute("SELECT count(*) FROM packages").fetchone()
        assert count == len(published.nevras)
    modules_yaml = gzip.decompress((tmp_path / records["modules"].location_href).read_bytes())
    assert modules_yaml.decode().count("document: modulemd\n") == len(published.modules)


def test_a_package_count_that_does_not_match_is_refused(docs: Documents, tmp_path: Path) -> None:
    package = decode_package(docs["units_rpm"][0], "rpm")
    settings = PublicationSettings("sha256", generate_sqlite=False)
    with pytest.raises(PackageCountMismatch, match="1 packages, 2 announced"):
        write_repodata(tmp_path / "a", packages=iter([package]), package_count=2, settings=settings)
    with pytest.raises(PackageCountMismatch, match="more than the 0"):
        write_repodata(tmp_path / "b", packages=iter([package]), package_count=0, settings=settings)


def dnf(root: Path, target: Path, *args: str) -> list[str]:
    """dnf on the repository at ``target`` alone, its state and cache under ``root``."""
    command = [
        "dnf", "-q", "--setopt=reposdir=/dev/null", f"--installroot={root}", "--releasever=8",
        "--setopt=t.module_hotfixes=1", f"--repofrompath=t,file://{target}", "--repo=t",
        *args,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    return sorted(line for line in result.stdout.splitlines() if line.strip())


@pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed")
def test_dnf_sees_the_packages_advisories_modules_and_groups(
    sample: SampleSummary, docs: Documents, tmp_path: Path
) -> None:
    target = tmp_path / "repo"
    published = publish_sample_repo(
        sample, docs, "rpm-repo-0001", target, PublicationSettings("sha256", generate_sqlite=False)
    )
    qf = "--qf=%{name}-%{epoch}:%{version}-%{release}.%{arch}"
    root = tmp_path / "root"
    assert set(dnf(root, target, "repoquery", qf)) == published.nevras
    listed = dnf(root, target, "module", "list")
    assert {
        ":".join(line.split()[:2]) for line in listed if line.startswith("zoo-")
    } == published.modules
    # dnf applies a modular collection of an advisory only while its module is enabled.
    dnf(root, target, "module", "enable", "-y", *sorted(published.modules))
    for advisory_id, nevras in published.advisories.items():
        assert set(dnf(root, target, "repoquery", qf, f"--advisory={advisory_id}")) == nevras
    assert published.modules
    assert any(published.advisories.values())
    groups = dnf(root, target, "group", "list", "--ids")
    assert {line.split("(")[-1].rstrip(")") for line in groups if "(" in line} == published.groups


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


@pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed")
@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="rpmbuild is not installed")
def test_dnf_installs_a_real_package_published_from_its_pulp2_unit(tmp_path: Path) -> None:
    built = build_rpm(tmp_path)
    header = cr.package_from_rpm(str(built), checksum_type=cr.SHA256)
    # The unit as Pulp 2 stores it: template snippets, the checksum in the unit's fields.
    unit = {
        "_id": "walrus-unit",
        "checksumtype": "sha256",
        "checksum": header.pkgId,
        "filename": built.name,
        "repodata": repodata_templates(header),
    }
    package = decode_package(unit, "rpm")
    target = tmp_path / "repo"
    published = target / package.location_href
    published.parent.mkdir(parents=True)
    shutil.copyfile(built, published)
    write_repodata(
        target,
        packages=iter([package]),
        package_count=1,
        settings=PublicationSettings("sha256", generate_sqlite=False),
    )
    root = tmp_path / "root"
    dnf(root, target, "install", "-y", "--nogpgcheck", "walrus")
    assert (root / "usr" / "share" / "walrus" / "tusk").read_text() == "tusk\n"
