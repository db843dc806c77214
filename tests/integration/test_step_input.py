"""The repository steps' inputs (``store.step_input``): computed once per migration by the first
batch, waited for by the others, and computed again when a batch that made one did not commit."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from pulp2to3.actors import publications, repo_versions, repositories
from pulp2to3.actors.steps import Migration, Step
from pulp2to3.store import publications as publication_store
from pulp2to3.store import step_input
from tests.database_support import NewMigration, backends_waiting_on_a_lock
from tests.repository_steps_support import (
    PLAN,
    WORK,
    build_world,
    run_batch,
    run_step,
    snapshot,
)
from tests.waiting_support import eventually

STEPS = (repositories.STEP, repo_versions.STEP, publications.STEP)
# Where each step records its input: create_publications' is in parts, one here (no worker is
# live to cut it in more).
RECORDED_AS = {
    "create_repositories": "create_repositories",
    "create_repo_versions": "create_repo_versions",
    "create_publications": "create_publications#0",
}
INPUT_TABLES = ("remote_artifact_input", "version_content_input", "published_file_input")


class Killed(Exception):
    """Stands for the end of a batch that does not commit: its transaction rolls back."""


async def run_all(pool: asyncpg.Pool, migration: Migration) -> None:
    for step in STEPS:
        await run_step(pool, step, migration)


async def inputs(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    return await snapshot(pool, ("step_input", *INPUT_TABLES))


async def run_killed_after_its_work(pool: asyncpg.Pool, step: Step, migration: Migration) -> None:
    """Each batch of the step does its work, its input computed by the first, and then ends
    without committing."""
    async with pool.acquire() as connection:
        batches = await step.plan_batches(connection, migration)
    for batch in batches:
        try:
            async with pool.acquire() as connection, connection.transaction():
                await WORK[step.code](connection, migration, batch.args)
                raise Killed
        except Killed:
            pass


async def test_each_step_computes_its_input_once_per_migration(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    await build_world(pool)
    migration = await new_migration(PLAN)
    await run_all(pool, migration)
    async with pool.acquire() as connection:
        recorded = await connection.fetch("SELECT step_code, migration_id FROM step_input")
        counts = [await connection.fetchval(f"SELECT count(*) FROM {t}") for t in INPUT_TABLES]
    assert sorted(tuple(row.values()) for row in recorded) == sorted(
        (RECORDED_AS[step.code], migration.id) for step in STEPS
    )
    # beta's and gamma's catalogs give 3 remote artifacts (alpha's entry is of a unit that was
    # not migrated); 4 Pulp 2 repositories hold 9 contents; 3 published versions, 7 files.
    assert counts == [3, 9, 7]
    before = await inputs(pool)
    for step in STEPS:  # a batch run again reads the input there, as do later batches
        async with pool.acquire() as connection:
            batches = await step.plan_batches(connection, migration)
        await run_batch(pool, step, migration, batches[0].args)
    assert await inputs(pool) == before


SEMANTIC = {
    "remote artifacts": "SELECT r.name, ra.content_artifact_id, ra.url, ra.sha256, ra.size"
    " FROM remote_artifact ra JOIN remote r ON r.id = ra.remote_id",
    "memberships": "SELECT r.name, rc.content_id, rc.version_added, rc.version_removed"
    " FROM repository_content rc JOIN repository r ON r.id = rc.repository_id",
    "published files": "SELECT r.name, v.number, pa.relative_path, pa.content_artifact_id"
    " FROM published_artifact pa JOIN publication p ON p.id = pa.publication_id"
    " JOIN repository_version v ON v.id = p.repository_version_id"
    " JOIN repository r ON r.id = v.repository_id",
}


async def what_the_steps_made(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    """The steps' rows by names, not ids (a second run makes new ids)."""
    async with pool.acquire() as connection:
        return {
            name: sorted(tuple(row.values()) for row in await connection.fetch(query))
            for name, query in SEMANTIC.items()
        }


async def test_an_input_whose_batch_did_not_commit_is_computed_again(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    """A batch killed after it computed its step's input leaves none: the next batch computes
    it again, and the steps' rows are those of an undisturbed run."""
    await build_world(pool)
    undisturbed = await new_migration(PLAN)
    await run_all(pool, undisturbed)
    expected = await what_the_steps_made(pool)
    assert all(expected.values())
    async with pool.acquire() as connection:
        await connection.execute(
            "TRUNCATE distribution, published_metadata, published_artifact, publication,"
            " repository_content,"
            " repository_version_origin, repository_version, repository, remote_artifact, remote"
        )
        await connection.execute(
            "UPDATE migration SET status = 'completed' WHERE id = $1", undisturbed.id
        )
    migration = await new_migration(PLAN)
    for step in STEPS:
        await run_killed_after_its_work(pool, step, migration)
        async with pool.acquire() as connection:
            recorded = await connection.fetchval(
                "SELECT migration_id FROM step_input WHERE step_code = $1", RECORDED_AS[step.code]
            )
        assert recorded == undisturbed.id  # the earlier migration's, not this one's
        await run_step(pool, step, migration)
    assert await what_the_steps_made(pool) == expected


async def test_the_other_batches_wait_for_the_one_computing_the_input(
    pool: asyncpg.Pool,
) -> None:
    migration_id = uuid.uuid4()
    computing = asyncio.Event()
    release = asyncio.Event()
    computed: list[str] = []

    async def compute(name: str) -> None:
        computed.append(name)
        computing.set()
        await release.wait()

    async def batch(name: str) -> bool:
        async with pool.acquire() as connection, connection.transaction():
            return await step_input.ensure(
                connection, "some_step", migration_id, ["a"], lambda: compute(name)
            )

    first = asyncio.create_task(batch("first"))
    await computing.wait()
    second = asyncio.create_task(batch("second"))
    async with pool.acquire() as observer:

        async def second_waits() -> bool:
            return await backends_waiting_on_a_lock(observer) == 1

        await eventually(second_waits, 10, "the second batch to wait for the first")
        assert not second.done()
        release.set()
        assert await first is True
        assert await second is False
        assert computed == ["first"]
        # Other arguments (another plan's repositories): computed again.
        async with observer.transaction():
            assert await step_input.ensure(
                observer, "some_step", migration_id, ["a", "b"], lambda: compute("third")
            )
    assert computed == ["first", "third"]


async def test_create_publications_input_in_parts_is_the_whole_input(
    pool: asyncpg.Pool, new_migration: NewMigration
) -> None:
    """Computed in 1, 2 or 3 parts (by version id modulo the parts), one after the other, the
    input is the same rows: each part first deletes every row of its versions, whatever parts
    left them."""
    await build_world(pool)
    migration = await new_migration(PLAN)
    for step in (repositories.STEP, repo_versions.STEP):
        await run_step(pool, step, migration)
    keys = publications.planned_publications(migration)

    async def computed(parts: int) -> list[tuple[object, ...]]:
        for part in range(parts):
            async with pool.acquire() as connection, connection.transaction():
                await publication_store.prepare_version_files(
                    connection, publications.STEP_CODE, migration.id, keys, part, parts
                )
        return (await snapshot(pool, ("published_file_input",)))["published_file_input"]

    whole = await computed(1)
    assert len(whole) == 7  # 3 published versions, 7 files
    assert await computed(2) == whole
    assert await computed(3) == whole
