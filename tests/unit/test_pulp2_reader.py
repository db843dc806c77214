"""The Pulp 2 dump reader against samples in every mongodump form, and against broken input."""

from __future__ import annotations

import gzip
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
import pytest
from bson.code import Code
from bson.int64 import Int64
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulp2to3.pulp2 import DumpError, open_dump
from pulp2to3.pulp2.bson_stream import BsonStream
from pulp2to3.pulp2.crc64 import crc64, crc64_python
from pulp2to3.sample import (
    DUMP_FORMS,
    DumpFormat,
    SampleSummary,
    generate_every_form,
    generate_sample,
)
from pulp2to3.sample.writer import ArchiveDumpWriter, FolderDumpWriter

MAGIC = bytes.fromhex("6de29981")
TERMINATOR = b"\xff\xff\xff\xff"


@pytest.fixture(scope="module")
def samples(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[DumpFormat, bool], SampleSummary]:
    return generate_every_form(tmp_path_factory.mktemp("samples"), repos=4, units=120, seed=3)


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "archive"


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    summary = generate_sample(tmp_path_factory.mktemp("small"), repos=2, units=12, seed=5)
    return summary.dump_path.read_bytes()


def read_all(path: Path, **options: Any) -> dict[str, list[dict[str, Any]]]:
    dump = open_dump(path, **options)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in dump.collections()}
    for name, document in dump.iter_documents(set(found)):
        found[name].append(document)
    return found


def assert_names_place(error: DumpError, path: Path) -> None:
    message = str(error)
    assert str(path) in message
    assert re.search(r"at offset \d+", message), message


# -- hand-built archives, for structures the sample writer never produces --------------------


def document(**fields: Any) -> bytes:
    return bson.encode(fields)


def prelude(*collections: str, db: str = "pulp_database") -> bytes:
    header = document(concurrent_collections=1, version="0.1", server_version="x", tool_version="y")
    metadata = b"".join(
        document(db=db, collection=name, metadata="{}", size=0) for name in collections
    )
    return MAGIC + header + metadata + TERMINATOR


def block(name: str, *docs: bytes, db: str = "pulp_database") -> bytes:
    return document(db=db, collection=name, EOF=False, CRC=Int64(0)) + b"".join(docs) + TERMINATOR


def eof(name: str, *docs: bytes, db: str = "pulp_database") -> bytes:
    crc = 0
    for raw in docs:
        crc = crc64(raw, crc)
    signed = crc - (1 << 64) if crc >= 1 << 63 else crc
    return document(db=db, collection=name, EOF=True, CRC=Int64(signed)) + TERMINATOR


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- reading good dumps ------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
def test_every_form_reads_back_what_was_written(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], fmt: DumpFormat, compress: bool
) -> None:
    summary = samples[fmt, compress]
    found = read_all(summary.dump_path)
    assert {name: len(docs) for name, docs in found.items()} == dict(summary.collection_counts)


def test_all_forms_hold_the_same_documents(
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
) -> None:
    contents = [read_all(summary.dump_path) for summary in samples.values()]
    for other in contents[1:]:
        assert other == contents[0]


@pytest.mark.parametrize(("fmt", "compress"), DUMP_FORMS)
def test_iter_collection_matches_iter_documents(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], fmt: DumpFormat, compress: bool
) -> None:
    dump = open_dump(samples[fmt, compress].dump_path)
    together = read_all(samples[fmt, compress].dump_path)
    for name in dump.collections():
        assert list(dump.iter_collection(name)) == together[name]


def test_a_collection_not_in_the_dump_is_empty(
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
) -> None:
    for summary in samples.values():
        dump = open_dump(summary.dump_path)
        assert list(dump.iter_collection("units_rpm")) == []
        pairs = list(dump.iter_documents({"units_rpm", "repos"}))
        assert Counter(name for name, _ in pairs) == {"repos": summary.repos}


