"""The world the repository steps' tests start from, and how they run the steps.

The staging tables, and the content tables as the content step leaves them, are filled with
plain INSERTs (``Source``, ``build_world``); ``run_batch`` and ``run_step`` run a step as its
tasks would; ``assert_rerun_changes_nothing`` checks a re-run writes nothing. Shared by the tests
of create_repositories, create_repo_versions, create_publications and create_distributions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from pulp2to3.actors import repositories
from pulp2to3.actors.steps import BatchResult, Migration, Step
from pulp2to3.settings import Settings, load_settings
from tests.database_support import NewMigration


@dataclasses.dataclass(frozen=True)
class Unit:
    """A staged Pulp 2 unit and what the content step made of it."""

    pulp2_id: str
    name: str
    sha256: str
    size: int
    content_id: int | None
    content_artifact_id: int | None
    artifact_id: int | None


@dataclasses.dataclass
class Source:
    """Stages Pulp 2 rows and migrated content with plain INSERTs."""

    connection: asyncpg.Connection

    async def repo(self, repo_id: str) -> None:
        await self.connection.execute(
            "INSERT INTO pulp2_repository (pulp2_object_id, pulp2_repo_id, pulp2_repo_type)"
            " VALUES ($1, $2, 'iso-repo')",
            f"obj-{repo_id}",
            repo_id,
        )

    async def importer(self, repo_id: str, config: Mapping[str, Any]) -> str:
        object_id = f"imp-{repo_id}"
        await self.connection.execute(
            "INSERT INTO pulp2_importer (pulp2_object_id, pulp2_repo_id, importer_type_id, config)"
            " VALUES ($1, $2, 'iso_importer', $3::jsonb)",
            object_id,
            repo_id,
            dict(config),
        )
        return object_id

    async def distributor(
        self,
        repo_id: str,
        distributor_id: str,
        config: Mapping[str, Any],
        distributor_type: str = "iso_distributor",
    ) -> None:
        await self.connection.execute(
            "INSERT INTO pulp2_distributor (pulp2_object_id, pulp2_repo_id, distributor_id,"
            " distributor_type_id, config) VALUES ($1, $2, $3, $4, $5::jsonb)",
            f"dist-{repo_id}-{distributor_id}",
            repo_id,
            distributor_id,
            distributor_type,
            dict(config),
        )

    async def unit(
        self,
        pulp2_id: str,
        name: str,
        data: bytes | None = None,
        *,
        downloaded: bool = True,
        migrated: bool = True,
    ) -> Unit:
        """A unit; when ``migrated``, its content, file content, artifact, content artifact."""
        data = data if data is not None else f"content of {name}\n".encode()
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
        c = self.connection
        await c.execute(
            "INSERT INTO pulp2_content (pulp2_id, content_type, storage_path, downloaded, fields)"
            " VALUES ($1, 'iso', $2, $3, $4::jsonb)",
            pulp2_id,
            f"/var/lib/pulp/content/units/iso/{sha[:2]}/{pulp2_id}/{name}",
            downloaded,
            {"name": name, "checksum": sha, "size": size},
        )
        if not migrated:
            return Unit(pulp2_id, name, sha, size, None, None, None)
        content_id = await c.fetchval(
            "INSERT INTO content (pulp_type, natural_key, repo_key) VALUES ('file.file', $1, $2)"
            " ON CONFLICT (pulp_type, natural_key) DO UPDATE SET natural_key = EXCLUDED.natural_key"
            " RETURNING id",
            json.dumps([name, sha, size]),
            name,
        )
        await c.execute(
            "INSERT INTO file_content (content_id, relative_path, digest, size)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            content_id,
            name,
            sha,
            size,
        )
        artifact_id = None
        if downloaded:
            artifact_id = await c.fetchval(
                "INSERT INTO artifact (sha256, size, file) VALUES ($1, $2, $3)"
                " ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id",
                sha,
                size,
                f"artifact/{sha[:2]}/{sha[2:]}",
            )
        content_artifact_id = await c.fetchval(
            "INSERT INTO content_artifact (content_id, relative_path, artifact_id)"
            " VALUES ($1, $2, $3) ON CONFLICT (content_id, relative_path)"
            " DO UPDATE SET artifact_id = COALESCE(content_artifact.artifact_id,"
            " EXCLUDED.artifact_id) RETURNING id",
            content_id,
            name,
            artifact_id,
        )
        await c.execute(
            "UPDATE pulp2_content SET pulp3_content_id = $2, is_migrated = true"
            " WHERE pulp2_id = $1",
            pulp2_id,
            content_id,
        )
        return Unit(pulp2_id, name, sha, size, content_id, content_artifact_id, artifact_id)

    async def members(self, repo_id: str, *units: Unit) -> None:
        await self.connection.executemany(
            "INSERT INTO pulp2_repo_content (pulp2_repo_id, pulp2_unit_id, unit_type_id)"
            " VALUES ($1, $2, 'iso')",
            [(repo_id, unit.pulp2_id) for unit in units],
        )

    async def lazy(
        self,
        unit: Unit,
        importer_id: str,
        url: str,
        *,
        algorithm: str | None = "sha256",
        checksum: str | None = None,
        revision: int = 0,
    ) -> None:
        await self.connection.execute(
            "INSERT INTO pulp2_lazy_catalog (pulp2_unit_id, unit_type_id, importer_id, url,"
            " checksum, checksum_algorithm, revision) VALUES ($1, 'iso', $2, $3, $4, $5, $6)",
            unit.pulp2_id,
            importer_id,
            url,
            checksum if checksum is not None else unit.sha256,
            algorithm,
            revision,
        )


@dataclasses.dataclass(frozen=True)
class World:
    """The standard fixture: three repositories with overlapping and on_demand content.

    - ``alpha`` (immediate importer with TLS and proxy options): a.iso, b.iso and a unit that
      failed to migrate; ``alpha-next`` (its later state) has b.iso and e.iso.
    - ``beta`` (on_demand importer): a.iso again (another Pulp 2 unit, same content), c.iso and
      d.iso on_demand, Z.iso downloaded; distributors without relative_url and of export type.
    - ``gamma`` (background importer): d.iso on_demand; two distributors.
    """

    units: Mapping[str, Unit]


ALPHA_CONFIG = {
    "feed": "https://a.example/alpha/",
    "ssl_validation": True,
    "ssl_ca_cert": "CA",
    "proxy_host": "http://proxy.example",
    "proxy_port": 3128,
    "proxy_username": "pu",
    "proxy_password": "pp",
    "max_downloads": 4,
}
BETA_CONFIG = {"feed": "https://b.example/beta/", "download_policy": "on_demand"}
GAMMA_CONFIG = {"feed": "https://g.example/", "download_policy": "background"}

PLAN: dict[str, Any] = {
    "plugins": [
        {
            "type": "iso",
            "repositories": [
                {
                    "name": "alpha",
                    "pulp2_importer_repository_id": "alpha",
                    "repository_versions": [
                        {"pulp2_repository_id": "alpha"},
                        {
                            "pulp2_repository_id": "alpha-next",
                            "pulp2_distributor_repository_ids": ["alpha"],
                        },
                    ],
                },
                {
                    "name": "beta",
                    "pulp2_importer_repository_id": "beta",
                    "repository_versions": [
                        {
                            "pulp2_repository_id": "beta",
                            "pulp2_distributor_repository_ids": ["beta"],
                        }
                    ],
                },
                {
                    "name": "gamma",
                    "pulp2_importer_repository_id": "gamma",
                    "repository_versions": [
                        {
                            "pulp2_repository_id": "gamma",
                            "pulp2_distributor_repository_ids": ["gamma"],
                        }
                    ],
                },
            ],
        }
    ]
}


async def build_world(pool: asyncpg.Pool) -> World:
    async with pool.acquire() as connection:
        source = Source(connection)
        for repo_id in ("alpha", "alpha-next", "beta", "gamma"):
            await source.repo(repo_id)
        await source.importer("alpha", ALPHA_CONFIG)
        await source.importer("beta", BETA_CONFIG)
        await source.importer("gamma", GAMMA_CONFIG)
        await source.distributor("alpha", "iso_distributor", {"relative_url": "/pub/alpha/"})
        await source.distributor("beta", "iso_distributor", {"serve_https": True})
        await source.distributor("beta", "export_distributor", {}, "export_distributor")
        await source.distributor("gamma", "iso_distributor", {"relative_url": "isos//gamma/"})
        await source.distributor("gamma", "iso_distributor_2", {"relative_url": "/"})
        a = await source.unit("u-a", "a.iso")
        b = await source.unit("u-b", "b.iso")
        broken = await source.unit("u-broken", "broken.iso", migrated=False)
        e = await source.unit("u-e", "e.iso")
        a_again = await source.unit("u-a-beta", "a.iso")
        c = await source.unit("u-c", "c.iso", downloaded=False)
        d = await source.unit("u-d", "d.iso", downloaded=False)
        z = await source.unit("u-z", "Z.iso")
        await source.members("alpha", a, b, broken)
        await source.members("alpha-next", b, e)
        await source.members("beta", a_again, c, d, z)
        await source.members("gamma", d)
        await source.lazy(c, "imp-beta", "https://b.example/beta/c.iso")
        await source.lazy(d, "imp-beta", "https://b.example/beta/d.iso")
        await source.lazy(d, "imp-gamma", "https://g.example/d.iso", algorithm="md5", checksum="0f")
        await source.lazy(broken, "imp-alpha", "https://a.example/alpha/broken.iso")
        await source.lazy(c, "imp-unplanned", "https://elsewhere.example/c.iso")
    units = {u.pulp2_id: u for u in (a, b, broken, e, a_again, c, d, z)}
    return World(units=units)


def settings_with_media(media_root: Path) -> Settings:
    return dataclasses.replace(load_settings({}), media_root=media_root)


async def run_batch(
    pool: asyncpg.Pool,
    step: Step,
    migration: Migration,
    args: Mapping[str, Any],
) -> BatchResult:
    """One batch as the batch task runs it: its own connection, inside a transaction."""
    async with pool.acquire() as connection, connection.transaction():
        return await WORK[step.code](connection, migration, args)


async def run_step(pool: asyncpg.Pool, step: Step, migration: Migration) -> list[BatchResult]:
    """Plan a step's batches and run them one after the other."""
    async with pool.acquire() as connection:
        batches = await step.plan_batches(connection, migration)
    return [await run_batch(pool, step, migration, batch.args) for batch in batches]


