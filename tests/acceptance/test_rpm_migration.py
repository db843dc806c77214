"""Whole migrations of generated RPM samples, read back by a real dnf through the content app.

Real worker processes, a real database, the API and content app over real HTTP; dnf runs with
no system configuration (``reposdir=/dev/null``, its own install root and cache), pointed at
each migrated distribution with ``--repofrompath``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import createrepo_c as cr
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.plugins.rpm.config import PublicationSettings
from pulp2to3.plugins.rpm.plugin import PLUGIN
from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary, generate_sample
from pulp2to3.settings import load_settings
from tests.migration_http_support import API, HEADERS, Client, call, start, wait_finished
from tests.migration_support import base_path, worker_env, workers
from tests.rpm_support import Published, dnf, publish_sample_repo
from tests.sample_support import read

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed"),
]
PACKAGE_TYPES = ("rpm", "srpm")
QUERY_FORMAT = "--qf=%{name}-%{epoch}:%{version}-%{release}.%{arch}"
RPM_SAMPLE: dict[str, Any] = dict(repos=4, units=120, on_demand=0.5, overlap=0.3, seed=11)


@pytest.fixture(scope="module")
def rpm_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(tmp_path_factory.mktemp("rpm"), plugins=("rpm",), **RPM_SAMPLE)


@pytest.fixture(scope="module")
def mixed_sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return generate_sample(
        tmp_path_factory.mktemp("mixed"),
        plugins=("iso", "rpm"),
        repos=2,
        units=60,
        on_demand=0.0,  # every file downloaded (the RPM sample has the on_demand ones)
        seed=5,
    )


async def serve(
    db_url: str, pool: asyncpg.Pool, sample: SampleSummary, media_root: Path
) -> AsyncIterator[Client]:
    env = worker_env(db_url, sample, media_root) | {"PULP2TO3_ADMIN_PASSWORD": "secret"}
    server = TestServer(http_app.init(load_settings(env), pool), host="127.0.0.1")
    async with TestClient(server, headers=HEADERS) as client:
        yield client


@pytest.fixture
async def rpm_client(
    db_url: str, pool: asyncpg.Pool, rpm_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async for client in serve(db_url, pool, rpm_sample, tmp_path / "media"):
        yield client


@pytest.fixture
async def mixed_client(
    db_url: str, pool: asyncpg.Pool, mixed_sample: SampleSummary, tmp_path: Path
) -> AsyncIterator[Client]:
    async for client in serve(db_url, pool, mixed_sample, tmp_path / "media"):
        yield client


def yum_repositories(sample: SampleSummary) -> dict[str, str]:
    """Base path of each yum distributor -> its Pulp 2 repository."""
    return {
        base_path(distributor.get("config", {}), distributor["repo_id"]): distributor["repo_id"]
        for distributor in open_dump(sample.dump_path).iter_collection("repo_distributors")
        if distributor["distributor_type_id"] == "yum_distributor"
    }


def expected_repositories(sample: SampleSummary, scratch: Path) -> dict[str, Published]:
    """Base path -> what dnf must see there: the dump's units decoded and published apart from
    the migration (the same decoders, no database), by the repository the distributor serves."""
    documents = read(sample)
    settings = PublicationSettings("sha256", generate_sqlite=False)
    return {
        base: publish_sample_repo(sample, documents, repo_id, scratch / repo_id, settings)
        for base, repo_id in yum_repositories(sample).items()
    }


def expected_packages(sample: SampleSummary) -> dict[str, set[str]]:
    """Base path of each yum distributor -> the NEVRAs its repository holds in the dump."""
    dump = open_dump(sample.dump_path)
    nevras = {
        unit["_id"]: (
            f"{unit['name']}-{unit['epoch'] or '0'}:{unit['version']}-{unit['release']}"
            f".{unit['arch']}"
        )
        for kind in PACKAGE_TYPES
        for unit in dump.iter_collection(f"units_{kind}")
    }
    held: dict[str, set[str]] = defaultdict(set)
    for membership in dump.iter_collection("repo_content_units"):
        if membership["unit_type_id"] in PACKAGE_TYPES:
            held[membership["repo_id"]].add(nevras[membership["unit_id"]])
    return {
        base_path(distributor.get("config", {}), distributor["repo_id"]): held[
            distributor["repo_id"]
        ]
        for distributor in dump.iter_collection("repo_distributors")
        if distributor["distributor_type_id"] == "yum_distributor"
    }


def read_back(folder: Path) -> list[cr.Package]:
    """createrepo_c's own reader over a downloaded repository (primary, filelists and other,
    each package's three parts found by pkgId; updateinfo): its packages."""
    metadata = cr.Metadata()
    metadata.locate_and_load_xml(str(folder))
    packages = [metadata.get(key) for key in metadata.keys()]  # noqa: SIM118 (not iterable)
    assert all(package.files and package.changelogs for package in packages)
    [updateinfo] = (folder / "repodata").glob("*-updateinfo.xml.gz")
    assert cr.UpdateInfo(str(updateinfo)).updates
    return packages