def test_reading_one_collection_stops_after_its_end(tmp_path: Path) -> None:
    good = prelude("a", "b") + block("a", document(x=1)) + eof("a", document(x=1))
    path = write(tmp_path / "a.archive", good + block("b", document(y=1)) + b"\x00garbage")
    assert list(open_dump(path).iter_collection("a")) == [{"x": 1}]
    with pytest.raises(DumpError):
        list(open_dump(path).iter_collection("b"))


def test_folder_may_be_named_by_its_database_folder(
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
) -> None:
    summary = samples["folder", False]
    dump = open_dump(summary.dump_path / "pulp_database")
    assert dump.database == "pulp_database"
    assert sum(1 for _ in dump.iter_collection("units_iso")) == summary.units


def test_gzip_archive_is_detected_by_content_not_name(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], tmp_path: Path
) -> None:
    renamed = tmp_path / "dump.bin"
    renamed.write_bytes(samples["archive", True].dump_path.read_bytes())
    assert len(list(open_dump(renamed).iter_collection("repos"))) == 4


def test_the_only_database_is_used_when_pulp_database_is_absent(tmp_path: Path) -> None:
    for writer in (
        ArchiveDumpWriter(tmp_path / "x.archive", "pulp2", compress=False),
        FolderDumpWriter(tmp_path / "out", "pulp2", compress=False),
    ):
        with writer:
            writer.collection("repos").write({"repo_id": "r"})
    for path in (tmp_path / "x.archive", tmp_path / "out"):
        dump = open_dump(path)
        assert dump.database == "pulp2"
        assert list(dump.iter_collection("repos")) == [{"repo_id": "r"}]


def test_archive_demultiplexes_databases_and_interleaved_blocks(tmp_path: Path) -> None:
    a1, a2, b1, o1 = document(n=1), document(n=2), document(m=1), document(o=1)
    header = document(concurrent_collections=3, version="0.1")
    metadata = b"".join(
        document(db=db, collection=name, metadata="{}", size=0)
        for db, name in [("pulp_database", "a"), ("pulp_database", "b"), ("other", "a")]
    )
    archive = (
        MAGIC
        + header
        + metadata
        + TERMINATOR
        + block("a", a1)
        + block("a", o1, db="other")
        + block("b", b1)
        + block("a", a2)
        + eof("b", b1)
        + eof("a", o1, db="other")
        + eof("a", a1, a2)
    )
    path = write(tmp_path / "multi.archive", archive)
    dump = open_dump(path)
    assert dump.collections() == ["a", "b"]
    assert list(dump.iter_documents({"a", "b"})) == [
        ("a", {"n": 1}),
        ("b", {"m": 1}),
        ("a", {"n": 2}),
    ]
    assert list(open_dump(path, database="other").iter_collection("a")) == [{"o": 1}]


def test_several_databases_without_pulp_database_need_a_choice(tmp_path: Path) -> None:
    for db in ("one", "two"):
        with FolderDumpWriter(tmp_path, db, compress=False) as writer:
            writer.collection("repos").write({"db": db})
    with pytest.raises(DumpError, match="not exactly one"):
        open_dump(tmp_path)
    assert list(open_dump(tmp_path, database="two").iter_collection("repos")) == [{"db": "two"}]
    with pytest.raises(DumpError, match="no database 'three'"):
        open_dump(tmp_path, database="three")


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="no such file or folder"):
        open_dump(tmp_path / "nothing")
    with pytest.raises(DumpError, match=r"no <database>/<collection>\.bson"):
        open_dump(tmp_path)


def test_crc_check_can_be_turned_off(tmp_path: Path) -> None:
    doc = document(name="x")
    path = write(tmp_path / "a", prelude("a") + block("a", doc) + eof("a", document(name="y")))
    with pytest.raises(DumpError, match=r"CRC mismatch for pulp_database\.a"):
        read_all(path)
    assert read_all(path, verify_crc=False) == {"a": [{"name": "x"}]}


