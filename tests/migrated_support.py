"""What the HTTP tests serve: a migration's result put in with plain INSERTs (``populate``).

A file repository with three versions, content added and removed along them, a publication of
the last version served by a distribution, a remote, and the Pulp 2 mapping; the files of the
published artifacts under the media root. Shared by the views, content app, auth and OpenAPI
tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from pathlib import Path

import asyncpg

# Published by the distribution (relative path -> bytes); "on-demand.iso" has no file.
FILES = {
    "a.iso": b"0123456789abcdef",
    "dir/c.iso": b"the c file, in a folder",
    "PULP_MANIFEST": b"a.iso,...\n",
}
ON_DEMAND_URL = "https://remote.example.com/file/on-demand.iso"


@dataclasses.dataclass(frozen=True)
class Migrated:
    """UUIDs (hrefs) of what ``populate`` inserted."""

    remote: uuid.UUID
    repository: uuid.UUID
    empty_repository: uuid.UUID
    versions: tuple[uuid.UUID, ...]
    content: dict[str, uuid.UUID]  # by relative path, and "other" for the non-file unit
    publication: uuid.UUID
    distribution: uuid.UUID
    idle_distribution: uuid.UUID
    pulp2_repositories: dict[str, uuid.UUID]
    pulp2_content: dict[str, uuid.UUID]
    base_path: str
    media_root: Path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_artifact_file(media_root: Path, data: bytes) -> str:
    """Store ``data`` under the media root by digest, as Pulp does; its relative path."""
    digest = sha256(data)
    file = f"artifact/{digest[:2]}/{digest[2:]}"
    (media_root / file).parent.mkdir(parents=True, exist_ok=True)
    (media_root / file).write_bytes(data)
    return file


async def insert_artifact(
    connection: asyncpg.Connection, media_root: Path, data: bytes
) -> tuple[int, str]:
    """An artifact row and its file under the media root."""
    digest = sha256(data)
    file = write_artifact_file(media_root, data)
    artifact_id: int = await connection.fetchval(
        "INSERT INTO artifact (sha256, size, file) VALUES ($1, $2, $3) RETURNING id",
        digest,
        len(data),
        file,
    )
    return artifact_id, digest


async def insert_file_content(
    connection: asyncpg.Connection, relative_path: str, digest: str, size: int
) -> tuple[int, uuid.UUID]:
    row = await connection.fetchrow(
        "INSERT INTO content (pulp_type, natural_key) VALUES ('file.file', $1)"
        " RETURNING id, pulp_id",
        f'["{relative_path}","{digest}",{size}]',
    )
    await connection.execute(
        "INSERT INTO file_content (content_id, relative_path, digest, size)"
        " VALUES ($1, $2, $3, $4)",
        row["id"],
        relative_path,
        digest,
        size,
    )
    return row["id"], row["pulp_id"]


async def populate(
    pool: asyncpg.Pool, media_root: Path, base_path: str = "nested/base"
) -> Migrated:
    async with pool.acquire() as connection, connection.transaction():
        remote = await connection.fetchrow(
            "INSERT INTO remote (pulp_type, name, url, policy, options)"
            " VALUES ('file.file', 'file-remote', 'https://remote.example.com/file/',"
            " 'on_demand', $1) RETURNING id, pulp_id",
            {"tls_validation": True, "password": "hunter2", "proxy_url": "http://proxy:3128"},
        )
        repository = await connection.fetchrow(
            "INSERT INTO repository (pulp_type, name, description, remote_id)"
            " VALUES ('file.file', 'file', 'Files', $1) RETURNING id, pulp_id",
            remote["id"],
        )
        empty_repository = await connection.fetchval(
            "INSERT INTO repository (pulp_type, name) VALUES ('file.file', 'empty')"
            " RETURNING pulp_id"
        )
        versions = await connection.fetch(
            "INSERT INTO repository_version (repository_id, number)"
            " SELECT $1, n FROM generate_series(0, 2) AS n RETURNING id, pulp_id, number",
            repository["id"],
        )
        version_ids = {row["number"]: row["id"] for row in versions}

        content: dict[str, tuple[int, uuid.UUID]] = {}
        artifacts: dict[str, int | None] = {}
        for path in ("a.iso", "dir/c.iso"):
            artifact_id, digest = await insert_artifact(connection, media_root, FILES[path])
            content[path] = await insert_file_content(connection, path, digest, len(FILES[path]))
            artifacts[path] = artifact_id
        # Removed in version 2: never published.
        content["b.iso"] = await insert_file_content(connection, "b.iso", sha256(b"b"), 1)
        artifacts["b.iso"] = None
        # Never downloaded: published, served by a redirect to its remote.
        content["on-demand.iso"] = await insert_file_content(
            connection, "on-demand.iso", sha256(b"od"), 2
        )
        artifacts["on-demand.iso"] = None
        other = await connection.fetchrow(
            "INSERT INTO content (pulp_type, natural_key) VALUES ('rpm.package', 'bash-5.1')"
            " RETURNING id, pulp_id"
        )
        content["other"] = (other["id"], other["pulp_id"])

        # Version 1: a.iso, b.iso; version 2: a.iso, dir/c.iso, on-demand.iso, other.
        memberships = [
            ("a.iso", 1, None),
            ("b.iso", 1, 2),
            ("dir/c.iso", 2, None),
            ("on-demand.iso", 2, None),
            ("other", 2, None),
        ]
        await connection.executemany(
            "INSERT INTO repository_content (repository_id, content_id, version_added,"
            " version_removed) VALUES ($1, $2, $3, $4)",
            [
                (repository["id"], content[key][0], added, removed)
                for key, added, removed in memberships
            ],
        )
        content_artifacts: dict[str, int] = {}
        for path, downloaded in artifacts.items():
            content_artifacts[path] = await connection.fetchval(
                "INSERT INTO content_artifact (content_id, relative_path, artifact_id)"
                " VALUES ($1, $2, $3) RETURNING id",
                content[path][0],
                path,
                downloaded,
            )
        await connection.execute(
            "INSERT INTO remote_artifact (content_artifact_id, remote_id, url, sha256, size)"
            " VALUES ($1, $2, $3, $4, 2)",
            content_artifacts["on-demand.iso"],
            remote["id"],
            ON_DEMAND_URL,
            sha256(b"od"),
        )

        publication = await connection.fetchrow(
            "INSERT INTO publication (pulp_type, repository_version_id)"
            " VALUES ('file.file', $1) RETURNING id, pulp_id",
            version_ids[2],
        )
        await connection.executemany(
            "INSERT INTO published_artifact (publication_id, relative_path, content_artifact_id)"
            " VALUES ($1, $2, $3)",
            [
                (publication["id"], path, content_artifacts[path])
                for path in ("a.iso", "dir/c.iso", "on-demand.iso")
            ],
        )
        manifest_id, _ = await insert_artifact(connection, media_root, FILES["PULP_MANIFEST"])
        await connection.execute(
            "INSERT INTO published_metadata (publication_id, relative_path, artifact_id)"
            " VALUES ($1, 'PULP_MANIFEST', $2)",
            publication["id"],
            manifest_id,
        )
        distribution = await connection.fetchrow(
            "INSERT INTO distribution (pulp_type, name, base_path, publication_id)"
            " VALUES ('file.file', 'file-dist', $1, $2) RETURNING id, pulp_id",
            base_path,
            publication["id"],
        )
        idle_distribution = await connection.fetchval(
            "INSERT INTO distribution (pulp_type, name, base_path)"
            " VALUES ('file.file', 'idle', 'idle') RETURNING pulp_id"
        )

        # Pulp 2: "file" migrated (importer, distributor), "skipped" outside the plan.
        pulp2_repositories = {
            row["pulp2_repo_id"]: row["pulp_id"]
            for row in await connection.fetch(
                "INSERT INTO pulp2_repository (pulp2_object_id, pulp2_repo_id, pulp2_repo_type,"
                " is_migrated, not_in_plan, pulp3_repository_id) VALUES"
                " ('oid-file', 'file', 'iso-repo', true, false, $1),"
                " ('oid-skipped', 'skipped', 'iso-repo', false, true, NULL)"
                " RETURNING pulp2_repo_id, pulp_id",
                repository["id"],
            )
        }
        # A plan with two versions of "file", both from Pulp 2 repository "file".
        await connection.execute(
            "INSERT INTO repository_version_origin (repository_id, position, pulp2_repo_id,"
            " version_id) VALUES ($1, 1, 'file', $2), ($1, 2, 'file', $3)",
            repository["id"],
            version_ids[1],
            version_ids[2],
        )
        await connection.execute(
            "INSERT INTO pulp2_importer (pulp2_object_id, pulp2_repo_id, importer_type_id,"
            " is_migrated, pulp3_remote_id) VALUES ('imp-file', 'file', 'iso_importer', true, $1)",
            remote["id"],
        )
        await connection.execute(
            "INSERT INTO pulp2_distributor (pulp2_object_id, pulp2_repo_id, distributor_id,"
            " distributor_type_id, is_migrated, pulp3_publication_id, pulp3_distribution_id)"
            " VALUES ('dist-file', 'file', 'iso_distributor', 'iso_distributor', true, $1, $2)",
            publication["id"],
            distribution["id"],
        )
        pulp2_content = {
            row["pulp2_id"]: row["pulp_id"]
            for row in await connection.fetch(
                "INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path,"
                " downloaded, is_migrated, pulp3_content_id) VALUES"
                " ('u-a', 'iso', 1700000000, '/var/lib/pulp/content/units/iso/a.iso', true,"
                "  true, $1),"
                " ('u-skipped', 'iso', 1700000001, NULL, false, false, NULL),"
                " ('u-orphan', 'iso', 1700000002, NULL, false, false, NULL)"
                " RETURNING pulp2_id, pulp_id",
                content["a.iso"][0],
            )
        }
        await connection.execute(
            "INSERT INTO pulp2_repo_content (pulp2_repo_id, pulp2_unit_id, unit_type_id)"
            " VALUES ('file', 'u-a', 'iso'), ('skipped', 'u-skipped', 'iso'),"
            " ('skipped', 'u-a', 'iso')"
        )
    return Migrated(
        remote=remote["pulp_id"],
        repository=repository["pulp_id"],
        empty_repository=empty_repository,
        versions=tuple(row["pulp_id"] for row in sorted(versions, key=lambda r: r["number"])),
        content={key: pulp_id for key, (_, pulp_id) in content.items()},
        publication=publication["pulp_id"],
        distribution=distribution["pulp_id"],
        idle_distribution=idle_distribution,
        pulp2_repositories=pulp2_repositories,
        pulp2_content=pulp2_content,
        base_path=base_path,
        media_root=media_root,
    )
