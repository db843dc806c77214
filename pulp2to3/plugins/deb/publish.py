"""A Debian repository's structured layout, as pulp_deb publishes it and apt reads it (pure).

For each release, ``dists/<distribution>/``:

- ``<component>/binary-<arch>/Packages`` and ``Packages.gz`` for every component and every
  architecture of the release (its packages' architectures, and ``all``), empty ones too; each
  package once, in its own architecture's index, its control fields as they came plus
  ``Filename`` (its pool path), ``Size`` and ``SHA256``;
- ``Release``: Origin, Label, Suite (when the release has one), Codename, Date,
  Architectures, Components, and the SHA256 and SHA512 of every index file above, relative to
  the release's folder.

A package's file is at ``pool/<component>/<prefix>/<source or package>/<file>`` (prefix: the
first letter, or the first four for ``lib*``). Paragraphs are written by ``debian.deb822``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime

from debian import deb822

ALL = "all"
ORIGIN = "Pulp 3"


@dataclasses.dataclass(frozen=True)
class Package:
    package: str
    version: str
    architecture: str
    source: str | None
    relative_path: str
    sha256: str
    size: int
    control: Sequence[Sequence[str]]  # [name, value] pairs


@dataclasses.dataclass(frozen=True)
class Release:
    distribution: str
    codename: str
    suite: str | None
    components: Mapping[str, Sequence[Package]]  # component name -> its packages


def pool_path(component: str, package: Package) -> str:
    """Where ``package``'s file is published for ``component``."""
    name = package.source or package.package
    prefix = name[:4] if name.startswith("lib") else name[:1]
    return f"pool/{component}/{prefix}/{name}/{package.relative_path}"


def paragraph(package: Package, filename: str) -> deb822.Packages:
    """The package's ``Packages`` paragraph, its file at ``filename``."""
    entry = deb822.Packages()
    for name, value in package.control:
        entry[name] = value
    entry["Filename"] = filename
    entry["Size"] = str(package.size)
    entry["SHA256"] = package.sha256
    return entry


def packages_index(component: str, packages: Iterable[Package]) -> bytes:
    """A ``Packages`` file: one paragraph per package, a blank line between."""
    paragraphs = [
        str(paragraph(package, pool_path(component, package)).dump()) for package in packages
    ]
    return "\n".join(paragraphs).encode()


def architectures(release: Release) -> list[str]:
    """The release's architectures: those of its packages, and ``all``, sorted."""
    found = {p.architecture for packages in release.components.values() for p in packages}
    return sorted(found | {ALL})


def release_files(release: Release, date: datetime) -> dict[str, bytes]:
    """Every file of ``dists/<distribution>/``, by its path relative to that folder."""
    files: dict[str, bytes] = {}
    arches = architectures(release)
    for component in sorted(release.components):
        for arch in arches:
            held = [p for p in release.components[component] if p.architecture == arch]
            index = packages_index(component, held)
            files[f"{component}/binary-{arch}/Packages"] = index
            files[f"{component}/binary-{arch}/Packages.gz"] = gzip.compress(index, mtime=0)
    document = deb822.Release()
    document["Origin"] = ORIGIN
    document["Label"] = ORIGIN
    if release.suite:
        document["Suite"] = release.suite
    document["Codename"] = release.codename
    document["Date"] = format_datetime(date, usegmt=True)
    document["Architectures"] = " ".join(arches)
    document["Components"] = " ".join(sorted(release.components))
    for algorithm in ("sha256", "sha512"):
        document[algorithm.upper()] = [  # type: ignore[assignment]  # a multivalued field
            {
                algorithm: hashlib.new(algorithm, data).hexdigest(),
                "size": str(len(data)),
                "name": name,
            }
            for name, data in sorted(files.items())
        ]
    files["Release"] = str(document.dump()).encode()
    return files
