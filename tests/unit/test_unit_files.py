"""Downloaded units' files to artifacts, as a batch hands them over (``plugins.unit_files``)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from pulp2to3.plugins import unit_files
from pulp2to3.settings import load_settings

DATA = b"iso bytes\n"
SHA = hashlib.sha256(DATA).hexdigest()


def file_at(name: str) -> unit_files.UnitFile:
    return unit_files.UnitFile(f"/var/lib/pulp/content/units/iso/{name}", len(DATA), SHA)


async def test_files_become_artifacts_in_order_and_a_missing_one_is_named(tmp_path: Path) -> None:
    units = tmp_path / "pulp/content/units/iso"
    units.mkdir(parents=True)
    (units / "a.iso").write_bytes(DATA)
    settings = dataclasses.replace(
        load_settings({}), pulp2_root=tmp_path / "pulp", media_root=tmp_path / "media"
    )
    first, missing = await unit_files.import_files(
        [file_at("a.iso"), file_at("gone.iso")], settings
    )
    assert not isinstance(first, str)
    assert first.sha256 == SHA
    assert isinstance(missing, unit_files.CorruptFile)
    assert "gone.iso is missing" in missing


async def test_a_pulp2_root_that_cannot_be_resolved_fails_every_file(tmp_path: Path) -> None:
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    settings = dataclasses.replace(
        load_settings({}), pulp2_root=tmp_path / "loop-a", media_root=tmp_path / "media"
    )
    outcomes = await unit_files.import_files([file_at("a.iso"), file_at("b.iso")], settings)
    assert [str(outcome).split(":")[0] for outcome in outcomes] == ["unsafe _storage_path"] * 2
    assert all("cannot be resolved" in str(outcome) for outcome in outcomes)
    assert not (tmp_path / "media").exists()
