"""The content app over real HTTP: files from the media root, redirects for on_demand content,
folder listings, and paths that try to leave the distribution (always 404).

Traversal attempts are sent byte for byte on a raw socket: an HTTP client would normalize or
re-encode them before they reach the server.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pulp2to3.http.content_app import content_type, split_path
from tests.http_support import Client, app_for, client_for
from tests.migrated_support import (
    FILES,
    ON_DEMAND_URL,
    Migrated,
    insert_artifact,
    populate,
)

BASE = "/pulp/content/nested/base/"
SECRET = b"root:x:0:0:not for you\n"


@pytest.fixture
async def migrated(pool: asyncpg.Pool, tmp_path: Path) -> Migrated:
    return await populate(pool, tmp_path / "media")


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool, migrated: Migrated) -> AsyncIterator[Client]:
    # No credentials sent: the content app needs none even when the API requires them.
    async with client_for(
        app_for(db_url, pool, migrated.media_root), authenticated=False
    ) as client:
        yield client


async def raw_get(client: Client, target: str) -> tuple[int, bytes]:
    """Send ``GET <target>`` exactly as written; the status and the body."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        request = f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("latin-1"))
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative_path", ["a.iso", "dir/c.iso", "PULP_MANIFEST"])
async def test_published_files_are_served_with_length_type_and_etag(
    client: Client, relative_path: str
) -> None:
    response = await client.get(BASE + relative_path)
    assert response.status == 200
    assert await response.read() == FILES[relative_path]
    assert response.headers["Content-Length"] == str(len(FILES[relative_path]))
    assert response.headers["ETag"]
    # By the published name (artifact files have none); .iso is known from the system's table.
    guessed = mimetypes.guess_type(relative_path, strict=False)[0]
    assert response.headers["Content-Type"] == (guessed or "application/octet-stream")


async def test_a_range_request_gets_206_and_those_bytes(client: Client) -> None:
    response = await client.get(BASE + "a.iso", headers={"Range": "bytes=2-5"})
    assert response.status == 206
    assert await response.read() == FILES["a.iso"][2:6]
    assert response.headers["Content-Range"] == f"bytes 2-5/{len(FILES['a.iso'])}"
    assert response.headers["Content-Length"] == "4"


async def test_head_gives_the_headers_without_the_body(client: Client) -> None:
    response = await client.head(BASE + "a.iso")
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(FILES["a.iso"]))
    assert response.headers["ETag"]
    assert await response.read() == b""


