"""The sample generator's Debian part: real .deb files, the shapes the issue lists, counts as
asked."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections import Counter, defaultdict

import pytest
from debian import deb822

from pulp2to3.sample import SampleSummary, generate_sample
from tests.sample_support import Documents, local, read


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("deb"), repos=3, units=24, plugins=("deb",), seed=3
    )


@pytest.fixture(scope="module")
def docs(sample: SampleSummary) -> Documents:
    return read(sample)


def test_counts_are_what_was_asked(sample: SampleSummary, docs: Documents) -> None:
    deb = sample.deb
    assert deb is not None
    assert (sample.repos, docs["units_iso"]) == (0, [])
    assert deb.repos == len(docs["repos"]) == 3
    assert deb.unit_counts == {"deb": 24, "deb_release": 4, "deb_component": 8}
    for kind, count in deb.unit_counts.items():
        assert len(docs[f"units_{kind}"]) == count
    assert deb.downloaded_packages + deb.on_demand_packages == 24
    assert deb.on_demand_packages > 0
    assert deb.downloaded_packages > 0


def test_memberships_match_the_repository_counts(docs: Documents) -> None:
    held: dict[str, Counter[str]] = defaultdict(Counter)
    for membership in docs["repo_content_units"]:
        held[membership["repo_id"]][membership["unit_type_id"]] += 1
    for repo in docs["repos"]:
        assert repo["notes"] == {"_repo-type": "deb-repo"}
        assert held[repo["repo_id"]] == Counter(repo["content_unit_counts"])
    empty = [repo for repo in docs["repos"] if not repo["content_unit_counts"]]
    assert [repo["repo_id"] for repo in empty] == ["deb-repo-0002"]


def test_the_shapes_the_issue_lists(docs: Documents) -> None:
    packages = docs["units_deb"]
    assert {p["architecture"] for p in packages} == {"amd64", "all", "arm64", "i386"}
    assert {p["downloaded"] for p in packages} == {True, False}
    releases = docs["units_deb_release"]
    assert any("/" in r["distribution"].strip("/") for r in releases)
    assert {r["suite"] for r in releases} == {"stable", None}
    in_components = Counter(
        (c["repoid"], c["distribution"], unit_id)
        for c in docs["units_deb_component"]
        for unit_id in c["packages"]
    )
    assert max(in_components.values()) == 2  # components share packages
    assert any(not c["packages"] for c in docs["units_deb_component"])
    feeds = {i["repo_id"]: i["config"].get("feed") for i in docs["repo_importers"]}
    assert feeds["deb-repo-0002"] is None
    lazy = {entry["unit_id"] for entry in docs["lazy_content_catalog"]}
    assert {p["_id"] for p in packages if not p["downloaded"]} <= lazy
    fields = [p["control_fields"] for p in packages]
    assert any(not f["Maintainer"].isascii() for f in fields)
    assert all("\n" in f["Description"] for f in fields)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_the_files_are_debs_dpkg_reads(sample: SampleSummary, docs: Documents) -> None:
    dpkg_deb = shutil.which("dpkg-deb")
    assert dpkg_deb is not None
    for unit in [p for p in docs["units_deb"] if p["downloaded"]][:3]:
        path = local(sample, unit["_storage_path"])
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (unit["size"], unit["checksum"])
        control = subprocess.run(
            [dpkg_deb, "--field", str(path)], capture_output=True, check=True, timeout=30
        ).stdout.decode()
        assert dict(deb822.Deb822(control)) == unit["control_fields"]


def test_the_same_seed_gives_the_same_bytes(tmp_path_factory: pytest.TempPathFactory) -> None:
    first, second = (
        generate_sample(tmp_path_factory.mktemp("same"), repos=2, units=5, plugins=("deb",))
        for _ in range(2)
    )
    assert first.dump_path.read_bytes() == second.dump_path.read_bytes()
