"""The migrate_content.rpm step on a real PostgreSQL, with units of a generated sample.

The units are staged as premigrate stages them (``pulp2.staging.content_row``: the binary
``repodata`` snippets become base64 text), some of them spoiled first; the step runs as its
batch task runs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.actors.content import content_step
from pulp2to3.plugins.rpm.content import RPM
from pulp2to3.plugins.rpm.modules import parse_nevra
from pulp2to3.plugins.rpm.packages import CHANGELOG_LIMIT, parse_snippets
from pulp2to3.plugins.rpm.plugin import PKGLISTS, PLUGIN
from pulp2to3.pulp2 import open_dump
from pulp2to3.pulp2.staging import content_row
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.database_support import NewMigration
from tests.steps_support import failures_of, run_step

PLAN = {"plugins": [{"type": "rpm"}]}
STEP = content_step(RPM)
TYPES = {content_type.pulp2_type: content_type for content_type in PLUGIN.content_types}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("rpm"), plugins=("rpm",), repos=1, units=20, on_demand=0.3, seed=4
    )


def units(sample: SampleSummary) -> list[dict[str, Any]]:
    return list(open_dump(sample.dump_path).iter_collection("units_rpm"))


async def stage(
    pool: asyncpg.Pool, documents: list[dict[str, Any]], content_type: str = "rpm"
) -> None:
    binary = TYPES[content_type].binary_fields if content_type in TYPES else ()
    async with pool.acquire() as connection:
        for document in documents:
            row = content_row(content_type, document, binary)
            await connection.execute(
                "INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path,"
                " downloaded, fields) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
                *row,
            )


async def test_packages_migrate_and_bad_units_are_named_failures(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, tmp_path: Path
) -> None:
    documents = units(sample)
    downloaded = [d for d in documents if d["downloaded"]]
    # A sha1 package: its file is hashed for the artifact's sha256.
    sha1_unit = downloaded[0]
    source = sample.pulp_root / sha1_unit["_storage_path"].removeprefix("/var/lib/pulp/")
    sha1_unit["checksumtype"] = "sha"
    sha1_unit["checksum"] = hashlib.sha1(source.read_bytes()).hexdigest()  # noqa: S324
    bad = {
        downloaded[1]["_id"]: ("checksumtype", "sha999", "unknown checksum type"),
        downloaded[2]["_id"]: ("repodata", {"primary": b"not zlib"}, "repodata.primary"),
        downloaded[3]["_id"]: (
            "repodata",
            {
                **downloaded[3]["repodata"],
                "primary": zlib.compress(b"<package><name>broken</package>"),
            },
            "does not parse",
        ),
        downloaded[4]["_id"]: ("_storage_path", "/var/lib/pulp/content/units/rpm/gone.rpm", "gone"),
    }
    for document in documents:
        if document["_id"] in bad:
            field, value, _ = bad[document["_id"]]
            document[field] = value
    await stage(pool, documents)
    settings = dataclasses.replace(
        load_settings({}),
        pulp2_root=sample.pulp_root,
        media_root=tmp_path / "media",
        verify_checksums=True,
    )
    migration = await new_migration(PLAN, settings)

    results = await run_step(pool, migration, STEP)
    failures = dict(failure for result in results for failure in result.failures)
    assert set(failures) == set(bad)
    for unit_id, (_, _, reason) in bad.items():
        assert reason in failures[unit_id], failures[unit_id]
    assert sum(result.done for result in results) == len(documents) - len(bad)

    async with pool.acquire() as connection:
        packages = await connection.fetch(
            "SELECT pc.pulp2_id, p.*, a.sha256 AS artifact_sha256, ca.relative_path"
            "  FROM pulp2_content pc JOIN rpm_package p ON p.content_id = pc.pulp3_content_id"
            "  JOIN content_artifact ca ON ca.content_id = p.content_id"
            "  LEFT JOIN artifact a ON a.id = ca.artifact_id"
        )
    assert len(packages) == len(documents) - len(bad)
    by_unit = {row["pulp2_id"]: row for row in packages}
    for document in documents:
        if document["_id"] in bad:
            continue
        row = by_unit[document["_id"]]
        assert row["relative_path"] == row["location_href"]
        assert row["location_href"] == f"Packages/{document['filename'][0]}/{document['filename']}"
        assert (row["artifact_sha256"] is not None) == document["downloaded"]
        package = parse_snippets(row["primary_xml"], row["filelists_xml"], row["other_xml"])
        assert package.pkgId == document["checksum"]
        assert 0 < len(package.changelogs) <= CHANGELOG_LIMIT
    sha1_row = by_unit[sha1_unit["_id"]]
    assert sha1_row["checksum_type"] == "sha1"
    assert sha1_row["artifact_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()

    # Run again: nothing left to migrate but the failed units, which fail the same way.
    again = await run_step(pool, migration, STEP)
    assert set(dict(f for result in again for f in result.failures)) == set(bad)
    assert sum(result.done for result in again) == 0


def nevra_text(nevra: tuple[str, ...]) -> str:
    name, epoch, version, release, arch = nevra
    return f"{name}-{epoch}:{version}-{release}.{arch}"


async def test_relations_without_a_target_are_named_and_the_rest_is_migrated(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    dump = open_dump(sample.dump_path)
    collections = {
        kind: list(dump.iter_collection(f"units_{kind}"))
        for kind in (unit_type.pulp2_type for unit_type in PLUGIN.content_types)
    }
    module = collections["modulemd"][0]
    # The module's first artifact is a package the dump no longer has; the erratum of its
    # block names it too; and a category names a group that is gone.
    absent = parse_nevra(module["artifacts"][0])
    gone = next(
        unit
        for unit in collections["rpm"] + collections["srpm"]
        if (unit["name"], unit["epoch"], unit["version"], unit["release"], unit["arch"]) == absent
    )
    collections[gone["_content_type_id"]].remove(gone)
    category = collections["package_category"][0]
    dropped_group = next(
        group
        for group in collections["package_group"]
        if group["repo_id"] == category["repo_id"]
        and group["package_group_id"] in category["packagegroupids"]
    )
    collections["package_group"].remove(dropped_group)
    errata = [
        erratum["errata_id"]
        for erratum in collections["erratum"]
        for pkglist in dump.iter_collection(PKGLISTS)
        if pkglist["errata_id"] == erratum["errata_id"]
        and any(
            (p["name"], p["epoch"] or "0", p["version"], p["release"], p["arch"]) == absent
            for c in pkglist["collections"]
            for p in c["packages"]
        )
    ]
    assert errata
    for kind, documents in collections.items():
        await stage(pool, documents, kind)
    await stage(pool, list(dump.iter_collection(PKGLISTS)), PKGLISTS)
    settings = dataclasses.replace(
        load_settings({}), pulp2_root=sample.pulp_root, media_root=sample.pulp_root / "media"
    )
    migration = await new_migration(PLAN, settings)

    failed: dict[str, dict[str, str]] = {}
    for content_type in PLUGIN.content_order():
        results = await run_step(pool, migration, content_step(content_type))
        failed[content_type.pulp2_type] = failures_of(results)
        # A unit with a missing relation counts as failed, not also as done.
        staged = len(collections.get(content_type.pulp2_type, ()))
        assert sum(r.done + len(r.failures) for r in results) == staged, content_type
    assert failed["modulemd"] == {module["_id"]: f"artifacts with no package: {nevra_text(absent)}"}
    erratum_ids = {e["errata_id"]: e["_id"] for e in collections["erratum"]}
    assert failed["erratum"] == {
        erratum_ids[errata_id]: f"names packages that are nowhere: {nevra_text(absent)}"
        for errata_id in errata
    }
    assert failed["package_category"][category["_id"]] == (
        f"names groups that are not in its repository: {dropped_group['package_group_id']}"
    )
    assert set(failed["yum_repo_metadata_file"]) == {
        unit["_id"]
        for unit in collections["yum_repo_metadata_file"]
        if unit["data_type"].endswith("_zck")
    }
    async with pool.acquire() as connection:
        unmigrated = await connection.fetch(
            "SELECT content_type, pulp2_id FROM pulp2_content"
            " WHERE NOT is_migrated AND content_type <> $1",
            PKGLISTS,
        )
        related = await connection.fetchval(
            "SELECT count(*) FROM rpm_module_package mp JOIN pulp2_content pc"
            " ON pc.pulp3_content_id = mp.module_id WHERE pc.pulp2_id = $1",
            module["_id"],
        )
    # Only the skipped metadata files are not migrated: the units with a missing relation are.
    assert {row["pulp2_id"] for row in unmigrated} == set(failed["yum_repo_metadata_file"])
    assert related == len(module["artifacts"]) - 1


async def test_a_kickstart_tree_brings_its_files_and_one_without_treeinfo_is_named(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary
) -> None:
    [tree] = list(open_dump(sample.dump_path).iter_collection("units_distribution"))
    lost = {**tree, "_id": "lost-tree", "_storage_path": "/var/lib/pulp/content/units/gone"}
    await stage(pool, [tree, lost], "distribution")
    settings = dataclasses.replace(
        load_settings({}), pulp2_root=sample.pulp_root, media_root=sample.pulp_root / "media"
    )
    migration = await new_migration(PLAN, settings)

    results = await run_step(pool, migration, content_step(TYPES["distribution"]))
    failures = failures_of(results)
    assert set(failures) == {"lost-tree"}
    assert failures["lost-tree"].startswith("its .treeinfo cannot be read")
    async with pool.acquire() as connection:
        files = await connection.fetch(
            "SELECT ca.relative_path, a.sha256 FROM pulp2_content pc"
            " JOIN content_artifact ca ON ca.content_id = pc.pulp3_content_id"
            " LEFT JOIN artifact a ON a.id = ca.artifact_id WHERE pc.pulp2_id = $1",
            tree["_id"],
        )
    folder = sample.pulp_root / tree["_storage_path"].removeprefix("/var/lib/pulp/")
    images = {entry["relativepath"].strip() for entry in tree["files"]}
    assert {row["relative_path"] for row in files} == {".treeinfo", *images}
    for row in files:
        if row["relative_path"] == ".treeinfo" or tree["downloaded"]:
            source = (folder / row["relative_path"]).read_bytes()
            assert row["sha256"] == hashlib.sha256(source).hexdigest()
        else:
            assert row["sha256"] is None


async def test_delta_rpms_are_named_as_not_migrated(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    drpms = [{"_id": f"drpm-{n}", "filename": f"drpms/zoo-{n}.drpm"} for n in range(3)]
    await stage(pool, drpms, "drpm")
    migration = await new_migration(PLAN)
    results = await run_step(pool, migration, content_step(TYPES["drpm"]))
    assert sum(result.done for result in results) == 0
    failures = failures_of(results)
    assert set(failures) == {drpm["_id"] for drpm in drpms}
    assert all("not migrated" in reason for reason in failures.values())