async def download_repodata(client: Client, base: str, folder: Path) -> None:
    """``repomd.xml`` and every file it lists, fetched through the content app into ``folder``."""
    repodata = folder / "repodata"
    repodata.mkdir(parents=True)
    response = await client.get(f"/pulp/content/{base}/repodata/repomd.xml")
    assert response.status == 200
    (repodata / "repomd.xml").write_bytes(await response.read())
    for record in cr.Repomd(str(repodata / "repomd.xml")).records:
        response = await client.get(f"/pulp/content/{base}/{record.location_href}")
        assert response.status == 200, record.location_href
        (folder / record.location_href).write_bytes(await response.read())


def yum_configs(sample: SampleSummary) -> dict[str, dict[str, Any]]:
    """Base path of each yum distributor -> its config."""
    return {
        base_path(distributor.get("config", {}), distributor["repo_id"]): distributor["config"]
        for distributor in open_dump(sample.dump_path).iter_collection("repo_distributors")
        if distributor["distributor_type_id"] == "yum_distributor"
    }


def check_repomd(folder: Path, config: dict[str, Any]) -> None:
    """The records use the distributor's checksum type (``sha`` is sha1; else the packages'
    sha256), every file has the checksum its record gives, and sqlite databases are there
    exactly when the distributor asked for them."""
    wanted = {"sha": "sha1"}.get(config.get("checksum_type"), config.get("checksum_type"))
    records = cr.Repomd(str(folder / "repodata" / "repomd.xml")).records
    for record in records:
        assert record.checksum_type == (wanted or "sha256"), record.type
        data = (folder / record.location_href).read_bytes()
        assert hashlib.new(record.checksum_type, data).hexdigest() == record.checksum
    types = {record.type for record in records}
    assert {"primary", "filelists", "other", "updateinfo", "modules", "group"} <= types
    assert ("primary_db" in types) == bool(config.get("generate_sqlite"))


def expected_failures(sample: SampleSummary) -> dict[str, dict[str, str]]:
    """Step code -> what it must name as not migrated (and a word of why): the export
    distributors, and the metadata files of the types createrepo_c writes itself."""
    dump = open_dump(sample.dump_path)
    return {
        "create_distributions": {
            f"{distributor['repo_id']}/{distributor['distributor_id']}": "export_distributor"
            for distributor in dump.iter_collection("repo_distributors")
            if distributor["distributor_type_id"] == "export_distributor"
        },
        "migrate_content.yum_repo_metadata_file": {
            unit["_id"]: "is not migrated"
            for unit in dump.iter_collection("units_yum_repo_metadata_file")
            if unit["data_type"].endswith(("_zck", "_xz"))
        },
    }


def check_completed(report: dict[str, Any], sample: SampleSummary) -> None:
    """Completed, every step done, and only what has no Pulp 3 counterpart named as failed."""
    expected = expected_failures(sample)
    assert all(expected.values())
    assert report["status"] == "completed", report
    for step in report["steps"]:
        # A step with nothing to do (no task) says skipped.
        assert step["status"] == ("completed" if step["tasks"] else "skipped"), step
        failed = {failure["unit"]: failure["reason"] for failure in step["failed_units"]}
        wanted = expected.get(step["code"], {})
        assert set(failed) == set(wanted), step
        assert all(wanted[unit] in reason for unit, reason in failed.items()), failed
        assert step["done"] + step["failed"] == step["total"], step
        assert step["failed"] == len(failed), step


