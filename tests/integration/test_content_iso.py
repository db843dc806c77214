"""The migrate_content.iso step on a real PostgreSQL and real files under tmp_path.

The staging tables are filled with plain INSERTs (what premigrate would have staged), and the
files the rows name are written under a Pulp 2 root in tmp_path; the media root is beside it,
so hard links work (same filesystem) and inodes can be compared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pulp2to3 import storage
from pulp2to3.actors.content import content_step, plan_content_batches
from pulp2to3.actors.steps import Batch, BatchResult, Migration
from pulp2to3.plugins.iso_content import CONTENT_TYPE
from pulp2to3.settings import Settings, load_settings
from tests.database_support import NewMigration
from tests.filesystems_support import resize, small_filesystem
from tests.waiting_support import eventually

PLAN = {"plugins": [{"type": "iso"}]}


@dataclasses.dataclass
class Pulp2Tree:
    """A Pulp 2 file tree under tmp_path, and the unit rows naming its files."""

    root: Path
    media: Path
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def unit(
        self,
        pulp2_id: str,
        name: str,
        data: bytes | None = None,
        *,
        downloaded: bool = True,
        storage_path: str | None = None,
        checksum: str | None = None,
        size: int | None = None,
        write: bool = True,
    ) -> dict[str, Any]:
        """Stage a unit; a downloaded one's file holds ``data`` at its storage path."""
        data = data if data is not None else f"content of {name}\n".encode()
        sha = hashlib.sha256(data).hexdigest()
        if storage_path is None:
            storage_path = f"/var/lib/pulp/content/units/iso/{sha[:2]}/{pulp2_id}/{name}"
        if downloaded and write and storage_path.startswith("/var/lib/pulp/"):
            path = self.root / storage_path.removeprefix("/var/lib/pulp/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        row = {
            "pulp2_id": pulp2_id,
            "storage_path": storage_path,
            "downloaded": downloaded,
            "fields": {
                "name": name,
                "checksum": checksum or sha,
                "size": len(data) if size is None else size,
            },
        }
        self.rows.append(row)
        return row

    def source(self, row: dict[str, Any]) -> Path:
        return self.root / str(row["storage_path"]).removeprefix("/var/lib/pulp/")


@pytest.fixture
def tree(tmp_path: Path) -> Pulp2Tree:
    (tmp_path / "pulp").mkdir()
    return Pulp2Tree(root=tmp_path / "pulp", media=tmp_path / "media")


def settings_for(tree: Pulp2Tree, *, verify: bool = False) -> Settings:
    return dataclasses.replace(
        load_settings({}), pulp2_root=tree.root, media_root=tree.media, verify_checksums=verify
    )


async def stage(pool: asyncpg.Pool, tree: Pulp2Tree) -> list[int]:
    """Insert the tree's unit rows (and lazy catalog entries of on_demand ones); their ids."""
    async with pool.acquire() as connection:
        ids = [
            await connection.fetchval(
                "INSERT INTO pulp2_content (pulp2_id, content_type, last_updated, storage_path,"
                " downloaded, fields) VALUES ($1, 'iso', 1, $2, $3, $4::jsonb) RETURNING id",
                row["pulp2_id"],
                row["storage_path"],
                row["downloaded"],
                row["fields"],
            )
            for row in tree.rows
        ]
        for row in tree.rows:
            if not row["downloaded"]:
                await connection.execute(
                    "INSERT INTO pulp2_lazy_catalog (pulp2_unit_id, unit_type_id, importer_id,"
                    " url, path, checksum, checksum_algorithm)"
                    " VALUES ($1, 'iso', 'importer-1', $2, $3, $4, 'sha256')",
                    row["pulp2_id"],
                    "https://example.com/isos/" + row["fields"]["name"],
                    row["storage_path"],
                    row["fields"]["checksum"],
                )
    tree.rows.clear()
    return ids


STEP = content_step(CONTENT_TYPE)


