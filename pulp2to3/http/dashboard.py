"""The web dashboard: ``/`` and ``/ui/`` serve its page, ``/ui/{file}`` its script and style.

The files ship in the package (``pulp2to3/http/ui/``), plain HTML, JavaScript and CSS with no
build step; they are read once, when the routes are added. They are public, as the content app
is: they hold no data, and the page asks for the API's credentials before its first API call,
whose answers are what the authentication middleware guards. The Content-Security-Policy keeps
the page to this origin: no external network, no inline script.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import hdrs, web

from pulp2to3.http.errors import NOT_FOUND, APIError

ROOT = "/"
UI = "/ui/"
FILE = UI + "{file}"
PAGE = "index.html"
CONTENT_TYPES = {PAGE: "text/html", "app.js": "text/javascript", "style.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A new version of the package serves new files under the same names.
    hdrs.CACHE_CONTROL: "no-cache",
}


def _response(files: dict[str, bytes], name: str) -> web.Response:
    return web.Response(
        body=files[name], content_type=CONTENT_TYPES[name], charset="utf-8", headers=HEADERS
    )


def add_routes(app: web.Application) -> None:
    folder = resources.files(__package__) / "ui"
    files = {name: (folder / name).read_bytes() for name in CONTENT_TYPES}

    async def get_page(request: web.Request) -> web.Response:
        return _response(files, PAGE)

    async def get_file(request: web.Request) -> web.Response:
        name = request.match_info["file"]
        if name not in files:
            raise APIError(404, NOT_FOUND)
        return _response(files, name)

    app.router.add_get(ROOT, get_page)
    app.router.add_get(UI, get_page)
    app.router.add_get(FILE, get_file)
