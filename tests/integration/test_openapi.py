"""``/pulp/api/v3/docs/api.json`` against the server that serves it.

- the document is a structurally valid OpenAPI 3 document (a checker written here: operations
  with responses, every ``$ref`` resolving, path parameters declared, unique operation ids);
- every route the app registers under ``/pulp/api/v3/`` (and the content app) is documented,
  and every documented operation is registered;
- every documented JSON ``GET`` answers, with real data in the database, a body that validates
  against its documented schema (converted from OpenAPI 3.0 to JSON Schema 2020-12), and so do
  the error answers (401, 404, 400) and the write operations of plans, runs and reports.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest
import yarl
from aiohttp import web

from pulp2to3.http import openapi
from tests.http_support import Client, app_for, client_for
from tests.migrated_support import Migrated, populate

API = "/pulp/api/v3/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)

DOCUMENT = openapi.document()


# --- a structural check of OpenAPI 3 documents ------------------------------------------------


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` value in the document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The object a local ``$ref`` (``#/a/b``) points at; KeyError if none."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise KeyError(ref)
        node = node[part]
    return node


def _deref(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(document, node["$ref"])
    return node


def openapi_problems(document: dict[str, Any]) -> list[str]:
    """What makes ``document`` an invalid OpenAPI 3 document (empty: none found)."""
    problems: list[str] = []
    if not re.fullmatch(r"3\.[01]\.\d+", str(document.get("openapi", ""))):
        problems.append(f"openapi version {document.get('openapi')!r} is not 3.0.x or 3.1.x")
    info = document.get("info")
    if not isinstance(info, dict) or not all(
        isinstance(info.get(key), str) for key in ("title", "version")
    ):
        problems.append("info needs a title and a version")
    unresolved = []
    for where, ref in _refs(document):
        try:
            resolve(document, ref)
        except KeyError:
            unresolved.append(f"{where}: $ref {ref} does not resolve")
    if unresolved:
        return problems + unresolved  # the rest dereferences

    schemes = document.get("components", {}).get("securitySchemes", {})
    requirements = list(document.get("security", []))
    operation_ids: set[str] = set()
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        return [*problems, "no paths"]
    for path, item in paths.items():
        if not path.startswith("/"):
            problems.append(f"{path}: a path must start with /")
        operations = {m: op for m, op in item.items() if m in METHODS}
        if not operations:
            problems.append(f"{path}: no operation")
        templated = set(re.findall(r"\{([^}/]+)\}", path))
        for method, operation in operations.items():
            at = f"{method.upper()} {path}"
            operation_id = operation.get("operationId")
            if operation_id in operation_ids:
                problems.append(f"{at}: operationId {operation_id} is used twice")
            operation_ids.add(operation_id)
            parameters = [
                _deref(document, p)
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]
            ]
            for parameter in parameters:
                if not {"name", "in"} <= set(parameter) or "schema" not in parameter:
                    problems.append(f"{at}: parameter {parameter} needs name, in and schema")
            in_path = {p["name"] for p in parameters if p.get("in") == "path"}
            if in_path != templated:
                problems.append(f"{at}: path parameters {in_path} != template {templated}")
            for parameter in parameters:
                if parameter.get("in") == "path" and parameter.get("required") is not True:
                    problems.append(f"{at}: path parameter {parameter['name']} must be required")
            responses = operation.get("responses")
            if not isinstance(responses, dict) or not responses:
                problems.append(f"{at}: no responses")
                continue
            for code, response in responses.items():
                if not re.fullmatch(r"[1-5](\d\d|XX)|default", str(code)):
                    problems.append(f"{at}: response key {code!r} is not a status code")
                if "description" not in _deref(document, response):
                    problems.append(f"{at} {code}: a response needs a description")
                for media in _deref(document, response).get("content", {}).values():
                    if "schema" not in media:
                        problems.append(f"{at} {code}: media type without a schema")
            body = operation.get("requestBody")
            if body is not None and not _deref(document, body).get("content"):
                problems.append(f"{at}: requestBody without content")
            requirements.extend(operation.get("security", []))
    for requirement in requirements:
        for name in requirement:
            if name not in schemes:
                problems.append(f"security scheme {name} is not defined")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft202012Validator.check_schema(json_schema(schema))
        except jsonschema.SchemaError as exc:
            problems.append(f"schema {name}: {exc.message}")
    return problems


# --- OpenAPI 3.0 schema objects as JSON Schema 2020-12 ----------------------------------------

_OPENAPI_ONLY = frozenset({"nullable", "example", "discriminator", "xml", "externalDocs"})


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: ``nullable`` becomes a ``null`` type,
    component references point into ``$defs``, OpenAPI-only keywords go."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            converted[key] = value.replace("#/components/schemas/", "#/$defs/")
        elif key in _OPENAPI_ONLY:
            continue
        elif key in ("properties", "$defs"):
            converted[key] = {name: json_schema(schema) for name, schema in value.items()}
        else:
            converted[key] = json_schema(value)
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


FORMATS = jsonschema.FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or yarl.URL(value).absolute


def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or (value.startswith("/") or yarl.URL(value).absolute)


def _is_uuid(value: object) -> bool:
    try:
        return not isinstance(value, str) or str(uuid.UUID(value)) == value
    except ValueError:
        return False


for _name, _check in (
    ("date-time", _is_date_time),
    ("uri", _is_uri),
    ("uri-reference", _is_uri_reference),
    ("uuid", _is_uuid),
):
    FORMATS.checks(_name)(_check)


def validator_for(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    definitions = {name: json_schema(s) for name, s in DOCUMENT["components"]["schemas"].items()}
    return jsonschema.Draft202012Validator(
        {"$defs": definitions, **json_schema(schema)}, format_checker=FORMATS
    )


def assert_valid(schema: dict[str, Any], body: Any, what: str) -> None:
    errors = sorted(validator_for(schema).iter_errors(body), key=lambda e: list(e.path))
    messages = [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors]
    assert not messages, f"{what} does not match its documented schema:\n" + "\n".join(messages)


def documented_schema(path: str, method: str, status: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method]
    response = _deref(DOCUMENT, operation["responses"][status])
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


# --- the document itself ----------------------------------------------------------------------


def test_the_document_is_a_valid_openapi_document() -> None:
    assert openapi_problems(DOCUMENT) == []


def test_the_checker_finds_broken_documents() -> None:
    broken = {
        "openapi": "2.0",
        "info": {"title": "x"},
        "paths": {"/a/{id}/": {"get": {"responses": {}}}, "b": {}},
        "x": {"$ref": "#/components/schemas/Missing"},
    }
    problems = openapi_problems(broken)
    assert any("openapi version" in p for p in problems)
    assert any("does not resolve" in p for p in problems)
    del broken["x"]
    problems = openapi_problems(broken)
    assert any("no responses" in p for p in problems)
    assert any("path parameters" in p for p in problems)
    assert any("must start with /" in p for p in problems)
    assert any("b: no operation" in p for p in problems)


def test_every_endpoint_of_the_contract_is_described() -> None:
    paths = DOCUMENT["paths"]
    described = {
        (method, path) for path, item in paths.items() for method in item if method in METHODS
    }
    contract = {
        ("get", f"{API}status/"),
        ("get", f"{API}docs/api.json"),
        ("post", f"{API}migration-plans/"),
        ("get", f"{API}migration-plans/"),
        ("get", f"{API}migration-plans/{{id}}/"),
        ("delete", f"{API}migration-plans/{{id}}/"),
        ("post", f"{API}migration-plans/{{id}}/run/"),
        ("get", f"{API}migrationreport/"),
        ("get", f"{API}migrationreport/{{id}}/"),
        ("patch", f"{API}migrationreport/{{id}}/"),
        ("get", f"{API}tasks/"),
        ("get", f"{API}tasks/{{id}}/"),
        ("get", f"{API}task-groups/"),
        ("get", f"{API}task-groups/{{id}}/"),
        ("get", f"{API}pulp2repositories/"),
        ("get", f"{API}pulp2content/"),
        ("get", f"{API}repositories/"),
        ("get", f"{API}repositories/{{id}}/versions/"),
        ("get", f"{API}publications/"),
        ("get", f"{API}distributions/"),
        ("get", f"{API}remotes/"),
        ("get", f"{API}content/"),
        ("get", "/pulp/content/{path}"),
        ("head", "/pulp/content/{path}"),
    }
    assert contract <= described


def test_only_status_the_document_the_content_app_and_the_dashboard_are_public() -> None:
    assert DOCUMENT["security"] == [{"basicAuth": []}]
    assert DOCUMENT["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
    }
    public = {
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert public == {
        ("get", f"{API}status/"),
        ("get", f"{API}docs/api.json"),
        ("get", "/pulp/content/{path}"),
        ("head", "/pulp/content/{path}"),
        ("get", "/"),
        ("get", "/ui/"),
        ("get", "/ui/{file}"),
    }
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if (method, path) not in public:
                assert "401" in operation["responses"], (method, path)


# --- the running server -----------------------------------------------------------------------


@pytest.fixture
async def migrated(pool: asyncpg.Pool, tmp_path: Path) -> Migrated:
    return await populate(pool, tmp_path / "media")


@pytest.fixture
def app(db_url: str, pool: asyncpg.Pool, migrated: Migrated) -> web.Application:
    return app_for(db_url, pool, migrated.media_root)


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[Client]:
    async with client_for(app, authenticated=True) as client:
        yield client


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template with bare ``{}``) of every route; HEAD added by GET left out."""
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        routes.add((route.method.lower(), _template(route.resource.canonical)))  # type: ignore[union-attr]
    return routes


