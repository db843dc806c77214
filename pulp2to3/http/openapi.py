"""``GET /pulp/api/v3/docs/api.json``: the OpenAPI 3.0 description of the whole REST API.

Built here, by hand, from the same names the handlers use; the tests check it against the
running server (every route documented, every documented JSON answer valid against its schema).
Object schemas are closed (``additionalProperties: false``) so that a field the server adds
without documenting it fails those tests.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any

from aiohttp import web

from pulp2to3.coordination import MigrationStatus, StepStatus, TaskState
from pulp2to3.http import content_app, dashboard, filters, metrics, migrations, task_groups, views
from pulp2to3.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from pulp2to3.http.rendering import json_response
from pulp2to3.plan import SCHEMA as PLAN_SCHEMA
from pulp2to3.store import lists
from pulp2to3.store.lists import Op

API = "/pulp/api/v3/"
DOC_PATH = f"{API}docs/api.json"
OPENAPI_VERSION = "3.0.3"

Schema = dict[str, Any]

# --- schema building blocks -------------------------------------------------------------------

STRING: Schema = {"type": "string"}
HREF: Schema = {"type": "string", "format": "uri-reference"}
URL: Schema = {"type": "string", "format": "uri"}
TIME: Schema = {"type": "string", "format": "date-time"}
INTEGER: Schema = {"type": "integer"}
COUNT: Schema = {"type": "integer", "minimum": 0}
BOOLEAN: Schema = {"type": "boolean"}
RATE: Schema = {
    "type": "number",
    "minimum": 0,
    "nullable": True,
    "description": "Units per second over the last minute of running time (paused time left"
    " out); null while not running or before enough was seen.",
}
ETA: Schema = {
    "type": "number",
    "minimum": 0,
    "nullable": True,
    "description": "Seconds until what is left is done at that rate; null while the rate is"
    " null or zero.",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:  # OpenAPI 3.0 ignores siblings of $ref
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def closed(
    properties: Mapping[str, Schema],
    *,
    optional: tuple[str, ...] = (),
    description: str | None = None,
) -> Schema:
    """An object with exactly these properties, all required but ``optional``."""
    schema: Schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in properties if name not in optional],
        "properties": dict(properties),
    }
    if description:
        schema["description"] = description
    return schema


def enum(values: Any) -> Schema:
    return {"type": "string", "enum": [str(value) for value in values]}


def _plan_document() -> Schema:
    """The plan's JSON Schema (``pulp2to3.plan``) as an OpenAPI 3.0 schema object."""
    schema = copy.deepcopy(dict(PLAN_SCHEMA))
    schema.pop("$schema", None)
    schema["description"] = "A migration plan in pulp-2to3-migration's format."
    return schema


def _paginated(item: str) -> Schema:
    return closed(
        {
            "count": COUNT,
            "next": nullable(URL),
            "previous": nullable(URL),
            "results": array(ref(item)),
        }
    )


PULP_OBJECT = {"pulp_href": HREF, "pulp_created": TIME}

