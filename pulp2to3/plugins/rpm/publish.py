"""Write a repository version's RPM content as ``repodata/`` with createrepo_c and libcomps.

Packages stream through: each is parsed back from its snippets, written to the XML files (and
the sqlite databases when asked) and dropped, so memory does not grow with the number of
packages. createrepo_c writes ``set_num_of_pkgs`` into the XML headers before the first
package, so the caller gives the count up front (a database count is cheap) and a different
number of packages is an error.

The repomd.xml checksums use the publication's checksum type. The createrepo_c wheels have no
md5 or sha1, so for those (a Pulp 2 ``sha`` distributor) the checksums are computed here.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import hashlib
import itertools
import shutil
import time
from collections.abc import Iterable
from contextlib import ExitStack
from io import BufferedReader
from pathlib import Path
from typing import Any

import createrepo_c as cr
import libcomps

from . import checksums
from .advisories import Advisory, Collection, update_record
from .config import PublicationSettings
from .packages import RpmPackage

REPODATA = "repodata"
_SQLITE = (
    ("primary", cr.PrimarySqlite),
    ("filelists", cr.FilelistsSqlite),
    ("other", cr.OtherSqlite),
)
_XML_FILES = (
    ("primary", cr.PrimaryXmlFile),
    ("filelists", cr.FilelistsXmlFile),
    ("other", cr.OtherXmlFile),
)


class PackageCountMismatch(ValueError):
    """The packages given were not as many as announced."""


@dataclasses.dataclass(frozen=True)
class ExtraMetadata:
    """A file listed in repomd.xml as it is (e.g. ``productid``)."""

    data_type: str
    path: Path


def _open_plain(path: Path) -> gzip.GzipFile | bz2.BZ2File | BufferedReader:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    return path.open("rb")


def _hexdigest(name: str, stream: gzip.GzipFile | bz2.BZ2File | BufferedReader) -> str:
    digest = hashlib.new(name)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _record(data_type: str, path: Path, checksum_type: str) -> cr.RepomdRecord:
    """The repomd record of ``path``, its file renamed ``<checksum>-<name>``."""
    record = cr.RepomdRecord(data_type, str(path))
    native = checksums.createrepo_type(checksum_type)
    record.fill(native if native is not None else cr.SHA256)
    if native is None:
        with path.open("rb") as raw:
            record.checksum = _hexdigest(checksum_type, raw)
        record.checksum_type = checksum_type
        if record.checksum_open is not None:
            with _open_plain(path) as plain:
                record.checksum_open = _hexdigest(checksum_type, plain)
            record.checksum_open_type = checksum_type
    record.rename_file()
    return record


def _write_packages(
    repodata: Path,
    packages: Iterable[RpmPackage],
    count: int,
    settings: PublicationSettings,
) -> list[cr.RepomdRecord]:
    paths = {name: repodata / f"{name}.xml.gz" for name, _ in _XML_FILES}
    db_paths = {name: repodata / f"{name}.sqlite" for name, _ in _SQLITE}
    with ExitStack() as stack:
        xml_files: list[Any] = []
        for name, kind in _XML_FILES:
            xml_file = kind(str(paths[name]))
            stack.callback(xml_file.close)
            xml_file.set_num_of_pkgs(count)
            xml_files.append(xml_file)
        databases: dict[str, Any] = {}
        if settings.generate_sqlite:
            for name, kind in _SQLITE:
                databases[name] = kind(str(db_paths[name]))
                stack.callback(databases[name].close)
        written = 0
        for package in packages:
            written += 1
            if written > count:
                raise PackageCountMismatch(f"more than the {count} packages announced")
            parsed = package.to_createrepo()
            for target in (*xml_files, *databases.values()):
                target.add_pkg(parsed)
        if written != count:
            raise PackageCountMismatch(f"{written} packages, {count} announced")
        for xml_file in xml_files:
            xml_file.close()
        records = []
        for name, _ in _XML_FILES:
            record = _record(name, paths[name], settings.checksum_type)
            records.append(record)
            if name in databases:
                databases[name].dbinfo_update(record.checksum)
                databases[name].close()
    for name in databases:
        compressed = db_paths[name].with_suffix(".sqlite.bz2")
        cr.compress_file(str(db_paths[name]), str(compressed), cr.BZ2)
        db_paths[name].unlink()
        records.append(_record(f"{name}_db", compressed, settings.checksum_type))
    return records


def _write_updateinfo(
    repodata: Path, advisories: Iterable[tuple[Advisory, Iterable[Collection]]]
) -> Path | None:
    entries = iter(advisories)
    first = next(entries, None)
    if first is None:
        return None
    path = repodata / "updateinfo.xml.gz"
    writer = cr.UpdateInfoXmlFile(str(path))
    try:
        for advisory, collections in itertools.chain([first], entries):
            writer.add_chunk(cr.xml_dump_updaterecord(update_record(advisory, collections)))
    finally:
        writer.close()
    return path


def _yaml_document(snippet: str) -> str:
    """``snippet`` as one document of a YAML stream: ``---`` before, ``...`` after."""
    document = snippet.strip("\n")
    if not document.startswith("---"):
        document = "---\n" + document
    if not document.endswith("\n..."):
        document += "\n..."
    return document + "\n"


def _write_modules(repodata: Path, snippets: Iterable[str]) -> Path | None:
    entries = iter(snippets)
    first = next(entries, None)
    if first is None:
        return None
    path = repodata / "modules.yaml.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for snippet in itertools.chain([first], entries):
            out.write(_yaml_document(snippet))
    return path


def write_repodata(
    target: Path,
    *,
    packages: Iterable[RpmPackage],
    package_count: int,
    settings: PublicationSettings,
    advisories: Iterable[tuple[Advisory, Iterable[Collection]]] = (),
    module_snippets: Iterable[str] = (),
    comps: libcomps.Comps | None = None,
    extra_metadata: Iterable[ExtraMetadata] = (),
    revision: int | None = None,
) -> Path:
    """Write ``target/repodata/`` and return the repomd.xml path.

    ``packages`` (exactly ``package_count``) are expected at their ``location_href``
    (``Packages/<first letter>/<file>``) under ``target``; ``advisories`` come with the
    collections this repository version sees (see ``filter_collections``);
    ``module_snippets`` are the modules' and module defaults' YAML documents. On an error
    ``target`` holds a partial ``repodata/``: write into a folder of one's own and move it.
    """
    repodata = target / REPODATA
    repodata.mkdir(parents=True, exist_ok=True)
    records = _write_packages(repodata, packages, package_count, settings)
    updateinfo = _write_updateinfo(repodata, advisories)
    if updateinfo is not None:
        records.append(_record("updateinfo", updateinfo, settings.checksum_type))
    modules = _write_modules(repodata, module_snippets)
    if modules is not None:
        records.append(_record("modules", modules, settings.checksum_type))
    if comps is not None:
        comps_path = repodata / "comps.xml"
        comps_path.write_text(comps.xml_str(), encoding="utf-8")
        compressed = repodata / "comps.xml.gz"
        cr.compress_file(str(comps_path), str(compressed), cr.GZ)
        records.append(_record("group", comps_path, settings.checksum_type))
        records.append(_record("group_gz", compressed, settings.checksum_type))
    for extra in extra_metadata:
        copy = repodata / extra.path.name
        shutil.copyfile(extra.path, copy)
        records.append(_record(extra.data_type, copy, settings.checksum_type))
    repomd = cr.Repomd()
    repomd.revision = str(int(time.time()) if revision is None else revision)
    for record in records:
        repomd.set_record(record)
    repomd_path = repodata / "repomd.xml"
    repomd_path.write_text(repomd.xml_dump(), encoding="utf-8")
    return repomd_path