def test_crc64_is_crc64_xz_in_both_implementations() -> None:
    assert crc64(b"123456789", 0) == 0x995DC9BBDF1939FA
    assert crc64_python(b"123456789", 0) == 0x995DC9BBDF1939FA
    data = os.urandom(4099)
    assert crc64_python(data[1000:], crc64_python(data[:1000], 0)) == crc64(data, 0)


# -- broken archives ---------------------------------------------------------------------------


def test_bad_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "x", b"\x00\x01\x02\x03" + prelude()[4:])
    with pytest.raises(DumpError, match="not a mongodump archive") as caught:
        open_dump(path)
    assert_names_place(caught.value, path)
    assert caught.value.offset == 0


def test_empty_and_tiny_files(tmp_path: Path) -> None:
    for data in (b"", b"\x6d", MAGIC, MAGIC + b"\x05\x00"):
        path = write(tmp_path / "x", data)
        with pytest.raises(DumpError):
            read_all(path)


@pytest.mark.parametrize(
    ("length", "reason"),
    [
        (3, "invalid BSON document length 3"),
        (-2, "invalid BSON document length -2"),
        (1 << 30, f"invalid BSON document length {1 << 30}"),
        (40, "truncated: document of 40 bytes"),
    ],
)
def test_bad_document_length(tmp_path: Path, length: int, reason: str) -> None:
    good = prelude("a") + block("a", document(x=1))
    cut = len(prelude("a")) + len(
        document(db="pulp_database", collection="a", EOF=False, CRC=Int64(0))
    )
    bad = good[:cut] + length.to_bytes(4, "little", signed=True) + good[cut + 4 :]
    path = write(tmp_path / "x", bad[: cut + 14])
    with pytest.raises(DumpError, match=re.escape(reason)) as caught:
        read_all(path)
    assert caught.value.offset == cut
    assert_names_place(caught.value, path)


def test_document_without_final_zero(tmp_path: Path) -> None:
    doc = bytearray(document(x=1))
    doc[-1] = 7
    path = write(tmp_path / "x", prelude("a") + block("a", bytes(doc)) + eof("a"))
    with pytest.raises(DumpError, match="does not end with a 0 byte"):
        read_all(path)


def test_invalid_bson_inside_a_document(tmp_path: Path) -> None:
    doc = bytearray(document(x=1))
    doc[4] = 0x7E  # no such BSON element type
    path = write(tmp_path / "x", prelude("a") + block("a", bytes(doc)) + eof("a"))
    with pytest.raises(DumpError, match="invalid BSON document") as caught:
        read_all(path)
    assert_names_place(caught.value, path)


