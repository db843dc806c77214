"""What a migration of a generated sample must produce, and what it did produce.

``expected_state`` reads the sample's dump with the project's reader (the generator wrote it);
``actual_state`` reads the target tables. The end-to-end tests compare the two, so a canceled
and re-run migration, or one that lost a worker, is held to the same result as a clean run.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg

from pulp2to3.pulp2 import open_dump
from pulp2to3.sample import SampleSummary

NaturalKey = tuple[str, str, int]  # ISO: name, sha256, size


@dataclasses.dataclass(frozen=True)
class MigrationState:
    content: frozenset[NaturalKey]
    artifacts: frozenset[str]  # sha256 of the files that were downloaded
    on_demand_urls: frozenset[tuple[NaturalKey, str]]  # content without file -> where to get it
    # repository name -> content of the version that holds its (only) plan version
    versions: dict[str, frozenset[NaturalKey]]
    manifests: dict[str, str]  # distribution base path -> PULP_MANIFEST text
    base_paths: frozenset[str]


def base_path(config: dict[str, object], repo_id: str) -> str:
    relative = config.get("relative_url")
    raw = relative if isinstance(relative, str) and relative.strip("/") else repo_id
    return "/".join(part for part in raw.split("/") if part)


def expected_state(sample: SampleSummary) -> MigrationState:
    dump = open_dump(sample.dump_path)
    units: dict[str, NaturalKey] = {}
    downloaded: set[str] = set()
    for unit in dump.iter_collection("units_iso"):
        units[unit["_id"]] = (unit["name"], unit["checksum"], unit["size"])
        if unit.get("downloaded", True):
            downloaded.add(unit["_id"])
    # A version holds one unit per name (relative path): the one added to the repository last.
    latest: dict[str, dict[str, tuple[str, NaturalKey]]] = {}
    for membership in dump.iter_collection("repo_content_units"):
        key = units[membership["unit_id"]]
        named = latest.setdefault(membership["repo_id"], {})
        added = (membership["created"], key)
        named[key[0]] = max(named.get(key[0], added), added)
    members = {repo: {key for _, key in named.values()} for repo, named in latest.items()}
    on_demand = {
        (units[entry["unit_id"]], entry["url"])
        for entry in dump.iter_collection("lazy_content_catalog")
        if entry["unit_id"] not in downloaded
    }
    manifests: dict[str, str] = {}
    for distributor in dump.iter_collection("repo_distributors"):
        repo_id = distributor["repo_id"]
        rows = sorted(members.get(repo_id, set()))
        manifests[base_path(distributor.get("config", {}), repo_id)] = "".join(
            f"{name},{sha256},{size}\n" for name, sha256, size in rows
        )
    return MigrationState(
        content=frozenset(units.values()),
        artifacts=frozenset(units[unit_id][1] for unit_id in downloaded),
        on_demand_urls=frozenset(on_demand),
        versions={repo: frozenset(keys) for repo, keys in members.items()},
        manifests=manifests,
        base_paths=frozenset(manifests),
    )


async def actual_state(connection: asyncpg.Connection, media_root: Path) -> MigrationState:
    content = await connection.fetch("SELECT f.relative_path, f.digest, f.size FROM file_content f")
    # Content files only: artifacts also hold the PULP_MANIFEST files publications wrote.
    artifacts = await connection.fetch(
        "SELECT DISTINCT a.sha256 FROM artifact a JOIN content_artifact ca ON ca.artifact_id = a.id"
    )
    on_demand = await connection.fetch(
        "SELECT f.relative_path, f.digest, f.size, ra.url"
        "  FROM content_artifact ca"
        "  JOIN file_content f ON f.content_id = ca.content_id"
        "  JOIN remote_artifact ra ON ra.content_artifact_id = ca.id"
        " WHERE ca.artifact_id IS NULL"
    )
    versions = await connection.fetch(
        "SELECT r.name, f.relative_path, f.digest, f.size"
        "  FROM repository r"
        "  JOIN repository_version_origin o ON o.repository_id = r.id AND o.position = 1"
        "  JOIN repository_version v ON v.id = o.version_id"
        "  JOIN repository_content rc ON rc.repository_id = r.id"
        "  JOIN file_content f ON f.content_id = rc.content_id"
        " WHERE rc.version_added <= v.number"
        "   AND (rc.version_removed IS NULL OR rc.version_removed > v.number)"
    )
    manifests = await connection.fetch(
        "SELECT d.base_path, a.file"
        "  FROM distribution d"
        "  JOIN published_metadata pm ON pm.publication_id = d.publication_id"
        "  JOIN artifact a ON a.id = pm.artifact_id"
        " WHERE pm.relative_path = 'PULP_MANIFEST'"
    )
    base_paths = await connection.fetch("SELECT base_path FROM distribution")
    grouped: dict[str, set[NaturalKey]] = {}
    for row in versions:
        grouped.setdefault(row["name"], set()).add(
            (row["relative_path"], row["digest"], row["size"])
        )
    return MigrationState(
        content=frozenset((r["relative_path"], r["digest"], r["size"]) for r in content),
        artifacts=frozenset(r["sha256"] for r in artifacts),
        on_demand_urls=frozenset(
            ((r["relative_path"], r["digest"], r["size"]), r["url"]) for r in on_demand
        ),
        versions={name: frozenset(keys) for name, keys in grouped.items()},
        manifests={
            r["base_path"]: (media_root / r["file"]).read_text(encoding="utf-8") for r in manifests
        },
        base_paths=frozenset(r["base_path"] for r in base_paths),
    )


def worker_env(db_url: str, sample: SampleSummary, media_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP2TO3_")}
    env.pop("DATABASE_URL", None)
    env.update(
        PULP2TO3_DATABASE_URL=db_url,
        PULP2TO3_PULP2_DUMP=str(sample.dump_path),
        PULP2TO3_PULP2_ROOT=str(sample.pulp_root),
        PULP2TO3_MEDIA_ROOT=str(media_root),
    )
    return env


@contextmanager
def workers(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` real ``pulp2to3 worker`` processes, stopped (or killed) at the end."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pulp2to3.cli", "--log-level", "WARNING", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            # Inherited: pytest shows what the workers logged (warnings and up) when a test fails.
            stderr=None,
        )
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@asynccontextmanager
async def writes_held(pool: asyncpg.Pool, table: str) -> AsyncIterator[None]:
    """Until the block ends, whatever writes ``table`` waits (readers do not): the step that
    writes it stays running, however fast it is, so that a test can act on it while it runs."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        yield
