"""The whole target of a migration, row for row, by natural keys: two migrations of one sample
compare equal when they wrote the same thing, whatever ids, uuids and times they gave it.

Every table a migration writes is read here (``TARGET``): the Pulp 3-shaped tables, the Pulp 2
mapping and staging, and each artifact's file under the media root by the digest of its bytes.
A reference to another row is replaced by that row's natural key (a content's type and key, a
repository's name, a version's repository and number, ...). Rows are kept as a sorted list, so a
row written twice shows. ``counters`` is the report of the last migration, step by step.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

# Natural keys of what other rows point to, as SQL over the aliased row.
CONTENT = "(SELECT c.pulp_type || ' ' || c.natural_key FROM content c WHERE c.id = {})"
ARTIFACT = "(SELECT a.sha256 FROM artifact a WHERE a.id = {})"
REMOTE = "(SELECT r.name FROM remote r WHERE r.id = {})"
REPOSITORY = "(SELECT r.name FROM repository r WHERE r.id = {})"
VERSION = (
    "(SELECT r.name || ' ' || v.number FROM repository_version v"
    " JOIN repository r ON r.id = v.repository_id WHERE v.id = {})"
)
PUBLICATION = (
    "(SELECT r.name || ' ' || v.number FROM publication p"
    " JOIN repository_version v ON v.id = p.repository_version_id"
    " JOIN repository r ON r.id = v.repository_id WHERE p.id = {})"
)
CONTENT_ARTIFACT = (
    "(SELECT c.pulp_type || ' ' || c.natural_key || ' ' || ca.relative_path"
    " FROM content_artifact ca JOIN content c ON c.id = ca.content_id WHERE ca.id = {})"
)
DISTRIBUTION = "(SELECT d.name FROM distribution d WHERE d.id = {})"

# table -> (columns left out: surrogate ids, uuids, times; {column: natural key it points to})
TARGET: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "content": (("id", "pulp_id", "created_at"), {}),
    "file_content": ((), {"content_id": CONTENT}),
    "rpm_package": ((), {"content_id": CONTENT}),
    "rpm_metadata": ((), {"content_id": CONTENT}),
    "rpm_module_package": ((), {"module_id": CONTENT, "package_id": CONTENT}),
    "deb_package": ((), {"content_id": CONTENT}),
    "deb_release": ((), {"content_id": CONTENT}),
    "deb_release_component": ((), {"content_id": CONTENT, "release_id": CONTENT}),
    "deb_package_release_component": ((), {"component_id": CONTENT, "package_id": CONTENT}),
    "artifact": (("id", "created_at"), {}),
    "content_artifact": (("id",), {"content_id": CONTENT, "artifact_id": ARTIFACT}),
    "remote": (("id", "pulp_id", "created_at"), {}),
    "remote_artifact": (
        ("id",),
        {"content_artifact_id": CONTENT_ARTIFACT, "remote_id": REMOTE},
    ),
    "repository": (("id", "pulp_id", "created_at"), {"remote_id": REMOTE}),
    "repository_version": (("id", "pulp_id", "created_at"), {"repository_id": REPOSITORY}),
    "repository_content": ((), {"repository_id": REPOSITORY, "content_id": CONTENT}),
    "repository_version_origin": ((), {"repository_id": REPOSITORY, "version_id": VERSION}),
    "publication": (("id", "pulp_id", "created_at"), {"repository_version_id": VERSION}),
    "published_artifact": (
        (),
        {"publication_id": PUBLICATION, "content_artifact_id": CONTENT_ARTIFACT},
    ),
    "published_metadata": ((), {"publication_id": PUBLICATION, "artifact_id": ARTIFACT}),
    "distribution": (("id", "pulp_id", "created_at"), {"publication_id": PUBLICATION}),
    "pulp2_content": (("id", "pulp_id", "created_at"), {"pulp3_content_id": CONTENT}),
    "pulp2_repository": (
        ("id", "pulp_id", "created_at"),
        {"pulp3_repository_id": REPOSITORY},
    ),
    "pulp2_importer": (("id",), {"pulp3_remote_id": REMOTE}),
    "pulp2_distributor": (
        ("id",),
        {"pulp3_publication_id": PUBLICATION, "pulp3_distribution_id": DISTRIBUTION},
    ),
    "pulp2_repo_content": ((), {}),
    "pulp2_lazy_catalog": (("id",), {}),
}

Target = dict[str, list[str]]


def _query(table: str) -> str:
    left_out, references = TARGET[table]
    dropped = "".join(f" - '{column}'" for column in (*left_out, *references))
    keys = ", ".join(
        f"'{column}', {key.format('t.' + column)}" for column, key in references.items()
    )
    return f"SELECT (to_jsonb(t){dropped} || jsonb_build_object({keys}))::text FROM {table} t"


async def target(connection: asyncpg.Connection, media_root: Path) -> Target:
    """Every row of every target table, by natural keys, sorted; and ``media``: each artifact's
    file (its path under the media root) with the sha256 of its bytes, or ``missing``."""
    rows = {
        table: sorted(
            await connection.fetchval(f"SELECT array_agg(q) FROM ({_query(table)}) q(q)") or []
        )
        for table in TARGET
    }
    media = []
    for file in await connection.fetch("SELECT file FROM artifact ORDER BY file"):
        path = media_root / file["file"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        media.append(f"{file['file']} {digest}")
    rows["media"] = media
    return rows


async def counters(connection: asyncpg.Connection) -> list[tuple[Any, ...]]:
    """The report's counters that an interruption must not change: the last migration's status
    and, for each of its steps, whether ``done`` reached ``total`` and how many failed; and for
    each content step, the units counted over every run of the database. A re-run's content
    steps migrate only what earlier runs left (a step with nothing left says ``skipped``), so
    their units add up over the runs to a clean run's, each counted once; the other steps go
    over every repository of the plan in each run."""
    last = await connection.fetchrow(
        "SELECT id, status FROM migration WHERE kind = 'migration' ORDER BY created_at DESC LIMIT 1"
    )
    steps = await connection.fetch(
        "SELECT s.code, coalesce(sum(b.done), 0) = s.total AS exact,"
        "       coalesce(sum(b.failed), 0) AS failed"
        "  FROM migration_step s"
        "  LEFT JOIN migration_batch_progress b"
        "    ON b.migration_id = s.migration_id AND b.step_code = s.code"
        " WHERE s.migration_id = $1 GROUP BY s.position, s.code, s.total ORDER BY s.position",
        last["id"],
    )
    units = await connection.fetch(
        "SELECT step_code, sum(done) AS done, sum(failed) AS failed"
        "  FROM migration_batch_progress WHERE step_code LIKE 'migrate\\_content.%'"
        " GROUP BY step_code ORDER BY step_code"
    )
    return [
        ("migration", last["status"]),
        *(tuple(step.values()) for step in steps),
        *(("units counted", *row.values()) for row in units),
    ]


def differences(expected: Target, actual: Target) -> dict[str, tuple[list[str], list[str]]]:
    """Per table, the rows only ``expected`` has and the rows only ``actual`` has (empty: the
    same). Rows are compared as multisets: a duplicate shows."""
    found = {}
    for table in expected.keys() | actual.keys():
        before, after = Counter(expected.get(table, [])), Counter(actual.get(table, []))
        missing, extra = sorted((before - after).elements()), sorted((after - before).elements())
        if missing or extra:
            found[table] = (missing[:5], extra[:5])
    return found