SCHEMAS: dict[str, Schema] = {
    "Detail": closed({"detail": STRING}, description="An error that concerns no single field."),
    "FieldErrors": {
        "type": "object",
        "description": "Errors per field of the request: the field's name, then its messages.",
        "additionalProperties": array(STRING),
        "minProperties": 1,
    },
    # status
    "Status": closed(
        {
            "versions": array(closed({"component": STRING, "version": nullable(STRING)})),
            "database_connection": closed({"connected": BOOLEAN}),
            "online_workers": array(closed({"name": STRING, "last_heartbeat": TIME})),
            "tasks": closed({"queued": nullable(COUNT), "running": nullable(COUNT)}),
        }
    ),
    # plans
    "PlanDocument": _plan_document(),
    "MigrationPlan": closed({**PULP_OBJECT, "plan": ref("PlanDocument")}),
    "MigrationPlanCreate": closed(
        {
            "plan": {
                "description": "The plan, as a JSON object or as a string holding one.",
                "oneOf": [ref("PlanDocument"), STRING],
            }
        }
    ),
    "MigrationPlanRun": closed(
        {
            "validate": {
                **BOOLEAN,
                "default": False,
                "description": "Fail the migration if the plan names Pulp 2 repositories, "
                "importers or distributors the source lacks.",
            },
            "dry_run": {
                **BOOLEAN,
                "default": False,
                "description": "Validate and stop: the report completes with no steps.",
            },
            "skip_corrupted": {
                **BOOLEAN,
                "default": False,
                "description": "Skip (and count as failed) units whose downloaded file is "
                "missing or corrupt. False: such units fail their content step once it has "
                "tried every unit, and so the migration.",
            },
        },
        optional=("validate", "dry_run", "skip_corrupted"),
    ),
    "MigrationRun": closed({"task": HREF, "report": HREF}),
    # reports
    "TaskCounts": closed(
        {state: COUNT for state in ("waiting", "running", "completed", "failed", "canceled")}
    ),
    "FailedUnit": closed({"unit": STRING, "reason": STRING}),
    "MigrationStep": closed(
        {
            "code": STRING,
            "description": STRING,
            "status": enum(StepStatus),
            "needs": {
                **array(STRING),
                "description": "The codes of the steps that must complete before this one starts.",
            },
            "total": COUNT,
            "done": COUNT,
            "failed": COUNT,
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "tasks": array(HREF),
            "task_counts": ref("TaskCounts"),
            "units_per_second": RATE,
            "eta_seconds": ETA,
            "failed_units": {
                **array(ref("FailedUnit")),
                "description": "The first units the step could not migrate (``failed`` counts "
                "them all).",
            },
        },
        optional=("failed_units", "needs"),
    ),
    "MigrationReport": closed(
        {
            **PULP_OBJECT,
            "plan": HREF,
            "task": nullable(HREF),
            "status": enum(MigrationStatus),
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "error": nullable(STRING),
            "steps": array(ref("MigrationStep")),
            "units_per_second": RATE,
            "eta_seconds": ETA,
            "validate": {**BOOLEAN, "description": "The run option it was started with."},
            "dry_run": {**BOOLEAN, "description": "The run option it was started with."},
            "skip_corrupted": {**BOOLEAN, "description": "The run option it was started with."},
            "kind": {
                **enum(("migration", "reset")),
                "description": "A reset is shown as a report too: it orders with migrations.",
            },
        }
    ),
    "MigrationReportPatch": closed(
        {
            "status": {
                **enum(("canceled", "cancel", "paused", "running")),
                "description": (
                    "``canceled`` cancels the migration (``cancel`` is the same request);"
                    " ``paused`` holds its queued tasks and lets the running ones finish their"
                    " batch (the report is ``pausing``, then ``paused``); ``running`` resumes"
                    " a paused migration."
                ),
            }
        }
    ),
    # tasks
    "TaskError": closed({"description": STRING, "traceback": STRING}),
    "ProgressReport": closed(
        {
            "message": STRING,
            "code": nullable(STRING),
            "state": enum(TaskState),
            "total": nullable(COUNT),
            "done": COUNT,
            "suffix": nullable(STRING),
        }
    ),
    "Task": closed(
        {
            **PULP_OBJECT,
            "pulp_last_updated": TIME,
            "name": STRING,
            "logging_cid": {
                **STRING,
                "description": "Its migration's id: what its log lines carry as migration_id.",
            },
            "created_by": {**nullable(HREF), "description": "Always null: one configured user."},
            "state": enum(TaskState),
            "unblocked_at": {
                **nullable(TIME),
                "description": "When it could start: null while held (a pause, a retry's wait).",
            },
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "worker": nullable(STRING),
            "error": nullable(ref("TaskError")),
            "parent_task": {**nullable(HREF), "description": "Always null."},
            "child_tasks": {**array(HREF), "description": "Always empty."},
            "task_group": {**HREF, "description": "Its migration, as a task group."},
            "progress_reports": {
                **array(ref("ProgressReport")),
                "description": "A step task's one report: its batch's units.",
            },
            "created_resources": array(HREF),
            "reserved_resources_record": {
                **array(STRING),
                "description": "The plan its migration runs.",
            },
            "report": HREF,
            "step": nullable(STRING),
        }
    ),
    "MinimalTask": closed(
        {
            **PULP_OBJECT,
            "pulp_last_updated": TIME,
            "name": STRING,
            "state": enum(TaskState),
            "unblocked_at": nullable(TIME),
            "started_at": nullable(TIME),
            "finished_at": nullable(TIME),
            "worker": nullable(STRING),
        }
    ),
    "GroupProgressReport": closed(
        {
            "message": STRING,
            "code": STRING,
            "total": COUNT,
            "done": COUNT,
            "suffix": {**nullable(STRING), "description": "How many units failed, if any."},
        }
    ),
    "TaskGroup": closed(
        {
            "pulp_href": HREF,
            "description": STRING,
            "all_tasks_dispatched": {
                **BOOLEAN,
                "description": "The migration has no step left to start.",
            },
            **{state: COUNT for state in task_groups.COUNTED_STATES},
            "group_progress_reports": {
                **array(ref("GroupProgressReport")),
                "description": "One per step of the migration, in step order.",
            },
            "tasks": array(ref("MinimalTask")),
        }
    ),
    # what was migrated
    "Repository": closed(
        {
            **PULP_OBJECT,
            "pulp_type": {**STRING, "example": "file.file"},
            "name": STRING,
            "description": nullable(STRING),
            "remote": nullable(HREF),
            "versions_href": HREF,
            "latest_version_href": nullable(HREF),
        }
    ),
    "ContentCount": closed(
        {
            "count": COUNT,
            "href": {**HREF, "description": "The content list of these units."},
        }
    ),
    "ContentCounts": {
        "type": "object",
        "description": "Unit counts by pulp_type.",
        "additionalProperties": ref("ContentCount"),
    },
    "ContentSummary": closed(
        {
            "added": ref("ContentCounts"),
            "removed": ref("ContentCounts"),
            "present": ref("ContentCounts"),
        }
    ),
    "RepositoryVersion": closed(
        {
            **PULP_OBJECT,
            "number": COUNT,
            "repository": HREF,
            "content_summary": ref("ContentSummary"),
        }
    ),
    "Publication": closed(
        {
            **PULP_OBJECT,
            "pulp_type": STRING,
            "repository_version": HREF,
            "repository": HREF,
            "distributions": array(HREF),
        }
    ),
    "Distribution": closed(
        {
            **PULP_OBJECT,
            "pulp_type": STRING,
            "name": STRING,
            "base_path": STRING,
            "base_url": {**URL, "description": "Where the content app serves it."},
            "publication": nullable(HREF),
        }
    ),
    "HiddenField": closed({"name": STRING, "is_set": BOOLEAN}),
    "Remote": closed(
        {
            **PULP_OBJECT,
            "pulp_type": STRING,
            "name": STRING,
            "url": STRING,
            "policy": enum(("immediate", "on_demand", "streamed")),
            "options": {
                "type": "object",
                "description": "TLS, proxy and download options, by Pulp 3 field name "
                "(secrets left out: see hidden_fields).",
                "additionalProperties": True,
            },
            "hidden_fields": array(ref("HiddenField")),
        }
    ),
    "Content": closed(
        {
            **PULP_OBJECT,
            "pulp_type": STRING,
            "relative_path": {**STRING, "description": "File content only."},
            "sha256": {**STRING, "pattern": "^[0-9a-f]{64}$", "description": "File content only."},
            "size": {**COUNT, "description": "File content only."},
            "natural_key": {**STRING, "description": "Content of other types: its natural key."},
        },
        optional=("relative_path", "sha256", "size", "natural_key"),
    ),
    "Pulp2Repository": closed(
        {
            **PULP_OBJECT,
            "pulp2_object_id": STRING,
            "pulp2_repo_id": STRING,
            "pulp2_repo_type": {
                **nullable(STRING),
                "description": "The plan's plugin type (iso, rpm, deb); null for a repository"
                " of no supported plugin.",
            },
            "is_migrated": BOOLEAN,
            "not_in_plan": BOOLEAN,
            "pulp3_repository_href": nullable(HREF),
            "pulp3_repository_version": {
                **nullable(HREF),
                "description": "The newest repository version that holds its content.",
            },
            "pulp3_remote_href": nullable(HREF),
            "pulp3_publication_href": nullable(HREF),
            "pulp3_distribution_hrefs": array(HREF),
        }
    ),
    "Pulp2Content": closed(
        {
            **PULP_OBJECT,
            "pulp2_id": STRING,
            "pulp2_content_type_id": STRING,
            "pulp2_last_updated": INTEGER,
            "pulp2_storage_path": nullable(STRING),
            "downloaded": BOOLEAN,
            "is_migrated": BOOLEAN,
            "not_in_plan": {
                **BOOLEAN,
                "description": "No repository of the plan holds the unit.",
            },
            "pulp3_content": nullable(HREF),
            "pulp3_repository_version": {
                **nullable(HREF),
                "description": "Always null: pulp-2to3-migration set it only on units it staged"
                " once per repository (errata); here each unit is one row and one content.",
            },
        }
    ),
}