def span(step: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(step["started_at"]), datetime.fromisoformat(step["finished_at"])


def check_graph_order(steps: dict[str, dict[str, Any]]) -> None:
    """Each content type started once the types it needs had finished, and types that need
    nothing of each other ran at the same time (rpm and srpm, started together)."""
    for content_type in PLUGIN.content_types:
        started, _ = span(steps[content_type.step_code])
        for need in content_type.needs:
            assert started >= span(steps[f"migrate_content.{need}"])[1], content_type.pulp2_type
    rpm, srpm = span(steps["migrate_content.rpm"]), span(steps["migrate_content.srpm"])
    assert rpm[0] < srpm[1]
    assert srpm[0] < rpm[1]


async def package_counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT pc.content_type, count(*) FROM pulp2_content pc"
            " JOIN rpm_package p ON p.content_id = pc.pulp3_content_id"
            " WHERE pc.is_migrated GROUP BY pc.content_type"
        )
    return dict(rows)


async def test_an_rpm_migration_with_two_workers_is_what_dnf_sees(
    rpm_client: Client, pool: asyncpg.Pool, db_url: str, rpm_sample: SampleSummary, tmp_path: Path
) -> None:
    assert rpm_sample.rpm is not None
    with workers(2, worker_env(db_url, rpm_sample, tmp_path / "media")):
        report = await wait_finished(rpm_client, await start(rpm_client, rpm_sample))
    check_completed(report, rpm_sample)
    steps = {step["code"]: step for step in report["steps"]}
    for kind in PACKAGE_TYPES:
        assert steps[f"migrate_content.{kind}"]["done"] == rpm_sample.rpm.unit_counts[kind]
    check_graph_order(steps)
    # Every module is related to each package its artifacts name (no step named a missing one).
    artifacts = sum(
        len(module["artifacts"])
        for module in open_dump(rpm_sample.dump_path).iter_collection("units_modulemd")
    )
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM rpm_module_package") == artifacts
    assert await package_counts(pool) == {
        kind: rpm_sample.rpm.unit_counts[kind] for kind in PACKAGE_TYPES
    }

    remotes = await call(rpm_client, "GET", f"{API}remotes/?limit=1000", 200)
    assert {remote["pulp_type"] for remote in remotes["results"]} == {"rpm.rpm"}
    assert "sample-proxy-secret" not in json.dumps(remotes)
    async with pool.acquire() as connection:  # nor in a dump of the database: stored encrypted
        stored = await connection.fetch(
            "SELECT options::text AS t FROM remote"
            " UNION ALL SELECT config::text FROM pulp2_importer"
        )
    assert stored
    assert not [row["t"] for row in stored if "sample-proxy-secret" in row["t"]]
    assert any(
        hidden == {"name": "proxy_password", "is_set": True}
        for remote in remotes["results"]
        for hidden in remote["hidden_fields"]
    )
    expected = expected_packages(rpm_sample)
    oracle = expected_repositories(rpm_sample, tmp_path / "oracle")
    configs = yum_configs(rpm_sample)
    assert {"sha", "sha256", None} <= {config.get("checksum_type") for config in configs.values()}
    assert any(config.get("generate_sqlite") for config in configs.values())
    distributions = await call(rpm_client, "GET", f"{API}distributions/?limit=1000", 200)
    assert {d["base_path"] for d in distributions["results"]} == set(expected)
    advisories_seen = modules_seen = 0
    for number, (base, nevras) in enumerate(sorted(expected.items())):
        assert nevras
        assert oracle[base].nevras == nevras
        url = str(rpm_client.make_url(f"/pulp/content/{base}/"))
        root = tmp_path / f"root-{number}"
        assert set(await dnf(root, url, "repoquery", QUERY_FORMAT)) == nevras, base
        listed = await dnf(root, url, "module", "list")
        modules = {":".join(line.split()[:2]) for line in listed if line.startswith("zoo-")}
        assert modules == oracle[base].modules
        # dnf applies an advisory's modular collection only while its module is enabled.
        await dnf(root, url, "module", "enable", "-y", *sorted(modules))
        for advisory_id, advisory_nevras in oracle[base].advisories.items():
            queried = await dnf(root, url, "repoquery", QUERY_FORMAT, f"--advisory={advisory_id}")
            assert set(queried) == advisory_nevras, (base, advisory_id)
        groups = await dnf(root, url, "group", "list", "--ids")
        assert {line.split("(")[-1].rstrip(")") for line in groups if "(" in line} == (
            oracle[base].groups
        )
        advisories_seen += len(oracle[base].advisories)
        modules_seen += len(modules)
        folder = tmp_path / f"read-{number}"
        await download_repodata(rpm_client, base, folder)
        check_repomd(folder, configs[base])
        assert {
            f"{p.name}-{p.epoch}:{p.version}-{p.release}.{p.arch}" for p in read_back(folder)
        } == nevras
    assert advisories_seen
    assert modules_seen


