"""The create_repositories step on a real PostgreSQL.

The staging tables, and the content tables as the content step leaves them, are filled with
plain INSERTs. The helpers here (``Source``, ``run_batch``, ``run_step``, ``snapshot``, the
standard plan) are shared by the tests of the later repository steps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import asyncpg

from pulp2to3.actors import repositories
from pulp2to3.actors.repositories import STEP, plan_repository_batches
from pulp2to3.actors.steps import BatchResult, Run, Step
from pulp2to3.settings import Settings, load_settings

NewRun = Callable[..., Awaitable[Run]]

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


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
    run: Run,
    args: Mapping[str, Any],
) -> BatchResult:
    """One batch as the batch task runs it: its own connection, inside a transaction."""
    async with pool.acquire() as connection, connection.transaction():
        return await WORK[step.code](connection, run, args)


async def run_step(pool: asyncpg.Pool, step: Step, run: Run) -> list[BatchResult]:
    """Plan a step's batches and run them one after the other."""
    async with pool.acquire() as connection:
        batches = await step.plan_batches(connection, run)
    return [await run_batch(pool, step, run, batch.args) for batch in batches]


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
    pool: asyncpg.Pool, step: Step, run: Run, args: Mapping[str, Any]
) -> BatchResult:
    """Run a batch twice: the second run gives the first's result, creates and writes nothing.
    Returns the first result."""
    first = await run_batch(pool, step, run, args)
    before = await snapshot(pool, TARGET_TABLES)
    assert await run_batch(pool, step, run, args) == dataclasses.replace(first, created=())
    assert await snapshot(pool, TARGET_TABLES) == before
    return first


WORK: dict[str, Callable[[asyncpg.Connection, Run, Mapping[str, Any]], Awaitable[BatchResult]]] = {}


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


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def many_repositories(count: int) -> dict[str, Any]:
    return {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": f"r{i:03d}", "repository_versions": [{"pulp2_repository_id": "x"}]}
                    for i in range(count)
                ],
            }
        ]
    }