def documented_operations() -> set[tuple[str, str]]:
    return {
        (method, _template(path))
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in METHODS and method != "head"
    }


def test_every_registered_route_is_documented(app: web.Application) -> None:
    undocumented = registered_routes(app) - documented_operations()
    assert not undocumented, f"routes missing from api.json: {sorted(undocumented)}"


@pytest.mark.parametrize(
    ("method", "path"),
    sorted(
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in METHODS and method != "head"
    ),
)
def test_every_documented_operation_is_registered(
    app: web.Application, method: str, path: str
) -> None:
    assert (method, _template(path)) in registered_routes(app), (
        f"{method.upper()} {path} is documented but not registered"
    )


@pytest.fixture
async def migration(client: Client, pool: asyncpg.Pool) -> dict[str, str]:
    """A plan, a run of it (report and migration task, no worker), a step with a failed unit
    and a task error, so that every field of reports and tasks has a value to check."""
    created = await client.post(
        f"{API}migration-plans/", json={"plan": {"plugins": [{"type": "iso"}]}}
    )
    assert created.status == 201, await created.text()
    plan = await created.json()
    assert_valid(documented_schema(f"{API}migration-plans/", "post", "201"), plan, "POST plan")
    started = await client.post(f"{plan['pulp_href']}run/", json={"validate": True})
    assert started.status == 202, await started.text()
    run = await started.json()
    assert_valid(
        documented_schema(f"{API}migration-plans/{{id}}/run/", "post", "202"), run, "POST run"
    )
    migration_id = uuid.UUID(run["report"].rstrip("/").rsplit("/", 1)[-1])
    task_id = int(run["task"].rstrip("/").rsplit("/", 1)[-1])
    async with pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO migration_step (migration_id, position, code, description, status, total)"
            " VALUES ($1, 0, 'premigrate', 'Read the Pulp 2 dump', 'running', 3)",
            migration_id,
        )
        await connection.execute(
            "INSERT INTO migration_unit_failure (migration_id, step_code, batch_key, pulp2_id,"
            " reason) VALUES ($1, 'premigrate', 'b0', 'u-x', 'the file is missing')",
            migration_id,
        )
        await connection.execute(
            "UPDATE migration_task SET error_description = 'boom', error_traceback = 'Traceback'"
            " WHERE job_id = $1",
            task_id,
        )
    return {
        "migration-plans": plan["pulp_href"].rstrip("/").rsplit("/", 1)[-1],
        "migrationreport": str(migration_id),
        "task-groups": str(migration_id),
        "tasks": str(task_id),
    }


