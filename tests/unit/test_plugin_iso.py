"""The ISO mapping rules: fields checked, natural key canonical, relative path safe."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.plugins.iso import InvalidUnit, IsoFile, manifest_lines, parse_fields
from pulp2to3.plugins.iso_content import CONTENT_TYPE

SHA = "ab" * 32


def test_fields_become_a_file() -> None:
    file = parse_fields({"name": "disk-1.iso", "checksum": SHA, "size": 42, "extra": 1})
    assert file == IsoFile(name="disk-1.iso", checksum=SHA, size=42)
    assert file.fields == {"relative_path": "disk-1.iso", "digest": SHA, "size": 42}
    assert CONTENT_TYPE.pulp_type == "file.file"


def test_the_checksum_is_lower_cased() -> None:
    assert parse_fields({"name": "a", "checksum": SHA.upper(), "size": 0}).checksum == SHA


def test_a_name_may_have_folders() -> None:
    assert parse_fields({"name": "dir/sub/a.iso", "checksum": SHA, "size": 1}).name == (
        "dir/sub/a.iso"
    )


def natural_key(fields: dict[str, Any]) -> str:
    return CONTENT_TYPE.natural_key_of(parse_fields(fields).fields)


def test_the_natural_key_is_canonical_json_of_name_checksum_size() -> None:
    key = natural_key({"name": "a.iso", "checksum": SHA.upper(), "size": 7})
    assert key == f'["a.iso","{SHA}",7]'
    assert key == natural_key({"size": 7, "checksum": SHA, "name": "a.iso"})


def test_the_repository_key_is_the_relative_path() -> None:
    file = parse_fields({"name": "dir/a.iso", "checksum": SHA, "size": 7})
    assert CONTENT_TYPE.repository_key_of(file.fields) == "dir/a.iso"


@pytest.mark.parametrize(
    "other",
    [
        {"name": "b.iso", "checksum": SHA, "size": 7},
        {"name": "a.iso", "checksum": "cd" * 32, "size": 7},
        {"name": "a.iso", "checksum": SHA, "size": 8},
    ],
)
def test_any_field_of_the_key_makes_another_key(other: dict[str, Any]) -> None:
    assert natural_key(other) != natural_key({"name": "a.iso", "checksum": SHA, "size": 7})


_NAMES = st.text(
    alphabet=st.characters(exclude_characters="\0\n\r/", exclude_categories=["Cs"]),
    min_size=1,
).filter(lambda name: name not in (".", ".."))


@given(
    name=_NAMES,
    size=st.integers(min_value=0, max_value=2**62),
    digest=st.binary(min_size=32, max_size=32),
)
def test_the_natural_key_gives_back_its_fields(name: str, size: int, digest: bytes) -> None:
    """No two different units share a key text: the text decodes to exactly their fields."""
    key = natural_key({"name": name, "checksum": digest.hex(), "size": size})
    assert json.loads(key) == [name, digest.hex(), size]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"checksum": SHA, "size": 1}, "name is missing"),
        ({"name": "", "checksum": SHA, "size": 1}, "name is missing"),
        ({"name": 3, "checksum": SHA, "size": 1}, "not a string"),
        ({"name": "/etc/passwd", "checksum": SHA, "size": 1}, "absolute path"),
        ({"name": "../up.iso", "checksum": SHA, "size": 1}, "'..' component"),
        ({"name": "a/../../b", "checksum": SHA, "size": 1}, "'..' component"),
        ({"name": "./a.iso", "checksum": SHA, "size": 1}, "'.' or '..' component"),
        ({"name": "a//b.iso", "checksum": SHA, "size": 1}, "empty"),
        ({"name": "dir/", "checksum": SHA, "size": 1}, "empty"),
        ({"name": "a\0b", "checksum": SHA, "size": 1}, "NUL or line break"),
        ({"name": "a\nb", "checksum": SHA, "size": 1}, "NUL or line break"),
        ({"name": "a", "size": 1}, "not a sha256"),
        ({"name": "a", "checksum": "ab" * 20, "size": 1}, "not a sha256"),
        ({"name": "a", "checksum": "zz" * 32, "size": 1}, "not a sha256"),
        ({"name": "a", "checksum": SHA + "\n", "size": 1}, "not a sha256"),
        ({"name": "a", "checksum": SHA}, "size None"),
        ({"name": "a", "checksum": SHA, "size": -1}, "non-negative"),
        ({"name": "a", "checksum": SHA, "size": True}, "non-negative"),
        ({"name": "a", "checksum": SHA, "size": "12"}, "non-negative"),
        ({"name": "a", "checksum": SHA, "size": 1.0}, "non-negative"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidUnit, match=reason.replace(".", r"\.")):
        parse_fields(fields)


SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()


# ---------------------------------------------------------------------------------------------
# PULP_MANIFEST
# ---------------------------------------------------------------------------------------------


def test_manifest_lines_are_path_sha256_size() -> None:
    lines = manifest_lines(["dir/a.iso", "b.iso"], [SHA_A, SHA_B], [12, 0])
    assert lines == f"dir/a.iso,{SHA_A},12\nb.iso,{SHA_B},0\n"


def test_no_files_are_no_lines() -> None:
    assert manifest_lines([], [], []) == ""


@pytest.mark.parametrize("path", ["", "a\nb.iso", "a\rb", "a\0b"])
def test_a_path_that_would_break_the_manifest_is_refused_and_named(path: str) -> None:
    with pytest.raises(ValueError, match="PULP_MANIFEST") as raised:
        manifest_lines(["fine.iso", path, "also\n"], [SHA_A] * 3, [1] * 3)
    assert repr(path) in str(raised.value)  # the first bad one, whatever follows


@given(
    st.lists(
        st.tuples(
            st.text(
                st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",)),
                min_size=1,
            ),
            st.sampled_from([SHA_A, SHA_B]),
            st.integers(min_value=0, max_value=2**40),
        )
    )
)
def test_manifest_lines_give_back_their_entries(entries: list[tuple[str, str, int]]) -> None:
    lines = manifest_lines(
        [path for path, _, _ in entries],
        [sha256 for _, sha256, _ in entries],
        [size for _, _, size in entries],
    )
    assert lines.endswith("\n") or not entries
    # Only "\n" ends a line: paths may hold other line separators.
    parsed = [line.rsplit(",", 2) for line in lines.split("\n")[:-1]]
    assert parsed == [[path, sha256, str(size)] for path, sha256, size in entries]
