"""Whole migrations of generated Debian samples: real worker processes, a real database, the
API and content app over real HTTP; the published layout read back with python-debian."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from debian import deb822

from pulp2to3.plugins.deb.plugin import PLUGIN
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from tests.deb_support import (
    DEB_SAMPLE,
    ExpectedRelease,
    check_completed,
    expected_releases,
    expected_simple,
    moved_memberships,
    serve,
)
from tests.migration_http_support import API, Client, call, start, wait_finished
from tests.migration_support import worker_env, workers

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def deb_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("deb"), plugins=("deb",), **DEB_SAMPLE)


@pytest.fixture(scope="module")
def mixed_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("mixed"),
        plugins=("iso", "rpm", "deb"),
        repos=2,
        units=20,
        on_demand=0.0,
        seed=6,
    )


@pytest.fixture
async def deb_client(
    db_url: str, pool: asyncpg.Pool, deb_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async for client in serve(db_url, pool, deb_sample, tmp_path / "media"):
        yield client


@pytest.fixture
async def mixed_client(
    db_url: str, pool: asyncpg.Pool, mixed_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async for client in serve(db_url, pool, mixed_sample, tmp_path / "media"):
        yield client


async def fetch(client: Client, base: str, path: str) -> bytes:
    response = await client.get(f"/pulp/content/{base}/{path}")
    assert response.status == 200, path
    return await response.read()


async def check_release(
    client: Client, base: str, distribution: str, expected: ExpectedRelease
) -> dict[str, str]:
    """The Release lists every index with the hashes of what is served; each component's
    indexes hold exactly its packages, each in its own architecture's index. Returns the pool
    files the indexes name, with their SHA256."""
    folder = f"dists/{distribution}"
    release = deb822.Release(await fetch(client, base, f"{folder}/Release"))
    assert release["Codename"] == expected.codename
    assert release.get("Suite") == expected.suite
    architectures = expected.architectures - {"all"} | {"all"}
    assert set(release["Architectures"].split()) == architectures
    assert set(release["Components"].split()) == set(expected.components)
    listed = {entry["name"]: entry for entry in release["SHA256"]}
    sha512 = {entry["name"]: entry["sha512"] for entry in release["SHA512"]}
    pool: dict[str, str] = {}
    for component, packages in expected.components.items():
        seen: set[str] = set()
        for arch in architectures:
            for name in ("Packages", "Packages.gz"):
                path = f"{component}/binary-{arch}/{name}"
                data = await fetch(client, base, f"{folder}/{path}")
                assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest()
                assert int(listed[path]["size"]) == len(data)
                assert sha512[path] == hashlib.sha512(data).hexdigest()
            index = await fetch(client, base, f"{folder}/{component}/binary-{arch}/Packages")
            assert gzip.decompress(data) == index
            for paragraph in deb822.Packages.iter_paragraphs(index.decode(), use_apt_pkg=False):
                assert paragraph["Architecture"] == arch
                entry = f"{paragraph['Package']}:{arch}={paragraph['Version']}"
                assert entry not in seen
                seen.add(entry)
                assert paragraph["Filename"].startswith(f"pool/{component}/")
                assert "\n" in paragraph["Description"]
                pool[paragraph["Filename"]] = paragraph["SHA256"]
        assert seen == packages, (base, distribution, component)
    return pool


async def test_a_deb_migration_with_two_workers_publishes_every_release(
    deb_client: Client, pool: asyncpg.Pool, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    assert deb_sample.deb is not None
    with workers(2, worker_env(db_url, deb_sample, tmp_path / "media")):
        report = await wait_finished(deb_client, await start(deb_client, deb_sample))
    check_completed(report)
    steps = {step["code"]: step for step in report["steps"]}
    for content_type in PLUGIN.content_types:
        done = steps[content_type.step_code]["done"]
        assert done == deb_sample.deb.unit_counts[content_type.pulp2_type]
    async with pool.acquire() as connection:
        counts = dict(
            await connection.fetch("SELECT pulp_type, count(*) FROM content GROUP BY pulp_type")
        )
    # Releases are one content per distinct key across repositories; components too, their
    # packages part of the key (an empty one is shared, those with packages are not here).
    components = {
        (c["distribution"].strip("/"), c["release"], c["name"], frozenset(c["packages"]))
        for c in open_dump(deb_sample.dump_path).iter_collection("units_deb_component")
    }
    assert counts["deb.package"] == deb_sample.deb.unit_counts["deb"]
    assert counts["deb.release"] == 2
    assert counts["deb.release_component"] == len(components) == 7

    remotes = await call(deb_client, "GET", f"{API}remotes/?limit=100", 200)
    assert {r["pulp_type"] for r in remotes["results"]} == {"deb.apt"}
    assert len(remotes["results"]) == deb_sample.deb.repos - 1  # the empty one has no feed
    expected = expected_releases(deb_sample)
    distributions = await call(deb_client, "GET", f"{API}distributions/?limit=100", 200)
    assert {d["base_path"] for d in distributions["results"]} == set(expected)
    lazy_urls = {
        entry["url"]
        for entry in open_dump(deb_sample.dump_path).iter_collection("lazy_content_catalog")
    }
    served = redirected = 0
    for base, releases in sorted(expected.items()):
        pool: dict[str, str] = {}
        for distribution, release in sorted(releases.items()):
            pool |= await check_release(deb_client, base, distribution, release)
        for path, sha256 in sorted(pool.items()):
            response = await deb_client.get(f"/pulp/content/{base}/{path}", allow_redirects=False)
            if response.status == 200:
                assert hashlib.sha256(await response.read()).hexdigest() == sha256
                served += 1
            else:
                assert response.status == 302, path
                assert response.headers["Location"] in lazy_urls
                assert response.headers["Location"].endswith(path.rsplit("/", 1)[-1])
                redirected += 1
        for signature in ("InRelease", "Release.gpg"):
            for distribution in releases:
                response = await deb_client.get(
                    f"/pulp/content/{base}/dists/{distribution}/{signature}"
                )
                assert response.status == 404
    assert served
    assert redirected


async def footprint(pool: asyncpg.Pool) -> dict[str, int]:
    tables = (
        "content",
        "artifact",
        "deb_package",
        "deb_release",
        "deb_release_component",
        "deb_package_release_component",
        "repository_version",
        "publication",
        "published_artifact",
        "published_metadata",
        "distribution",
        "remote",
    )
    async with pool.acquire() as connection:
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}") for table in tables
        }


async def test_a_mixed_plan_migrates_all_three_and_a_rerun_changes_nothing(
    mixed_client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    mixed_sample: SampleSummary,
    tmp_path: Path,
) -> None:
    assert mixed_sample.deb is not None
    assert mixed_sample.rpm is not None
    env = worker_env(db_url, mixed_sample, tmp_path / "media")
    with workers(2, env):
        report = await wait_finished(mixed_client, await start(mixed_client, mixed_sample))
    check_completed(report)
    steps = {step["code"]: step for step in report["steps"]}
    assert steps["migrate_content.iso"]["done"] == mixed_sample.units
    assert steps["migrate_content.rpm"]["done"] == mixed_sample.rpm.unit_counts["rpm"]
    for kind, count in mixed_sample.deb.unit_counts.items():
        assert steps[f"migrate_content.{kind}"]["done"] == count
    before = await footprint(pool)
    distributions = await call(mixed_client, "GET", f"{API}distributions/?limit=1000", 200)
    assert {d["pulp_type"] for d in distributions["results"]} == {"file.file", "rpm.rpm", "deb.apt"}
    for base, releases in sorted(expected_releases(mixed_sample).items()):
        for distribution, release in sorted(releases.items()):
            await check_release(mixed_client, base, distribution, release)

    with workers(2, env):
        check_completed(await wait_finished(mixed_client, await start(mixed_client, mixed_sample)))
    assert await footprint(pool) == before


async def test_a_run_after_pulp2_grew_publishes_the_new_packages(
    deb_client: Client, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    # The same seed with more packages: Pulp 2 synced again (the components list them too).
    grown = generate_sample(tmp_path / "grown", plugins=("deb",), **(DEB_SAMPLE | {"units": 30}))
    before, after = expected_releases(deb_sample), expected_releases(grown)
    assert after != before
    media = tmp_path / "media"
    with workers(2, worker_env(db_url, deb_sample, media)):
        check_completed(await wait_finished(deb_client, await start(deb_client, deb_sample)))
    with workers(2, worker_env(db_url, grown, media)):
        check_completed(await wait_finished(deb_client, await start(deb_client, grown)))
    for base, releases in sorted(after.items()):
        for distribution, release in sorted(releases.items()):
            await check_release(deb_client, base, distribution, release)


async def test_a_run_after_pulp2_moved_packages_between_components_publishes_them_there(
    deb_client: Client, pool: asyncpg.Pool, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    moved = moved_memberships(deb_sample, tmp_path / "moved")
    before, after = expected_releases(deb_sample), expected_releases(moved)
    assert after != before
    media = tmp_path / "media"
    with workers(2, worker_env(db_url, deb_sample, media)):
        check_completed(await wait_finished(deb_client, await start(deb_client, deb_sample)))
    async with pool.acquire() as connection:
        versions = await connection.fetchval("SELECT count(*) FROM repository_version")
    with workers(2, worker_env(db_url, moved, media)):
        check_completed(await wait_finished(deb_client, await start(deb_client, moved)))
    async with pool.acquire() as connection:
        # A new version of each repository whose memberships changed, and nothing else.
        changed = sum(releases != before[base] for base, releases in after.items())
        assert changed
        assert await connection.fetchval("SELECT count(*) FROM repository_version") == (
            versions + changed
        )
    for base, releases in sorted(after.items()):
        for distribution, release in sorted(releases.items()):
            await check_release(deb_client, base, distribution, release)


async def test_a_plan_asking_for_the_simple_layout_alone_publishes_only_it(
    deb_client: Client, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    plan = json.loads(deb_sample.plan_path.read_text())
    plan["plugins"][0] |= {"simple": True, "structured": False}  # for all its repositories
    with workers(2, worker_env(db_url, deb_sample, tmp_path / "media")):
        created = await call(
            deb_client, "POST", f"{API}migration-plans/", 201, {"plan": json.dumps(plan)}
        )
        run = await call(deb_client, "POST", created["pulp_href"] + "run/", 202, {})
        check_completed(await wait_finished(deb_client, run["report"]))
    structured = expected_releases(deb_sample)
    for base, simple in sorted(expected_simple(deb_sample).items()):
        await check_release(deb_client, base, "default", simple)
        for distribution in structured[base]:
            response = await deb_client.get(f"/pulp/content/{base}/dists/{distribution}/Release")
            assert response.status == 404, distribution
