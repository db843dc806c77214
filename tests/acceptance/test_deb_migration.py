"""Whole migrations of generated Debian samples: real worker processes, a real database, the
API and content app over real HTTP; the published layout read back with python-debian."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from debian import deb822

from pulp2to3.http import app as http_app
from pulp2to3.plugins.deb.plugin import PLUGIN
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.deb_support import ExpectedRelease, expected_releases
from tests.migration_http_support import API, HEADERS, Client, call, start, wait_finished
from tests.migration_support import worker_env, workers

pytestmark = pytest.mark.timeout(300)
DEB_SAMPLE: dict[str, Any] = dict(repos=3, units=24, on_demand=0.5, overlap=0.3, seed=13)


@pytest.fixture(scope="module")
def deb_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("deb"), plugins=("deb",), **DEB_SAMPLE)


@pytest.fixture
async def deb_client(
    db_url: str, pool: asyncpg.Pool, deb_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    env = worker_env(db_url, deb_sample, tmp_path / "media") | {"PULP2TO3_ADMIN_PASSWORD": "secret"}
    server = TestServer(http_app.init(load_settings(env), pool), host="127.0.0.1")
    async with TestClient(server, headers=HEADERS) as client:
        yield client


def check_completed(report: dict[str, Any]) -> None:
    assert report["status"] == "completed", report
    for step in report["steps"]:
        assert step["status"] == "completed", step
        assert step["failed_units"] == [], step
        assert step["done"] == step["total"], step


async def fetch(client: Client, base: str, path: str) -> bytes:
    response = await client.get(f"/pulp/content/{base}/{path}")
    assert response.status == 200, path
    return await response.read()


async def check_release(
    client: Client, base: str, distribution: str, expected: ExpectedRelease
) -> None:
    """The Release lists every index with the hashes of what is served; each component's
    indexes hold exactly its packages, each in its own architecture's index."""
    folder = f"dists/{distribution}"
    release = deb822.Release(await fetch(client, base, f"{folder}/Release"))
    assert release["Codename"] == expected.codename
    assert release.get("Suite") == expected.suite
    architectures = expected.architectures - {"all"} | {"all"}
    assert set(release["Architectures"].split()) == architectures
    assert set(release["Components"].split()) == set(expected.components)
    listed = {entry["name"]: entry for entry in release["SHA256"]}
    sha512 = {entry["name"]: entry["sha512"] for entry in release["SHA512"]}
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
        assert seen == packages, (base, distribution, component)


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
    # Releases and components are one content per distinct key across repositories.
    assert counts["deb.package"] == deb_sample.deb.unit_counts["deb"]
    assert counts["deb.release"] == 2
    assert counts["deb.release_component"] == 3

    remotes = await call(deb_client, "GET", f"{API}remotes/?limit=100", 200)
    assert {r["pulp_type"] for r in remotes["results"]} == {"deb.apt"}
    assert len(remotes["results"]) == deb_sample.deb.repos - 1  # the empty one has no feed
    expected = expected_releases(deb_sample)
    distributions = await call(deb_client, "GET", f"{API}distributions/?limit=100", 200)
    assert {d["base_path"] for d in distributions["results"]} == set(expected)
    for base, releases in sorted(expected.items()):
        for distribution, release in sorted(releases.items()):
            await check_release(deb_client, base, distribution, release)
        for signature in ("InRelease", "Release.gpg"):
            for distribution in releases:
                response = await deb_client.get(
                    f"/pulp/content/{base}/dists/{distribution}/{signature}"
                )
                assert response.status == 404