# With ``fields`` or ``exclude_fields``, an object of these has only some of its fields.
SHAPED = ("Pulp2Repository", "Pulp2Content", "Task")
for _item in SHAPED:
    SCHEMAS[f"{_item}Fields"] = {
        **{key: value for key, value in SCHEMAS[_item].items() if key != "required"},
        "description": "Only the fields asked for (fields, exclude_fields).",
    }
    SCHEMAS[f"{_item}OrFields"] = {"anyOf": [ref(_item), ref(f"{_item}Fields")]}

LISTED = (
    "MigrationPlan", "MigrationReport", "TaskOrFields", "TaskGroup", "Repository",
    "RepositoryVersion", "Publication", "Distribution", "Remote", "Content",
    "Pulp2RepositoryOrFields", "Pulp2ContentOrFields",
)  # fmt: skip
for _item in LISTED:
    SCHEMAS[f"Paginated{_item}List"] = _paginated(_item)


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


RESPONSES: dict[str, Schema] = {
    "BadRequest": {
        "description": "The request is invalid: field errors, or a body that is not JSON or "
        "not of the right shape.",
        "content": _json({"anyOf": [ref("FieldErrors"), ref("Detail")]}),
    },
    "Unauthorized": {
        "description": "Missing or wrong credentials.",
        "headers": {"WWW-Authenticate": {"schema": {**STRING, "example": 'Basic realm="pulp"'}}},
        "content": _json(ref("Detail")),
    },
    "NotFound": {"description": "No such object.", "content": _json(ref("Detail"))},
    "Conflict": {
        "description": "The request conflicts with the state of a migration.",
        "content": _json(ref("Detail")),
    },
    "PayloadTooLarge": {"description": "The body is too large.", "content": _json(ref("Detail"))},
    "UnsupportedMediaType": {
        "description": "The body is not JSON.",
        "content": _json(ref("Detail")),
    },
}