def skipped_fault(fault: str) -> bytes:
    """A block of ``a`` whose second document has ``fault``, then ``b``, which ends the file."""
    doc = bytearray(document(x=1, y="z" * 20))
    if fault == "length":
        doc[:4] = (3).to_bytes(4, "little")
    elif fault == "zero":
        doc[-1] = 7
    body = block("a", document(x=0), bytes(doc)) + eof("a") + block("b", document(b=1)) + eof("b")
    if fault == "truncated":
        body = block("a", document(x=0), bytes(doc))[:-10]
    return prelude("a", "b") + body


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("length", "invalid BSON document length 3"),
        ("zero", "does not end with a 0 byte"),
        ("truncated", "truncated: document of 40 bytes ends after 34 bytes"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_a_collection_passed_over_is_checked_as_one_read(
    tmp_path: Path, fault: str, reason: str, compress: bool
) -> None:
    """A part of the dump passes over the other parts' documents (seeking past them in a plain
    archive), and still finds their faults, at the same offsets, as a reader of them does."""
    data = skipped_fault(fault)
    path = write(tmp_path / "x", gzip.compress(data) if compress else data)
    errors = []
    for wanted in ({"a"}, {"b"}):
        with pytest.raises(DumpError, match=re.escape(reason)) as caught:
            list(open_dump(path).iter_documents(wanted))
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert_names_place(caught.value, path)


@pytest.mark.parametrize("chunk", [1, 7, 300])
def test_documents_across_the_reads_chunks_read_and_fail_the_same(
    samples: dict[tuple[DumpFormat, bool], SampleSummary],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    """The reader cuts documents out of chunks of the file: documents, terminators and faults
    across a chunk's end (and, in a plain file, documents longer than a chunk, passed over by
    seeking) read, and fail, as within one."""
    expected = {form: read_all(summary.dump_path) for form, summary in samples.items()}
    faults = {}
    for fault in ("length", "zero", "truncated"):
        path = write(tmp_path / fault, skipped_fault(fault))
        with pytest.raises(DumpError) as caught:
            list(open_dump(path).iter_documents({"b"}))
        faults[fault] = str(caught.value)
    monkeypatch.setattr(BsonStream, "CHUNK", chunk)
    for form, summary in samples.items():
        assert read_all(summary.dump_path) == expected[form]
        dump = open_dump(summary.dump_path)
        for name in dump.collections():
            assert list(dump.iter_collection(name)) == expected[form][name]
    for fault, message in faults.items():
        for wanted in ({"a"}, {"b"}):
            with pytest.raises(DumpError) as caught:
                list(open_dump(tmp_path / fault).iter_documents(wanted))
            assert str(caught.value) == message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (TERMINATOR, "a terminator where a collection header should be"),
        (block("a") + eof("a") + block("a", document(x=1)), "a block of pulp_database.a after"),
        (
            document(db="pulp_database", collection="a", EOF=True, CRC=0),
            "not followed by a terminator",
        ),
        (document(db="pulp_database", EOF=False), "no valid 'db' and 'collection'"),
        (document(db="pulp_database", collection="a", EOF="yes"), "malformed collection header"),
        (block("a", document(x=1)), "ends before the end of pulp_database.a"),
        (block("b") + eof("a"), "ends before the end of pulp_database.b"),
        (block("a", document(x=1))[:-4], "ends inside a block of pulp_database.a"),
    ],
)
def test_broken_archive_structure(tmp_path: Path, body: bytes, reason: str) -> None:
    path = write(tmp_path / "x", prelude("a", "b") + body)
    with pytest.raises(DumpError, match=re.escape(reason)) as caught:
        read_all(path)
    assert str(path) in str(caught.value)


def test_truncated_at_every_block_boundary(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], tmp_path: Path
) -> None:
    data = samples["archive", False].dump_path.read_bytes()
    cuts = [match.start() + 4 for match in re.finditer(re.escape(TERMINATOR), data)][:-1]
    assert len(cuts) > 10
    for cut in cuts:
        path = write(tmp_path / "cut", data[:cut])
        with pytest.raises(DumpError, match="truncated") as caught:
            read_all(path)
        assert_names_place(caught.value, path)


