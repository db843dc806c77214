"""This machine's apt-get reads migrated Debian distributions through the content app.

Worker processes migrate a generated sample; apt-get and apt-cache, with sources, lists,
caches, status and architectures of their own (nothing of /etc/apt or /var/lib/apt read or
written, checked), update from every release and component of each distribution, see each
package at its version, and download one whose bytes are the ones Pulp 2 kept; the same for
the simple layout a plan asks for (``deb URL default all``), beside the structured one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from tests.deb_support import (
    DEB_SAMPLE,
    Apt,
    ExpectedRelease,
    check_completed,
    expected_releases,
    expected_simple,
    gpg_key,
    serve,
)
from tests.migration_http_support import API, Client, call, start, wait_finished
from tests.migration_support import worker_env, workers

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="apt-get is not installed"),
]
SYSTEM_FOLDERS = (Path("/etc/apt"), Path("/var/lib/apt"))


@pytest.fixture(scope="module")
def deb_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("apt"), plugins=("deb",), **DEB_SAMPLE)


@pytest.fixture
async def deb_client(
    db_url: str, pool: asyncpg.Pool, deb_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async for client in serve(db_url, pool, deb_sample, tmp_path / "media"):
        yield client


def snapshot() -> dict[str, tuple[int, int]]:
    """Every file under apt's system folders: (size, mtime in ns)."""
    files = {}
    for folder in SYSTEM_FOLDERS:
        for parent, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(parent, name)
                stat = os.lstat(path)
                files[path] = (stat.st_size, stat.st_mtime_ns)
    return files


def candidates(policy: str) -> dict[str, str]:
    """``apt-cache policy`` output: package -> its candidate version."""
    found = {}
    for block in re.split(r"\n(?=\S)", policy):
        name = block.split(":\n", 1)[0].strip()
        match = re.search(r"Candidate: (\S+)", block)
        if match and match.group(1) != "(none)":
            found[name] = match.group(1)
    return found


async def check_visible(
    apt: Apt, releases: dict[str, ExpectedRelease]
) -> tuple[dict[str, str], dict[str, str]]:
    """apt-cache sees each package of the releases at its version: ``name:arch`` -> version,
    and ``name:arch`` -> the name apt knows it by (no suffix for its native architecture and
    ``all``)."""
    wanted = {
        entry.split("=")[0]: entry.split("=")[1]
        for release in releases.values()
        for packages in release.components.values()
        for entry in packages
    }
    assert wanted
    names = {entry: entry.removesuffix(":amd64").removesuffix(":all") for entry in wanted}
    code, output = await apt.run("apt-cache", "policy", *sorted(names.values()))
    assert code == 0, output
    seen = candidates(output)
    assert {entry: seen.get(name) for entry, name in names.items()} == wanted, output
    return wanted, names