async def test_packages_are_served_from_their_artifact_or_redirected_to_their_remote(
    rpm_client: Client, pool: asyncpg.Pool, db_url: str, rpm_sample: SampleSummary, tmp_path: Path
) -> None:
    with workers(2, worker_env(db_url, rpm_sample, tmp_path / "media")):
        check_completed(
            await wait_finished(rpm_client, await start(rpm_client, rpm_sample)), rpm_sample
        )
    dump = open_dump(rpm_sample.dump_path)
    units = {
        unit["filename"]: unit
        for kind in PACKAGE_TYPES
        for unit in dump.iter_collection(f"units_{kind}")
    }
    lazy_urls = {entry["url"] for entry in dump.iter_collection("lazy_content_catalog")}
    served = redirected = 0
    for base in sorted(expected_packages(rpm_sample)):
        folder = tmp_path / base.replace("/", "_")
        await download_repodata(rpm_client, base, folder)
        for package in read_back(folder)[:20]:
            unit = units[package.location_href.rsplit("/", 1)[-1]]
            assert package.location_href.startswith(f"Packages/{unit['filename'][0].lower()}/")
            response = await rpm_client.get(
                f"/pulp/content/{base}/{package.location_href}", allow_redirects=False
            )
            if unit["downloaded"]:
                assert response.status == 200
                body = await response.read()
                source = rpm_sample.pulp_root / unit["_storage_path"].removeprefix("/var/lib/pulp/")
                assert body == source.read_bytes()
                served += 1
            else:
                assert response.status == 302
                assert response.headers["Location"] in lazy_urls
                assert response.headers["Location"].endswith(unit["filename"])
                redirected += 1
    assert served
    assert redirected
    await check_kickstart_tree(rpm_client, rpm_sample)


async def check_kickstart_tree(client: Client, sample: SampleSummary) -> None:
    """The tree's .treeinfo and images are served where its repository is distributed: the
    .treeinfo always from its artifact, an image from its file or by a redirect to its remote."""
    dump = open_dump(sample.dump_path)
    [tree] = list(dump.iter_collection("units_distribution"))
    [repo_id] = [
        m["repo_id"]
        for m in dump.iter_collection("repo_content_units")
        if m["unit_id"] == tree["_id"]
    ]
    folder = sample.pulp_root / tree["_storage_path"].removeprefix("/var/lib/pulp/")
    lazy = {
        entry["path"]: entry["url"]
        for entry in dump.iter_collection("lazy_content_catalog")
        if entry["unit_id"] == tree["_id"]
    }
    for base, served_repo in yum_repositories(sample).items():
        if served_repo != repo_id:
            continue
        response = await client.get(f"/pulp/content/{base}/.treeinfo")
        assert response.status == 200
        assert await response.text() == (folder / ".treeinfo").read_text()
        for entry in tree["files"]:
            path = entry["relativepath"].strip()
            response = await client.get(f"/pulp/content/{base}/{path}", allow_redirects=False)
            if tree["downloaded"]:
                assert response.status == 200
                assert await response.read() == (folder / path).read_bytes()
            else:
                assert response.status == 302
                assert response.headers["Location"] == lazy[f"{tree['_storage_path']}/{path}"]


