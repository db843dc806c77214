"""The RPM plugin's decoders on units shaped as Pulp 2 stores them (no database)."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import bson
import libcomps
import pytest

from pulp2to3.plugins import pulp2_configs
from pulp2to3.plugins.rpm import advisories, checksums, comps, config, metadata_files, modules
from pulp2to3.plugins.rpm.content import RPM, key_fields
from pulp2to3.plugins.rpm.errors import InvalidRpmUnit
from pulp2to3.plugins.rpm.packages import CHANGELOG_LIMIT, decode_package
from pulp2to3.plugins.rpm.treeinfo import decode_distribution

PKGID = "5c5e4b6b7f6e6c1a0f0d3bdf5e1e2e3a9e5c4b2a1d0f9e8d7c6b5a4f3e2d1c0b"

# A Pulp 2 primary template: placeholders for the checksum, rpm: prefixes without their
# namespace declaration, and "{{ checksum }}" in the description as data.
PRIMARY = """<package type="rpm">
  <name>walrus</name>
  <arch>noarch</arch>
  <version epoch="0" ver="5.21" rel="1"/>
  <checksum type="{{ checksumtype }}" pkgid="YES">{{ checksum }}</checksum>
  <summary>A dummy package of walrus</summary>
  <description>Not a template: {{ checksum }} {% if %}</description>
  <packager></packager>
  <url>http://tstrachota.fedorapeople.org</url>
  <time file="1331831374" build="1331831374"/>
  <size package="2445" installed="42" archive="296"/>
  <location href="Packages/w/walrus-5.21-1.noarch.rpm"/>
  <format>
    <rpm:license>GPLv2</rpm:license>
    <rpm:vendor></rpm:vendor>
    <rpm:group>Internet/Applications</rpm:group>
    <rpm:buildhost>smqe-ws15</rpm:buildhost>
    <rpm:sourcerpm>walrus-5.21-1.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="872" end="2293"/>
    <rpm:provides>
      <rpm:entry name="walrus" flags="EQ" epoch="0" ver="5.21" rel="1"/>
    </rpm:provides>
    <file>/usr/bin/walrus</file>
  </format>
</package>
"""
FILELISTS = """<package pkgid="{{ pkgid }}" name="walrus" arch="noarch">
    <version epoch="0" ver="5.21" rel="1"/>
    <file>/usr/bin/walrus</file>
    <file>/usr/share/walrus/tusk</file>
