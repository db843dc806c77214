"""Importer secrets at rest: premigrate and create_repositories on a real PostgreSQL store them
encrypted, a store read gives them back, the API shows them only as set, and rotate_secrets
moves them to a new key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.fernet import Fernet

from pulp2to3.actors.registry import steps_for
from pulp2to3.actors.steps import Migration
from pulp2to3.encryption import SETTING, SecretKeyError, load_keys
from pulp2to3.plan import expand, parse_plan, plan_to_json
from pulp2to3.plugins.pulp2_configs import SECRET_OPTIONS
from pulp2to3.sample.writer import FolderDumpWriter
from pulp2to3.settings import Settings, load_settings
from pulp2to3.store.encryption import rotate_secrets
from pulp2to3.store.repositories import remote_options_in_clear
from tests.database_support import NewMigration
from tests.http_support import app_for, client_for
from tests.steps_support import run_step

SECRETS = {
    "iso-1": {
        "basic_auth_username": "bob",
        "basic_auth_password": "basic-secret-1",
        "ssl_client_key": "-----BEGIN PRIVATE KEY-----\nclient-key-secret\n",
        "proxy_host": "proxy.example",
        "proxy_password": "proxy-secret-1",
    },
    "iso-2": {"proxy_host": "proxy.example", "proxy_password": "proxy-secret-2"},
    "iso-3": {},
}
PLAINTEXTS = ("basic-secret-1", "client-key-secret", "proxy-secret-1", "proxy-secret-2")


def write_dump(out: Path) -> Path:
    with FolderDumpWriter(out, "pulp_database", compress=False) as writer:
        repos = writer.collection("repos")
        importers = writer.collection("repo_importers")
        for repo_id, secrets in SECRETS.items():
            repos.write(
                {"_id": f"r-{repo_id}", "repo_id": repo_id, "notes": {"_repo-type": "iso-repo"}}
            )
            importers.write(
                {
                    "_id": f"i-{repo_id}",
                    "repo_id": repo_id,
                    "importer_type_id": "iso_importer",
                    "config": {"feed": f"https://iso.example/{repo_id}/", **secrets},
                }
            )
    return out


async def run_steps(pool: asyncpg.Pool, migration: Migration, last: str) -> None:
    """The plan's steps up to ``last``, each batch in a transaction, as its task runs it."""
    for step in steps_for(migration.plan):
        for result in await run_step(pool, migration, step):
            assert result.failures == (), result
        if step.code == last:
            return


async def stored_text(pool: asyncpg.Pool) -> str:
    """Every importer config and remote options, as a dump of the database would show them."""
    async with pool.acquire() as connection:
        configs = await connection.fetch("SELECT config::text AS t FROM pulp2_importer")
        options = await connection.fetch("SELECT options::text AS t FROM remote")
    return "\n".join(row["t"] for row in [*configs, *options])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        load_settings({}),
        pulp2_dump=write_dump(tmp_path / "dump"),
        pulp2_root=tmp_path / "pulp",
        media_root=tmp_path / "media",
        data_dir=tmp_path / "data",
        db_encryption_key=None,
    )


async def migrate(new_migration: NewMigration, settings: Settings) -> Migration:
    plan = parse_plan({"plugins": [{"type": "iso"}]})
    return await new_migration(plan_to_json(expand(plan, {"iso": sorted(SECRETS)})), settings)


async def test_secrets_are_stored_encrypted_and_read_back_in_clear(
    pool: asyncpg.Pool, db_url: str, new_migration: NewMigration, settings: Settings
) -> None:
    await run_steps(pool, await migrate(new_migration, settings), "create_repositories")

    text = await stored_text(pool)
    assert "iso.example" in text  # the rows are there
    assert [secret for secret in PLAINTEXTS if secret in text] == []
    keys = load_keys(None, settings.data_dir)  # the key made on first use
    async with pool.acquire() as connection:
        one = await remote_options_in_clear(connection, "iso-1", keys)
        two = await remote_options_in_clear(connection, "iso-2", keys)
        assert await remote_options_in_clear(connection, "iso-3", keys) == {}
        assert await remote_options_in_clear(connection, "none", keys) is None
    assert one is not None
    assert two is not None
    assert (one["password"], one["client_key"], one["proxy_password"], one["username"]) == (
        "basic-secret-1",
        "-----BEGIN PRIVATE KEY-----\nclient-key-secret\n",
        "proxy-secret-1",
        "bob",
    )
    assert two["proxy_password"] == "proxy-secret-2"

    async with client_for(app_for(db_url, pool), authenticated=True) as client:
        response = await client.get("/pulp/api/v3/remotes/", params={"name": "iso-1"})
        body = await response.text()
        assert response.status == 200, body
        [remote] = [r for r in (await response.json())["results"] if r["name"] == "iso-1"]
    assert [secret for secret in PLAINTEXTS if secret in body] == []
    assert {field["name"]: field["is_set"] for field in remote["hidden_fields"]} == {
        "client_key": True,
        "proxy_username": False,
        "proxy_password": True,
        "username": True,
        "password": True,
    }


async def test_an_unchanged_importer_is_not_migrated_again(
    pool: asyncpg.Pool, new_migration: NewMigration, settings: Settings
) -> None:
    """Encryption is not deterministic: a second premigrate keeps the staged tokens."""
    migration = await migrate(new_migration, settings)
    await run_steps(pool, migration, "create_repositories")
    before = await stored_text(pool)
    await run_steps(pool, migration, "premigrate")
    assert await stored_text(pool) == before
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT bool_and(is_migrated) FROM pulp2_importer")


async def test_rotation_moves_every_secret_to_the_first_key(
    pool: asyncpg.Pool, new_migration: NewMigration, settings: Settings, tmp_path: Path
) -> None:
    await run_steps(pool, await migrate(new_migration, settings), "create_repositories")
    old = settings.data_dir / "db_encryption.key"
    new = tmp_path / "new.key"
    new.write_bytes(Fernet.generate_key())
    async with pool.acquire() as connection:
        rotated = await rotate_secrets(
            connection, load_keys(f"{new},{old}", tmp_path), SECRET_OPTIONS
        )
        assert rotated == 4  # two importers and their two remotes hold secrets
        only_new = load_keys(str(new), tmp_path)
        assert (await remote_options_in_clear(connection, "iso-2", only_new) or {})[
            "proxy_password"
        ] == "proxy-secret-2"
        configs: dict[str, Any] = {
            row["pulp2_repo_id"]: row["config"]
            for row in await connection.fetch("SELECT pulp2_repo_id, config FROM pulp2_importer")
        }
        assert only_new.unseal(configs["iso-1"], SECRET_OPTIONS)["basic_auth_password"] == (
            "basic-secret-1"
        )
        with pytest.raises(SecretKeyError, match=SETTING):
            await remote_options_in_clear(connection, "iso-1", load_keys(str(old), tmp_path))
    assert [secret for secret in PLAINTEXTS if secret in await stored_text(pool)] == []