async def migrate(pool: asyncpg.Pool, migration: Migration, batch: Batch) -> BatchResult:
    """Run one batch as the batch task does: its own connection, inside a transaction."""
    async with pool.acquire() as connection, connection.transaction():
        return await STEP.work(connection, migration, batch.args)


async def plan(
    pool: asyncpg.Pool, migration: Migration, batch_size: int | None = None
) -> list[Batch]:
    """The step's batches; of ``batch_size`` units instead of the type's when given."""
    async with pool.acquire() as connection:
        if batch_size is None:
            return await STEP.plan_batches(connection, migration)
        return await plan_content_batches(connection, "iso", batch_size)


async def migrate_all(pool: asyncpg.Pool, migration: Migration) -> BatchResult:
    (batch,) = await plan(pool, migration)
    return await migrate(pool, migration, batch)


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every target row, and the staging columns the step writes, in a stable order."""
    statements = {
        "artifact": "SELECT id, sha256, size, file, created_at FROM artifact ORDER BY id",
        "content": (
            "SELECT id, pulp_id, pulp_type, natural_key, created_at FROM content ORDER BY id"
        ),
        "file_content": "SELECT * FROM file_content ORDER BY content_id",
        "content_artifact": "SELECT * FROM content_artifact ORDER BY content_id, relative_path",
        "pulp2_content": "SELECT id, is_migrated, pulp3_content_id FROM pulp2_content ORDER BY id",
    }
    async with pool.acquire() as connection:
        return {
            table: [tuple(row) for row in await connection.fetch(sql)]
            for table, sql in statements.items()
        }


async def fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as connection:
        return list(await connection.fetch(sql, *args))


def media_files(tree: Pulp2Tree) -> list[Path]:
    return sorted(p for p in tree.media.rglob("*") if p.is_file()) if tree.media.exists() else []


# --- planning ----------------------------------------------------------------------------------


async def test_batches_cover_the_units_still_to_migrate(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    async with pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO pulp2_content (pulp2_id, content_type, is_migrated)"
            " SELECT 'u' || n, CASE WHEN n % 10 = 0 THEN 'rpm' ELSE 'iso' END, n % 7 = 0"
            "   FROM generate_series(1, 2600) AS n"
        )
        wanted = [
            row["id"]
            for row in await connection.fetch(
                "SELECT id FROM pulp2_content WHERE content_type = 'iso' AND NOT is_migrated"
                " ORDER BY id"
            )
        ]
    migration = await new_migration(PLAN)
    batches = await plan(pool, migration)

    assert [b.units for b in batches] == [1000, 1000, len(wanted) - 2000]
    covered: list[int] = []
    for batch in batches:
        first, last = batch.args["first_id"], batch.args["last_id"]
        assert batch.key == f"{first}-{last}"
        assert batch.args["units"] == batch.units
        covered += [i for i in wanted if first <= i <= last]
    assert covered == wanted  # every unit in exactly one range, ranges in order
    assert sum(b.units for b in batches) == len(wanted)


async def test_nothing_to_migrate_plans_no_batch(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    migration = await new_migration(PLAN, settings_for(tree))
    assert await plan(pool, migration) == []
    tree.unit("done", "a.iso")
    await stage(pool, tree)
    await migrate_all(pool, migration)
    assert await plan(pool, migration) == []


def test_the_step_is_described() -> None:
    assert STEP.code == "migrate_content.iso"
    assert STEP.actor.name == "pulp2to3.migrate_content.iso"
    assert STEP.description == CONTENT_TYPE.description
    assert CONTENT_TYPE.batch_size == 1000


# --- what units become -------------------------------------------------------------------------


async def test_downloaded_units_become_hard_linked_artifacts(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    rows = [tree.unit(f"u{n}", f"disk-{n}.iso", os.urandom(1000 + n)) for n in range(3)]
    ids = await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))

    result = await migrate_all(pool, migration)

    assert result == BatchResult(done=3)
    for row, unit_id in zip(rows, ids, strict=True):
        fields = row["fields"]
        sha = fields["checksum"]
        (artifact,) = await fetch(pool, "SELECT * FROM artifact WHERE sha256 = $1", sha)
        assert artifact["size"] == fields["size"]
        assert artifact["file"] == f"artifact/{sha[:2]}/{sha[2:]}"
        stored = tree.media / artifact["file"]
        assert stored.stat().st_ino == tree.source(row).stat().st_ino
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha

        (unit,) = await fetch(pool, "SELECT * FROM pulp2_content WHERE id = $1", unit_id)
        assert unit["is_migrated"]
        (content,) = await fetch(
            pool, "SELECT * FROM content WHERE id = $1", unit["pulp3_content_id"]
        )
        assert content["pulp_type"] == "file.file"
        assert content["natural_key"] == f'["{fields["name"]}","{sha}",{fields["size"]}]'
        assert content["repo_key"] == fields["name"]  # a file's repository key: its path
        (file,) = await fetch(
            pool, "SELECT * FROM file_content WHERE content_id = $1", content["id"]
        )
        assert (file["relative_path"], file["digest"], file["size"]) == (
            fields["name"],
            sha,
            fields["size"],
        )
        (ca,) = await fetch(
            pool, "SELECT * FROM content_artifact WHERE content_id = $1", content["id"]
        )
        assert (ca["relative_path"], ca["artifact_id"]) == (fields["name"], artifact["id"])


async def test_on_demand_units_become_content_without_artifact(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    for n in range(4):
        tree.unit(f"lazy{n}", f"lazy-{n}.iso", downloaded=False)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))

    assert await migrate_all(pool, migration) == BatchResult(done=4)

    assert await fetch(pool, "SELECT * FROM artifact") == []
    assert media_files(tree) == []
    rows = await fetch(
        pool,
        "SELECT c.natural_key, ca.relative_path, ca.artifact_id, f.relative_path AS path"
        "  FROM content c JOIN content_artifact ca ON ca.content_id = c.id"
        "  JOIN file_content f ON f.content_id = c.id ORDER BY ca.relative_path",
    )
    assert [(r["relative_path"], r["artifact_id"], r["path"]) for r in rows] == [
        (f"lazy-{n}.iso", None, f"lazy-{n}.iso") for n in range(4)
    ]
    assert (await fetch(pool, "SELECT count(*) FROM pulp2_content WHERE is_migrated"))[0][0] == 4


async def test_units_sharing_a_sha256_share_one_artifact(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    data = b"the same bytes\n" * 50
    for n in range(3):
        tree.unit(f"same{n}", f"copy-{n}.iso", data)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))

    assert await migrate_all(pool, migration) == BatchResult(done=3)

    (artifact,) = await fetch(pool, "SELECT * FROM artifact")
    assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(media_files(tree)) == 1
    links = await fetch(pool, "SELECT artifact_id FROM content_artifact")
    assert [row["artifact_id"] for row in links] == [artifact["id"]] * 3
    assert len(await fetch(pool, "SELECT * FROM content")) == 3  # three names: three contents


async def test_units_with_one_natural_key_become_one_content(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    data = b"one image, three units\n"
    tree.unit("lazy", "same.iso", data, downloaded=False)
    tree.unit("here-1", "same.iso", data)
    tree.unit("here-2", "same.iso", data)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))

    assert await migrate_all(pool, migration) == BatchResult(done=3)

    (content,) = await fetch(pool, "SELECT * FROM content")
    assert len(await fetch(pool, "SELECT * FROM file_content")) == 1
    (artifact,) = await fetch(pool, "SELECT * FROM artifact")
    (ca,) = await fetch(pool, "SELECT * FROM content_artifact")
    assert ca["artifact_id"] == artifact["id"]  # the unit with the file brings it
    mapped = await fetch(pool, "SELECT DISTINCT pulp3_content_id FROM pulp2_content")
    assert [row[0] for row in mapped] == [content["id"]]


async def test_a_unit_downloaded_later_fills_the_missing_artifact(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    data = b"fetched on demand at first\n"
    tree.unit("lazy", "late.iso", data, downloaded=False)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    await migrate_all(pool, migration)
    assert [r["artifact_id"] for r in await fetch(pool, "SELECT * FROM content_artifact")] == [None]

    tree.unit("later", "late.iso", data)  # the same content, now with its file
    await stage(pool, tree)
    await migrate_all(pool, migration)

    (artifact,) = await fetch(pool, "SELECT * FROM artifact")
    (ca,) = await fetch(pool, "SELECT * FROM content_artifact")
    assert ca["artifact_id"] == artifact["id"]
    assert len(await fetch(pool, "SELECT * FROM content")) == 1


# --- per-unit failures -------------------------------------------------------------------------


async def test_bad_units_are_named_failures_and_the_rest_migrates(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.iso"
    outside.write_bytes(b"not Pulp's\n")
    link_dir = tree.root / "content/units/iso/ee"
    link_dir.mkdir(parents=True)
    (link_dir / "escape.iso").symlink_to(outside)
    size = len(b"not Pulp's\n")

    tree.unit("good-1", "good-1.iso")
    tree.unit("missing", "missing.iso", write=False)
    tree.unit("short", "short.iso", b"12345", size=9)
    tree.unit("corrupt", "corrupt.iso", b"flipped bits", checksum="0" * 64)
    tree.unit("dotdot", "dotdot.iso", storage_path="/var/lib/pulp/content/../../secret.iso")
    tree.unit(
        "symlink",
        "symlink.iso",
        storage_path="/var/lib/pulp/content/units/iso/ee/escape.iso",
        size=size,
    )
    tree.unit("elsewhere", "elsewhere.iso", storage_path=str(outside), size=size)
    tree.unit("no-path", "no-path.iso")["storage_path"] = None
    tree.unit("bad-name", "../../etc/cron.d/x", downloaded=False)
    tree.unit("good-2", "good-2.iso", downloaded=False)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree, verify=True))

    result = await migrate_all(pool, migration)

    assert result.done == 2
    reasons = dict(result.failures)
    assert sorted(reasons) == sorted(
        ["missing", "short", "corrupt", "dotdot", "symlink", "elsewhere", "no-path", "bad-name"]
    )
    assert "is missing" in reasons["missing"]
    assert "has 5 bytes, expected 9" in reasons["short"]
    assert "expected " + "0" * 64 in reasons["corrupt"]
    assert reasons["dotdot"] == "unsafe _storage_path: has a '..' component"
    assert "outside" in reasons["symlink"]
    assert "symbolic link" in reasons["symlink"]
    assert reasons["elsewhere"] == "unsafe _storage_path: not under /var/lib/pulp"
    assert reasons["no-path"] == "downloaded unit has no _storage_path"
    assert "'..' component" in reasons["bad-name"]

    migrated = await fetch(pool, "SELECT pulp2_id FROM pulp2_content WHERE is_migrated")
    assert sorted(row[0] for row in migrated) == ["good-1", "good-2"]
    assert len(await fetch(pool, "SELECT * FROM content")) == 2
    assert len(await fetch(pool, "SELECT * FROM artifact")) == 1
    assert len(media_files(tree)) == 1


async def test_without_verification_only_the_size_is_checked(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    tree.unit("trusted", "trusted.iso", b"whatever it holds", checksum="1" * 64)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree, verify=False))
    assert await migrate_all(pool, migration) == BatchResult(done=1)
    assert [r["sha256"] for r in await fetch(pool, "SELECT * FROM artifact")] == ["1" * 64]


# --- idempotence and concurrency ---------------------------------------------------------------


async def test_a_batch_run_twice_leaves_the_same_rows(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    for n in range(6):
        tree.unit(f"u{n}", f"f{n % 4}.iso", f"bytes {n % 3}".encode(), downloaded=n % 2 == 0)
    tree.unit("missing", "missing.iso", write=False)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    (batch,) = await plan(pool, migration)

    first = await migrate(pool, migration, batch)
    before, files = await snapshot(pool), media_files(tree)
    second = await migrate(pool, migration, batch)

    assert second == first  # the same counters: a re-run records what the first run did
    assert first.done == 6
    assert [name for name, _ in first.failures] == ["missing"]
    assert await snapshot(pool) == before
    assert media_files(tree) == files


async def test_a_batch_after_a_crash_half_way_ends_as_a_clean_run(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    for n in range(5):
        tree.unit(f"u{n}", f"f{n}.iso", f"bytes {n}".encode(), downloaded=n != 4)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    (batch,) = await plan(pool, migration)

    class Crash(Exception):
        pass

    async def work_then_die() -> None:
        """The files are stored, then the transaction dies before it commits."""
        async with pool.acquire() as connection, connection.transaction():
            await STEP.work(connection, migration, batch.args)
            raise Crash

    with pytest.raises(Crash):
        await work_then_die()
    assert len(media_files(tree)) == 4
    assert (await snapshot(pool))["content"] == []
    # A leftover temporary file of an interrupted copy is ignored.
    leftover = next(iter(media_files(tree))).parent / ".tmp-abc.part"
    leftover.write_bytes(b"half")

    assert await migrate(pool, migration, batch) == BatchResult(done=5)

    rows = await snapshot(pool)
    assert [len(rows[t]) for t in ("artifact", "content", "file_content", "content_artifact")] == [
        4,
        5,
        5,
        5,
    ]
    assert all(migrated for _, migrated, _ in rows["pulp2_content"])
    for _, sha, _, file, _ in rows["artifact"]:
        assert hashlib.sha256((tree.media / file).read_bytes()).hexdigest() == sha


async def test_batches_on_one_connection_share_its_stage_table_and_never_its_rows(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    """The stage table outlives a batch on its connection: a batch rolled back, then the
    others, one after the other on that connection, each see only their own rows."""
    for n in range(6):
        tree.unit(f"u{n}", f"f{n}.iso", f"bytes {n % 4}".encode(), downloaded=n % 3 != 2)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    first, second, third = await plan(pool, migration, batch_size=2)

    class Crash(Exception):
        pass

    async def work_then_die(connection: asyncpg.Connection) -> None:
        async with connection.transaction():
            await STEP.work(connection, migration, first.args)
            raise Crash

    async with pool.acquire() as connection:
        with pytest.raises(Crash):
            await work_then_die(connection)
        results = []
        for batch in (second, first, third):
            async with connection.transaction():
                results.append(await STEP.work(connection, migration, batch.args))
            assert await connection.fetchval("SELECT count(*) FROM pg_temp.content_file_stage") == 0

    assert results == [BatchResult(done=2)] * 3
    rows = await snapshot(pool)
    # Units 0 and 4 hold the same bytes: one artifact; units 2 and 5 were not downloaded.
    assert [len(rows[t]) for t in ("artifact", "content", "file_content", "content_artifact")] == [
        3,
        6,
        6,
        6,
    ]
    content_ids = {content_id for content_id, *_ in rows["file_content"]}
    assert {content_id for _, migrated, content_id in rows["pulp2_content"] if migrated} == (
        content_ids
    )


async def test_concurrent_batches_sharing_artifacts_and_content(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    # Two batches of 60 units; unit n of one and unit n of the other are the same content
    # (same name and bytes), and every third file also shares its bytes with others.
    for side in ("a", "b"):
        for n in range(60):
            data = f"shared {n % 10}".encode() if n % 3 == 0 else f"file {n}".encode()
            tree.unit(f"{side}{n}", f"f{n}.iso", data, downloaded=n % 4 != 1)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    batches = await plan(pool, migration, batch_size=60)
    assert len(batches) == 2

    results = await asyncio.gather(*(migrate(pool, migration, batch) for batch in batches))

    assert [r.done for r in results] == [60, 60]
    assert all(not r.failures for r in results)
    rows = await snapshot(pool)
    assert len(rows["content"]) == 60
    assert len(rows["file_content"]) == 60
    assert len(rows["content_artifact"]) == 60
    shas = {sha for _, sha, _, _, _ in rows["artifact"]}
    assert len(shas) == len(rows["artifact"])
    expected_files = {
        f"shared {n % 10}" if n % 3 == 0 else f"file {n}" for n in range(60) if n % 4 != 1
    }
    assert len(rows["artifact"]) == len(expected_files) == len(media_files(tree))
    targets = {content_id for _, _, content_id in rows["pulp2_content"]}
    assert len(targets) == 60

    # and once more, both at once again: nothing changes
    again = await asyncio.gather(*(migrate(pool, migration, batch) for batch in batches))
    assert [r.done for r in again] == [60, 60]
    assert await snapshot(pool) == rows


# A tmpfs on Linux; mkdtemp below makes a private folder in it.
SECOND_FILESYSTEM = Path("/dev/shm")  # noqa: S108


@pytest.fixture
def media_elsewhere(tree: Pulp2Tree) -> Iterator[Path]:
    """A media root on another filesystem than the Pulp 2 tree (the tmpfs at /dev/shm)."""
    if not SECOND_FILESYSTEM.is_dir() or not os.access(SECOND_FILESYSTEM, os.W_OK):
        pytest.skip(f"no writable {SECOND_FILESYSTEM}: no second filesystem to link across")
    if SECOND_FILESYSTEM.stat().st_dev == tree.root.stat().st_dev:
        pytest.skip(f"{SECOND_FILESYSTEM} is on the same filesystem as the temporary folder")
    media = Path(tempfile.mkdtemp(prefix="pulp2to3-media-", dir=SECOND_FILESYSTEM))
    yield media
    shutil.rmtree(media)


async def test_a_link_across_filesystems_is_a_copy(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree, media_elsewhere: Path
) -> None:
    """The media root is on a tmpfs, the Pulp 2 tree on the disk: the kernel refuses the hard
    link (EXDEV), and the file is copied, then verified like a link."""
    tree = dataclasses.replace(tree, media=media_elsewhere)
    row = tree.unit("far", "far.iso", b"on another disk\n" * 10)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))

    assert await migrate_all(pool, migration) == BatchResult(done=1)

    (artifact,) = await fetch(pool, "SELECT * FROM artifact")
    stored = tree.media / artifact["file"]
    assert stored.stat().st_dev != tree.source(row).stat().st_dev
    assert stored.read_bytes() == tree.source(row).read_bytes()
    assert media_files(tree) == [stored]


async def test_many_batches_writing_the_same_keys_in_opposite_orders(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree
) -> None:
    """Four batches stage the same 150 contents, two in ascending and two in descending name
    order, mostly on_demand so that their writes overlap: ordered upserts never deadlock."""
    names = [f"k{n:03}.iso" for n in range(150)]
    for side in range(4):
        for n, name in enumerate(names if side % 2 else reversed(names)):
            tree.unit(f"s{side}-{n}", name, name.encode(), downloaded=n % 10 == side)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree))
    batches = await plan(pool, migration, batch_size=150)
    assert len(batches) == 4

    results = await asyncio.gather(*(migrate(pool, migration, batch) for batch in batches))

    assert [(r.done, r.failures) for r in results] == [(150, ())] * 4
    rows = await snapshot(pool)
    assert [len(rows[t]) for t in ("content", "file_content", "content_artifact")] == [150] * 3
    downloaded = {
        name
        for side in range(4)
        for n, name in enumerate(names if side % 2 else list(reversed(names)))
        if n % 10 == side
    }
    assert len(rows["artifact"]) == len(downloaded)
    with_artifact = [ca for ca in rows["content_artifact"] if ca[3] is not None]
    assert len(with_artifact) == len(downloaded)


async def test_a_cancelled_batch_stops_its_file_work_and_leaves_nothing(
    pool: asyncpg.Pool,
    new_migration: NewMigration,
    tree: Pulp2Tree,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An aborted job is a cancelled coroutine: its transaction rolls back at once, and the
    thread hashing a big file gives up at the next MiB instead of reading on."""
    big = 1 << 30  # sparse: reads as zeros without taking disk space
    for n in range(3):
        row = tree.unit(f"big{n}", f"big-{n}.iso", b"", size=big)
        with tree.source(row).open("r+b") as handle:
            handle.truncate(big)
    await stage(pool, tree)
    migration = await new_migration(PLAN, settings_for(tree, verify=True))
    (batch,) = await plan(pool, migration)
    hashing = asyncio.Event()
    ended: list[str] = []
    loop = asyncio.get_running_loop()
    real_hash = storage.sha256_of_fd

    def watched_hash(fd: int, stop: threading.Event | None = None) -> str:
        loop.call_soon_threadsafe(hashing.set)
        try:
            return real_hash(fd, stop)
        except storage.Interrupted:
            ended.append("interrupted")
            raise

    monkeypatch.setattr(storage, "sha256_of_fd", watched_hash)
    task = asyncio.create_task(migrate(pool, migration, batch))
    await hashing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def hashing_ended() -> bool:
        return bool(ended)

    await eventually(hashing_ended, 10, "the hashing thread to end")
    assert ended == ["interrupted"]
    rows = await snapshot(pool)
    assert rows["content"] == []
    assert not any(migrated for _, migrated, _ in rows["pulp2_content"])


