"""The sample generator's RPM part: real shapes that the RPM decoders read back, counts as asked."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from pulp2to3.plugins import pulp2_configs
from pulp2to3.plugins.rpm import advisories, comps, config, metadata_files, modules
from pulp2to3.plugins.rpm.packages import decode_package
from pulp2to3.plugins.rpm.treeinfo import decode_distribution
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from tests.sample_support import Documents, local, read


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("rpm"), repos=4, units=95, plugins=("rpm",), seed=7
    )


@pytest.fixture(scope="module")
def docs(sample: SampleSummary) -> Documents:
    return read(sample)


def test_counts_are_what_was_asked(sample: SampleSummary, docs: Documents) -> None:
    rpm = sample.rpm
    assert rpm is not None
    assert (sample.repos, sample.units, docs["units_iso"]) == (0, 0, [])
    assert rpm.unit_counts["rpm"] + rpm.unit_counts["srpm"] == 95
    assert rpm.unit_counts["srpm"] == 9
    assert rpm.unit_counts["erratum"] == rpm.unit_counts["modulemd"] == 10
    assert rpm.unit_counts["modulemd_defaults"] == 5
    assert rpm.unit_counts["package_group"] == 8
    assert rpm.unit_counts["distribution"] == 1
    for kind, count in rpm.unit_counts.items():
        assert len(docs[f"units_{kind}"]) == count
    assert rpm.downloaded_packages + rpm.on_demand_packages == 95
    assert rpm.on_demand_packages > 0
    assert rpm.multi_repo_packages > 0
    assert len(docs["erratum_pkglists"]) == rpm.pkglists
    assert len(docs["repos"]) == 4


def test_memberships_match_the_repository_counts(docs: Documents) -> None:
    held: dict[str, Counter[str]] = defaultdict(Counter)
    for membership in docs["repo_content_units"]:
        held[membership["repo_id"]][membership["unit_type_id"]] += 1
    for repo in docs["repos"]:
        assert repo["notes"] == {"_repo-type": "rpm-repo"}
        assert held[repo["repo_id"]] == Counter(repo["content_unit_counts"])


def test_packages_decode_from_their_snippets(sample: SampleSummary, docs: Documents) -> None:
    lazy = {entry["unit_id"] for entry in docs["lazy_content_catalog"]}
    for kind in ("rpm", "srpm"):
        for unit in docs[f"units_{kind}"]:
            package = decode_package(unit, kind)
            assert package.pkg_id == unit["checksum"]
            assert package.nevra == tuple(
                unit[f] for f in ("name", "epoch", "version", "release", "arch")
            )
            assert package.location_href.endswith(f"/{unit['filename']}")
            assert package.is_modular == unit["is_modular"]
            assert "{{ checksum }}" in package.to_createrepo().description
            if unit["downloaded"]:
                data = local(sample, unit["_storage_path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == unit["checksum"]
            else:
                assert unit["_id"] in lazy


def test_errata_name_packages_and_modules_that_exist(docs: Documents) -> None:
    nevras = {
        decode_package(unit, kind).nevra
        for kind in ("rpm", "srpm")
        for unit in docs[f"units_{kind}"]
    }
    module_refs = {modules.decode_module(unit, "").ref for unit in docs["units_modulemd"]}
    pkglists: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pkglist in docs["erratum_pkglists"]:
        pkglists[pkglist["errata_id"]].append(pkglist)
    shapes: set[object] = set()
    for unit in docs["units_erratum"]:
        advisory = advisories.decode_advisory(unit)
        assert advisory.issued is not None
        shapes.add("utc" if unit["issued"].endswith(" UTC") else len(unit["issued"]))
        collections = advisories.merge_pkglists(advisory.id, pkglists[advisory.id])
        assert collections[0].module is None
        assert collections[0].packages
        for collection in collections:
            assert {p.nevra for p in collection.packages} <= nevras
            assert collection.module is None or collection.module in module_refs
        assert any(c.module is not None for c in collections)
    # A bare date, a date and time, and one with " UTC".
    assert shapes == {10, 19, "utc"}


def test_modules_and_defaults(sample: SampleSummary, docs: Documents) -> None:
    packages = {decode_package(unit, "rpm").nevra: unit["is_modular"] for unit in docs["units_rpm"]}
    for unit in docs["units_modulemd"]:
        path = local(sample, unit["_storage_path"])
        snippet = path.read_text()
        assert hashlib.sha256(snippet.encode()).hexdigest() == unit["checksum"]
        module = modules.decode_module(unit, snippet)
        assert module.artifacts
        assert all(packages[nevra] for nevra in module.artifacts)
        assert f"name: {module.name}" in module.snippet
    for unit in docs["units_modulemd_defaults"]:
        defaults = modules.decode_module_defaults(
            unit, local(sample, unit["_storage_path"]).read_text()
        )
        assert defaults.profiles == ((defaults.stream, ("default",)),)


def test_comps_decode_and_refer_to_their_groups(docs: Documents) -> None:
    groups = [comps.decode_group(unit) for unit in docs["units_package_group"]]
    categories = [comps.decode_category(unit) for unit in docs["units_package_category"]]
    environments = [comps.decode_environment(unit) for unit in docs["units_package_environment"]]
    langpacks = [comps.decode_langpacks(unit) for unit in docs["units_package_langpacks"]]
    group_ids = {(group.repo_id, group.id) for group in groups}
    for category in categories:
        assert {(category.repo_id, g) for g in category.group_ids} <= group_ids
    for environment in environments:
        named = [*environment.group_ids, *(option for option, _ in environment.option_ids)]
        assert {(environment.repo_id, g) for g in named} <= group_ids
    for repo in {group.repo_id for group in groups}:
        document = comps.build_comps(
            [g for g in groups if g.repo_id == repo],
            [c for c in categories if c.repo_id == repo],
            [e for e in environments if e.repo_id == repo],
            [lp for lp in langpacks if lp.repo_id == repo],
        )
        assert [g.id for g in document.groups] == ["zoo-group-0", "zoo-group-1"]
    assert any(p.requires for group in groups for p in group.packages)


def test_kickstart_tree(sample: SampleSummary, docs: Documents) -> None:
    [unit] = docs["units_distribution"]
    folder = local(sample, unit["_storage_path"])
    tree = decode_distribution(unit, (folder / ".treeinfo").read_text())
    assert {image.path for image in tree.images} == set(tree.files)
    lazy_paths = {
        entry["path"] for entry in docs["lazy_content_catalog"] if entry["unit_id"] == unit["_id"]
    }
    for image in tree.images:
        if unit["downloaded"]:
            assert (folder / image.path).is_file()
        else:
            assert f"{unit['_storage_path']}/{image.path}" in lazy_paths


def test_metadata_files(sample: SampleSummary, docs: Documents) -> None:
    units = docs["units_yum_repo_metadata_file"]
    assert sum(metadata_files.is_skipped(unit) for unit in units) == 1
    for unit in units:
        decoded = metadata_files.decode_metadata_file(unit)
        data = local(sample, unit["_storage_path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == decoded.checksum


def test_importers_and_distributors(docs: Documents) -> None:
    remotes = [pulp2_configs.remote_from_importer(doc["config"]) for doc in docs["repo_importers"]]
    assert all(remote is not None for remote in remotes)
    assert {remote.policy for remote in remotes if remote is not None} == {
        "immediate",
        "on_demand",
    }
    kinds = Counter(doc["distributor_type_id"] for doc in docs["repo_distributors"])
    assert kinds == {"yum_distributor": 4, "export_distributor": 2}
    checksum_types = {
        config.publication_settings(doc["config"], None).checksum_type
        for doc in docs["repo_distributors"]
        if doc["distributor_type_id"] == "yum_distributor"
    }
    assert checksum_types == {"sha1", "sha256"}


def test_the_iso_part_is_the_same_with_or_without_rpm(tmp_path: Path) -> None:
    alone = generate_sample(tmp_path / "iso", repos=2, units=30, seed=4)
    mixed = generate_sample(tmp_path / "both", repos=2, units=30, seed=4, plugins=("iso", "rpm"))
    read = {}
    for name, summary in (("alone", alone), ("mixed", mixed)):
        dump = open_dump(summary.dump_path)
        read[name] = list(dump.iter_collection("units_iso"))
    assert read["alone"] == read["mixed"]
    assert mixed.rpm is not None
    assert mixed.collection_counts["repos"] == 4


def test_unknown_plugin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plugins must be some of iso, rpm, deb"):
        generate_sample(tmp_path, repos=1, units=1, plugins=("docker",))