async def test_repositories_are_planned_twenty_per_batch(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    run = await new_run(many_repositories(45))
    async with pool.acquire() as connection:
        batches = await plan_repository_batches(connection, run)
    assert [(b.key, b.units) for b in batches] == [("repos-0", 20), ("repos-1", 20), ("repos-2", 5)]
    assert batches[0].args == {"repositories": [f"r{i:03d}" for i in range(20)]}
    assert batches[2].args == {"repositories": [f"r{i:03d}" for i in range(40, 45)]}
    json.dumps([dict(b.args) for b in batches])  # args travel as JSON


async def test_an_empty_plan_has_no_batches(pool: asyncpg.Pool, new_run: NewRun) -> None:
    run = await new_run({"plugins": [{"type": "iso", "repositories": []}]})
    async with pool.acquire() as connection:
        assert await plan_repository_batches(connection, run) == []


def test_the_step_is_wired() -> None:
    assert STEP.code == "create_repositories"
    assert STEP.task.name == "pulp2to3.create_repositories"
    assert STEP.plan_batches is plan_repository_batches


# ---------------------------------------------------------------------------------------------
# What a batch builds
# ---------------------------------------------------------------------------------------------


async def test_repositories_remotes_and_remote_artifacts_are_built(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    world = await build_world(pool)
    run = await new_run(PLAN)
    result = await run_batch(pool, STEP, run, {"repositories": ["alpha", "beta", "gamma"]})
    assert result == BatchResult(done=3, created=ANY)
    async with pool.acquire() as connection:
        repos = {
            r["name"]: r
            for r in await connection.fetch("SELECT id, name, pulp_type, remote_id FROM repository")
        }
        assert set(repos) == {"alpha", "beta", "gamma"}
        assert {r["pulp_type"] for r in repos.values()} == {"file.file"}
        versions = await connection.fetch(
            "SELECT repository_id, number FROM repository_version ORDER BY repository_id"
        )
        assert sorted((v["repository_id"], v["number"]) for v in versions) == sorted(
            (r["id"], 0) for r in repos.values()
        )
        assert await connection.fetchval("SELECT count(*) FROM repository_content") == 0
        remotes = {
            r["name"]: r
            for r in await connection.fetch(
                "SELECT id, name, pulp_type, url, policy, options FROM remote"
            )
        }
        assert {name: (r["url"], r["policy"]) for name, r in remotes.items()} == {
            "alpha": ("https://a.example/alpha/", "immediate"),
            "beta": ("https://b.example/beta/", "on_demand"),
            "gamma": ("https://g.example/", "on_demand"),
        }
        assert remotes["alpha"]["options"] == {
            "ca_cert": "CA",
            "download_concurrency": 4,
            "proxy_password": "pp",
            "proxy_url": "http://proxy.example:3128",
            "proxy_username": "pu",
            "tls_validation": True,
        }
        assert remotes["beta"]["options"] == {}
        assert {r["pulp_type"] for r in remotes.values()} == {"file.file"}
        assert {name: r["remote_id"] for name, r in repos.items()} == {
            name: remotes[name]["id"] for name in repos
        }
        remote_artifacts = await connection.fetch(
            "SELECT content_artifact_id, remote_id, url, sha256, size FROM remote_artifact"
        )
    units = world.units
    c, d = units["u-c"], units["u-d"]
    assert sorted(tuple(r.values()) for r in remote_artifacts) == sorted(
        [
            (
                c.content_artifact_id,
                remotes["beta"]["id"],
                "https://b.example/beta/c.iso",
                c.sha256,
                c.size,
            ),
            (
                d.content_artifact_id,
                remotes["beta"]["id"],
                "https://b.example/beta/d.iso",
                d.sha256,
                d.size,
            ),
            # An md5 catalog checksum is no sha256.
            (
                d.content_artifact_id,
                remotes["gamma"]["id"],
                "https://g.example/d.iso",
                None,
                d.size,
            ),
        ]
    )
    async with pool.acquire() as connection:
        mapped = {
            r["pulp2_repo_id"]: (r["pulp3_repository_id"], r["is_migrated"])
            for r in await connection.fetch(
                "SELECT pulp2_repo_id, pulp3_repository_id, is_migrated FROM pulp2_repository"
            )
        }
        importers = {
            r["pulp2_repo_id"]: (r["pulp3_remote_id"], r["is_migrated"])
            for r in await connection.fetch(
                "SELECT pulp2_repo_id, pulp3_remote_id, is_migrated FROM pulp2_importer"
            )
        }
    assert mapped == {
        "alpha": (repos["alpha"]["id"], True),
        "alpha-next": (repos["alpha"]["id"], True),
        "beta": (repos["beta"]["id"], True),
        "gamma": (repos["gamma"]["id"], True),
    }
    assert importers == {name: (remotes[name]["id"], True) for name in ("alpha", "beta", "gamma")}


async def test_a_repository_without_importer_gets_no_remote(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    await build_world(pool)
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {"name": "plain", "repository_versions": [{"pulp2_repository_id": "alpha"}]}
                ],
            }
        ]
    }
    run = await new_run(plan)
    assert await run_batch(pool, STEP, run, {"repositories": ["plain"]}) == BatchResult(
        done=1, created=ANY
    )
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT remote_id FROM repository") is None
        assert await connection.fetchval("SELECT count(*) FROM remote") == 0
        assert await connection.fetchval("SELECT count(*) FROM repository_version") == 1


async def test_importer_problems_are_per_repository_failures(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    async with pool.acquire() as connection:
        source = Source(connection)
        for repo_id in ("ok", "weird", "nofeed", "noimporter"):
            await source.repo(repo_id)
        await source.importer("ok", {"feed": "https://ok.example/"})
        await source.importer("weird", {"feed": "https://w.example/", "download_policy": "lazy"})
        await source.importer("nofeed", {"download_policy": "on_demand"})
    names = ["ok", "weird", "nofeed", "noimporter"]
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": name,
                        "pulp2_importer_repository_id": name,
                        "repository_versions": [{"pulp2_repository_id": name}],
                    }
                    for name in names
                ],
            }
        ]
    }
    run = await new_run(plan)
    result = await run_batch(pool, STEP, run, {"repositories": names})
    assert result.done == 2
    assert sorted(result.failures) == [
        ("noimporter", "Pulp 2 repository 'noimporter' has no importer"),
        (
            "weird",
            "importer of Pulp 2 repository 'weird': download_policy 'lazy' is not one of "
            "background, immediate, on_demand",
        ),
    ]
    async with pool.acquire() as connection:
        # Every repository exists (its content still migrates); only the good feed has a remote.
        assert await connection.fetchval("SELECT count(*) FROM repository") == 4
        assert [r["name"] for r in await connection.fetch("SELECT name FROM remote")] == ["ok"]
        assert await connection.fetchval(
            "SELECT is_migrated AND pulp3_remote_id IS NULL FROM pulp2_importer"
            " WHERE pulp2_repo_id = 'nofeed'"
        )
        assert not await connection.fetchval(
            "SELECT is_migrated FROM pulp2_importer WHERE pulp2_repo_id = 'weird'"
        )


