"""dnf installs a real package, built with rpmbuild, from a migrated distribution.

The Pulp 2 dump holds one repository with the package as Pulp 2 stores it (template snippets,
the file under /var/lib/pulp); worker processes migrate it, and dnf downloads the package from
the content app over HTTP and installs it into its own install root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import createrepo_c as cr
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pulp2to3.http import app as http_app
from pulp2to3.runner import child_environment, submit, watch
from pulp2to3.sample.plan import migration_plan
from pulp2to3.sample.rpm_documents import repodata_templates
from pulp2to3.sample.writer import FolderDumpWriter
from pulp2to3.settings import load_settings
from tests.migration_http_support import HEADERS
from tests.migration_support import workers
from tests.rpm_support import build_rpm, dnf

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed"),
    pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="rpmbuild is not installed"),
]
REPO_ID = "walrus-repo"
CREATED = "2024-01-02T03:04:05Z"


def write_pulp2(out: Path, built: Path) -> tuple[Path, Path]:
    """A Pulp 2 dump and tree holding ``built`` in one repository; (dump, tree)."""
    header = cr.package_from_rpm(str(built), checksum_type=cr.SHA256)
    storage_path = f"content/units/rpm/{header.pkgId[:2]}/{header.pkgId[2:]}/{built.name}"
    tree = out / "pulp"
    (tree / storage_path).parent.mkdir(parents=True)
    shutil.copyfile(built, tree / storage_path)
    dump = out / "dump"
    with FolderDumpWriter(dump, "pulp_database", compress=False) as writer:
        writer.collection("repos").write(
            {"_id": "r-walrus", "repo_id": REPO_ID, "notes": {"_repo-type": "rpm-repo"}}
        )
        writer.collection("repo_importers").write(
            {
                "_id": "i-walrus",
                "repo_id": REPO_ID,
                "importer_type_id": "yum_importer",
                "config": {"feed": "https://walrus.example/"},
            }
        )
        writer.collection("repo_distributors").write(
            {
                "_id": "d-walrus",
                "repo_id": REPO_ID,
                "distributor_id": "yum_distributor",
                "distributor_type_id": "yum_distributor",
                "config": {"relative_url": "zoo/walrus"},
            }
        )
        writer.collection("repo_content_units").write(
            {
                "_id": "m-walrus",
                "repo_id": REPO_ID,
                "unit_id": "walrus-unit",
                "unit_type_id": "rpm",
                "created": CREATED,
                "updated": CREATED,
            }
        )
        writer.collection("units_rpm").write(
            {
                "_id": "walrus-unit",
                "_content_type_id": "rpm",
                "_storage_path": f"/var/lib/pulp/{storage_path}",
                "_last_updated": 1,
                "downloaded": True,
                "name": header.name,
                "epoch": header.epoch,
                "version": header.version,
                "release": header.release,
                "arch": header.arch,
                "checksumtype": "sha256",
                "checksum": header.pkgId,
                "filename": built.name,
                "size": built.stat().st_size,
                "repodata": repodata_templates(header),
            }
        )
    return dump, tree


async def test_dnf_installs_a_package_from_a_migrated_distribution(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    (tmp_path / "build").mkdir()
    built = build_rpm(tmp_path / "build")
    dump, tree = write_pulp2(tmp_path, built)
    env = child_environment(db_url, pulp2_dump=dump, pulp2_root=tree, media_root=tmp_path / "media")
    with workers(2, env):
        async with pool.acquire() as connection:
            migration_id = await submit(connection, migration_plan({"rpm": [REPO_ID]}))
        report = await watch(pool, migration_id, lambda *_: None)
    assert report.status == "completed", report

    settings = load_settings(env | {"PULP2TO3_ADMIN_PASSWORD": "secret"})
    server = TestServer(http_app.init(settings, pool), host="127.0.0.1")
    async with TestClient(server, headers=HEADERS) as client:
        url = str(client.make_url("/pulp/content/zoo/walrus/"))
        root = tmp_path / "root"
        await dnf(root, url, "install", "-y", "--nogpgcheck", "walrus")
    assert (root / "usr" / "share" / "walrus" / "tusk").read_text() == "tusk\n"