PARAMETERS: dict[str, Schema] = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "description": f"Page size (default {DEFAULT_LIMIT}; larger values are capped at "
        f"{MAX_LIMIT}).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Offset": {
        "name": "offset",
        "in": "query",
        "description": "How many results to skip.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Fields": {
        "name": "fields",
        "in": "query",
        "description": "Answer only these fields of each object (comma-separated, or repeated).",
        "schema": STRING,
    },
    "ExcludeFields": {
        "name": "exclude_fields",
        "in": "query",
        "description": "Answer every field of each object but these (comma-separated, or "
        "repeated).",
        "schema": STRING,
    },
    "Id": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    },
    "VersionNumber": {
        "name": "number",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}


def _param(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


SHAPING_PARAMETERS = [_param("Fields"), _param("ExcludeFields")]


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _response(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def _ok(schema: Schema, description: str = "OK.") -> Schema:
    return {"description": description, "content": _json(schema)}


def _body_errors() -> dict[str, Schema]:
    """The answers to a request whose JSON body is refused."""
    return {
        "400": _response("BadRequest"),
        "413": _response("PayloadTooLarge"),
        "415": _response("UnsupportedMediaType"),
    }


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Schema],
    *,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
    body_required: bool = True,
    public: bool = False,
) -> Schema:
    operation: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": _json(body)}
    if public:
        operation["security"] = []
    else:
        responses = {**responses, "401": _response("Unauthorized")}
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _list_operation(
    operation_id: str, tag: str, summary: str, item: str, filters: list[Schema] | None = None
) -> Schema:
    return _operation(
        operation_id,
        tag,
        summary,
        {"200": _ok(ref(f"Paginated{item}List")), "400": _response("BadRequest")},
        parameters=[_param("Limit"), _param("Offset"), *(filters or [])],
    )