async def test_apt_get_updates_sees_and_downloads_from_every_distribution(
    deb_client: Client, pool: asyncpg.Pool, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    before = snapshot()
    with workers(2, worker_env(db_url, deb_sample, tmp_path / "media")):
        check_completed(await wait_finished(deb_client, await start(deb_client, deb_sample)))
    units = {
        (unit["package"], unit["architecture"]): unit
        for unit in open_dump(deb_sample.dump_path).iter_collection("units_deb")
    }
    downloaded_some = False
    for number, (base, releases) in enumerate(sorted(expected_releases(deb_sample).items())):
        if not releases:
            continue  # the empty repository publishes no release
        url = deb_client.make_url(f"/pulp/content/{base}/")
        apt = Apt(tmp_path / f"apt-{number}", ["amd64", "arm64", "i386"])
        apt.sources(
            [
                f"deb [trusted=yes] {url} {distribution} {' '.join(sorted(release.components))}"
                for distribution, release in sorted(releases.items())
            ]
        )
        code, output = await apt.run("apt-get", "update")
        assert code == 0, output
        assert "Err:" not in output, output
        assert "W:" not in output, output  # apt skips what it warns about, and exits 0
        wanted, names = await check_visible(apt, releases)
        files = [
            units[tuple(entry.split(":"))]  # type: ignore[index]
            for entry in sorted(wanted)
        ]
        for unit in [unit for unit in files if unit["downloaded"]][:1]:
            folder = tmp_path / f"download-{number}"
            folder.mkdir()
            name = names[f"{unit['package']}:{unit['architecture']}"]
            code, output = await apt.run("apt-get", "download", name, cwd=folder)
            assert code == 0, output
            [fetched] = folder.glob("*.deb")
            assert hashlib.sha256(fetched.read_bytes()).hexdigest() == unit["checksum"]
            downloaded_some = True
    assert downloaded_some
    assert snapshot() == before


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
async def test_apt_get_verifies_a_signed_distribution_and_refuses_a_tampered_one(
    deb_client: Client, pool: asyncpg.Pool, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    plan = json.loads(deb_sample.plan_path.read_text())
    for repository in plan["plugins"][0]["repositories"]:
        repository["signing_service"] = "zoo"
    [(base, releases), *_] = sorted(expected_releases(deb_sample).items())
    with gpg_key() as key:
        env = worker_env(db_url, deb_sample, tmp_path / "media")
        env["PULP2TO3_SIGNING_SERVICES"] = f"zoo:{key.fingerprint}:{key.home}"
        with workers(2, env):
            created = await call(
                deb_client, "POST", f"{API}migration-plans/", 201, {"plan": json.dumps(plan)}
            )
            run = await call(deb_client, "POST", created["pulp_href"] + "run/", 202, {})
            check_completed(await wait_finished(deb_client, run["report"]))
        url = deb_client.make_url(f"/pulp/content/{base}/")
        apt = Apt(tmp_path / "apt", ["amd64", "arm64", "i386"])
        apt.sources(
            [
                f"deb [signed-by={key.public}] {url} {distribution}"
                f" {' '.join(sorted(release.components))}"
                for distribution, release in sorted(releases.items())
            ]
        )
        code, output = await apt.run("apt-get", "update")
        assert code == 0, output
        assert "W:" not in output, output
        assert all(f"{d} InRelease" in output for d in releases), output
        await check_visible(apt, releases)

        # Whoever changes a byte of the signed text is found out.
        async with pool.acquire() as connection:
            file = await connection.fetchval(
                "SELECT a.file FROM distribution d"
                " JOIN published_metadata pm ON pm.publication_id = d.publication_id"
                " JOIN artifact a ON a.id = pm.artifact_id"
                " WHERE d.base_path = $1 AND pm.relative_path = 'dists/stable/InRelease'",
                base,
            )
        signed = tmp_path / "media" / file
        signed.chmod(0o644)
        text = signed.read_bytes()
        assert b"Codename: ragnarok" in text
        signed.write_bytes(text.replace(b"Codename: ragnarok", b"Codename: ragnarik"))
        shutil.rmtree(tmp_path / "apt" / "lists")
        (tmp_path / "apt" / "lists" / "partial").mkdir(parents=True)
        code, output = await apt.run("apt-get", "update")
    assert code != 0, output
    assert "BADSIG" in output, output


async def test_apt_get_reads_the_simple_layout_beside_the_structured_one(
    deb_client: Client, db_url: str, deb_sample: SampleSummary, tmp_path: Path
) -> None:
    plan = json.loads(deb_sample.plan_path.read_text())
    for repository in plan["plugins"][0]["repositories"]:
        repository["simple"] = True
    with workers(2, worker_env(db_url, deb_sample, tmp_path / "media")):
        created = await call(
            deb_client, "POST", f"{API}migration-plans/", 201, {"plan": json.dumps(plan)}
        )
        run = await call(deb_client, "POST", created["pulp_href"] + "run/", 202, {})
        check_completed(await wait_finished(deb_client, run["report"]))
    checksums = {
        f"{unit['package']}:{unit['architecture']}": unit["checksum"]
        for unit in open_dump(deb_sample.dump_path).iter_collection("units_deb")
        if unit["downloaded"]
    }
    structured = expected_releases(deb_sample)
    checked = 0
    for number, (base, simple) in enumerate(sorted(expected_simple(deb_sample).items())):
        if not simple.components["all"]:
            continue
        url = deb_client.make_url(f"/pulp/content/{base}/")
        apt = Apt(tmp_path / f"apt-{number}", ["amd64", "arm64", "i386"])
        apt.sources([f"deb [trusted=yes] {url} default all"])
        code, output = await apt.run("apt-get", "update")
        assert code == 0, output
        assert "Err:" not in output, output
        assert "W:" not in output, output
        assert " default Release " in output, output
        assert " default/all all Packages " in output, output
        wanted, names = await check_visible(apt, {"default": simple})
        [entry, *_] = sorted(entry for entry in wanted if entry in checksums)
        folder = tmp_path / f"download-{number}"
        folder.mkdir()
        code, output = await apt.run("apt-get", "download", names[entry], cwd=folder)
        assert code == 0, output
        [fetched] = folder.glob("*.deb")
        assert hashlib.sha256(fetched.read_bytes()).hexdigest() == checksums[entry]
        assert " default/all " in output, output
        for distribution in structured[base]:  # the structured layout is published too
            response = await deb_client.get(f"/pulp/content/{base}/dists/{distribution}/Release")
            assert response.status == 200, distribution
        checked += 1
    assert checked