</package>
"""


def _other(changelogs: int) -> str:
    entries = "".join(
        f'<changelog author="Walrus &lt;w@example.com&gt; - 5.21-{n}" date="{1300000000 + n}">'
        f"- change {n}</changelog>\n"
        for n in range(changelogs)
    )
    return (
        '<package pkgid="{{ pkgid }}" name="walrus" arch="noarch">\n'
        '    <version epoch="0" ver="5.21" rel="1"/>\n' + entries + "</package>\n"
    )


def rpm_unit(**overrides: Any) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "_id": "d9f2ff07-8d86-4d26-a8a2-25b11f5b1e5c",
        "_content_type_id": "rpm",
        "name": "walrus",
        "epoch": "0",
        "version": "5.21",
        "release": "1",
        "arch": "noarch",
        "checksumtype": "sha256",
        "checksum": PKGID,
        "filename": "walrus-5.21-1.noarch.rpm",
        "is_modular": False,
        "repodata": {
            "primary": zlib.compress(PRIMARY.encode()),
            "filelists": zlib.compress(FILELISTS.encode()),
            "other": zlib.compress(_other(12).encode()),
        },
    }
    unit.update(overrides)
    return unit


def test_package_comes_from_the_filled_snippets() -> None:
    package = decode_package(rpm_unit(), "rpm")
    assert package.nevra == ("walrus", "0", "5.21", "1", "noarch")
    assert (package.checksum_type, package.pkg_id) == ("sha256", PKGID)
    assert package.location_href == "Packages/w/walrus-5.21-1.noarch.rpm"
    assert package.is_modular is False
    parsed = package.to_createrepo()
    assert parsed.pkgId == PKGID
    assert parsed.checksum_type == "sha256"
    assert parsed.description == "Not a template: {{ checksum }} {% if %}"
    assert sorted(f[1] + f[2] for f in parsed.files) == [
        "/usr/bin/walrus",
        "/usr/share/walrus/tusk",
    ]
    assert parsed.rpm_sourcerpm == "walrus-5.21-1.src.rpm"


def test_package_keeps_the_newest_changelogs() -> None:
    package = decode_package(rpm_unit(), "rpm")
    parsed = package.to_createrepo()
    assert len(parsed.changelogs) == CHANGELOG_LIMIT
    assert [entry[2] for entry in parsed.changelogs] == [f"- change {n}" for n in range(2, 12)]
    # Written oldest first, as other.xml has them.
    assert package.other_xml.index("- change 2<") < package.other_xml.index("- change 11<")
    assert "- change 1<" not in package.other_xml


def test_package_keys() -> None:
    package = decode_package(rpm_unit(checksumtype="SHA256", is_modular=True), "srpm")
    assert package.is_modular is True
    assert package.content_type == "srpm"
    fields = key_fields(package)
    assert RPM.natural_key_of(fields) == (f'["walrus","0","5.21","1","noarch","sha256","{PKGID}"]')
    assert RPM.repository_key_of(fields) == (
        '["walrus","0","5.21","1","noarch","Packages/w/walrus-5.21-1.noarch.rpm"]'
    )


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"checksumtype": "crc32"}, "unknown checksum type 'crc32'"),
        ({"repodata": {"primary": b"not zlib", "filelists": b"", "other": b""}}, "zlib"),
        (
            {
                "repodata": {
                    "primary": zlib.compress(b"<package><name>broken"),
                    "filelists": zlib.compress(FILELISTS.encode()),
                    "other": zlib.compress(_other(1).encode()),
                }
            },
            "repodata does not parse",
        ),
        ({"repodata": {}}, "repodata.primary is missing"),
        ({"repodata": {"primary": PRIMARY}}, "repodata.primary is str, not binary"),
        ({"filename": "../evil.rpm"}, "is not a file name"),
    ],
)
def test_bad_package_is_a_named_unit_problem(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidRpmUnit) as caught:
        decode_package(rpm_unit(**overrides), "rpm")
    assert caught.value.unit_id == "d9f2ff07-8d86-4d26-a8a2-25b11f5b1e5c"
    assert caught.value.content_type == "rpm"
    assert reason in caught.value.reason


def test_snippet_naming_another_package_is_refused() -> None:
    unit = rpm_unit()
    unit["repodata"]["filelists"] = zlib.compress(
        FILELISTS.replace("{{ pkgid }}", "0" * 64).encode()
    )
    with pytest.raises(InvalidRpmUnit, match="another package"):
        decode_package(unit, "rpm")


def test_checksum_names() -> None:
    assert checksums.normalize("sha") == "sha1"
    assert checksums.normalize("SHA512") == "sha512"
    with pytest.raises(checksums.UnknownChecksumType):
        checksums.normalize("sha3")
    assert checksums.createrepo_type("sha256") is not None
    assert checksums.createrepo_type("sha1") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-01-02 03:04:05 UTC", datetime(2019, 1, 2, 3, 4, 5)),
        ("2019-01-02 03:04:05", datetime(2019, 1, 2, 3, 4, 5)),
        ("2019-01-02", datetime(2019, 1, 2)),
        ("2019-01-02T03:04:05Z", datetime(2019, 1, 2, 3, 4, 5)),
        ("2019-01-02T05:04:05+02:00", datetime(2019, 1, 2, 3, 4, 5)),
        ("", None),
        (None, None),
    ],
)
def test_erratum_dates(text: str | None, expected: datetime | None) -> None:
    assert advisories.read_date(text) == expected


def test_unreadable_erratum_date_names_the_unit() -> None:
    with pytest.raises(InvalidRpmUnit, match="issued"):
        advisories.decode_advisory({"_id": "u1", "errata_id": "RHSA-1", "issued": "yesterday"})


def _pkg(name: str, epoch: str | None = "0", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "epoch": epoch,
        "version": "1.0",
        "release": "1",
        "arch": "x86_64",
        "filename": f"{name}-1.0-1.x86_64.rpm",
        "src": f"{name}-1.0-1.src.rpm",
        "sum": ["sha256", "ab" * 32],
        **extra,
    }


MODULE = {"name": "duck", "stream": "0", "version": "201809302113907", "context": "deadbeef"}


def _pkglists() -> list[dict[str, Any]]:
    return [
        {
            "errata_id": "RHEA-1",
            "repo_id": "one",
            "collections": [
                {"name": "c1", "short": "s1", "packages": [_pkg("bear"), _pkg("cat", None)]},
                {
                    "name": "m1",
                    "short": "",
                    "module": {**MODULE, "arch": "x86_64"},
                    "packages": [_pkg("duck")],
                },
            ],
        },
        {
            "errata_id": "RHEA-1",
            "repo_id": "two",
            "collections": [
                {"name": "c2", "short": "s2", "packages": [_pkg("bear"), _pkg("eel")]},
            ],
        },
    ]


def test_pkglists_merge_into_one_plain_collection_and_one_per_module() -> None:
    merged = advisories.merge_pkglists("RHEA-1", _pkglists())
    assert [c.module for c in merged] == [
        None,
        advisories.ModuleRef("duck", "0", 201809302113907, "deadbeef", "x86_64"),
    ]
    assert (merged[0].name, merged[0].short) == ("c1", "s1")
    assert [p.name for p in merged[0].packages] == ["bear", "cat", "eel"]
    assert merged[0].packages[1].epoch == "0"
    assert [p.name for p in merged[1].packages] == ["duck"]


def test_collections_keep_only_what_the_repository_holds() -> None:
    merged = advisories.merge_pkglists("RHEA-1", _pkglists())
    module = merged[1].module
    assert module is not None
    held = {("cat", "0", "1.0", "1", "x86_64"), ("duck", "0", "1.0", "1", "x86_64")}
    without_module = advisories.filter_collections(merged, held, set())
    assert [[p.name for p in c.packages] for c in without_module] == [["cat"]]
    with_module = advisories.filter_collections(merged, held, {module})
    assert [[p.name for p in c.packages] for c in with_module] == [["cat"], ["duck"]]
    empty = advisories.filter_collections(merged, set(), set())
    assert [(c.module, c.packages) for c in empty] == [(None, ())]


def test_malformed_pkglist_names_the_erratum() -> None:
    with pytest.raises(InvalidRpmUnit, match="RHEA-2"):
        advisories.merge_pkglists("RHEA-2", [{"collections": [{"packages": [{"name": "x"}]}]}])


def test_advisory_becomes_an_update_record() -> None:
    advisory = advisories.decode_advisory(
        {
            "_id": "u",
            "errata_id": "RHSA-2",
            "title": "Fix",
            "type": "security",
            "issued": "2020-05-06",
            "updated": "2020-05-07 08:09:10 UTC",
            "from": "security@example.com",
            "pushcount": 2,
            "reboot_suggested": True,
            "references": [{"href": "https://example.com/1", "id": "1", "type": "cve"}],
        }
    )
    record = advisories.update_record(advisory, advisories.merge_pkglists("RHSA-2", _pkglists()))
    assert (record.id, record.type, record.fromstr, record.pushcount) == (
        "RHSA-2",
        "security",
        "security@example.com",
        "2",
    )
    assert record.updated_date == datetime(2020, 5, 7, 8, 9, 10)
    assert [r.href for r in record.references] == ["https://example.com/1"]
    assert [c.module.name if c.module else None for c in record.collections] == [None, "duck"]


def test_module_and_its_artifacts() -> None:
    module = modules.decode_module(
        {
            "_id": "m",
            "name": "duck",
            "stream": "0",
            "version": 201809302113907,
            "context": "deadbeef",
            "arch": "noarch",
            "artifacts": ["duck-0:0.7-1.noarch", "kangaroo-python-2:0.3-1.fc30.noarch"],
            "profiles": {"default": ["duck"]},
        },
        "---\ndocument: modulemd\n...\n",
    )
    assert module.artifacts == (
        ("duck", "0", "0.7", "1", "noarch"),
        ("kangaroo-python", "2", "0.3", "1.fc30", "noarch"),
    )
    assert module.ref == advisories.ModuleRef("duck", "0", 201809302113907, "deadbeef", "noarch")
    assert module.profiles_json == '{"default":["duck"]}'
    assert module.snippet.startswith("---")


def test_module_with_a_bad_artifact_is_a_unit_problem() -> None:
    unit = {"_id": "m", "name": "d", "stream": "0", "version": 1, "context": "c", "arch": "x"}
    with pytest.raises(InvalidRpmUnit, match="not-a-nevra"):
        modules.decode_module({**unit, "artifacts": ["not-a-nevra"]}, "")


def test_module_defaults_profiles_come_from_bson_in_a_string() -> None:
    stored = bson.encode({"0": ["default"], "1": ["minimal", "all"]}).decode()
    defaults = modules.decode_module_defaults(
        {"_id": "d", "name": "duck", "stream": "0", "repo_id": "zoo", "profiles": stored}, "y"
    )
    assert defaults.profiles == (("0", ("default",)), ("1", ("minimal", "all")))
    with pytest.raises(InvalidRpmUnit, match="BSON"):
        modules.decode_module_defaults(
            {"_id": "d", "name": "d", "repo_id": "z", "profiles": "x"}, ""
        )


TREEINFO = f"""[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Zoo
short = Zoo
version = 1.0

[tree]
arch = x86_64
build_timestamp = 1539619900
platforms = x86_64
variants = Zoo

[variant-Zoo]
id = Zoo
name = Zoo
packages = Packages
repository = .
type = variant
uid = Zoo

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[checksums]
images/pxeboot/vmlinuz = sha256:{"aa" * 32}
images/pxeboot/initrd.img = sha256:{"bb" * 32}
"""


def _distribution(**overrides: Any) -> dict[str, Any]:
    return {
        "_id": "t",
        "distribution_id": "ks-Zoo--1.0-x86_64",
        "family": "Zoo",
        "variant": "",
        "version": "1.0",
        "arch": "x86_64",
        "files": [{"relativepath": "images/pxeboot/vmlinuz\n"}],
        **overrides,
    }


def test_treeinfo_is_read_as_ini() -> None:
    tree = decode_distribution(_distribution(), TREEINFO)
    assert (tree.release_name, tree.release_version, tree.build_timestamp) == (
        "Zoo",
        "1.0",
        1539619900.0,
    )
    assert [(v.variant_id, v.packages) for v in tree.variants] == [("Zoo", "Packages")]
    assert {(i.name, i.path, i.platform) for i in tree.images} == {
        ("kernel", "images/pxeboot/vmlinuz", "x86_64"),
        ("initrd", "images/pxeboot/initrd.img", "x86_64"),
    }
    assert tree.checksums[0].path == "images/pxeboot/vmlinuz"
    assert tree.files == ("images/pxeboot/vmlinuz",)


def test_old_treeinfo_shape() -> None:
    text = "[general]\nfamily = Old\ntimestamp = 12.5\nversion = 7\n\n[images-x86_64]\nkernel = k\n"
    tree = decode_distribution(_distribution(), text)
    assert (tree.release_name, tree.release_version, tree.build_timestamp) == ("Old", "7", 12.5)
    assert [i.path for i in tree.images] == ["k"]


def test_treeinfo_that_is_not_ini_is_a_unit_problem() -> None:
    with pytest.raises(InvalidRpmUnit, match="treeinfo does not parse"):
        decode_distribution(_distribution(), "no section header\n")


def test_comps_become_libcomps_objects() -> None:
    group = comps.decode_group(
        {
            "_id": "g",
            "package_group_id": "birds",
            "repo_id": "zoo",
            "name": "Birds",
            "default": True,
            "user_visible": True,
            "display_order": 1024,
            "mandatory_package_names": ["duck"],
            "default_package_names": ["penguin"],
            "optional_package_names": [],
            "conditional_package_names": [["stork", "duck"]],
            "translated_name": {"de": "Vögel"},
        }
    )
    category = comps.decode_category(
        {"_id": "c", "package_category_id": "all", "repo_id": "zoo", "packagegroupids": ["birds"]}
    )
    environment = comps.decode_environment(
        {
            "_id": "e",
            "package_environment_id": "env",
            "repo_id": "zoo",
            "group_ids": ["birds"],
            "options": [{"group": "birds", "default": True}],
        }
    )
    langpacks = comps.decode_langpacks(
        {"_id": "l", "repo_id": "zoo", "matches": [{"name": "duck", "install": "duck-%s"}]}
    )
    document = comps.build_comps([group], [category], [environment], [langpacks])
    parsed = libcomps.Comps()
    parsed.fromxml_str(document.xml_str())
    [birds] = parsed.groups
    assert [(p.name, p.type) for p in birds.packages] == [
        ("duck", libcomps.PACKAGE_TYPE_MANDATORY),
        ("penguin", libcomps.PACKAGE_TYPE_DEFAULT),
        ("stork", libcomps.PACKAGE_TYPE_CONDITIONAL),
    ]
    assert birds.packages[2].requires == "duck"
    assert birds.name_by_lang["de"] == "Vögel"
    assert [g.name for g in parsed.categories[0].group_ids] == ["birds"]
    assert [(o.name, o.default) for o in parsed.environments[0].option_ids] == [("birds", True)]
    assert parsed.langpacks["duck"] == "duck-%s"


def test_comps_refuse_two_groups_of_one_id() -> None:
    group = comps.decode_group({"_id": "g", "package_group_id": "x", "repo_id": "r"})
    with pytest.raises(ValueError, match="'x' already exists"):
        comps.build_comps([group, group], [], [], [])


def test_bad_group_is_a_unit_problem() -> None:
    with pytest.raises(InvalidRpmUnit, match="conditional"):
        comps.decode_group(
            {
                "_id": "g",
                "package_group_id": "x",
                "repo_id": "r",
                "conditional_package_names": ["a"],
            }
        )


def test_metadata_files() -> None:
    unit = {
        "_id": "f",
        "data_type": "productid",
        "repo_id": "zoo",
        "checksum_type": "sha",
        "checksum": "AB" * 20,
        "_storage_path": "/var/lib/pulp/content/units/yum_repo_metadata_file/aa/bb/productid",
    }
    decoded = metadata_files.decode_metadata_file(unit)
    assert (decoded.checksum_type, decoded.checksum, decoded.file_name) == (
        "sha1",
        "ab" * 20,
        "productid",
    )
    assert not metadata_files.is_skipped(unit)
    assert metadata_files.is_skipped({**unit, "data_type": "primary_zck"})
    assert metadata_files.is_skipped({**unit, "data_type": "other_xz"})


def test_yum_importer_secrets_are_kept_for_syncing() -> None:
    remote = pulp2_configs.remote_from_importer(
        {
            "feed": "https://example.com/zoo/",
            "download_policy": "background",
            "ssl_client_key": "-----BEGIN KEY-----",
            "basic_auth_username": "u",
            "basic_auth_password": "p",
            "proxy_host": "proxy.example.com",
            "proxy_port": 3128,
            "proxy_password": "pp",
        }
    )
    assert remote is not None
    assert (remote.url, remote.policy) == ("https://example.com/zoo/", "on_demand")
    assert {
        name: remote.options[name] for name in ("client_key", "password", "proxy_password")
    } == {"client_key": "-----BEGIN KEY-----", "password": "p", "proxy_password": "pp"}
    assert remote.options["proxy_url"] == "http://proxy.example.com:3128"
    assert pulp2_configs.remote_from_importer({}) is None


@pytest.mark.parametrize(
    ("distributor", "packages_type", "expected"),
    [
        ({"checksum_type": "sha"}, "sha256", "sha1"),
        ({}, "sha512", "sha512"),
        ({}, None, "sha256"),
    ],
)
def test_publication_checksum_type(
    distributor: dict[str, Any], packages_type: str | None, expected: str
) -> None:
    assert config.publication_settings(distributor, packages_type).checksum_type == expected


def test_publication_settings_refuse_bad_config() -> None:
    assert config.publication_settings({"generate_sqlite": True}, None).generate_sqlite
    with pytest.raises(config.InvalidDistributor, match="unknown checksum type"):
        config.publication_settings({"checksum_type": "crc"}, None)


def test_base_path() -> None:
    assert config.base_path({"relative_url": "/zoo/el8/"}, "zoo") == "zoo/el8"
    assert config.base_path({}, "zoo") == "zoo"


def _other_dated(dates: list[int], xmlns: str = "") -> str:
    entries = "".join(
        f'<changelog author="Walrus - 5.21-{n}" date="{date}">- change {n}</changelog>'
        for n, date in enumerate(dates)
    )
    return (
        f'<package{xmlns} pkgid="{{{{ pkgid }}}}" name="walrus" arch="noarch">'
        f'<version epoch="0" ver="5.21" rel="1"/>{entries}</package>'
    )


def _changes(other: str) -> list[str]:
    unit = rpm_unit()
    unit["repodata"]["other"] = zlib.compress(other.encode())
    return [entry[2] for entry in decode_package(unit, "rpm").to_createrepo().changelogs]


def test_changelogs_out_of_order_are_cut_to_the_newest_oldest_first() -> None:
    dates = [1300000000 + (n * 7) % 12 for n in range(12)]  # each date once, shuffled
    newest = sorted(range(12), key=lambda n: dates[n])[2:]
    assert _changes(_other_dated(dates)) == [f"- change {n}" for n in newest]


def test_changelogs_of_one_date_keep_the_snippets_last() -> None:
    assert _changes(_other_dated([1300000000] * 12)) == [f"- change {n}" for n in range(2, 12)]


def test_few_changelogs_out_of_order_are_put_in_order() -> None:
    assert _changes(_other_dated([1300000002, 1300000001])) == ["- change 1", "- change 0"]


def test_changelogs_of_a_snippet_with_its_namespace_are_cut_too() -> None:
    xmlns = ' xmlns="http://linux.duke.edu/metadata/other"'
    changes = _changes(_other_dated([1300000000 + n for n in range(12)], xmlns))
    assert changes == [f"- change {n}" for n in range(2, 12)]


def test_an_other_snippet_that_is_not_xml_makes_the_unit_invalid() -> None:
    unit = rpm_unit()
    unit["repodata"]["other"] = zlib.compress(_other(12).replace("</changelog>", "", 1).encode())
    with pytest.raises(InvalidRpmUnit, match="other snippet is not XML"):
        decode_package(unit, "rpm")


def test_an_other_snippet_with_a_document_type_makes_the_unit_invalid() -> None:
    unit = rpm_unit()
    entity = '<!DOCTYPE package [<!ENTITY a "aaaaaaaaaa">]>'
    declared = entity + _other(12).replace("- change 3", "&a;")
    unit["repodata"]["other"] = zlib.compress(declared.encode())
    with pytest.raises(InvalidRpmUnit, match="document type declaration"):
        decode_package(unit, "rpm")
