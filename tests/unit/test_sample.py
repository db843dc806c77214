"""The sample generator: real mongodump formats, consistent Pulp 2 data, files, plan, seeds."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import ObjectId

from pulp2to3.pulp2 import open_dump, resolve_storage_path
from pulp2to3.pulp2.crc64 import crc64_python
from pulp2to3.sample import (
    DUMP_FORMS,
    DumpFormat,
    SampleSummary,
    generate_every_form,
    generate_sample,
)
from tests.sample_support import Documents, read

TERMINATOR = b"\xff\xff\xff\xff"
ISO8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BIG = ("units_iso", "repo_content_units", "lazy_content_catalog")


@pytest.fixture(scope="module")
def samples(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[DumpFormat, bool], SampleSummary]:
    return generate_every_form(tmp_path_factory.mktemp("samples"), repos=12, units=600, seed=11)


@pytest.fixture(scope="module")
def summary(samples: dict[tuple[DumpFormat, bool], SampleSummary]) -> SampleSummary:
    return samples["archive", False]


@pytest.fixture(scope="module")
def docs(summary: SampleSummary) -> Documents:
    return read(summary)


def is_naive_datetime(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is None


# -- what the reader reads back ----------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
def test_counts_per_collection(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], fmt: DumpFormat, compress: bool
) -> None:
    summary = samples[fmt, compress]
    counts = {name: len(found) for name, found in read(summary).items()}
    assert counts == dict(summary.collection_counts)
    assert counts["units_iso"] == summary.units == 600
    assert counts["repos"] == counts["repo_importers"] == counts["task_status"] == 12
    assert counts["repo_distributors"] >= 12
    assert counts["users"] == 1
    assert counts["repo_content_units"] == summary.memberships > summary.units
    assert counts["lazy_content_catalog"] == summary.lazy_entries >= summary.on_demand_units


def test_repos(docs: Documents) -> None:
    memberships = Counter(doc["repo_id"] for doc in docs["repo_content_units"])
    for repo in docs["repos"]:
        assert isinstance(repo["_id"], ObjectId)
        assert repo["notes"] == {"_repo-type": "iso-repo"}
        assert isinstance(repo["display_name"], str)
        count = memberships[repo["repo_id"]]
        if count:
            assert repo["content_unit_counts"] == {"iso": count}
            assert is_naive_datetime(repo["last_unit_added"])
        else:
            assert repo["content_unit_counts"] == {}
            assert "last_unit_added" not in repo
    assert len({repo["repo_id"] for repo in docs["repos"]}) == len(docs["repos"])


def test_importers(docs: Documents) -> None:
    repo_ids = {repo["repo_id"] for repo in docs["repos"]}
    policies: Counter[str] = Counter()
    for importer in docs["repo_importers"]:
        assert isinstance(importer["_id"], ObjectId)
        assert importer["repo_id"] in repo_ids
        assert importer["importer_type_id"] == "iso_importer"
        assert importer["config"]["feed"].startswith("https://")
        assert is_naive_datetime(importer["last_updated"])
        policies[importer["config"].get("download_policy", "absent")] += 1
    assert set(policies) == {"on_demand", "immediate", "absent"}


def test_distributors(docs: Documents) -> None:
    repo_ids = {repo["repo_id"] for repo in docs["repos"]}
    keys = [(d["repo_id"], d["distributor_id"]) for d in docs["repo_distributors"]]
    assert len(set(keys)) == len(keys)
    assert {repo_id for repo_id, _ in keys} == repo_ids
    assert max(Counter(repo_id for repo_id, _ in keys).values()) > 1
    shapes: set[tuple[bool, bool] | None] = set()
    for distributor in docs["repo_distributors"]:
        assert distributor["distributor_type_id"] == "iso_distributor"
        config = distributor["config"]
        assert isinstance(config["serve_http"], bool)
        assert isinstance(config["serve_https"], bool)
        assert isinstance(distributor["auto_publish"], bool)
        assert distributor["last_publish"] is None or is_naive_datetime(distributor["last_publish"])
        assert is_naive_datetime(distributor["last_updated"])
        url = config.get("relative_url")
        shapes.add(None if url is None else (url.startswith("/"), url.endswith("/")))
    # Missing, bare, with a leading slash, with a trailing slash: all as seen in Pulp 2.
    assert {None, (False, False), (True, False), (False, True)} <= shapes


def test_units(docs: Documents) -> None:
    for unit in docs["units_iso"]:
        assert str(uuid.UUID(unit["_id"])) == unit["_id"]
        assert unit["_content_type_id"] == "iso"
        assert isinstance(unit["_last_updated"], int)
        assert re.fullmatch(
            r"/var/lib/pulp/content/units/iso/[0-9a-f]{2}/[0-9a-f]{62}/" + re.escape(unit["name"]),
            unit["_storage_path"],
        )
        assert isinstance(unit["downloaded"], bool)
        assert unit["pulp_user_metadata"] == {}
        assert re.fullmatch(r"[0-9a-f]{64}", unit["checksum"])
        assert isinstance(unit["size"], int)
    keys = [(u["name"], u["checksum"], u["size"]) for u in docs["units_iso"]]
    assert len(set(keys)) == len(keys) == len({u["_id"] for u in docs["units_iso"]})


def test_memberships(docs: Documents) -> None:
    unit_ids = {unit["_id"] for unit in docs["units_iso"]}
    repo_ids = {repo["repo_id"] for repo in docs["repos"]}
    pairs = set()
    for membership in docs["repo_content_units"]:
        assert membership["unit_id"] in unit_ids
        assert membership["repo_id"] in repo_ids
        assert membership["unit_type_id"] == "iso"
        assert ISO8601.match(membership["created"])
        assert ISO8601.match(membership["updated"])
        pairs.add((membership["repo_id"], membership["unit_id"]))
    assert len(pairs) == len(docs["repo_content_units"])
    assert {unit_id for _, unit_id in pairs} == unit_ids


def test_overlap_puts_units_in_several_repos(summary: SampleSummary, docs: Documents) -> None:
    repos_per_unit = Counter(doc["unit_id"] for doc in docs["repo_content_units"])
    shared = sum(1 for count in repos_per_unit.values() if count > 1)
    assert shared == summary.multi_repo_units
    assert 0.2 < shared / summary.units < 0.4


def test_files_on_disk_match_their_units(summary: SampleSummary, docs: Documents) -> None:
    downloaded = [unit for unit in docs["units_iso"] if unit["downloaded"]]
    assert len(downloaded) == summary.downloaded_units
    for unit in docs["units_iso"]:
        path = resolve_storage_path(unit["_storage_path"], summary.pulp_root)
        if unit["downloaded"]:
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == unit["checksum"]
            assert len(data) == unit["size"]
        else:
            assert not path.exists()
    files = [path for path in summary.pulp_root.rglob("*") if path.is_file()]
    assert len(files) == summary.downloaded_units


def test_on_demand_units_have_lazy_entries(summary: SampleSummary, docs: Documents) -> None:
    assert 0.35 < summary.on_demand_units / summary.units < 0.65
    importers = {str(doc["_id"]): doc for doc in docs["repo_importers"]}
    units = {unit["_id"]: unit for unit in docs["units_iso"]}
    repos_of = defaultdict(set)
    for membership in docs["repo_content_units"]:
        repos_of[membership["unit_id"]].add(membership["repo_id"])
    entries = defaultdict(list)
    for entry in docs["lazy_content_catalog"]:
        unit = units[entry["unit_id"]]
        importer = importers[entry["importer_id"]]
        assert importer["config"]["download_policy"] == "on_demand"
        assert importer["repo_id"] in repos_of[unit["_id"]]
        assert entry["unit_type_id"] == "iso"
        assert entry["url"] == importer["config"]["feed"] + unit["name"]
        assert entry["path"] == unit["_storage_path"]
        assert entry["checksum"] == unit["checksum"]
        assert entry["checksum_algorithm"] == "sha256"
        assert entry["revision"] == 0
        entries[unit["_id"]].append(entry)
    for unit in docs["units_iso"]:
        assert bool(entries[unit["_id"]]) is not unit["downloaded"]


def test_some_units_share_file_content(summary: SampleSummary, docs: Documents) -> None:
    downloaded = [unit for unit in docs["units_iso"] if unit["downloaded"]]
    distinct = {unit["checksum"] for unit in downloaded}
    assert summary.artifacts == len(distinct) < len(downloaded)


def test_revisions_give_a_recent_name_other_bytes_and_the_same_repos(tmp_path: Path) -> None:
    plain = generate_sample(tmp_path / "plain", repos=6, units=600, seed=3)
    revised = generate_sample(tmp_path / "revised", repos=6, units=600, seed=3, revisions=0.1)
    units = list(open_dump(revised.dump_path).iter_collection("units_iso"))
    repos_of: dict[str, set[str]] = defaultdict(set)
    for membership in open_dump(revised.dump_path).iter_collection("repo_content_units"):
        repos_of[membership["unit_id"]].add(membership["repo_id"])
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for unit in units:
        by_name[unit["name"]].append(unit)
    revisions = [same for same in by_name.values() if len(same) > 1]
    assert 30 < sum(len(same) - 1 for same in revisions) < 90
    for same in revisions:
        assert len({unit["checksum"] for unit in same}) == len(same)
        assert len({frozenset(repos_of[unit["_id"]]) for unit in same}) == 1
        assert len({unit["downloaded"] for unit in same}) == 1
        # Later revisions were added later.
        assert [u["_last_updated"] for u in same] == sorted(u["_last_updated"] for u in same)
    # Files on disk match their (revised) units, as everywhere else.
    for unit in units:
        if unit["downloaded"]:
            path = resolve_storage_path(unit["_storage_path"], revised.pulp_root)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == unit["checksum"]
    # Without revisions no name repeats.
    plain_units = list(open_dump(plain.dump_path).iter_collection("units_iso"))
    assert len({unit["name"] for unit in plain_units}) == len(plain_units)


def test_plan_covers_every_repository(summary: SampleSummary, docs: Documents) -> None:
    plan = json.loads(summary.plan_path.read_text())
    [plugin] = plan["plugins"]
    assert plugin["type"] == "iso"
    names = [repo["name"] for repo in plugin["repositories"]]
    assert sorted(names) == sorted(repo["repo_id"] for repo in docs["repos"])
    for repo in plugin["repositories"]:
        assert repo["pulp2_importer_repository_id"] == repo["name"]
        assert repo["repository_versions"] == [
            {
                "pulp2_repository_id": repo["name"],
                "pulp2_distributor_repository_ids": [repo["name"]],
            }
        ]


@pytest.mark.parametrize(
    ("repos", "on_demand", "overlap", "downloaded", "multi"),
    [(3, 0.0, 0.0, 40, 0), (3, 1.0, 0.5, 0, None), (1, 0.5, 0.9, None, 0)],
)
def test_edge_fractions(
    tmp_path: Path,
    repos: int,
    on_demand: float,
    overlap: float,
    downloaded: int | None,
    multi: int | None,
) -> None:
    summary = generate_sample(
        tmp_path, repos=repos, units=40, on_demand=on_demand, overlap=overlap, seed=1
    )
    if downloaded is not None:
        assert summary.downloaded_units == downloaded
    if multi is not None:
        assert summary.multi_repo_units == multi
    assert summary.lazy_entries >= summary.on_demand_units
    if on_demand == 0:
        assert summary.lazy_entries == 0


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="revisions are fractions"):
        generate_sample(tmp_path, repos=1, units=1, revisions=1.5)
    with pytest.raises(ValueError, match="repos >= 1"):
        generate_sample(tmp_path, repos=0, units=1)
    with pytest.raises(ValueError, match="fractions"):
        generate_sample(tmp_path, repos=1, units=1, on_demand=1.5)
    with pytest.raises(ValueError, match="fmt"):
        generate_sample(tmp_path, repos=1, units=1, fmt="tar")  # type: ignore[arg-type]


def test_summary_is_frozen(summary: SampleSummary) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.units = 1  # type: ignore[misc]


# -- determinism -------------------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
def test_same_seed_same_bytes(tmp_path: Path, fmt: DumpFormat, compress: bool) -> None:
    runs = [
        generate_sample(tmp_path / name, repos=3, units=80, fmt=fmt, gzip=compress, seed=seed)
        for name, seed in (("one", 4), ("two", 4), ("other", 5))
    ]
    one, two, other = (tree_bytes(tmp_path / name) for name in ("one", "two", "other"))
    assert one == two
    assert runs[0] == dataclasses.replace(
        runs[1],
        dump_path=runs[0].dump_path,
        pulp_root=runs[0].pulp_root,
        plan_path=runs[0].plan_path,
    )
    dump_files = [name for name in one if name.startswith("dump/")]
    assert dump_files
    assert any(one[name] != other.get(name) for name in dump_files)


# -- the formats, checked without our reader -----------------------------------------------------


def split_documents(data: bytes, offset: int) -> tuple[bytes, int]:
    """The document or terminator at ``offset`` and the offset after it."""
    if data[offset : offset + 4] == TERMINATOR:
        return TERMINATOR, offset + 4
    size = int.from_bytes(data[offset : offset + 4], "little")
    return data[offset : offset + size], offset + size


@pytest.mark.parametrize("compress", [False, True])
def test_archive_layout_is_mongodumps(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], compress: bool
) -> None:
    summary = samples["archive", compress]
    data = summary.dump_path.read_bytes()
    if compress:
        assert data[:2] == b"\x1f\x8b"
        data = gzip.decompress(data)
    assert data[:4] == bytes.fromhex("6de29981")
    raw, offset = split_documents(data, 4)
    header = bson.decode(raw)
    assert header["version"] == "0.1"
    assert header["concurrent_collections"] > 1
    assert {"server_version", "tool_version"} <= set(header)
    sizes = {}
    while True:
        raw, offset = split_documents(data, offset)
        if raw == TERMINATOR:
            break
        entry = bson.decode(raw)
        assert entry["db"] == "pulp_database"
        metadata = json.loads(entry["metadata"])
        assert metadata["indexes"][0] == {
            "v": 2,
            "key": {"_id": 1},
            "name": "_id_",
            "ns": f"pulp_database.{entry['collection']}",
        }
        sizes[entry["collection"]] = entry["size"]
    assert set(sizes) == set(summary.collection_counts)

    blocks: list[str] = []
    bodies: dict[str, bytes] = defaultdict(bytes)
    counts: Counter[str] = Counter()
    ended = set()
    while offset < len(data):
        raw, offset = split_documents(data, offset)
        ns = bson.decode(raw)
        assert set(ns) == {"db", "collection", "EOF", "CRC"}
        name = ns["collection"]
        assert name not in ended
        if ns["EOF"]:
            crc = crc64_python(bodies[name], 0)
            assert ns["CRC"] == (crc - (1 << 64) if crc >= 1 << 63 else crc)
            assert data[offset : offset + 4] == TERMINATOR
            offset += 4
            ended.add(name)
            continue
        assert ns["CRC"] == 0
        blocks.append(name)
        while (item := split_documents(data, offset))[0] != TERMINATOR:
            raw, offset = item
            bodies[name] += raw
            counts[name] += 1
        offset += 4
    assert offset == len(data)
    assert ended == set(sizes)
    assert dict(counts) == {k: v for k, v in summary.collection_counts.items() if v}
    assert {name: len(body) for name, body in bodies.items()} == {
        name: size for name, size in sizes.items() if size
    }
    per_collection = Counter(blocks)
    for name in BIG:
        assert per_collection[name] > 1
    # Interleaved: a big collection's blocks are separated by other collections' blocks.
    runs = [name for index, name in enumerate(blocks) if index == 0 or blocks[index - 1] != name]
    assert all(Counter(runs)[name] > 1 for name in BIG)


@pytest.mark.parametrize("compress", [False, True])
def test_folder_layout_is_mongodumps(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], compress: bool
) -> None:
    summary = samples["folder", compress]
    db_dir = summary.dump_path / "pulp_database"
    suffix = ".gz" if compress else ""
    names = {path.name for path in db_dir.iterdir()}
    expected = {f"{name}.bson{suffix}" for name in summary.collection_counts} | {
        f"{name}.metadata.json{suffix}" for name in summary.collection_counts
    }
    assert names == expected
    for name, count in summary.collection_counts.items():
        data = (db_dir / f"{name}.bson{suffix}").read_bytes()
        metadata = (db_dir / f"{name}.metadata.json{suffix}").read_bytes()
        if compress:
            data, metadata = gzip.decompress(data), gzip.decompress(metadata)
        assert len(bson.decode_all(data)) == count
        assert json.loads(metadata)["indexes"][0]["name"] == "_id_"
