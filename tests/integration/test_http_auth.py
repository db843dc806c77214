"""HTTP Basic authentication over real HTTP: the API needs credentials, status, the API
description and the content app do not, and ``--insecure-dev`` (no password) lets all in."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from pulp2to3.http import app as http_app
from pulp2to3.settings import load_settings
from tests.http_support import PASSWORD, USER, Client, app_for, client_for
from tests.migrated_support import Migrated, populate

API = "/pulp/api/v3/"
CHALLENGE = 'Basic realm="pulp"'

PROTECTED = [
    "repositories/",
    "publications/",
    "distributions/",
    "remotes/",
    "content/",
    "pulp2repositories/",
    "pulp2content/",
    "migration-plans/",
    "migrationreport/",
    "tasks/",
    "nothing-here/",
]


def basic(user: str, password: str) -> str:
    return aiohttp.encode_basic_auth(user, password)


@pytest.fixture
async def migrated(pool: asyncpg.Pool, tmp_path: Path) -> Migrated:
    return await populate(pool, tmp_path / "media")


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool, migrated: Migrated) -> AsyncIterator[Client]:
    async with client_for(
        app_for(db_url, pool, migrated.media_root), authenticated=False
    ) as client:
        yield client


async def assert_challenged(response: aiohttp.ClientResponse) -> None:
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"detail"}


@pytest.mark.parametrize("path", PROTECTED)
async def test_no_credentials_is_401_with_a_challenge(client: Client, path: str) -> None:
    await assert_challenged(await client.get(API + path))
    body = await (await client.get(API + path)).json()
    assert body == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(
    ("user", "password"),
    [(USER, "wrong"), ("someone", PASSWORD), (USER, ""), ("", ""), (USER, PASSWORD + " ")],
)
async def test_wrong_credentials_are_401(client: Client, user: str, password: str) -> None:
    response = await client.get(
        f"{API}repositories/", headers={"Authorization": basic(user, password)}
    )
    await assert_challenged(response)
    assert await response.json() == {"detail": "Invalid username/password."}


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()[:-2],
        "",
    ],
)
async def test_a_malformed_authorization_header_is_401(client: Client, header: str) -> None:
    response = await client.get(f"{API}remotes/", headers={"Authorization": header})
    await assert_challenged(response)


async def test_the_right_credentials_are_let_in(client: Client) -> None:
    headers = {"Authorization": basic(USER, PASSWORD)}
    for path in PROTECTED[:-1]:
        response = await client.get(API + path, headers=headers)
        assert response.status == 200, path
    # Authenticated, an unknown path is a plain 404.
    response = await client.get(f"{API}nothing-here/", headers=headers)
    assert response.status == 404
    # The scheme name is case-insensitive.
    lower = "basic " + basic(USER, PASSWORD).split(" ", 1)[1]
    assert (await client.get(f"{API}content/", headers={"Authorization": lower})).status == 200


async def test_writes_need_credentials_too(client: Client) -> None:
    response = await client.post(
        f"{API}migration-plans/", json={"plan": {"plugins": [{"type": "iso"}]}}
    )
    await assert_challenged(response)


@pytest.mark.parametrize("path", [f"{API}status/", f"{API}docs/api.json"])
async def test_status_and_the_api_description_are_public(client: Client, path: str) -> None:
    for headers in ({}, {"Authorization": basic(USER, "wrong")}):
        response = await client.get(path, headers=headers)
        assert response.status == 200, headers
        assert response.content_type == "application/json"


async def test_the_content_app_is_public(client: Client) -> None:
    for path in ("/pulp/content/", "/pulp/content/nested/base/a.iso"):
        response = await client.get(path)
        assert response.status == 200, path
    # Even wrong credentials do not matter there.
    response = await client.get("/pulp/content/nested/base/a.iso", headers={"Authorization": "x"})
    assert response.status == 200


async def test_without_a_password_everything_is_open(db_url: str, pool: asyncpg.Pool) -> None:
    # What `--insecure-dev` runs: no password configured, no credentials asked.
    settings = load_settings({"PULP2TO3_DATABASE_URL": db_url})
    assert settings.admin_password is None
    async with client_for(http_app.init(settings, pool), authenticated=False) as client:
        for path in PROTECTED[:-1]:
            response = await client.get(API + path)
            assert response.status == 200, path


async def test_the_configured_user_name_is_used(db_url: str, pool: asyncpg.Pool) -> None:
    settings = load_settings(
        {
            "PULP2TO3_DATABASE_URL": db_url,
            "PULP2TO3_ADMIN_USER": "operator",
            "PULP2TO3_ADMIN_PASSWORD": "pa:ss wörd",
        }
    )
    async with client_for(http_app.init(settings, pool), authenticated=False) as client:
        right = {"Authorization": basic("operator", "pa:ss wörd")}
        assert (await client.get(f"{API}remotes/", headers=right)).status == 200
        admin = {"Authorization": basic("admin", "pa:ss wörd")}
        await assert_challenged(await client.get(f"{API}remotes/", headers=admin))
