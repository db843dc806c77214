"""Publishing RPM content as repodata/, read back by createrepo_c and by a real dnf."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import createrepo_c as cr
import pytest

from pulp2to3.plugins.rpm.config import PublicationSettings
from pulp2to3.plugins.rpm.packages import decode_package
from pulp2to3.plugins.rpm.publish import (
    PackageCountMismatch,
    write_repodata,
)
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.sample.rpm_documents import repodata_templates
from tests.rpm_support import build_rpm, publish_sample_repo
from tests.sample_support import Documents, read


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