def concrete(path: str, migrated: Migrated, migration: dict[str, str]) -> str:
    """A documented path with real ids in place of its parameters."""
    ids: dict[str, str] = {
        "repositories": str(migrated.repository),
        "publications": str(migrated.publication),
        "distributions": str(migrated.distribution),
        "remotes": str(migrated.remote),
        "content": str(migrated.content["a.iso"]),
        "pulp2repositories": str(migrated.pulp2_repositories["file"]),
        "pulp2content": str(migrated.pulp2_content["u-a"]),
        **migration,
    }
    collection = path[len(API) :].split("/", 1)[0]
    return path.replace("{id}", ids.get(collection, "?")).replace("{number}", "2")


JSON_GETS = sorted(
    path
    for path, item in DOCUMENT["paths"].items()
    if "get" in item
    and "application/json" in _deref(DOCUMENT, item["get"]["responses"]["200"]).get("content", {})
)


@pytest.mark.parametrize("path", JSON_GETS)
async def test_every_documented_get_answers_its_documented_schema(
    client: Client,
    migrated: Migrated,
    migration: dict[str, str],
    path: str,
) -> None:
    url = concrete(path, migrated, migration)
    response = await client.get(url)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    if path == openapi.DOC_PATH:
        assert body == DOCUMENT
    if isinstance(body, dict) and "results" in body:
        assert body["results"], f"{url}: an empty page would check nothing"
    assert_valid(documented_schema(path, "get", "200"), body, f"GET {url}")