async def footprint(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as connection:
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in (
                "content",
                "rpm_package",
                "artifact",
                "repository_version",
                "publication",
                "published_metadata",
                "distribution",
            )
        }


async def test_a_mixed_plan_migrates_both_and_a_rerun_changes_nothing(
    mixed_client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    mixed_sample: SampleSummary,
    tmp_path: Path,
) -> None:
    assert mixed_sample.rpm is not None
    env = worker_env(db_url, mixed_sample, tmp_path / "media")
    with workers(2, env):
        report = await wait_finished(mixed_client, await start(mixed_client, mixed_sample))
    check_completed(report, mixed_sample)
    steps = {step["code"]: step for step in report["steps"]}
    assert steps["migrate_content.iso"]["done"] == mixed_sample.units
    for kind in PACKAGE_TYPES:
        assert steps[f"migrate_content.{kind}"]["done"] == mixed_sample.rpm.unit_counts[kind]
    before = await footprint(pool)

    expected = expected_packages(mixed_sample)
    distributions = await call(mixed_client, "GET", f"{API}distributions/?limit=1000", 200)
    bases = {d["base_path"] for d in distributions["results"]}
    assert set(expected) < bases
    for base in sorted(bases - set(expected)):  # the ISO ones
        response = await mixed_client.get(f"/pulp/content/{base}/PULP_MANIFEST")
        assert response.status == 200
        assert (await response.text()).count("\n") > 0
    base, nevras = sorted(expected.items())[0]
    url = str(mixed_client.make_url(f"/pulp/content/{base}/"))
    assert set(await dnf(tmp_path / "root", url, "repoquery", QUERY_FORMAT)) == nevras
    await check_kickstart_tree(mixed_client, mixed_sample)

    with workers(2, env):
        check_completed(
            await wait_finished(mixed_client, await start(mixed_client, mixed_sample)),
            mixed_sample,
        )
    assert await footprint(pool) == before


async def test_a_run_after_pulp2_grew_publishes_new_versions_that_dnf_sees(
    rpm_client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    rpm_sample: SampleSummary,
    tmp_path: Path,
) -> None:
    # The same seed with more packages: Pulp 2 synced again (a new block of packages, with its
    # module and erratum, in some repositories), written as a new dump and tree.
    grown = generate_sample(tmp_path / "grown", plugins=("rpm",), **(RPM_SAMPLE | {"units": 130}))
    before, after = expected_packages(rpm_sample), expected_packages(grown)
    assert any(after[base] > before[base] for base in after)
    media = tmp_path / "media"
    with workers(2, worker_env(db_url, rpm_sample, media)):
        check_completed(
            await wait_finished(rpm_client, await start(rpm_client, rpm_sample)), rpm_sample
        )
    with workers(2, worker_env(db_url, grown, media)):
        check_completed(await wait_finished(rpm_client, await start(rpm_client, grown)), grown)
    async with pool.acquire() as connection:
        served = dict(
            await connection.fetch(
                "SELECT d.base_path, v.number FROM distribution d"
                " JOIN publication p ON p.id = d.publication_id"
                " JOIN repository_version v ON v.id = p.repository_version_id"
            )
        )
    # A repository whose packages changed has a new version; the others may keep theirs.
    assert set(served) == set(after)
    assert all(served[base] == 2 for base in after if after[base] != before[base])
    assert all(served[base] in (1, 2) for base in after)
    for number, (base, nevras) in enumerate(sorted(after.items())):
        url = str(rpm_client.make_url(f"/pulp/content/{base}/"))
        listed = await dnf(tmp_path / f"root-{number}", url, "repoquery", QUERY_FORMAT)
        assert set(listed) == nevras, base
