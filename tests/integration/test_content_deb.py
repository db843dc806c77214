"""The Debian content steps on a real PostgreSQL, with units of a generated sample, some of
them spoiled: each bad unit is a named failure, nothing else is lost."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3.actors.content import content_step
from pulp2to3.plugins import NewPublication
from pulp2to3.plugins.deb.content import COMPONENTS, PACKAGES, RELEASES
from pulp2to3.plugins.deb.plugin import PLUGIN
from pulp2to3.plugins.deb.signing import SigningError
from pulp2to3.pulp2 import open_dump
from pulp2to3.pulp2.staging import content_row
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.database_support import NewMigration
from tests.steps_support import failures_of, run_step

PLAN = {"plugins": [{"type": "deb"}]}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("deb"), plugins=("deb",), repos=2, units=12, on_demand=0.5, seed=8
    )


def units(sample: SampleSummary, kind: str) -> list[dict[str, Any]]:
    return list(open_dump(sample.dump_path).iter_collection(f"units_{kind}"))


async def stage(pool: asyncpg.Pool, kind: str, documents: list[dict[str, Any]]) -> None:
    async with pool.acquire() as connection:
        for document in documents:
            await connection.execute(
                "INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path,"
                " downloaded, fields) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
                *content_row(kind, document, ()),
            )


async def stage_lazy(pool: asyncpg.Pool, sample: SampleSummary) -> None:
    async with pool.acquire() as connection:
        for entry in open_dump(sample.dump_path).iter_collection("lazy_content_catalog"):
            await connection.execute(
                "INSERT INTO pulp2_lazy_catalog (pulp2_unit_id, unit_type_id, importer_id, url)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                entry["unit_id"], entry["unit_type_id"], entry["importer_id"], entry["url"],
            )  # fmt: skip


async def test_bad_units_are_named_and_the_rest_migrates(
    pool: asyncpg.Pool, new_migration: NewMigration, sample: SampleSummary, tmp_path: Path
) -> None:
    packages, releases = units(sample, "deb"), units(sample, "deb_release")
    components = units(sample, "deb_component")
    on_demand = next(p for p in packages if not p["downloaded"])
    downloaded = [p for p in packages if p["downloaded"]]
    spoiled_file = copy.deepcopy(downloaded[0]) | {"_id": "deb-gone"}
    spoiled_file["_storage_path"] += ".gone"
    spoiled_file["checksum"] = "0" * 64
    no_lazy = copy.deepcopy(on_demand) | {"_id": "deb-nowhere", "checksum": "1" * 64}
    bad_packages = {
        "deb-gone": "gone",
        "deb-nowhere": "no lazy catalog entry",
        "deb-md5": "checksumtype",
    }
    packages += [
        spoiled_file,
        no_lazy,
        copy.deepcopy(downloaded[1]) | {"_id": "deb-md5", "checksumtype": "md5"},
    ]
    dangling = copy.deepcopy(components[0]) | {"_id": "component-dangling", "name": "muspelheim"}
    dangling["packages"] = [*dangling["packages"][:1], "no-such-unit"]
    orphan = copy.deepcopy(components[0]) | {"_id": "component-orphan", "release": "unknown"}
    components += [dangling, orphan]
    null_suites = [r for r in releases if r["suite"] is None]
    assert null_suites
    await stage(pool, "deb", packages)
    await stage(pool, "deb_release", releases)
    await stage(pool, "deb_component", components)
    await stage_lazy(pool, sample)
    settings = dataclasses.replace(
        load_settings({}), pulp2_root=sample.pulp_root, media_root=tmp_path / "media"
    )
    migration = await new_migration(PLAN, settings)

    release_failures = failures_of(await run_step(pool, migration, content_step(RELEASES)))
    package_results = await run_step(pool, migration, content_step(PACKAGES))
    component_results = await run_step(pool, migration, content_step(COMPONENTS))
    assert release_failures == {}
    failed = failures_of(package_results)
    assert set(failed) == set(bad_packages)
    for unit_id, reason in bad_packages.items():
        assert reason in failed[unit_id], failed[unit_id]
    assert sum(r.done for r in package_results) == len(packages) - len(bad_packages)
    failed = failures_of(component_results)
    assert set(failed) == {"component-dangling", "component-orphan"}
    assert "no-such-unit" in failed["component-dangling"]
    assert "was not migrated" in failed["component-orphan"]
    assert sum(r.done for r in component_results) == len(components) - 2

    async with pool.acquire() as connection:
        suites = await connection.fetch("SELECT distribution, suite FROM deb_release")
        held = await connection.fetch(
            "SELECT DISTINCT r.distribution, rc.component, p.pulp2_id"
            "  FROM deb_release_component rc JOIN deb_release r ON r.content_id = rc.release_id"
            "  JOIN deb_package_release_component prc ON prc.component_id = rc.content_id"
            "  JOIN pulp2_content p ON p.pulp3_content_id = prc.package_id"
        )
    assert {(row["distribution"], row["suite"]) for row in suites} == {
        ("stable", "stable"),
        ("ragnarok/updates", None),
    }
    # A component is one content per (release, name) across repositories: its packages are
    # those of every repository's unit of it.
    expected = {
        (c["distribution"].strip("/"), c["name"], package)
        for c in components
        if c["_id"] not in failed
        for package in c["packages"]
    }
    assert expected
    assert {(r["distribution"], r["component"], r["pulp2_id"]) for r in held} == expected


async def test_a_signing_service_that_is_not_configured_is_a_clear_error(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    settings = dataclasses.replace(load_settings({}), media_root=tmp_path / "media")
    wanted = NewPublication(id=0, options={}, signing_service="nope")
    async with pool.acquire() as connection, connection.transaction():
        with pytest.raises(SigningError, match="signing service 'nope' is not configured"):
            await PLUGIN.publish(connection, [wanted], settings)