async def test_a_matching_etag_is_304(client: Client) -> None:
    first = await client.get(BASE + "a.iso")
    etag = first.headers["ETag"]
    again = await client.get(BASE + "a.iso", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_on_demand_content_redirects_to_its_remote(client: Client) -> None:
    for method in ("GET", "HEAD"):
        response = await client.request(method, BASE + "on-demand.iso", allow_redirects=False)
        assert response.status == 302, method
        assert response.headers["Location"] == ON_DEMAND_URL


async def test_the_longest_base_path_wins(
    client: Client, pool: asyncpg.Pool, migrated: Migrated
) -> None:
    # "nested" is a distribution too, of the same publication but nothing under "base/".
    async with pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO distribution (pulp_type, name, base_path, publication_id)"
            " SELECT 'file.file', 'outer', 'nested', publication_id FROM distribution"
            " WHERE base_path = 'nested/base'"
        )
    assert (await client.get("/pulp/content/nested/a.iso")).status == 200
    assert await (await client.get(BASE + "a.iso")).read() == FILES["a.iso"]
    assert (await client.get("/pulp/content/nested/base/base/a.iso")).status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/pulp/content/nested/base/missing.iso",
        "/pulp/content/nested/base/b.iso",  # removed before the published version
        "/pulp/content/nested/base/dir/missing/",
        "/pulp/content/unknown/a.iso",
        "/pulp/content/unknown/",
        "/pulp/content/nested/other/a.iso",
        "/pulp/content/idle/a.iso",  # a distribution without a publication
        "/pulp/content/nested/base/a.iso/",
        "/pulp/content/nested/base/A.ISO",
    ],
)
async def test_unknown_paths_are_404(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404
    assert await response.json() == {"detail": "Not found."}


async def test_an_artifact_missing_from_disk_is_404(client: Client, migrated: Migrated) -> None:
    for file in (migrated.media_root / "artifact").rglob("*"):
        if file.is_file() and file.read_bytes() == FILES["a.iso"]:
            file.unlink()
    assert (await client.get(BASE + "a.iso")).status == 404


# --- folders ----------------------------------------------------------------------------------


async def test_a_distribution_lists_its_folder(client: Client) -> None:
    response = await client.get(BASE)
    assert response.status == 200
    assert response.content_type == "text/html"
    text = await response.text()
    assert "Index of /pulp/content/nested/base/" in text
    for link in ('href="a.iso"', 'href="PULP_MANIFEST"', 'href="dir/"', 'href="on-demand.iso"'):
        assert link in text
    assert "b.iso" not in text
    assert "c.iso" not in text  # not directly under the base path


async def test_a_subfolder_is_listed(client: Client) -> None:
    response = await client.get(BASE + "dir/")
    assert response.status == 200
    text = await response.text()
    assert 'href="c.iso"' in text
    assert 'href="../"' in text


async def test_the_root_lists_the_distributions(client: Client) -> None:
    response = await client.get("/pulp/content/")
    assert response.status == 200
    text = await response.text()
    assert 'href="nested/"' in text
    assert 'href="idle/"' in text
    nested = await (await client.get("/pulp/content/nested/")).text()
    assert 'href="base/"' in nested


async def test_a_folder_without_its_slash_redirects_to_it(client: Client) -> None:
    for path in ("/pulp/content/nested/base", BASE + "dir", "/pulp/content/nested"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 301, path
        assert response.headers["Location"] == path + "/"


async def test_names_are_escaped_in_listings(
    client: Client, pool: asyncpg.Pool, migrated: Migrated
) -> None:
    async with pool.acquire() as connection:
        artifact_id, _ = await insert_artifact(connection, migrated.media_root, b"<x>")
        await connection.execute(
            "INSERT INTO published_metadata (publication_id, relative_path, artifact_id)"
            " SELECT publication_id, $1, $2 FROM distribution WHERE base_path = 'nested/base'",
            '<script>"x"&.txt',
            artifact_id,
        )
    text = await (await client.get(BASE)).text()
    assert "<script>" not in text
    assert "&lt;script&gt;&quot;x&quot;&amp;.txt" in text
    assert 'href="%3Cscript%3E%22x%22%26.txt"' in text
    response = await client.get(BASE + "%3Cscript%3E%22x%22%26.txt")
    assert await response.read() == b"<x>"
    assert response.headers["Content-Type"] == "text/plain"


# --- traversal --------------------------------------------------------------------------------


@pytest.fixture
def secret_outside(migrated: Migrated) -> Path:
    """A file beside the media root, that no path may reach."""
    secret = migrated.media_root.parent / "secret.txt"
    secret.write_bytes(SECRET)
    return secret


@pytest.mark.parametrize(
    "target",
    [
        "/pulp/content/nested/base/../../etc/passwd",
        "/pulp/content/nested/base/../../../secret.txt",
        "/pulp/content/nested/base/../base/a.iso",
        "/pulp/content/nested/base/./a.iso",
        "/pulp/content/nested/base/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/pulp/content/nested/base/%2e%2e/a.iso",
        "/pulp/content/nested/base/%2E%2E/%2E%2E/secret.txt",
        "/pulp/content/nested/base/..%2f..%2fsecret.txt",
        "/pulp/content/nested/base/%2e/a.iso",
        "/pulp/content/nested/base/dir%2fc.iso",
        "/pulp/content/nested%2fbase/a.iso",
        "/pulp/content/nested/base/..%5c..%5csecret.txt",
        "/pulp/content/nested/base/..\\..\\secret.txt",
        "/pulp/content/nested/base/a.iso%00.txt",
        "/pulp/content/nested/base//a.iso",
        "/pulp/content//etc/passwd",
        "/pulp/content/nested/base/%ff.iso",
        "/pulp/content/../api/v3/status/",
        "/pulp/content/nested/base/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 "."
        "/pulp/content/nested/base/..%c0%af..%c0%afsecret.txt",  # overlong UTF-8 "/"
        "/pulp/content/nested/base/%e0%80%ae%e0%80%ae/secret.txt",
        "/pulp/content/nested/base/a.iso%0a",
        "/pulp/content/nested/base/a%0d%0a.iso",
    ],
)
async def test_traversal_attempts_are_404(
    client: Client, secret_outside: Path, target: str
) -> None:
    status, body = await raw_get(client, target)
    assert status == 404, body
    assert SECRET not in body
    assert b"root:" not in body


async def test_a_symlink_out_of_the_media_root_is_404(
    client: Client, pool: asyncpg.Pool, migrated: Migrated, secret_outside: Path
) -> None:
    link = migrated.media_root / "artifact" / "evil"
    os.symlink(secret_outside, link)
    async with pool.acquire() as connection:
        artifact_id = await connection.fetchval(
            "INSERT INTO artifact (sha256, size, file) VALUES ($1, 10, 'artifact/evil')"
            " RETURNING id",
            "e" * 64,
        )
        await connection.execute(
            "INSERT INTO published_metadata (publication_id, relative_path, artifact_id)"
            " SELECT publication_id, 'evil', $1 FROM distribution WHERE base_path = 'nested/base'",
            artifact_id,
        )
    response = await client.get(BASE + "evil")
    assert response.status == 404
    assert SECRET not in await response.read()


async def test_an_artifact_path_leaving_the_media_root_is_404(
    client: Client, pool: asyncpg.Pool, secret_outside: Path
) -> None:
    async with pool.acquire() as connection:
        ids = await connection.fetch(
            "INSERT INTO artifact (sha256, size, file) VALUES ($1, 1, '../secret.txt'),"
            " ($2, 1, $3) RETURNING id",
            "f" * 64,
            "d" * 64,
            str(secret_outside),
        )
        await connection.executemany(
            "INSERT INTO published_metadata (publication_id, relative_path, artifact_id)"
            " SELECT publication_id, $1, $2 FROM distribution WHERE base_path = 'nested/base'",
            [("up", ids[0]["id"]), ("absolute", ids[1]["id"])],
        )
    for name in ("up", "absolute"):
        response = await client.get(BASE + name)
        assert response.status == 404, name
        assert SECRET not in await response.read()


# --- the pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/pulp/content/", ([], True)),
        ("/pulp/content/a/b", (["a", "b"], False)),
        ("/pulp/content/a/b/?x=1", (["a", "b"], True)),
        ("/pulp/content/a%20b/c%25d", (["a b", "c%d"], False)),
        ("/pulp/content/%252e%252e/x", (["%2e%2e", "x"], False)),
        ("/pulp/content/a/../b", None),
        ("/pulp/content/a/%2E/b", None),
        ("/pulp/content/a%2Fb", None),
        ("/pulp/content/a%5Cb", None),
        ("/pulp/content/a%00", None),
        ("/pulp/content/a//b", None),
        ("/pulp/other/a", None),
    ],
)
def test_split_path(raw: str, expected: tuple[list[str], bool] | None) -> None:
    assert split_path(raw) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("repodata/primary.xml.gz", "application/gzip"),
        ("a.tar.xz", "application/x-xz"),
        ("PULP_MANIFEST", "application/octet-stream"),
        ("index.html", "text/html"),
    ],
)
def test_content_type_by_name(name: str, expected: str) -> None:
    assert content_type(name) == expected