def test_truncated_gzip_archive(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], tmp_path: Path
) -> None:
    data = samples["archive", True].dump_path.read_bytes()
    for cut in (len(data) // 3, len(data) - 5):
        path = write(tmp_path / "cut.gz", data[:cut])
        with pytest.raises(DumpError, match="decompressed gzip stream") as caught:
            read_all(path)
        assert_names_place(caught.value, path)


def test_corrupt_gzip_archive(
    samples: dict[tuple[DumpFormat, bool], SampleSummary], tmp_path: Path
) -> None:
    data = bytearray(samples["archive", True].dump_path.read_bytes())
    data[-6] ^= 0xFF  # inside the gzip trailer's CRC-32
    path = write(tmp_path / "bad.gz", bytes(data))
    with pytest.raises(DumpError, match="cannot read") as caught:
        read_all(path)
    assert_names_place(caught.value, path)


def test_gzip_that_is_not_an_archive(tmp_path: Path) -> None:
    path = write(tmp_path / "x.gz", gzip.compress(b"hello world", mtime=0))
    with pytest.raises(DumpError, match="not a mongodump archive"):
        open_dump(path)


# -- broken folders ----------------------------------------------------------------------------


def folder_with(tmp_path: Path, name: str, data: bytes) -> Path:
    db_dir = tmp_path / "out" / "pulp_database"
    db_dir.mkdir(parents=True, exist_ok=True)
    return write(db_dir / name, data)


def test_truncated_folder_file(tmp_path: Path) -> None:
    data = document(a=1) + document(b=2)
    path = folder_with(tmp_path, "repos.bson", data[:-3])
    with pytest.raises(DumpError, match="truncated") as caught:
        read_all(tmp_path / "out")
    assert caught.value.offset == len(document(a=1))
    assert_names_place(caught.value, path)


def test_terminator_is_a_bad_length_in_a_folder_file(tmp_path: Path) -> None:
    folder_with(tmp_path, "repos.bson", document(a=1) + TERMINATOR)
    with pytest.raises(DumpError, match="invalid BSON document length -1"):
        read_all(tmp_path / "out")


def test_corrupt_gzip_folder_file(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(document(a=1) * 50, mtime=0))
    packed[len(packed) // 2] ^= 0x55
    path = folder_with(tmp_path, "repos.bson.gz", bytes(packed))
    with pytest.raises(DumpError) as caught:
        read_all(tmp_path / "out")
    assert_names_place(caught.value, path)
    assert "decompressed gzip stream" in str(caught.value)


def test_plain_and_gzip_copies_of_one_collection_are_ambiguous(tmp_path: Path) -> None:
    folder_with(tmp_path, "repos.bson", document(a=1))
    folder_with(tmp_path, "repos.bson.gz", gzip.compress(document(a=1)))
    with pytest.raises(DumpError, match="both plain and gzipped"):
        open_dump(tmp_path / "out")


# -- fuzzing: any damage gives documents or a DumpError, nothing else ----------------------------


def consume(path: Path) -> Iterator[int]:
    dump = open_dump(path)
    for _name, _document in dump.iter_documents(set(dump.collections())):
        yield 1


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.data())
def test_random_truncation_raises_dump_error(
    small_archive: bytes, fuzz_file: Path, data: st.DataObject
) -> None:
    compress = data.draw(st.booleans())
    whole = gzip.compress(small_archive, mtime=0) if compress else small_archive
    cut = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))
    fuzz_file.write_bytes(whole[:cut])
    with pytest.raises(DumpError):
        sum(consume(fuzz_file))


@FUZZ
@given(data=st.data())
def test_random_corruption_gives_documents_or_dump_error(
    small_archive: bytes, fuzz_file: Path, data: st.DataObject
) -> None:
    compress = data.draw(st.booleans())
    whole = bytearray(gzip.compress(small_archive, mtime=0) if compress else small_archive)
    changes = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(whole) - 1), st.integers(0, 255)), min_size=1, max_size=4
        )
    )
    for position, value in changes:
        whole[position] = value
    fuzz_file.write_bytes(bytes(whole))
    failure: DumpError | None = None
    try:
        sum(consume(fuzz_file))
    except DumpError as error:
        failure = error
    if failure is not None:
        assert str(fuzz_file) in str(failure)


def test_namespace_names_of_another_string_type_are_plain_strings(tmp_path: Path) -> None:
    # bson's Code is a str subclass that cannot be hashed; found by fuzzing.
    header = bson.encode({"db": Code("pulp_database"), "collection": Code("a"), "EOF": False})
    path = write(
        tmp_path / "x", prelude("a") + header + document(x=1) + TERMINATOR + eof("a", document(x=1))
    )
    assert read_all(path) == {"a": [{"x": 1}]}