async def next_migration(
    pool: asyncpg.Pool, new_migration: NewMigration, finished: Migration, plan: Mapping[str, Any]
) -> Migration:
    """A migration of ``plan`` after ``finished`` (now completed: one runs at a time), as after
    a premigrate that staged what the test changed: the steps compute their inputs again."""
    async with pool.acquire() as connection:
        await connection.execute(
            "UPDATE migration SET status = 'completed', finished_at = now() WHERE id = $1",
            finished.id,
        )
    return await new_migration(dict(plan), finished.settings)


async def snapshot(pool: asyncpg.Pool, tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of these tables, sorted: equal snapshots mean nothing was written."""
    async with pool.acquire() as connection:
        return {
            table: sorted(
                (tuple(row.values()) for row in await connection.fetch(f"SELECT * FROM {table}")),
                key=repr,
            )
            for table in tables
        }


TARGET_TABLES = (
    "repository",
    "repository_version",
    "repository_content",
    "remote",
    "remote_artifact",
    "publication",
    "published_artifact",
    "published_metadata",
    "distribution",
    "artifact",
    "pulp2_repository",
    "pulp2_importer",
    "pulp2_distributor",
)


async def assert_rerun_changes_nothing(
    pool: asyncpg.Pool, step: Step, migration: Migration, args: Mapping[str, Any]
) -> BatchResult:
    """Run a batch twice: the second run gives the first's result, creates and writes nothing.
    Returns the first result."""
    first = await run_batch(pool, step, migration, args)
    before = await snapshot(pool, TARGET_TABLES)
    assert await run_batch(pool, step, migration, args) == dataclasses.replace(first, created=())
    assert await snapshot(pool, TARGET_TABLES) == before
    return first


WORK: dict[
    str, Callable[[asyncpg.Connection, Migration, Mapping[str, Any]], Awaitable[BatchResult]]
] = {}


def _register_work() -> None:
    from pulp2to3.actors import distributions, publications, repo_versions

    WORK.update(
        {
            repositories.STEP_CODE: repositories.create_repositories,
            repo_versions.STEP_CODE: repo_versions.create_repo_versions,
            publications.STEP_CODE: publications.create_publications,
            distributions.STEP_CODE: distributions.create_distributions,
        }
    )


_register_work()