def _detail_operation(
    operation_id: str,
    tag: str,
    summary: str,
    item: str,
    *,
    version: bool = False,
    shaped: bool = False,
) -> Schema:
    parameters = [_param("Id"), _param("VersionNumber")] if version else [_param("Id")]
    responses = {"200": _ok(ref(item)), "404": _response("NotFound")}
    if shaped:
        parameters += SHAPING_PARAMETERS
        responses["400"] = _response("BadRequest")
    return _operation(operation_id, tag, summary, responses, parameters=parameters)


BOOLEAN_FILTER: Schema = {"type": "string", "enum": ["true", "false", "True", "False", "1", "0"]}


# What each operator of a declared filter asks for, and the schema of each kind of value.
_OPERATORS = {
    Op.EQ: "is",
    Op.IN: "is one of (comma-separated)",
    Op.LT: "is less than",
    Op.LTE: "is at most",
    Op.GT: "is greater than",
    Op.GTE: "is at least",
    Op.RANGE: "is between (low,high, both included)",
    Op.NE: "is not",
    Op.CONTAINS: "contains",
    Op.ISNULL: "is null (true) or not (false) as",
    Op.ALL: "holds each of (comma-separated or repeated)",
}
_VALUES: dict[Any, Schema] = {
    filters.text: STRING,
    filters.boolean: BOOLEAN_FILTER,
    filters.timestamp: {
        "type": "string",
        "description": "Seconds since the epoch, or an ISO 8601 date and time.",
    },
    filters.uuid_of_href: HREF,
    filters.moment: {"type": "string", "format": "date-time"},
    filters.task_id: {"type": "string", "description": "A task's href, or its id."},
}


def _value_schema(declared: filters.Filter, op: Op) -> Schema:
    if op in (Op.IN, Op.RANGE, Op.ALL):
        return STRING
    if op is Op.ISNULL:
        return BOOLEAN_FILTER
    if isinstance(declared.parse, filters.Choice):
        return {"type": "string", "enum": list(declared.parse.values)}
    return _VALUES[declared.parse]


def _declared_filters(declared: Sequence[filters.Filter], orderable: Iterable[str]) -> list[Schema]:
    """The query parameters of a list's declared filters, and its ``ordering``."""
    parameters = [
        _query(
            declared_filter.parameter(op),
            _value_schema(declared_filter, op),
            f"Only those whose {declared_filter.field} {_OPERATORS[op]} this. Any parameter "
            "this list does not declare is refused (400).",
        )
        for declared_filter in declared
        for op in declared_filter.ops
    ]
    fields = ", ".join(orderable)
    ordering = _query(
        "ordering",
        STRING,
        f"Comma-separated fields to order by, each optionally preceded by - (descending): "
        f"{fields}.",
    )
    return [*parameters, ordering]


