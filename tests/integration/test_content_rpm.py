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
from pulp2to3.actors.steps import BatchResult, Run
from pulp2to3.plugins.rpm.content import RPM
from pulp2to3.plugins.rpm.packages import CHANGELOG_LIMIT, parse_snippets
from pulp2to3.pulp2 import open_dump
from pulp2to3.pulp2.staging import content_row
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.database_support import NewRun

PLAN = {"plugins": [{"type": "rpm"}]}
STEP = content_step(RPM)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("rpm"), plugins=("rpm",), repos=1, units=20, on_demand=0.3, seed=4
    )


def units(sample: SampleSummary) -> list[dict[str, Any]]:
    return list(open_dump(sample.dump_path).iter_collection("units_rpm"))


async def stage(pool: asyncpg.Pool, documents: list[dict[str, Any]]) -> None:
    async with pool.acquire() as connection:
        for document in documents:
            row = content_row("rpm", document)
            await connection.execute(
                "INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path,"
                " downloaded, fields) VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                *row,
            )


async def run_step(pool: asyncpg.Pool, run: Run) -> list[BatchResult]:
    async with pool.acquire() as connection:
        batches = await STEP.plan_batches(connection, run)
    results = []
    for batch in batches:
        async with pool.acquire() as connection, connection.transaction():
            results.append(await STEP.work(connection, run, batch.args))
    return results


async def test_packages_migrate_and_bad_units_are_named_failures(
    pool: asyncpg.Pool, new_run: NewRun, sample: SampleSummary, tmp_path: Path
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
    run = await new_run(PLAN, settings)

    results = await run_step(pool, run)
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
    again = await run_step(pool, run)
    assert set(dict(f for result in again for f in result.failures)) == set(bad)
    assert sum(result.done for result in again) == 0
