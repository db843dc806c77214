"""Hostile input to what reads the operator's files: the Pulp 2 dump (archive and folder, gzip
or not) and the plan. Whatever the bytes, the reader gives documents or a ``DumpError`` naming
the file (and the offset when the fault is at one place), and a plan is a ``Plan`` or a
``PlanError`` of bounded size: never another exception, and never a hang (the timeout mark)."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

import bson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulp2to3.plan import MAX_MESSAGE_LENGTH, MAX_MESSAGES, Plan, PlanError, parse_plan
from pulp2to3.pulp2 import DumpError, open_dump
from pulp2to3.pulp2.archive_format import ARCHIVE_MAGIC as MAGIC
from pulp2to3.pulp2.archive_format import TERMINATOR
from pulp2to3.sample import generate_sample

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def read_everything(path: Path) -> int:
    dump = open_dump(path)
    return sum(1 for _ in dump.iter_documents(set(dump.collections())))


def documents_or_dump_error(path: Path) -> DumpError | None:
    """None when the dump reads; else its error, which names the file."""
    failure: DumpError | None = None
    try:
        read_everything(path)
    except DumpError as error:
        failure = error
    if failure is not None:
        assert str(path) in str(failure), failure
    return failure


@pytest.fixture(scope="module")
def folder_collection(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of one collection file of a real (generated) folder dump."""
    out = tmp_path_factory.mktemp("folder")
    generate_sample(out, repos=2, units=12, seed=5, fmt="folder")
    [units] = out.rglob("units_iso.bson")
    return units.read_bytes()


def write_folder(root: Path, data: bytes, compressed: bool) -> Path:
    """A dump folder holding one collection file of ``data`` (gzipped when ``compressed``)."""
    db = root / "pulp_database"
    db.mkdir(parents=True, exist_ok=True)
    for old in db.iterdir():
        old.unlink()
    name = "units_iso.bson.gz" if compressed else "units_iso.bson"
    (db / name).write_bytes(gzip.compress(data, mtime=0) if compressed else data)
    return root


# -- the dump: random bytes ----------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=4096), compressed=st.booleans(), magic=st.booleans())
def test_random_bytes_as_an_archive_give_a_dump_error(
    tmp_path: Path, data: bytes, compressed: bool, magic: bool
) -> None:
    body = (MAGIC + data) if magic else data
    path = tmp_path / "archive"
    path.write_bytes(gzip.compress(body, mtime=0) if compressed else body)
    with pytest.raises(DumpError):
        read_everything(path)


@FUZZ
@given(data=st.binary(max_size=4096), compressed=st.booleans())
def test_random_bytes_as_a_folder_collection_give_documents_or_a_dump_error(
    tmp_path: Path, data: bytes, compressed: bool
) -> None:
    documents_or_dump_error(write_folder(tmp_path / "dump", data, compressed))


# -- the dump: a real folder collection truncated or corrupted ------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
def test_a_folder_collection_truncated_anywhere_inside_a_document_is_a_dump_error(
    tmp_path: Path, folder_collection: bytes, compressed: bool
) -> None:
    boundaries = document_boundaries(folder_collection)
    for cut in range(1, len(folder_collection)):
        root = write_folder(tmp_path / "dump", folder_collection[:cut], compressed)
        error = documents_or_dump_error(root)
        # A cut between two documents leaves a shorter, valid collection; any other is an error.
        assert (error is None) == (cut in boundaries), cut


def document_boundaries(data: bytes) -> set[int]:
    ends, offset = set(), 0
    while offset < len(data):
        offset += struct.unpack_from("<i", data, offset)[0]
        ends.add(offset)
    return ends


@FUZZ
@given(data=st.data(), compressed=st.booleans())
def test_a_corrupted_folder_collection_gives_documents_or_a_dump_error(
    tmp_path: Path, folder_collection: bytes, data: st.DataObject, compressed: bool
) -> None:
    damaged = bytearray(folder_collection)
    for position, value in data.draw(
        st.lists(st.tuples(st.integers(0, len(damaged) - 1), st.integers(0, 255)), min_size=1)
    ):
        damaged[position] = value
    documents_or_dump_error(write_folder(tmp_path / "dump", bytes(damaged), compressed))


# -- the dump: structures a writer never makes ---------------------------------------------------


def nested(depth: int) -> bytes:
    """A BSON document ``{"a": {"a": ... {}}}`` ``depth`` levels deep."""
    inner = b"\x05\x00\x00\x00\x00"
    for _ in range(depth):
        body = b"\x03a\x00" + inner + b"\x00"
        inner = struct.pack("<i", len(body) + 4) + body
    return inner


