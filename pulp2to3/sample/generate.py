"""Generate a sample Pulp 2 installation: MongoDB dump, file tree and migration plan."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from . import documents
from .deb_generate import DebSampleSummary, write_deb_sample
from .deb_population import DebPopulation
from .plan import migration_plan
from .population import Population, UnitSpec
from .rpm_generate import RpmSampleSummary, SharedCollections, write_rpm_sample
from .rpm_population import RpmPopulation
from .writer import ArchiveDumpWriter, DumpWriter, FolderDumpWriter

DATABASE = "pulp_database"
DumpFormat = Literal["archive", "folder"]
DUMP_FORMS: tuple[tuple[DumpFormat, bool], ...] = (
    ("archive", False),
    ("archive", True),
    ("folder", False),
    ("folder", True),
)
"""Every form the generator writes a dump in, as ``(fmt, gzip)``: each one mongodump has."""
PLUGINS = ("iso", "rpm", "deb")


@dataclass(frozen=True)
class SampleSummary:
    """Where a sample was written and what it holds."""

    dump_path: Path
    """The archive file, or the ``--out`` folder holding ``pulp_database/``."""
    pulp_root: Path
    """Stands for ``/var/lib/pulp``."""
    plan_path: Path
    fmt: DumpFormat
    gzip: bool
    seed: int
    repos: int
    """ISO repositories (0 when the sample has no ISO part)."""
    units: int
    """ISO units."""
    downloaded_units: int
    """Units with a file (``downloaded: true``); the others are on_demand."""
    artifacts: int
    """Distinct sha256 among the downloaded files."""
    multi_repo_units: int
    memberships: int
    lazy_entries: int
    collection_counts: Mapping[str, int]
    rpm: RpmSampleSummary | None = None
    """The RPM part, when the sample has one."""
    deb: DebSampleSummary | None = None
    """The Debian part, when the sample has one."""

    @property
    def on_demand_units(self) -> int:
        return self.units - self.downloaded_units


@dataclass
class _Tally:
    """Running counts over the unit stream (memory bounded by the number of repositories)."""

    repo_units: list[int]
    repo_last_added: list[datetime | None]
    downloaded: int = 0
    artifacts: int = 0
    multi_repo: int = 0
    run_has_file: bool = False

    def add(self, unit: UnitSpec) -> None:
        for index in unit.repos:
            self.repo_units[index] += 1
            self.repo_last_added[index] = unit.added
        self.multi_repo += len(unit.repos) > 1
        # Units sharing bytes are consecutive, so one flag per run of equal content suffices.
        if not unit.shares_content:
            self.run_has_file = False
        if unit.downloaded:
            self.downloaded += 1
            self.artifacts += not self.run_has_file
            self.run_has_file = True


def _write_file(root: Path, unit: UnitSpec) -> None:
    # os.path rather than pathlib: this runs once per unit and dominates the generation time.
    path = os.path.join(root, unit.relative_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(unit.content)


def _dump_writer(dump_path: Path, fmt: DumpFormat, compress: bool) -> DumpWriter:
    if fmt == "archive":
        return ArchiveDumpWriter(dump_path, DATABASE, compress=compress)
    return FolderDumpWriter(dump_path, DATABASE, compress=compress)


def generate_sample(
    out_dir: Path,
    *,
    repos: int,
    units: int,
    on_demand: float = 0.5,
    overlap: float = 0.3,
    revisions: float = 0.0,
    fmt: DumpFormat = "archive",
    gzip: bool = False,
    seed: int = 0,
    plugins: Sequence[str] = ("iso",),
) -> SampleSummary:
    """Write ``out_dir/dump/``, ``out_dir/pulp/`` and ``out_dir/plan.json``; same seed, same bytes.

    ``plugins`` says which parts to write (:data:`PLUGINS`); each gets ``repos`` repositories
    and ``units`` units (for RPM: packages, with errata, modules, comps and a kickstart tree
    around them; for Debian: packages, with releases and components around them).

    A fraction ``on_demand`` of the units has no file but lazy catalog entries, a fraction
    ``overlap`` is in more than one repository (when there are repositories to share), a
    fraction ``revisions`` is a new revision (same name, other bytes) of a recent unit.
    """
    if repos < 1 or units < 0:
        raise ValueError(f"need repos >= 1 and units >= 0, not {repos} and {units}")
    if not all(0 <= fraction <= 1 for fraction in (on_demand, overlap, revisions)):
        raise ValueError(
            "on_demand, overlap and revisions are fractions,"
            f" not {on_demand}, {overlap} and {revisions}"
        )
    if fmt not in ("archive", "folder"):
        raise ValueError(f"fmt must be 'archive' or 'folder', not {fmt!r}")
    if not plugins or not set(plugins) <= set(PLUGINS):
        raise ValueError(f"plugins must be some of {', '.join(PLUGINS)}, not {plugins!r}")
    iso_repos, iso_units = (repos, units) if "iso" in plugins else (0, 0)
    population = Population(
        seed=seed,
        repos=iso_repos,
        units=iso_units,
        on_demand=on_demand,
        overlap=overlap,
        revisions=revisions,
    )
    specs = population.repos
    ids = population.object_ids
    pulp_root = out_dir / "pulp"
    pulp_root.mkdir(parents=True, exist_ok=True)
    tally = _Tally([0] * iso_repos, [None] * iso_repos)
    dump_path = out_dir / "dump"
    if fmt == "archive":
        dump_path /= f"{DATABASE}.archive"
    rpm_population = (
        RpmPopulation(seed=seed, repos=repos, units=units, on_demand=on_demand, overlap=overlap)
        if "rpm" in plugins
        else None
    )
    deb_population = (
        DebPopulation(seed=seed, repos=repos, units=units, on_demand=on_demand, overlap=overlap)
        if "deb" in plugins
        else None
    )
    writer = _dump_writer(dump_path, fmt, gzip)
    with writer:
        repo_out = writer.collection("repos", unique=[("repo_id",)])
        importer_out = writer.collection("repo_importers", unique=[("repo_id",)])
        distributor_out = writer.collection(
            "repo_distributors", unique=[("repo_id", "distributor_id")]
        )
        membership_out = writer.collection(
            "repo_content_units", unique=[("repo_id", "unit_type_id", "unit_id")]
        )
        unit_out = writer.collection(
            documents.UNITS_COLLECTION, unique=[("name", "checksum", "size")]
        )
        lazy_out = writer.collection(
            "lazy_content_catalog", unique=[("importer_id", "unit_id", "unit_type_id")]
        )
        user_out = writer.collection("users", unique=[("login",)])
        task_out = writer.collection("task_status", unique=[("task_id",)])
        shared = SharedCollections(
            repos=repo_out,
            importers=importer_out,
            distributors=distributor_out,
            memberships=membership_out,
            lazy=lazy_out,
        )
        rpm_summary = deb_summary = None
        if rpm_population is not None:
            rpm_summary = write_rpm_sample(writer, shared, pulp_root, rpm_population)
        if deb_population is not None:
            deb_summary = write_deb_sample(writer, shared, pulp_root, deb_population)
        for unit in population.units():
            tally.add(unit)
            unit_out.write(documents.unit_document(unit))
            for document in documents.membership_documents(unit, specs, ids):
                membership_out.write(document)
            for document in documents.lazy_catalog_documents(unit, specs, ids):
                lazy_out.write(document)
            if unit.downloaded:
                _write_file(pulp_root, unit)
        for repo in specs:
            repo_out.write(
                documents.repo_document(
                    repo, tally.repo_units[repo.index], tally.repo_last_added[repo.index]
                )
            )
            importer_out.write(documents.importer_document(repo))
            for distributor in repo.distributors:
                distributor_out.write(documents.distributor_document(repo, distributor))
        for document in documents.user_documents(ids, population.start):
            user_out.write(document)
        for document in documents.task_documents(specs, ids):
            task_out.write(document)
    plan_path = out_dir / "plan.json"
    repo_ids = {"iso": [repo.repo_id for repo in specs]}
    if rpm_population is not None:
        repo_ids["rpm"] = [repo.repo_id for repo in rpm_population.repos]
    if deb_population is not None:
        repo_ids["deb"] = [repo.repo_id for repo in deb_population.repos]
    plan_path.write_text(json.dumps(migration_plan(repo_ids), indent=2) + "\n")
    counts = writer.counts
    return SampleSummary(
        dump_path=dump_path,
        pulp_root=pulp_root,
        plan_path=plan_path,
        fmt=fmt,
        gzip=gzip,
        seed=seed,
        repos=iso_repos,
        units=iso_units,
        downloaded_units=tally.downloaded,
        artifacts=tally.artifacts,
        multi_repo_units=tally.multi_repo,
        memberships=counts["repo_content_units"],
        lazy_entries=counts["lazy_content_catalog"],
        collection_counts=MappingProxyType(counts),
        rpm=rpm_summary,
        deb=deb_summary,
    )


def generate_every_form(
    root: Path, *, repos: int, units: int, seed: int
) -> dict[tuple[DumpFormat, bool], SampleSummary]:
    """The same sample (the defaults but for these) in each of :data:`DUMP_FORMS`.

    Each in ``root/<fmt>-<gzip>/``.
    """
    return {
        (fmt, gzip): generate_sample(
            root / f"{fmt}-{gzip}", repos=repos, units=units, fmt=fmt, gzip=gzip, seed=seed
        )
        for fmt, gzip in DUMP_FORMS
    }
