"""A Debian repository's structured layout, as pulp_deb publishes it and apt reads it (pure).

For each release, ``dists/<distribution>/``:

- ``<component>/binary-<arch>/Packages`` and ``Packages.gz`` for every component and every
  architecture of the release (its packages' architectures, and ``all``), empty ones too; each
  package once, in its own architecture's index, its control fields as they came plus
  ``Filename`` (its pool path), ``Size`` and ``SHA256``;
- ``Release``: Origin, Label, Suite (when the release has one), Codename, Date,
  Architectures, Components, and the SHA256 and SHA512 of every index file above, relative to
  the release's folder.

The simple layout is one more such release, ``SIMPLE`` at ``dists/default/``, whose one
component ``all`` lists every package of the version (pool paths under ``pool/all/``).

The indexes are streamed (``indexes.IndexWriter``): this module gives each package's entry,
and the ``Release`` once every index's digests are known.

A package's file is at ``pool/<component>/<prefix>/<source or package>/<file>`` (prefix: the
first letter, or the first four for ``lib*``). Paragraphs are written by ``debian.deb822``.
"""

from __future__ import annotations

import dataclasses
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


# pulp_deb's simple layout: every package in component ``all`` of release ``default``.
SIMPLE = Release(distribution="default", codename="default", suite="default")
SIMPLE_COMPONENT = "all"


@dataclasses.dataclass(frozen=True)
class Digest:
    """What the Release says of an index file."""

    size: int
    sha256: str
    sha512: str


def pool_path(component: str, package: Package) -> str:
    """Where ``package``'s file is published for ``component``."""
    name = package.source or package.package
    prefix = name[:4] if name.startswith("lib") else name[:1]
    return f"pool/{component}/{prefix}/{name}/{package.relative_path}"


def index_path(component: str, architecture: str, name: str = "Packages") -> str:
    """An index file's path, relative to its release's folder."""
    return f"{component}/binary-{architecture}/{name}"


def index_entry(component: str, package: Package) -> bytes:
    """The package's paragraph in its ``Packages`` index (a blank line after it): its control
    fields, its file at its pool path, its size and SHA256."""
    entry = deb822.Packages()
    for name, value in package.control:
        entry[name] = value
    entry["Filename"] = pool_path(component, package)
    entry["Size"] = str(package.size)
    entry["SHA256"] = package.sha256
    return f"{entry.dump()}\n".encode()


def architectures(found: Iterable[str]) -> list[str]:
    """A release's architectures: those of its packages, and ``all``, sorted."""
    return sorted(set(found) | {ALL})


def release_file(
    release: Release,
    components: Sequence[str],
    arches: Sequence[str],
    digests: Mapping[str, Digest],
    date: datetime,
) -> bytes:
    """The ``Release`` file listing ``digests`` (index files by path in the release folder)."""
    document = deb822.Release()
    document["Origin"] = ORIGIN
    document["Label"] = ORIGIN
    if release.suite:
        document["Suite"] = release.suite
    document["Codename"] = release.codename
    document["Date"] = format_datetime(date, usegmt=True)
    document["Architectures"] = " ".join(arches)
    document["Components"] = " ".join(sorted(components))
    for algorithm in ("sha256", "sha512"):
        document[algorithm.upper()] = [  # type: ignore[assignment]  # a multivalued field
            {algorithm: getattr(digest, algorithm), "size": str(digest.size), "name": name}
            for name, digest in sorted(digests.items())
        ]
    return str(document.dump()).encode()