async def test_a_full_media_root_fails_the_units_that_do_not_fit_then_a_rerun_completes(
    pool: asyncpg.Pool, new_migration: NewMigration, tree: Pulp2Tree, tmp_path: Path
) -> None:
    """The media root is a 64 KiB tmpfs (the Pulp 2 tree on the disk: files are copied): the
    units too big for it fail, named with ENOSPC, the others migrate, and no temporary file is
    left; the re-run completes once space is freed."""
    with small_filesystem(tmp_path / "small", 64 << 10) as media:
        tree = dataclasses.replace(tree, media=media)
        small = [tree.unit(f"s{n}", f"small-{n}.iso", f"small {n}\n".encode()) for n in range(3)]
        big = [tree.unit(f"b{n}", f"big-{n}.iso", os.urandom(100 << 10)) for n in range(2)]
        await stage(pool, tree)
        migration = await new_migration(PLAN, settings_for(tree))
        (batch,) = await plan(pool, migration)

        result = await migrate(pool, migration, batch)

        assert result.done == 3
        assert sorted(pulp2_id for pulp2_id, _ in result.failures) == ["b0", "b1"]
        for _, reason in result.failures:
            assert "no space left on the media root" in reason
            assert "(ENOSPC)" in reason
        assert len(media_files(tree)) == 3
        assert not list(media.rglob("*.part"))

        resize(media, 1 << 20)
        (batch,) = await plan(pool, migration)

        assert await migrate(pool, migration, batch) == BatchResult(done=2)  # the two that failed

        artifacts = await fetch(pool, "SELECT sha256, size, file FROM artifact")
        sources = [tree.source(row) for row in small + big]
        expected = {(hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size) for p in sources}
        assert {(a["sha256"], a["size"]) for a in artifacts} == expected
        assert media_files(tree) == sorted(media / a["file"] for a in artifacts)
        for a in artifacts:
            assert hashlib.sha256((media / a["file"]).read_bytes()).hexdigest() == a["sha256"]
        rows = await snapshot(pool)
        assert [len(rows[t]) for t in ("content", "file_content", "content_artifact")] == [5] * 3
        assert all(migrated for _, migrated, _ in rows["pulp2_content"])