def _has_response(path: str, method: str, status: str) -> bool:
    return status in DOCUMENT["paths"][path][method]["responses"]


@pytest.mark.parametrize("path", [p for p in JSON_GETS if _has_response(p, "get", "404")])
async def test_documented_404s_answer_the_error_schema(client: Client, path: str) -> None:
    url = path.replace("{id}", str(uuid.uuid4())).replace("{number}", "0")
    if "{id}" in path and path.startswith(f"{API}tasks/"):
        url = path.replace("{id}", "987654321")
    response = await client.get(url)
    assert response.status == 404
    assert_valid(documented_schema(path, "get", "404"), await response.json(), f"404 of {url}")


@pytest.mark.parametrize("path", [p for p in JSON_GETS if _has_response(p, "get", "400")])
async def test_documented_400s_answer_the_error_schema(
    client: Client, migrated: Migrated, path: str
) -> None:
    url = concrete(path, migrated, {})
    # A list refuses the limit; a detail that takes fields refuses one it does not have.
    response = await client.get(url, params={"limit": "many", "fields": "no_such_field"})
    assert response.status == 400
    assert_valid(documented_schema(path, "get", "400"), await response.json(), f"400 of {url}")


@pytest.mark.parametrize("path", [p for p in JSON_GETS if _has_response(p, "get", "401")])
async def test_documented_401s_answer_the_error_schema(app: web.Application, path: str) -> None:
    async with client_for(app, authenticated=False) as anonymous:
        response = await anonymous.get(path.replace("{id}", "x").replace("{number}", "0"))
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="pulp"'
        body = await response.json()
    assert_valid(documented_schema(path, "get", "401"), body, f"401 of {path}")


async def test_cancel_and_delete_answer_their_documented_shapes(
    client: Client, migration: dict[str, str]
) -> None:
    report = f"{API}migrationreport/{migration['migrationreport']}/"
    canceled = await client.patch(report, json={"status": "canceled"})
    assert canceled.status == 200, await canceled.text()
    assert_valid(
        documented_schema(f"{API}migrationreport/{{id}}/", "patch", "200"),
        await canceled.json(),
        "PATCH report",
    )
    again = await client.patch(report, json={"status": "canceled"})
    assert again.status == 409
    assert_valid(
        documented_schema(f"{API}migrationreport/{{id}}/", "patch", "409"),
        await again.json(),
        "PATCH finished report",
    )
    bad = await client.post(f"{API}migration-plans/", json={"plan": {"plugins": []}})
    assert bad.status == 400
    assert_valid(
        documented_schema(f"{API}migration-plans/", "post", "400"), await bad.json(), "bad plan"
    )
    unsupported = await client.post(
        f"{API}migration-plans/", data=b"plan", headers={"Content-Type": "text/plain"}
    )
    assert unsupported.status == 415
    deleted = await client.delete(f"{API}migration-plans/{migration['migration-plans']}/")
    assert deleted.status == 204
    assert "204" in DOCUMENT["paths"][f"{API}migration-plans/{{id}}/"]["delete"]["responses"]


async def test_the_document_is_served_without_credentials(app: web.Application) -> None:
    async with client_for(app, authenticated=False) as anonymous:
        response = await anonymous.get(openapi.DOC_PATH)
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.json() == DOCUMENT
        head = await anonymous.head(openapi.DOC_PATH)
        assert head.status == 200


async def test_the_content_app_answers_as_documented(client: Client) -> None:
    responses = DOCUMENT["paths"]["/pulp/content/{path}"]["get"]["responses"]
    checks: list[tuple[str, dict[str, str], int]] = [
        ("/pulp/content/nested/base/a.iso", {}, 200),
        ("/pulp/content/nested/base/a.iso", {"Range": "bytes=0-1"}, 206),
        ("/pulp/content/nested/base", {}, 301),
        ("/pulp/content/nested/base/on-demand.iso", {}, 302),
        ("/pulp/content/nested/base/missing", {}, 404),
        ("/pulp/content/nested/base/a.iso", {"Range": "bytes=900-999"}, 416),
    ]
    for url, headers, status in checks:
        response = await client.get(url, headers=headers, allow_redirects=False)
        assert response.status == status, url
        assert str(status) in responses
        for header in responses[str(status)].get("headers", {}):
            if header != "ETag" or status == 200:
                assert header in response.headers, (url, header)
