"""Pulp 2 documents to staging rows: the pure converters and the chunked pass over a dump."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from bson.binary import Binary
from bson.code import Code
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.regex import Regex
from bson.timestamp import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.pulp2 import open_dump
from pulp2to3.pulp2.staging import (
    BadDocument,
    ContentRow,
    DistributorRow,
    ImporterRow,
    LazyCatalogRow,
    RepoContentRow,
    RepositoryRow,
    collections_to_read,
    content_row,
    distributor_row,
    dump_parts,
    epoch_seconds,
    importer_row,
    jsonable,
    lazy_catalog_row,
    parse_timestamp,
    repo_content_row,
    repository_row,
    stage_dump,
    text,
)
from pulp2to3.sample import generate_sample

OID = ObjectId("5a6698144a58b791d8cd6142")
NAIVE = datetime(2019, 10, 31, 18, 32, 26)
AWARE = NAIVE.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NAIVE, AWARE),  # BSON datetimes are naive UTC
        (AWARE, AWARE),
        (NAIVE.replace(tzinfo=timezone(timedelta(hours=2))), AWARE - timedelta(hours=2)),
        ("2019-10-31T18:32:26Z", AWARE),
        ("2019-10-31T18:32:26", AWARE),
        ("2019-10-31T20:32:26+02:00", AWARE),
        ("2019-10-31T18:32:26.5Z", AWARE + timedelta(milliseconds=500)),
        ("not a time", None),
        ("", None),
        (None, None),
        (1572546746, None),
    ],
)
def test_timestamps(value: Any, expected: datetime | None) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_text_takes_strings_and_object_ids() -> None:
    assert text("iso-repo-1", "repo_id") == "iso-repo-1"
    assert text(OID, "_id") == "5a6698144a58b791d8cd6142"
    code = text(Code("x"), "f")
    assert code == "x"
    assert type(code) is str


@pytest.mark.parametrize("value", [1, 2.5, True, b"bytes", ["a"], {"a": 1}, "nul\x00inside"])
def test_text_refuses_what_a_text_column_cannot_hold(value: Any) -> None:
    with pytest.raises(BadDocument, match=r"^field "):
        text(value, "field")


def test_jsonable_converts_every_bson_value() -> None:
    value = {
        "oid": OID,
        "when": NAIVE,
        "raw": b"\x00\x01\xff",
        "binary": Binary(b"xml", subtype=0x80),
        "long": Int64(2**40),
        "nan": math.nan,
        "inf": -math.inf,
        "decimal": Decimal128("1.10"),
        "regex": Regex("^a.*", "i"),
        "stamp": Timestamp(1572546746, 1),
        "nested": [{"a": (1, 2.5, None, True)}],
        "code": Code("function () {}"),
    }
    converted = jsonable(value)
    assert converted == {
        "oid": "5a6698144a58b791d8cd6142",
        "when": "2019-10-31T18:32:26+00:00",
        "raw": base64.b64encode(b"\x00\x01\xff").decode(),
        "binary": base64.b64encode(b"xml").decode(),
        "long": 2**40,
        "nan": "nan",
        "inf": "-inf",
        "decimal": "1.10",
        "regex": "^a.*",
        "stamp": "2019-10-31T18:32:26+00:00",
        "nested": [{"a": [1, 2.5, None, True]}],
        "code": "function () {}",
    }
    assert type(converted["long"]) is int
    json.dumps(converted, allow_nan=False)


def test_jsonable_refuses_nul_characters() -> None:
    with pytest.raises(BadDocument, match="NUL"):
        jsonable({"a": ["fine", "not\x00fine"]})


_bson_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text().filter(lambda s: "\x00" not in s),
    st.binary(max_size=32),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.builds(ObjectId),
)
_bson_values = st.recursive(
    _bson_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text().filter(lambda s: "\x00" not in s), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_bson_values)
def test_jsonable_always_gives_strict_json(value: Any) -> None:
    converted = jsonable(value)
    assert json.loads(json.dumps(converted, allow_nan=False)) == converted


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), (1519278835, 1519278835), (Int64(5), 5), (12.9, 12), (AWARE, 1572546746)],
)
def test_epoch_seconds(value: Any, expected: int) -> None:
    assert epoch_seconds(value, "_last_updated") == expected


@pytest.mark.parametrize("value", [True, "1519278835", math.nan])
def test_epoch_seconds_refuses_non_numbers(value: Any) -> None:
    with pytest.raises(BadDocument, match="_last_updated"):
        epoch_seconds(value, "_last_updated")


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


def iso_unit(**changes: Any) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "_id": "0088e2d3-25d1-44de-b0a9-2612a4291690",
        "_content_type_id": "iso",
        "_last_updated": 1519278835,
        "_storage_path": "/var/lib/pulp/content/units/iso/c7/7e83/sample.iso",
        "downloaded": False,
        "pulp_user_metadata": {},
        "name": "sample.iso",
        "checksum": "b688b983",
        "size": 60,
        "_ns": "units_iso",
    }
    unit.update(changes)
    return {key: value for key, value in unit.items() if value is not None}


def test_a_unit_keeps_its_own_fields_only() -> None:
    assert content_row("iso", iso_unit()) == ContentRow(
        pulp2_id="0088e2d3-25d1-44de-b0a9-2612a4291690",
        content_type="iso",
        last_updated=1519278835,
        storage_path="/var/lib/pulp/content/units/iso/c7/7e83/sample.iso",
        downloaded=False,
        fields=json.dumps({"name": "sample.iso", "checksum": "b688b983", "size": 60}),
    )


def test_unit_fields_become_json() -> None:
    rpm = iso_unit(
        repodata={"primary": Binary(b"<xml/>")},
        requires=[{"name": "glibc", "epoch": None}],
        build_time=Int64(1),
    )
    fields = json.loads(content_row("rpm", rpm).fields)
    assert fields["repodata"] == {"primary": base64.b64encode(b"<xml/>").decode()}
    assert fields["requires"] == [{"name": "glibc", "epoch": None}]
    json.dumps(fields, allow_nan=False)


@pytest.mark.parametrize(
    ("changes", "downloaded"),
    [
        ({"downloaded": True}, True),
        ({"downloaded": False}, False),
        ({"downloaded": None}, True),  # absent, with a file: Pulp 2's model default
        ({"downloaded": None, "_storage_path": None}, False),  # no file at all
    ],
)
def test_downloaded_default(changes: dict[str, Any], downloaded: bool) -> None:
    assert content_row("iso", iso_unit(**changes)).downloaded is downloaded


def test_a_unit_without_last_updated_is_at_the_epoch() -> None:
    assert content_row("iso", iso_unit(_last_updated=None)).last_updated == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"_id": None}, "no _id"),
        ({"_id": ""}, "_id is empty"),
        ({"_id": 5}, "_id is int, not a string"),
        ({"_storage_path": 7}, "_storage_path is int"),
        ({"downloaded": "yes"}, "downloaded is str, not a boolean"),
        ({"name": "a\x00b"}, "name: a string holds a NUL character"),
        ({"_last_updated": "yesterday"}, "_last_updated is str"),
    ],
)
def test_a_bad_unit_says_why(changes: dict[str, Any], reason: str) -> None:
    unit = iso_unit()
    unit.update(changes)
    unit = {key: value for key, value in unit.items() if value is not None}
    with pytest.raises(BadDocument) as caught:
        content_row("iso", unit)
    assert str(caught.value).startswith(reason)


def test_repository() -> None:
    document = {
        "_id": OID,
        "repo_id": "iso-repo-0001",
        "notes": {"_repo-type": "iso-repo"},
        "content_unit_counts": {"iso": Int64(3)},
        "last_unit_added": NAIVE,
        "scratchpad": {},
    }
    assert repository_row(document) == RepositoryRow(
        pulp2_object_id="5a6698144a58b791d8cd6142",
        pulp2_repo_id="iso-repo-0001",
        pulp2_repo_type="iso-repo",
        content_unit_counts={"iso": 3},
        last_unit_added=AWARE,
        last_unit_removed=None,
    )
    bare = repository_row({"_id": OID, "repo_id": "r"})
    assert (bare.pulp2_repo_type, bare.content_unit_counts) == (None, {})
    with pytest.raises(BadDocument, match="no repo_id"):
        repository_row({"_id": OID})
    with pytest.raises(BadDocument, match="content_unit_counts is list"):
        repository_row({"_id": OID, "repo_id": "r", "content_unit_counts": []})


def test_importer() -> None:
    document = {
        "_id": OID,
        "repo_id": "iso-repo-0001",
        "importer_type_id": "iso_importer",
        "config": {"feed": "https://cdn.example.com/", "download_policy": "on_demand"},
        "last_updated": NAIVE,
        "last_sync": "2019-10-31T18:32:26Z",
    }
    assert importer_row(document) == ImporterRow(
        pulp2_object_id="5a6698144a58b791d8cd6142",
        pulp2_repo_id="iso-repo-0001",
        importer_type_id="iso_importer",
        config={"feed": "https://cdn.example.com/", "download_policy": "on_demand"},
        last_updated=AWARE,
    )
    assert importer_row({**document, "config": None}).config == {}
    with pytest.raises(BadDocument, match="no importer_type_id"):
        importer_row({"_id": OID, "repo_id": "r"})


def test_distributor() -> None:
    document = {
        "_id": OID,
        "repo_id": "iso-repo-0001",
        "distributor_id": "iso_distributor",
        "distributor_type_id": "iso_distributor",
        "config": {"serve_http": False, "relative_url": "/iso/x/"},
        "auto_publish": True,
        "last_publish": None,
        "last_updated": NAIVE,
    }
    assert distributor_row(document) == DistributorRow(
        pulp2_object_id="5a6698144a58b791d8cd6142",
        pulp2_repo_id="iso-repo-0001",
        distributor_id="iso_distributor",
        distributor_type_id="iso_distributor",
        config={"serve_http": False, "relative_url": "/iso/x/"},
        auto_publish=True,
        last_publish=None,
        last_updated=AWARE,
    )
    minimal = {k: v for k, v in document.items() if k not in ("auto_publish", "config")}
    assert distributor_row(minimal).auto_publish is False
    assert distributor_row(minimal).config == {}


def test_membership() -> None:
    document = {
        "_id": OID,
        "repo_id": "iso-repo-0001",
        "unit_id": "0088e2d3",
        "unit_type_id": "iso",
        "created": "2019-10-31T18:32:26Z",
        "updated": "garbage",
    }
    assert repo_content_row(document) == RepoContentRow(
        pulp2_repo_id="iso-repo-0001",
        pulp2_unit_id="0088e2d3",
        unit_type_id="iso",
        created=AWARE,
        updated=None,  # an unreadable date does not cost the membership
    )
    with pytest.raises(BadDocument, match="no unit_id"):
        repo_content_row({"repo_id": "r", "unit_type_id": "iso"})


def test_lazy_catalog_entry() -> None:
    document = {
        "_id": ObjectId(),
        "importer_id": str(OID),
        "unit_id": "0088e2d3",
        "unit_type_id": "iso",
        "url": "https://cdn.example.com/sample.iso",
        "path": "/var/lib/pulp/content/units/iso/c7/sample.iso",
        "checksum": "b688b983",
        "checksum_algorithm": "sha256",
        "revision": 0,
    }
    assert lazy_catalog_row(document) == LazyCatalogRow(
        pulp2_unit_id="0088e2d3",
        unit_type_id="iso",
        importer_id="5a6698144a58b791d8cd6142",
        url="https://cdn.example.com/sample.iso",
        path="/var/lib/pulp/content/units/iso/c7/sample.iso",
        checksum="b688b983",
        checksum_algorithm="sha256",
        revision=0,
    )
    as_object_id = lazy_catalog_row({**document, "importer_id": OID, "revision": None})
    assert as_object_id.importer_id == str(OID)
    assert as_object_id.revision == 0
    with pytest.raises(BadDocument, match="no url"):
        lazy_catalog_row({k: v for k, v in document.items() if k != "url"})
    with pytest.raises(BadDocument, match="revision is out of range"):
        lazy_catalog_row({**document, "revision": 2**40})


# ---------------------------------------------------------------------------------------------
# The pass over a dump
# ---------------------------------------------------------------------------------------------


class ListDump:
    """A stand-in for :class:`~pulp2to3.pulp2.dump.Dump` over documents already decoded."""

    def __init__(self, documents: list[tuple[str, dict[str, Any]]]) -> None:
        self.path = Path("/nowhere")
        self.database = "pulp_database"
        self._documents = documents
        self.asked: list[str] = []

    def collections(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self._documents))

    def iter_collection(self, name: str) -> Iterator[dict[str, Any]]:
        return (doc for collection, doc in self._documents if collection == name)

    def iter_documents(self, names: Collection[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        self.asked = list(names)
        return ((c, d) for c, d in self._documents if c in names)


def test_collections_to_read() -> None:
    assert collections_to_read(["rpm", "srpm"]) == [
        "repos",
        "repo_importers",
        "repo_distributors",
        "repo_content_units",
        "units_rpm",
        "units_srpm",
        "lazy_content_catalog",
    ]


def test_stage_dump_chunks_sorts_skips_and_rejects() -> None:
    membership = {"_id": OID, "repo_id": "r", "unit_id": "u", "unit_type_id": "iso"}
    documents = [
        ("repos", {"_id": OID, "repo_id": "r"}),
        ("units_iso", iso_unit()),
        ("units_iso", iso_unit(_id=None)),
        ("repo_content_units", membership),
        ("repo_content_units", {**membership, "unit_type_id": "rpm"}),
        ("units_rpm", iso_unit()),  # a type the plan does not migrate: not even read
        ("users", {"_id": OID, "login": "admin"}),
        ("lazy_content_catalog", {"unit_type_id": "erratum"}),
    ]
    dump = ListDump(documents)
    chunks = list(stage_dump(dump, ["iso"], chunk_documents=2))

    assert dump.asked == collections_to_read(["iso"])
    assert [chunk.documents for chunk in chunks] == [2, 2, 2]
    assert [len(chunk.repositories) for chunk in chunks] == [1, 0, 0]
    assert [len(chunk.content) for chunk in chunks] == [1, 0, 0]
    assert [len(chunk.memberships) for chunk in chunks] == [0, 1, 0]
    assert sum(chunk.skipped for chunk in chunks) == 2
    rejected = [item for chunk in chunks for item in chunk.rejected]
    assert [(r.label, r.reason) for r in rejected] == [("units_iso/(no _id)", "no _id")]


def test_stage_dump_of_nothing_yields_nothing() -> None:
    assert list(stage_dump(ListDump([]), ["iso"])) == []
    with pytest.raises(ValueError, match="chunk_documents"):
        next(stage_dump(ListDump([]), ["iso"], chunk_documents=0))


def test_big_units_cut_chunks_sooner() -> None:
    """A chunk's memory is bounded by its units' fields too, not only by its documents."""
    big = [("units_iso", iso_unit(_id=f"u{n}", name="x" * 1000)) for n in range(10)]
    small = [("units_iso", iso_unit(_id=f"s{n}")) for n in range(10)]
    chunks = list(stage_dump(ListDump(big + small), ["iso"], chunk_size=3000))
    assert [chunk.documents for chunk in chunks] == [3, 3, 3, 11]
    assert all(chunk.size >= 3000 for chunk in chunks[:-1])


def test_every_document_of_a_generated_sample_converts(tmp_path: Path) -> None:
    summary = generate_sample(tmp_path, repos=3, units=50, seed=5)
    chunks = list(stage_dump(open_dump(summary.dump_path), ["iso"], chunk_documents=40))
    assert [item for chunk in chunks for item in chunk.rejected] == []
    assert sum(len(chunk.content) for chunk in chunks) == summary.units
    assert sum(len(chunk.memberships) for chunk in chunks) == summary.memberships
    assert sum(len(chunk.lazy_catalog) for chunk in chunks) == summary.lazy_entries
    assert sum(len(chunk.importers) for chunk in chunks) == summary.repos
    assert max(chunk.documents for chunk in chunks) <= 40


def test_dump_parts_are_the_repositories_then_one_per_big_collection() -> None:
    available = {
        "repos",
        "repo_importers",
        "repo_distributors",
        "repo_content_units",
        "units_rpm",
        "units_erratum",
        "erratum_pkglists",
        "lazy_content_catalog",
        "users",
    }
    types = ["rpm", "srpm", "erratum"]  # no units_srpm in this dump
    assert dump_parts(available, types, ["erratum_pkglists"], max_parts=8) == [
        ["repos", "repo_importers", "repo_distributors"],
        ["repo_content_units"],
        ["units_rpm"],
        ["units_erratum"],
        ["erratum_pkglists"],
        ["lazy_content_catalog"],
    ]
    # Beyond max_parts, the big collections are dealt over the parts.
    assert dump_parts(available, types, ["erratum_pkglists"], max_parts=3) == [
        ["repos", "repo_importers", "repo_distributors", "units_erratum"],
        ["repo_content_units", "erratum_pkglists"],
        ["units_rpm", "lazy_content_catalog"],
    ]
    every_part = dump_parts(available, types, ["erratum_pkglists"], max_parts=3)
    read = [name for part in every_part for name in part]
    assert sorted(read) == sorted(set(collections_to_read(types, ["erratum_pkglists"])) & available)


def test_a_dump_of_none_of_the_collections_is_one_empty_part() -> None:
    assert dump_parts({"users"}, ["iso"], max_parts=4) == [[]]
