"""The dashboard's files over real HTTP: public, from the package, kept to their own origin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from pulp2to3.http import dashboard
from tests.http_support import Client, app_for, client_for


@pytest.fixture
async def anonymous(db_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    async with client_for(app_for(db_url, pool), authenticated=False) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/ui/", "text/html"),
        ("/ui/index.html", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
    ],
)
async def test_the_page_and_its_files_need_no_credentials(
    anonymous: Client, path: str, content_type: str
) -> None:
    response = await anonymous.get(path)
    assert response.status == 200
    assert response.content_type == content_type
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_page_loads_only_files_that_are_served(anonymous: Client) -> None:
    page = await (await anonymous.get("/ui/")).text()
    loaded = re.findall(r'(?:src|href)="(/ui/[^"]+)"', page)
    assert sorted(loaded) == sorted(
        f"/ui/{name}" for name in dashboard.CONTENT_TYPES if name != dashboard.PAGE
    )
    for path in loaded:
        assert (await anonymous.get(path)).status == 200
    # No other origin: every URL the page and its script name is a path of this server.
    for name in dashboard.CONTENT_TYPES:
        text = await (await anonymous.get(f"/ui/{name}")).text()
        assert not re.search(r"https?://", text), name


@pytest.mark.parametrize("name", ["nothing.js", "..%2Fdashboard.py", "index.htm", "app.js.map"])
async def test_an_unknown_file_is_a_404_in_the_api_error_shape(
    anonymous: Client, name: str
) -> None:
    response = await anonymous.get(f"/ui/{name}")
    assert response.status == 404
    assert await response.json() == {"detail": "Not found."}


async def test_the_api_behind_the_page_still_needs_credentials(anonymous: Client) -> None:
    response = await anonymous.get("/pulp/api/v3/migrationreport/")
    assert response.status == 401
