"""The content app: ``GET|HEAD /pulp/content/{base_path}/{relative_path}``, no authentication.

The distribution is the one whose base path is the longest prefix of the path (base paths may
hold ``/``); what it serves is its publication's generated metadata or content files. A file
that was downloaded is streamed from the media root; one that never was (on_demand) is a
``302`` to a URL it can be fetched from. A path ending in ``/`` lists that folder.

The path is read from the request line as sent (``raw_path``) and refused (404) when any
segment, once decoded, is ``.`` or ``..`` or holds ``/``, ``\\`` or NUL, so that neither plain
nor encoded traversal reaches a lookup; the artifact's resolved path must also stay inside
the media root (a symlink pointing out of it is refused).
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

import asyncpg
from aiohttp import hdrs, web

from pulp2to3.http import state
from pulp2to3.http.errors import NOT_FOUND, APIError
from pulp2to3.store import views as store

ROOT = "/pulp/content/"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Compressed files are served as what they are, never with a Content-Encoding that would make
# clients unpack them.
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}
_FORBIDDEN_IN_SEGMENT = ("/", "\\", "\0")


def split_path(raw_path: str) -> tuple[list[str], bool] | None:
    """The decoded segments under the content root, and whether the path names a folder
    (ends in ``/``); ``None`` for a path that is not a safe one."""
    path = raw_path.partition("?")[0]
    if not path.startswith(ROOT):
        return None
    raw_segments = path[len(ROOT) :].split("/")
    is_folder = raw_segments[-1] == ""
    if is_folder:
        raw_segments.pop()
    segments = []
    for raw in raw_segments:
        try:
            segment = urllib.parse.unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if segment in ("", ".", "..") or any(bad in segment for bad in _FORBIDDEN_IN_SEGMENT):
            return None
        segments.append(segment)
    return segments, is_folder


def content_type(relative_path: str) -> str:
    """The Content-Type of a served file, by its published name."""
    guessed, encoding = mimetypes.guess_type(relative_path.rsplit("/", 1)[-1], strict=False)
    if encoding is not None:
        return _COMPRESSED_TYPES.get(encoding, DEFAULT_CONTENT_TYPE)
    return guessed or DEFAULT_CONTENT_TYPE


def inside_media_root(media_root: Path, file: str) -> Path | None:
    """Blocking: the real path of an artifact file, if it is a regular file inside the root."""
    root = media_root.resolve()
    candidate = (root / file).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def render_listing(title: str, entries: Iterable[tuple[str, bool]], *, parent: bool) -> str:
    """A simple HTML index: one link per name, folders with a trailing ``/``."""
    lines = ['<a href="../">../</a>'] if parent else []
    for name, is_folder in entries:
        shown = name + ("/" if is_folder else "")
        href = urllib.parse.quote(name) + ("/" if is_folder else "")
        lines.append(f'<a href="{html.escape(href)}">{html.escape(shown)}</a>')
    escaped = html.escape(title)
    return (
        "<!DOCTYPE html>\n"
        f'<html><head><meta charset="utf-8"><title>Index of {escaped}</title></head>\n'
        f"<body><h1>Index of {escaped}</h1>\n<pre>\n"
        + "\n".join(lines)
        + "\n</pre></body></html>\n"
    )


def _not_found() -> APIError:
    return APIError(404, NOT_FOUND)


def _folders_of(base_paths: Iterable[str], prefix: str) -> dict[str, bool]:
    """The next segment of each base path under ``prefix`` ('' or ending in '/'), as folders."""
    return {base_path[len(prefix) :].split("/", 1)[0]: True for base_path in base_paths}


class _Folder:
    """A folder listing being built; the answer when the lookups decide on one."""

    def __init__(self, segments: list[str]) -> None:
        self.title = ROOT + "".join(f"{segment}/" for segment in segments)
        self.parent = bool(segments)
        self.entries: dict[str, bool] = {}

    def response(self) -> web.Response:
        listing = render_listing(self.title, sorted(self.entries.items()), parent=self.parent)
        return web.Response(text=listing, content_type="text/html", charset="utf-8")


def _folder_location(segments: list[str]) -> str:
    return ROOT + "".join(f"{urllib.parse.quote(segment)}/" for segment in segments)


async def _lookup(
    connection: asyncpg.Connection, segments: list[str], is_folder: bool
) -> store.PublishedFile | _Folder | str:
    """What the path names: a published file, a folder listing, or the location of the
    folder that a path without its trailing ``/`` names."""
    path = "/".join(segments)
    below = f"{path}/" if path else ""
    candidates = ["/".join(segments[: i + 1]) for i in range(len(segments))]
    distribution = await store.find_distribution(connection, candidates) if candidates else None
    publication_id = None if distribution is None else distribution.publication_id
    relative = "" if distribution is None else path[len(distribution.base_path) + 1 :]

    if not is_folder and relative and publication_id is not None:
        published = await store.published_file(connection, publication_id, relative)
        if published is not None:
            return published

    entries: list[store.FolderEntry] = []
    if publication_id is not None and (is_folder or relative):
        folder = f"{relative}/" if relative else ""
        entries = await store.published_under(connection, publication_id, folder)
    # Distributions whose base paths lie below the path show as folders in it.
    nested = await store.base_paths_under(connection, below)
    if segments and not entries and not nested and (distribution is None or relative):
        raise _not_found()
    if not is_folder:
        return _folder_location(segments)
    listing = _Folder(segments)
    listing.entries.update(_folders_of(nested, below))
    listing.entries.update((entry.name, entry.is_folder) for entry in entries)
    return listing


async def serve(request: web.Request) -> web.StreamResponse:
    parsed = split_path(request.raw_path)
    if parsed is None:
        raise _not_found()
    segments, is_folder = parsed
    async with request.app[state.POOL].acquire() as connection:
        found = await _lookup(connection, segments, is_folder)
    if isinstance(found, _Folder):
        return found.response()
    if isinstance(found, str):
        raise web.HTTPMovedPermanently(location=found)
    if found.file is not None:
        media_root = request.app[state.SETTINGS].media_root
        real = await asyncio.to_thread(inside_media_root, media_root, found.file)
        if real is None:
            raise _not_found()
        return web.FileResponse(real, headers={hdrs.CONTENT_TYPE: content_type(segments[-1])})
    if found.remote_url is not None:
        raise web.HTTPFound(location=found.remote_url)
    raise _not_found()


def add_routes(app: web.Application) -> None:
    # GET routes answer HEAD too.
    app.router.add_get(ROOT + "{path:.*}", serve)
