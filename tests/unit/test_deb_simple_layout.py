"""The simple layout's Release and index entries: pulp_deb's ``default`` release whose one
component ``all`` lists every package, at pool paths under ``pool/all/``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from debian import deb822

from pulp2to3.plugins.deb import publish
from pulp2to3.plugins.deb.publisher import SIMPLE_ID, LayoutError, releases_to_publish

DATE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
ZOO = publish.Package(
    "zoo", "1.0", "arm64", "zoo-src", "zoo_1.0_arm64.deb", "e" * 64, 7, [["Package", "zoo"]]
)


def test_the_simple_release_is_default_with_one_component_all() -> None:
    digests = {
        publish.index_path(publish.SIMPLE_COMPONENT, arch, name): publish.Digest(
            1, "a" * 64, "b" * 128
        )
        for arch in ("all", "arm64")
        for name in ("Packages", "Packages.gz")
    }
    text = publish.release_file(
        publish.SIMPLE, [publish.SIMPLE_COMPONENT], publish.architectures(["arm64"]), digests, DATE
    )
    document = deb822.Release(text.decode())
    assert (document["Suite"], document["Codename"]) == ("default", "default")
    assert document["Components"] == "all"
    assert document["Architectures"] == "all arm64"
    assert [entry["name"] for entry in document["SHA256"]] == [
        "all/binary-all/Packages",
        "all/binary-all/Packages.gz",
        "all/binary-arm64/Packages",
        "all/binary-arm64/Packages.gz",
    ]
    assert publish.SIMPLE.distribution == "default"


def test_a_simple_index_entry_points_into_the_pool_of_component_all() -> None:
    entry = deb822.Packages(publish.index_entry(publish.SIMPLE_COMPONENT, ZOO).decode())
    assert entry["Package"] == "zoo"
    assert entry["Filename"] == "pool/all/z/zoo-src/zoo_1.0_arm64.deb"
    assert (entry["Size"], entry["SHA256"]) == ("7", "e" * 64)


def row(content_id: int, distribution: str) -> dict[str, object]:
    return {"content_id": content_id, "distribution": distribution, "codename": "c", "suite": None}


def test_the_simple_release_is_published_beside_or_instead_of_the_structured_ones() -> None:
    structured = [row(5, "stable"), row(6, "stable"), row(7, "ragnarok/updates")]
    assert releases_to_publish(structured, simple=False) == {
        5: publish.Release("stable", "c", None),
        7: publish.Release("ragnarok/updates", "c", None),
    }
    assert releases_to_publish(structured, simple=True) == {
        SIMPLE_ID: publish.SIMPLE,
        5: publish.Release("stable", "c", None),
        7: publish.Release("ragnarok/updates", "c", None),
    }
    assert releases_to_publish([], simple=True) == {SIMPLE_ID: publish.SIMPLE}


def test_a_structured_release_where_the_simple_one_publishes_is_a_clear_error() -> None:
    with pytest.raises(LayoutError, match=r"release 'c' is at dists/default/, where the simple"):
        releases_to_publish([row(5, "default")], simple=True)
    assert releases_to_publish([row(5, "default")], simple=False) == {
        5: publish.Release("default", "c", None)
    }