def _version_filter(name: str, what: str) -> Schema:
    return _query(name, HREF, f"Only the content {what} this repository version (its href).")


def _collection(
    root: str,
    name: str,
    tag: str,
    item: str,
    summaries: tuple[str, str],
    filters: list[Schema] | None = None,
    *,
    shaped: bool = False,
) -> dict[str, Schema]:
    """The paths of a read-only collection: its list (``{name}_list``) and its objects by
    UUID (``{name}_read``); ``shaped``: both take ``fields`` and ``exclude_fields``, and answer
    ``{item}`` or, with those, ``{item}Fields``."""
    list_summary, detail_summary = summaries
    if shaped:
        filters = [*(filters or []), *SHAPING_PARAMETERS]
        item = f"{item}OrFields"
    return {
        root: {"get": _list_operation(f"{name}_list", tag, list_summary, item, filters)},
        f"{root}{{id}}/": {
            "get": _detail_operation(f"{name}_read", tag, detail_summary, item, shaped=shaped)
        },
    }


def _paths() -> dict[str, Schema]:
    plans = f"{API}migration-plans/"
    reports = f"{API}migrationreport/"
    tasks = f"{API}tasks/"
    report_statuses = enum(MigrationStatus)
    return {
        f"{API}status/": {
            "get": _operation(
                "status_read",
                "Status",
                "Versions, database reachability, online workers and task counts",
                {"200": _ok(ref("Status"))},
                public=True,
            )
        },
        DOC_PATH: {
            "get": _operation(
                "docs_api_json",
                "Docs",
                "This OpenAPI document",
                {"200": _ok({"type": "object"}, "An OpenAPI 3.0 document.")},
                public=True,
            )
        },
        plans: {
            "post": _operation(
                "migration_plans_create",
                "Migration plans",
                "Store a migration plan",
                {"201": _ok(ref("MigrationPlan"), "Created."), **_body_errors()},
                body=ref("MigrationPlanCreate"),
            ),
            "get": _list_operation(
                "migration_plans_list", "Migration plans", "List migration plans", "MigrationPlan"
            ),
        },
        f"{plans}{{id}}/": {
            "get": _detail_operation(
                "migration_plans_read", "Migration plans", "A migration plan", "MigrationPlan"
            ),
            "delete": _operation(
                "migration_plans_delete",
                "Migration plans",
                "Delete a plan and its finished reports",
                {
                    "204": {"description": "Deleted."},
                    "404": _response("NotFound"),
                    "409": _response("Conflict"),
                },
                parameters=[_param("Id")],
            ),
        },
        f"{plans}{{id}}/run/": {
            "post": _operation(
                "migration_plans_run",
                "Migration plans",
                "Run a migration of the plan",
                {
                    "202": _ok(ref("MigrationRun"), "Accepted: the migration task is queued."),
                    "404": _response("NotFound"),
                    "409": _response("Conflict"),
                    **_body_errors(),
                },
                parameters=[_param("Id")],
                body=ref("MigrationPlanRun"),
                body_required=False,
            )
        },
        f"{plans}{{id}}/reset/": {
            "post": _operation(
                "migration_plans_reset",
                "Migration plans",
                "Remove what the plan's plugins migrated, and their Pulp 2 mapping",
                {
                    "202": _ok(
                        ref("MigrationRun"),
                        "Accepted: the reset task is queued (its report is of kind reset).",
                    ),
                    "404": _response("NotFound"),
                    "409": {
                        "description": "A migration or a reset is unfinished; a run asked for "
                        "during a reset is refused the same way.",
                        "content": _json(ref("Detail")),
                    },
                    **_body_errors(),
                },
                parameters=[_param("Id")],
                body={"type": "object", "additionalProperties": False, "maxProperties": 0},
                body_required=False,
            )
        },
        reports: {
            "get": _list_operation(
                "migration_reports_list",
                "Migration reports",
                "List migration reports",
                "MigrationReport",
                [_query("status", report_statuses, "Only the reports in this status.")],
            )
        },
        f"{reports}{{id}}/": {
            "get": _detail_operation(
                "migration_reports_read",
                "Migration reports",
                "A migration report with its steps",
                "MigrationReport",
            ),
            "patch": _operation(
                "migration_reports_partial_update",
                "Migration reports",
                "Cancel, pause or resume the migration",
                {
                    "200": _ok(ref("MigrationReport"), "Canceled, pausing or running again."),
                    "404": _response("NotFound"),
                    "409": _response("Conflict"),
                    **_body_errors(),
                },
                parameters=[_param("Id")],
                body=ref("MigrationReportPatch"),
            ),
        },
        tasks: {
            "get": _list_operation(
                "tasks_list",
                "Tasks",
                "List the tasks of migrations",
                "TaskOrFields",
                [
                    *_declared_filters(migrations.TASK_FILTERS, migrations.TASK_ORDERING),
                    *SHAPING_PARAMETERS,
                ],
            )
        },
        f"{tasks}{{id}}/": {
            "get": _operation(
                "tasks_read",
                "Tasks",
                "A task",
                {
                    "200": _ok(ref("TaskOrFields")),
                    "400": _response("BadRequest"),
                    "404": _response("NotFound"),
                },
                parameters=[
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "description": "The task's job id.",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    *SHAPING_PARAMETERS,
                ],
            )
        },
        **_collection(
            f"{API}task-groups/",
            "task_groups",
            "Task groups",
            "TaskGroup",
            ("List task groups: one per migration", "A task group: a migration's tasks"),
        ),
        **_collection(
            views.REPOSITORIES,
            "repositories",
            "Repositories",
            "Repository",
            ("List repositories", "A repository"),
        ),
        f"{views.REPOSITORIES}{{id}}/versions/": {
            "get": _operation(
                "repositories_versions_list",
                "Repositories",
                "List a repository's versions, newest first",
                {
                    "200": _ok(ref("PaginatedRepositoryVersionList")),
                    "400": _response("BadRequest"),
                    "404": _response("NotFound"),
                },
                parameters=[_param("Id"), _param("Limit"), _param("Offset")],
            )
        },
        f"{views.REPOSITORIES}{{id}}/versions/{{number}}/": {
            "get": _detail_operation(
                "repositories_versions_read",
                "Repositories",
                "A repository version with its content summary",
                "RepositoryVersion",
                version=True,
            )
        },
        **_collection(
            views.PUBLICATIONS,
            "publications",
            "Publications",
            "Publication",
            ("List publications", "A publication"),
        ),
        **_collection(
            views.DISTRIBUTIONS,
            "distributions",
            "Distributions",
            "Distribution",
            ("List distributions", "A distribution"),
        ),
        **_collection(views.REMOTES, "remotes", "Remotes", "Remote", ("List remotes", "A remote")),
        **_collection(
            views.CONTENT,
            "content",
            "Content",
            "Content",
            ("List content, all of it or a repository version's", "A content unit"),
            [
                _query("pulp_type", STRING, "Only content of this type (e.g. file.file)."),
                _version_filter("repository_version", "present in"),
                _version_filter("repository_version_added", "added in"),
                _version_filter("repository_version_removed", "removed in"),
            ],
        ),
        **_collection(
            views.PULP2_REPOSITORIES,
            "pulp2repositories",
            "Pulp 2 mapping",
            "Pulp2Repository",
            (
                "List Pulp 2 repositories and what they became",
                "A Pulp 2 repository and what it became",
            ),
            _declared_filters(views.PULP2_REPOSITORY_FILTERS, lists.PULP2_REPOSITORIES.columns),
            shaped=True,
        ),
        **_collection(
            views.PULP2_CONTENT,
            "pulp2content",
            "Pulp 2 mapping",
            "Pulp2Content",
            (
                "List Pulp 2 content units and what they became",
                "A Pulp 2 content unit and what it became",
            ),
            _declared_filters(views.PULP2_CONTENT_FILTERS, lists.PULP2_CONTENT.columns),
            shaped=True,
        ),
        f"{content_app.ROOT}{{path}}": _content_app_path(),
        metrics.PATH: {
            "get": _operation(
                "metrics_get",
                "Metrics",
                "Prometheus metrics, read from the database at each scrape",
                {
                    "200": {
                        "description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": STRING}},
                    }
                },
            )
        },
        **_dashboard_paths(),
    }