def archive(*blocks: bytes, announced: tuple[str, ...] = ("units_iso",)) -> bytes:
    header = bson.encode({"concurrent_collections": 1, "version": "0.1"})
    prelude = b"".join(
        bson.encode({"db": "pulp_database", "collection": name, "metadata": "{}", "size": 0})
        for name in announced
    )
    return MAGIC + header + prelude + TERMINATOR + b"".join(blocks)


def block(name: str, *documents: bytes, eof: bool = False) -> bytes:
    header = {"db": "pulp_database", "collection": name, "EOF": eof, "CRC": bson.Int64(0)}
    return bson.encode(header) + b"".join(documents) + TERMINATOR


@pytest.mark.parametrize("compressed", [False, True])
def test_a_document_nested_thousands_deep_is_a_dump_error_at_its_offset(
    tmp_path: Path, compressed: bool
) -> None:
    deep = nested(5_000)
    data = archive(block("units_iso", deep), block("units_iso", eof=True))
    path = tmp_path / "archive"
    path.write_bytes(gzip.compress(data, mtime=0) if compressed else data)
    with pytest.raises(DumpError, match=r"nested|recursion") as caught:
        read_everything(path)
    assert caught.value.offset == data.index(deep)
    with pytest.raises(DumpError, match=r"nested|recursion") as caught:
        read_everything(write_folder(tmp_path / "dump", deep, compressed))
    assert caught.value.offset == 0


def test_a_block_of_a_collection_the_prelude_does_not_announce_is_a_dump_error(
    tmp_path: Path,
) -> None:
    stray = block("units_rpm", bson.encode({"_id": "x"}))
    data = archive(block("units_iso", eof=True), stray)
    path = tmp_path / "archive"
    path.write_bytes(data)
    with pytest.raises(DumpError, match="units_rpm, which the prelude does not announce") as caught:
        read_everything(path)
    assert caught.value.offset == data.index(stray)


def test_a_document_length_beyond_the_end_of_the_file_is_a_dump_error(tmp_path: Path) -> None:
    claims_more = struct.pack("<i", 2**31 - 1) + b"\x00" * 16
    path = tmp_path / "archive"
    path.write_bytes(archive(block("units_iso", claims_more)))
    with pytest.raises(DumpError, match="length 2147483647"):
        read_everything(path)
    with pytest.raises(DumpError, match="length 2147483647"):
        read_everything(write_folder(tmp_path / "dump", claims_more, False))


# -- plans -----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["plugins", "type", "repositories", "name", "repository_versions"])
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=40,
)


def plan_or_plan_error(raw: object) -> PlanError | None:
    """None when ``raw`` is a plan; else its error, bounded in size."""
    failure: PlanError | None = None
    try:
        assert isinstance(parse_plan(raw), Plan)
    except PlanError as error:
        failure = error
    if failure is not None:
        assert 0 < len(failure.messages) <= MAX_MESSAGES + 1
        assert all(len(message) <= MAX_MESSAGE_LENGTH for message in failure.messages)
    return failure


@FUZZ
@given(raw=json_values)
def test_any_json_value_is_a_plan_or_a_plan_error(raw: Any) -> None:
    plan_or_plan_error(raw)
    plan_or_plan_error(json.dumps(raw))


@FUZZ
@given(text=st.text(max_size=200))
def test_any_text_is_a_plan_or_a_plan_error(text: str) -> None:
    plan_or_plan_error(text)


def deep_plan(depth: int) -> dict[str, Any]:
    value: Any = "iso"
    for _ in range(depth):
        value = {"type": value}
    return {"plugins": [{"type": value, "repositories": []}]}


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"plugins": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001,
        deep_plan(10_000),
    ],
    ids=["deep JSON text", "deep JSON object text", "deep object"],
)
def test_a_plan_nested_thousands_deep_is_a_plan_error(raw: object) -> None:
    error = plan_or_plan_error(raw)
    assert error is not None
    assert "nested too deeply" in str(error)


def test_a_number_too_long_to_read_is_a_plan_error() -> None:
    error = plan_or_plan_error('{"plugins": ' + "9" * 100_000 + "}")
    assert error is not None
    assert "not valid JSON" in str(error)


def test_a_huge_plan_wrong_everywhere_lists_a_bounded_number_of_errors() -> None:
    long = "x" * 10_000
    repositories = [{"name": f"r{i}", "unknown": long} for i in range(50_000)]
    error = plan_or_plan_error({"plugins": [{"type": "iso", "repositories": repositories}]})
    assert error is not None
    assert error.messages[-1] == f"(only the first {MAX_MESSAGES} errors are listed)"


def test_a_huge_value_is_cut_in_the_error() -> None:
    error = plan_or_plan_error({"plugins": [{"type": "x" * 10_000_000}]})
    assert error is not None
    assert error.messages[0].endswith("…")
