"""The Debian plugin's pure parts: decoding Pulp 2 documents, importer configs, and the
structured layout, read back with python-debian."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from debian import deb822

from pulp2to3.plugins import InvalidImporter
from pulp2to3.plugins.deb.content import COMPONENTS, memberships_digest
from pulp2to3.plugins.deb.decode import (
    InvalidDebUnit,
    decode_component,
    decode_package,
    decode_release,
)
from pulp2to3.plugins.deb.indexes import IndexWriter
from pulp2to3.plugins.deb.plugin import remote_from_importer
from pulp2to3.plugins.deb.publish import (
    Digest,
    Package,
    Release,
    index_entry,
    pool_path,
    release_file,
)
from pulp2to3.sample.deb_generate import deb_document
from pulp2to3.sample.deb_population import DebPopulation
from pulp2to3.settings import ConfigError, SigningService, load_settings

DATE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def sample_units() -> list[dict[str, Any]]:
    population = DebPopulation(seed=1, repos=2, units=8, on_demand=0.5, overlap=0.0)
    return [deb_document(package) for package in population.packages()]


def test_a_generated_package_decodes_with_its_control_fields_in_dpkg_order() -> None:
    unit = sample_units()[1]
    package = decode_package(unit)
    assert (package.package, package.version, package.architecture) == (
        unit["package"],
        unit["version"],
        unit["architecture"],
    )
    assert (package.sha256, package.size, package.relative_path) == (
        unit["checksum"],
        unit["size"],
        unit["filename"],
    )
    assert package.source == unit["control_fields"]["Source"].split(" ")[0]
    names = [name for name, _ in package.control]
    assert names[:3] == ["Package", "Source", "Version"]
    assert dict(package.control) == unit["control_fields"]


def test_multi_line_and_non_ascii_values_are_published_as_one_field() -> None:
    unit = sample_units()[0]
    unit["control_fields"] |= {
        "Maintainer": "Zoë Ångström <zoe@example.com>",
        "Description": "short\nno leading space\n\n  indented\n",
        "Filename": "pool/elsewhere/x.deb",  # the publication says where its file is
    }
    package = package_of(decode_package(unit))
    paragraph = deb822.Packages(index_entry("main", package).decode())
    assert paragraph["Maintainer"] == "Zoë Ångström <zoe@example.com>"
    assert paragraph["Description"] == "short\n no leading space\n .\n  indented"
    assert paragraph["Filename"] == pool_path("main", package)
    assert (paragraph["SHA256"], paragraph["Size"]) == (package.sha256, str(package.size))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"checksumtype": "md5"}, "checksumtype"),
        ({"checksum": "abc"}, "not a sha256"),
        ({"filename": "a/b.deb"}, "not a file name"),
        ({"size": "12"}, "not a byte count"),
        ({"control_fields": None}, "control_fields"),
        ({"control_fields": {"Bad Name": "x"}}, "not a field name"),
        ({"control_fields": {"Depends": ["a"]}}, "not text"),
        ({"package": None}, "package"),
    ],
)
def test_a_bad_package_is_named_with_its_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidDebUnit, match=reason):
        decode_package(sample_units()[0] | change)


def test_releases_keep_a_null_suite_and_lose_the_slashes_around_their_distribution() -> None:
    release = decode_release(
        {"distribution": "/ragnarok/updates/", "codename": "ragnarok", "suite": None}
    )
    assert (release.distribution, release.suite) == ("ragnarok/updates", None)
    for bad in ("/", "a/../b", "a//b", "a b"):
        with pytest.raises(InvalidDebUnit, match="distribution"):
            decode_release({"distribution": bad, "codename": "c", "suite": None})


def test_components_name_their_packages_once() -> None:
    fields = {"name": "asgard", "distribution": "stable", "release": "r", "repoid": "x"}
    component = decode_component(fields | {"packages": ["a", "b", "a"]})
    assert component.package_ids == ("a", "b")
    assert decode_component(fields | {"packages": None}).package_ids == ()
    with pytest.raises(InvalidDebUnit, match="packages"):
        decode_component(fields | {"packages": "a"})
    with pytest.raises(InvalidDebUnit, match="component name"):
        decode_component(fields | {"name": "a/b", "packages": []})


def package_of(decoded: Any) -> Package:
    return Package(
        package=decoded.package,
        version=decoded.version,
        architecture=decoded.architecture,
        source=decoded.source,
        relative_path=decoded.relative_path,
        sha256=decoded.sha256,
        size=decoded.size,
        control=decoded.control,
    )


def test_pool_paths_use_the_source_and_a_four_letter_prefix_for_libraries() -> None:
    package = package_of(decode_package(sample_units()[1]))
    assert package.source is not None
    assert pool_path("asgard", package) == (
        f"pool/asgard/{package.source[0]}/{package.source}/{package.relative_path}"
    )
    library = Package("libzoo1", "1", "amd64", None, "libzoo1_1_amd64.deb", "0" * 64, 1, ())
    assert pool_path("main", library) == "pool/main/libz/libzoo1/libzoo1_1_amd64.deb"


def test_a_release_lists_its_indexes_with_both_hashes() -> None:
    digests = {
        "asgard/binary-all/Packages": Digest(10, "a" * 64, "b" * 128),
        "empty/binary-amd64/Packages.gz": Digest(20, "c" * 64, "d" * 128),
    }
    release = Release("ragnarok/updates", "ragnarok", None)
    text = release_file(release, ["empty", "asgard"], ["all", "amd64"], digests, DATE)
    document = deb822.Release(text.decode())
    assert "Suite" not in document
    assert document["Codename"] == "ragnarok"
    assert document["Date"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert document["Architectures"] == "all amd64"
    assert document["Components"] == "asgard empty"
    assert [(e["name"], e["size"], e["sha256"]) for e in document["SHA256"]] == [
        ("asgard/binary-all/Packages", "10", "a" * 64),
        ("empty/binary-amd64/Packages.gz", "20", "c" * 64),
    ]
    assert [e["sha512"] for e in document["SHA512"]] == ["b" * 128, "d" * 128]
    suited = release_file(Release("stable", "ragnarok", "stable"), [], ["all"], {}, DATE)
    assert deb822.Release(suited.decode())["Suite"] == "stable"


def test_an_index_is_written_and_hashed_as_it_streams(tmp_path: Path) -> None:
    packages = [package_of(decode_package(unit)) for unit in sample_units()]
    entries = [index_entry("asgard", package) for package in packages]
    writer = IndexWriter(tmp_path)
    try:
        for entry in entries:
            writer.write(entry)
        plain, packed = writer.commit()
    finally:
        writer.discard()
    text = (tmp_path / plain.artifact.file).read_bytes()
    assert text == b"".join(entries)
    compressed = (tmp_path / packed.artifact.file).read_bytes()
    assert gzip.decompress(compressed) == text
    for file, data in ((plain, text), (packed, compressed)):
        assert file.artifact.sha256 == hashlib.sha256(data).hexdigest()
        assert file.sha512 == hashlib.sha512(data).hexdigest()
        assert file.artifact.size == len(data)
    listed = deb822.Packages.iter_paragraphs(text.decode(), use_apt_pkg=False)
    assert [p["Package"] for p in listed] == [p.package for p in packages]
    empty = IndexWriter(tmp_path)
    try:
        nothing, nothing_packed = empty.commit()
    finally:
        empty.discard()
    assert nothing.artifact.size == 0
    assert gzip.decompress((tmp_path / nothing_packed.artifact.file).read_bytes()) == b""


def test_an_importer_becomes_an_apt_remote() -> None:
    remote = remote_from_importer(
        {
            "feed": "https://deb.example.com/",
            "releases": "stable,ragnarok/updates",
            "components": "asgard, jotunheimr",
            "architectures": "amd64,arm64",
            "gpg_keys": "KEY",
            "download_policy": "background",
        }
    )
    assert remote is not None
    assert (remote.url, remote.policy) == ("https://deb.example.com/", "on_demand")
    assert dict(remote.options) == {
        "architectures": "amd64 arm64",
        "components": "asgard jotunheimr",
        "distributions": "stable ragnarok/updates",
        "gpgkey": "KEY",
    }
    bare = remote_from_importer({"feed": "https://deb.example.com/"})
    assert bare is not None
    assert bare.options == {"distributions": "stable"}
    assert remote_from_importer({"releases": "stable"}) is None
    with pytest.raises(InvalidImporter, match="components"):
        remote_from_importer({"feed": "https://x/", "components": ["a"]})


def test_signing_services_are_read_from_the_settings() -> None:
    settings = load_settings({"PULP2TO3_SIGNING_SERVICES": "zoo:ABC123:/keys/zoo, ark:DEF:/k"})
    assert settings.signing_services == {
        "zoo": SigningService("ABC123", Path("/keys/zoo")),
        "ark": SigningService("DEF", Path("/k")),
    }
    assert load_settings({}).signing_services == {}
    with pytest.raises(ConfigError, match="name:key id:gpg home"):
        load_settings({"PULP2TO3_SIGNING_SERVICES": "zoo:ABC123"})


def test_a_component_is_known_by_its_packages_too() -> None:
    assert memberships_digest([1, 2]) == memberships_digest([1, 2])
    assert memberships_digest([1, 2]) != memberships_digest([1])
    assert memberships_digest([12]) != memberships_digest([1, 2])
    assert "packages" in COMPONENTS.natural_key
    assert "packages" not in COMPONENTS.repository_key
