"""What was migrated, read-only, in Pulp 3's shapes: repositories and their versions,
publications, distributions, remotes, content, and the Pulp 2 → Pulp 3 mapping.

Handlers parse the request, call :mod:`pulp2to3.store.views` and render; hrefs carry the
objects' UUIDs (``pulp_id``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg
import yarl
from aiohttp import web

from pulp2to3.http import filters, state
from pulp2to3.http.errors import NOT_FOUND, APIError
from pulp2to3.http.pagination import PageRequest, page_of, page_response
from pulp2to3.http.rendering import json_response, rfc3339
from pulp2to3.plugins.registry import PLUGINS
from pulp2to3.store import lists
from pulp2to3.store import views as store
from pulp2to3.store.lists import Op

API = "/pulp/api/v3/"
REPOSITORIES = f"{API}repositories/"
PUBLICATIONS = f"{API}publications/"
DISTRIBUTIONS = f"{API}distributions/"
REMOTES = f"{API}remotes/"
CONTENT = f"{API}content/"
PULP2_REPOSITORIES = f"{API}pulp2repositories/"
PULP2_CONTENT = f"{API}pulp2content/"
CONTENT_APP = "/pulp/content/"

# Remote options Pulp 3 never shows, only says whether they are set.
HIDDEN_REMOTE_FIELDS = ("client_key", "proxy_username", "proxy_password", "username", "password")

# The query parameters naming a repository version whose content /content/ lists.
VERSION_FILTERS: Mapping[str, store.Membership] = {
    "repository_version": store.Membership.PRESENT,
    "repository_version_added": store.Membership.ADDED,
    "repository_version_removed": store.Membership.REMOVED,
}

_VERSION_HREF = re.compile(rf"^{re.escape(REPOSITORIES)}([^/]+)/versions/(\d+)/$")
_MAX_VERSION_NUMBER = 2**31 - 1

T = TypeVar("T")
K = TypeVar("K")


# --- hrefs ------------------------------------------------------------------------------------


def repository_href(pulp_id: uuid.UUID) -> str:
    return f"{REPOSITORIES}{pulp_id}/"


def version_href(repository_pulp_id: uuid.UUID, number: int) -> str:
    return f"{REPOSITORIES}{repository_pulp_id}/versions/{number}/"


def publication_href(pulp_id: uuid.UUID) -> str:
    return f"{PUBLICATIONS}{pulp_id}/"


def distribution_href(pulp_id: uuid.UUID) -> str:
    return f"{DISTRIBUTIONS}{pulp_id}/"


def remote_href(pulp_id: uuid.UUID) -> str:
    return f"{REMOTES}{pulp_id}/"


def content_href(pulp_id: uuid.UUID) -> str:
    return f"{CONTENT}{pulp_id}/"


def _maybe(href: Callable[[uuid.UUID], str], pulp_id: uuid.UUID | None) -> str | None:
    return None if pulp_id is None else href(pulp_id)


# --- rendering --------------------------------------------------------------------------------


def repository_json(repository: store.Repository) -> dict[str, Any]:
    href = repository_href(repository.pulp_id)
    latest = repository.latest_version
    return {
        "pulp_href": href,
        "pulp_created": rfc3339(repository.created_at),
        "pulp_type": repository.pulp_type,
        "name": repository.name,
        "description": repository.description,
        "remote": _maybe(remote_href, repository.remote_pulp_id),
        "versions_href": f"{href}versions/",
        "latest_version_href": None if latest is None else version_href(repository.pulp_id, latest),
    }


def version_json(version: store.RepositoryVersion) -> dict[str, Any]:
    href = version_href(version.repository_pulp_id, version.number)
    summary = version.content_summary

    def counts(per_type: Mapping[str, int], filter_name: str) -> dict[str, Any]:
        return {
            pulp_type: {"count": count, "href": f"{CONTENT}?{filter_name}={href}"}
            for pulp_type, count in sorted(per_type.items())
        }

    return {
        "pulp_href": href,
        "pulp_created": rfc3339(version.created_at),
        "number": version.number,
        "repository": repository_href(version.repository_pulp_id),
        "content_summary": {
            "added": counts(summary.added, "repository_version_added"),
            "removed": counts(summary.removed, "repository_version_removed"),
            "present": counts(summary.present, "repository_version"),
        },
    }


def publication_json(publication: store.Publication) -> dict[str, Any]:
    return {
        "pulp_href": publication_href(publication.pulp_id),
        "pulp_created": rfc3339(publication.created_at),
        "pulp_type": publication.pulp_type,
        "repository_version": version_href(
            publication.repository_pulp_id, publication.version_number
        ),
        "repository": repository_href(publication.repository_pulp_id),
        "distributions": [distribution_href(d) for d in publication.distribution_pulp_ids],
    }


def base_url(request: web.Request, base_path: str) -> str:
    """Where the content app serves a distribution, as the client reached this server."""
    return f"{request.scheme}://{request.host}{CONTENT_APP}{base_path}/"


def distribution_json(request: web.Request, distribution: store.Distribution) -> dict[str, Any]:
    return {
        "pulp_href": distribution_href(distribution.pulp_id),
        "pulp_created": rfc3339(distribution.created_at),
        "pulp_type": distribution.pulp_type,
        "name": distribution.name,
        "base_path": distribution.base_path,
        "base_url": base_url(request, distribution.base_path),
        "publication": _maybe(publication_href, distribution.publication_pulp_id),
    }


def remote_json(remote: store.Remote) -> dict[str, Any]:
    return {
        "pulp_href": remote_href(remote.pulp_id),
        "pulp_created": rfc3339(remote.created_at),
        "pulp_type": remote.pulp_type,
        "name": remote.name,
        "url": remote.url,
        "policy": remote.policy,
        "options": {
            name: value
            for name, value in remote.options.items()
            if name not in HIDDEN_REMOTE_FIELDS
        },
        "hidden_fields": [
            {"name": name, "is_set": remote.options.get(name) is not None}
            for name in HIDDEN_REMOTE_FIELDS
        ],
    }


def content_json(content: store.Content) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pulp_href": content_href(content.pulp_id),
        "pulp_created": rfc3339(content.created_at),
        "pulp_type": content.pulp_type,
    }
    if content.file is not None:
        body.update(
            relative_path=content.file.relative_path,
            sha256=content.file.sha256,
            size=content.file.size,
        )
    else:
        body["natural_key"] = content.natural_key
    return body


# pulp-2to3-migration's pulp2_repo_type is the plan's plugin type ("iso"), not the Pulp 2 note
# ("iso-repo") staged here; a repository of no plugin's type has none.
PLUGIN_OF_REPO_TYPE = {plugin.pulp2_repo_type: name for name, plugin in PLUGINS.items()}


def pulp2_repository_json(repository: store.Pulp2Repository) -> dict[str, Any]:
    version = repository.version
    return {
        "pulp_href": f"{PULP2_REPOSITORIES}{repository.pulp_id}/",
        "pulp_created": rfc3339(repository.created_at),
        "pulp2_object_id": repository.pulp2_object_id,
        "pulp2_repo_id": repository.pulp2_repo_id,
        "pulp2_repo_type": PLUGIN_OF_REPO_TYPE.get(repository.pulp2_repo_type or ""),
        "is_migrated": repository.is_migrated,
        "not_in_plan": repository.not_in_plan,
        "pulp3_repository_href": _maybe(repository_href, repository.repository_pulp_id),
        "pulp3_repository_version": None if version is None else version_href(*version),
        "pulp3_remote_href": _maybe(remote_href, repository.remote_pulp_id),
        "pulp3_publication_href": _maybe(publication_href, repository.publication_pulp_id),
        "pulp3_distribution_hrefs": [
            distribution_href(d) for d in repository.distribution_pulp_ids
        ],
    }


def pulp2_content_json(content: store.Pulp2Content) -> dict[str, Any]:
    return {
        "pulp_href": f"{PULP2_CONTENT}{content.pulp_id}/",
        "pulp_created": rfc3339(content.created_at),
        "pulp2_id": content.pulp2_id,
        "pulp2_content_type_id": content.content_type,
        "pulp2_last_updated": content.last_updated,
        "pulp2_storage_path": content.storage_path,
        "downloaded": content.downloaded,
        "is_migrated": content.is_migrated,
        "not_in_plan": content.not_in_plan,
        "pulp3_content": _maybe(content_href, content.content_pulp_id),
        # pulp-2to3-migration set it only on a unit staged once per repository (an erratum, one
        # Pulp 3 advisory per repository); here every unit is one row and one Pulp 3 content.
        "pulp3_repository_version": None,
    }


# --- request parsing --------------------------------------------------------------------------


def path_uuid(request: web.Request) -> uuid.UUID:
    """The ``{id}`` of the path; a malformed one names nothing (404)."""
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise APIError(404, NOT_FOUND) from None


def _version_number(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or int(text) > _MAX_VERSION_NUMBER:
        return None
    return int(text)


def _text_filter(request: web.Request, name: str) -> str | None:
    return request.query.get(name) or None


def _version_filter(request: web.Request) -> store.VersionFilter | None:
    given = [(name, request.query[name]) for name in VERSION_FILTERS if request.query.get(name)]
    if not given:
        return None
    if len(given) > 1:
        message = "Give only one of " + ", ".join(VERSION_FILTERS) + "."
        raise APIError.field_errors({name: [message] for name, _ in given})
    [(name, value)] = given
    # An href, or the full URL of one.
    match = _VERSION_HREF.match(yarl.URL(value).path)
    number = None if match is None else _version_number(match[2])
    try:
        repository_id = None if match is None else uuid.UUID(match[1])
    except ValueError:
        repository_id = None
    if repository_id is None or number is None:
        raise APIError.field_errors({name: ["Invalid hyperlink - No URL match."]})
    return store.VersionFilter(repository_id, number, VERSION_FILTERS[name])


# --- handlers ---------------------------------------------------------------------------------


async def detail_response(
    request: web.Request,
    key: K,
    read: Callable[[asyncpg.Connection, K], Awaitable[T | None]],
    render: Callable[[T], dict[str, Any]],
) -> web.Response:
    """One object read by its key and rendered; 404 when there is none."""
    async with request.app[state.POOL].acquire() as connection:
        found = await read(connection, key)
    if found is None:
        raise APIError(404, NOT_FOUND)
    return json_response(render(found))


async def list_response(
    request: web.Request,
    page: PageRequest,
    read: Callable[[asyncpg.Connection, int, int], Awaitable[store.Page[T] | None]],
    render: Callable[[T], dict[str, Any]],
) -> web.Response:
    """A page of objects, rendered; 404 when what they belong to does not exist (``None``)."""
    async with request.app[state.POOL].acquire() as connection:
        found = await read(connection, page.limit, page.offset)
    if found is None:
        raise APIError(404, NOT_FOUND)
    count, rows = found
    return json_response(page_response(request, page, count, [render(row) for row in rows]))


async def list_repositories(request: web.Request) -> web.Response:
    return await list_response(request, page_of(request), store.list_repositories, repository_json)


async def get_repository(request: web.Request) -> web.Response:
    return await detail_response(request, path_uuid(request), store.get_repository, repository_json)


async def list_versions(request: web.Request) -> web.Response:
    repository_id = path_uuid(request)
    return await list_response(
        request,
        page_of(request),
        lambda connection, limit, offset: store.list_repository_versions(
            connection, repository_id, limit, offset
        ),
        version_json,
    )


async def get_version(request: web.Request) -> web.Response:
    repository_id = path_uuid(request)
    number = _version_number(request.match_info["number"])
    if number is None:
        raise APIError(404, NOT_FOUND)
    return await detail_response(
        request,
        repository_id,
        lambda connection, repository_id: store.get_repository_version(
            connection, repository_id, number
        ),
        version_json,
    )


async def list_publications(request: web.Request) -> web.Response:
    return await list_response(request, page_of(request), store.list_publications, publication_json)


async def get_publication(request: web.Request) -> web.Response:
    return await detail_response(
        request, path_uuid(request), store.get_publication, publication_json
    )


async def list_distributions(request: web.Request) -> web.Response:
    return await list_response(
        request,
        page_of(request),
        store.list_distributions,
        lambda d: distribution_json(request, d),
    )


async def get_distribution(request: web.Request) -> web.Response:
    return await detail_response(
        request,
        path_uuid(request),
        store.get_distribution,
        lambda d: distribution_json(request, d),
    )


async def list_remotes(request: web.Request) -> web.Response:
    return await list_response(request, page_of(request), store.list_remotes, remote_json)


async def get_remote(request: web.Request) -> web.Response:
    return await detail_response(request, path_uuid(request), store.get_remote, remote_json)


async def list_content(request: web.Request) -> web.Response:
    page = page_of(request)
    version = _version_filter(request)
    pulp_type = _text_filter(request, "pulp_type")

    async def read(
        connection: asyncpg.Connection, limit: int, offset: int
    ) -> store.Page[store.Content]:
        try:
            return await store.list_content(
                connection, pulp_type=pulp_type, version=version, limit=limit, offset=offset
            )
        except store.UnknownVersion:
            names = [name for name in VERSION_FILTERS if request.query.get(name)]
            raise APIError.field_errors(
                {name: ["Invalid hyperlink - Object does not exist."] for name in names}
            ) from None

    return await list_response(request, page, read, content_json)


async def get_content(request: web.Request) -> web.Response:
    return await detail_response(request, path_uuid(request), store.get_content, content_json)


PULP2_REPOSITORY_FILTERS = (
    filters.Filter("pulp2_repo_id", (Op.EQ, Op.IN), filters.text),
    filters.Filter("is_migrated", (Op.EQ,), filters.boolean),
    filters.Filter("not_in_plan", (Op.EQ,), filters.boolean),
)
PULP2_CONTENT_FILTERS = (
    filters.Filter("pulp2_id", (Op.EQ, Op.IN), filters.text),
    filters.Filter("pulp2_content_type_id", (Op.EQ, Op.IN), filters.text),
    filters.Filter(
        "pulp2_last_updated",
        (Op.EQ, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.RANGE),
        filters.timestamp,
    ),
    filters.Filter("pulp3_content", (Op.EQ,), filters.uuid_of_href),
    # Beyond pulp-2to3-migration's: as on pulp2repositories.
    filters.Filter("is_migrated", (Op.EQ,), filters.boolean),
    filters.Filter("not_in_plan", (Op.EQ,), filters.boolean),
)


async def list_pulp2_repositories(request: web.Request) -> web.Response:
    conditions, ordering = filters.list_query(
        request, PULP2_REPOSITORY_FILTERS, lists.PULP2_REPOSITORIES.columns
    )
    return await list_response(
        request,
        page_of(request),
        lambda connection, limit, offset: lists.list_pulp2_repositories(
            connection, conditions, ordering, limit, offset
        ),
        filters.shaped(request, pulp2_repository_json),
    )


async def get_pulp2_repository(request: web.Request) -> web.Response:
    return await detail_response(
        request,
        path_uuid(request),
        store.get_pulp2_repository,
        filters.shaped(request, pulp2_repository_json),
    )


async def list_pulp2_content(request: web.Request) -> web.Response:
    conditions, ordering = filters.list_query(
        request, PULP2_CONTENT_FILTERS, lists.PULP2_CONTENT.columns
    )
    return await list_response(
        request,
        page_of(request),
        lambda connection, limit, offset: lists.list_pulp2_content(
            connection, conditions, ordering, limit, offset
        ),
        filters.shaped(request, pulp2_content_json),
    )


async def get_pulp2_content(request: web.Request) -> web.Response:
    return await detail_response(
        request,
        path_uuid(request),
        store.get_pulp2_content,
        filters.shaped(request, pulp2_content_json),
    )


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(REPOSITORIES, list_repositories)
    router.add_get(REPOSITORIES + "{id}/", get_repository)
    router.add_get(REPOSITORIES + "{id}/versions/", list_versions)
    router.add_get(REPOSITORIES + "{id}/versions/{number}/", get_version)
    for root, listing, detail in (
        (PUBLICATIONS, list_publications, get_publication),
        (DISTRIBUTIONS, list_distributions, get_distribution),
        (REMOTES, list_remotes, get_remote),
        (CONTENT, list_content, get_content),
        (PULP2_REPOSITORIES, list_pulp2_repositories, get_pulp2_repository),
        (PULP2_CONTENT, list_pulp2_content, get_pulp2_content),
    ):
        router.add_get(root, listing)
        router.add_get(root + "{id}/", detail)