def _dashboard_paths() -> dict[str, Schema]:
    """The web dashboard's page and files: public, as they hold no data (the page asks for
    credentials before it calls the API)."""
    page = {"200": {"description": "The page.", "content": {"text/html": {"schema": STRING}}}}
    file = {
        "200": {
            "description": "The file.",
            "content": {"text/javascript": {"schema": STRING}, "text/css": {"schema": STRING}},
        },
        "404": {"description": "No such file.", "content": _json(ref("Detail"))},
    }
    name = {
        "name": "file",
        "in": "path",
        "required": True,
        "schema": {
            "type": "string",
            "enum": sorted(set(dashboard.CONTENT_TYPES) - {dashboard.PAGE}),
        },
    }

    def get(operation_id: str, summary: str, responses: Schema, **options: Any) -> Schema:
        return {
            "get": _operation(operation_id, "Dashboard", summary, responses, public=True, **options)
        }

    return {
        dashboard.ROOT: get("dashboard_root_get", "The web dashboard", page),
        dashboard.UI: get("dashboard_get", "The web dashboard", page),
        dashboard.FILE: get(
            "dashboard_file_get", "A file of the web dashboard", file, parameters=[name]
        ),
    }


def _content_app_path() -> Schema:
    responses: dict[str, Schema] = {
        "200": {
            "description": "The file, or for a path ending in ``/`` an HTML index of the names "
            "directly under it (at the root: the distributions).",
            "headers": {
                "ETag": {"schema": STRING},
                "Content-Length": {"schema": INTEGER},
            },
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "text/html": {"schema": STRING},
            },
        },
        "206": {
            "description": "The requested range of the file.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        "301": {
            "description": "A folder named without its trailing ``/``.",
            "headers": {"Location": {"schema": HREF}},
        },
        "302": {
            "description": "A file that was never downloaded (on_demand): where to fetch it.",
            "headers": {"Location": {"schema": URL}},
        },
        "304": {"description": "Not modified (If-None-Match, If-Modified-Since)."},
        "404": {
            "description": "Unknown path, or one that tries to leave the distribution.",
            "content": _json(ref("Detail")),
        },
        "416": {"description": "The requested range is not satisfiable."},
    }
    parameter = {
        "name": "path",
        "in": "path",
        "required": True,
        "description": "``{base_path}/{relative_path}``: the distribution's base path (which "
        "may hold ``/``), then the path of a file it publishes, or of a folder with a "
        "trailing ``/``.",
        "schema": STRING,
    }

    def serve(method: str) -> Schema:
        return _operation(
            f"content_app_{method}",
            "Content app",
            "Published content, served as Pulp's content app does (no authentication)",
            dict(responses),
            parameters=[parameter],
            public=True,
        )

    return {"get": serve("get"), "head": serve("head")}


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once; callers must not modify it)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "pulp2to3",
            "version": metadata.version("pulp2to3"),
            "description": "A parallel Pulp 2 to Pulp 3 migration: plans, runs, reports and "
            "tasks, what was migrated (read-only, in Pulp 3's shapes), and the content app.",
        },
        "security": [{"basicAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
        },
    }


async def get_document(request: web.Request) -> web.Response:
    return json_response(document())


def add_routes(app: web.Application) -> None:
    app.router.add_get(DOC_PATH, get_document)