async def test_the_newest_catalog_revision_gives_the_url(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    async with pool.acquire() as connection:
        source = Source(connection)
        await source.repo("beta")
        await source.importer("beta", BETA_CONFIG)
        c = await source.unit("u-c", "c.iso", downloaded=False)
        await source.lazy(c, "imp-beta", "https://b.example/old/c.iso", revision=1)
        await source.lazy(c, "imp-beta", "https://b.example/new/c.iso", revision=2)
    run = await new_run(PLAN)
    await run_batch(pool, STEP, run, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT url FROM remote_artifact") == (
            "https://b.example/new/c.iso"
        )


# ---------------------------------------------------------------------------------------------
# Idempotency and concurrency
# ---------------------------------------------------------------------------------------------


async def test_running_a_batch_twice_changes_nothing(pool: asyncpg.Pool, new_run: NewRun) -> None:
    await build_world(pool)
    run = await new_run(PLAN)
    await assert_rerun_changes_nothing(
        pool, STEP, run, {"repositories": ["alpha", "beta", "gamma"]}
    )


async def test_a_rerun_follows_a_changed_importer_and_catalog(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    world = await build_world(pool)
    run = await new_run(PLAN)
    await run_batch(pool, STEP, run, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        await connection.execute(
            'UPDATE pulp2_importer SET config = config || \'{"feed": "https://b2.example/"}\''
            " WHERE pulp2_repo_id = 'beta'"
        )
        await connection.execute(
            "DELETE FROM pulp2_lazy_catalog"
            " WHERE pulp2_unit_id = 'u-c' AND importer_id = 'imp-beta'"
        )
    await run_batch(pool, STEP, run, {"repositories": ["beta"]})
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT url FROM remote WHERE name = 'beta'") == (
            "https://b2.example/"
        )
        rows = await connection.fetch("SELECT content_artifact_id FROM remote_artifact")
    assert [r["content_artifact_id"] for r in rows] == [world.units["u-d"].content_artifact_id]


async def test_concurrent_batches_sharing_pulp2_repositories(
    pool: asyncpg.Pool, new_run: NewRun
) -> None:
    """Two plan repositories made from the same Pulp 2 repository and importer, in two batches
    at once: both complete, each with its own remote and remote artifacts."""
    await build_world(pool)
    names = [f"copy{i}" for i in range(6)]
    plan = {
        "plugins": [
            {
                "type": "iso",
                "repositories": [
                    {
                        "name": name,
                        "pulp2_importer_repository_id": "beta",
                        "repository_versions": [
                            {"pulp2_repository_id": "beta"},
                            {"pulp2_repository_id": "gamma"},
                        ],
                    }
                    for name in names
                ],
            }
        ]
    }
    run = await new_run(plan)
    results = await asyncio.gather(
        run_batch(pool, STEP, run, {"repositories": names[:3]}),
        run_batch(pool, STEP, run, {"repositories": names[3:][::-1]}),
    )
    assert results == [BatchResult(done=3, created=ANY), BatchResult(done=3, created=ANY)]
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM repository") == 6
        assert await connection.fetchval("SELECT count(*) FROM remote") == 6
        per_remote = await connection.fetch(
            "SELECT remote_id, count(*) FROM remote_artifact GROUP BY remote_id"
        )
        mapped = await connection.fetchval(
            "SELECT r.name FROM pulp2_repository p"
            " JOIN repository r ON r.id = p.pulp3_repository_id WHERE p.pulp2_repo_id = 'gamma'"
        )
    assert len(per_remote) == 6
    assert {r["count"] for r in per_remote} == {2}
    assert mapped in names
