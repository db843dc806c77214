"""A sample in a folder is reused only when it is complete and would be generated the same."""

from __future__ import annotations

from pathlib import Path

from pulp2to3.sample import sample_in
from pulp2to3.sample.reuse import MANIFEST


def test_same_parameters_reuse_the_complete_sample(tmp_path: Path) -> None:
    first, reused_first = sample_in(tmp_path / "s", repos=2, units=20, seed=3)
    marker = first.pulp_root / "left by the first generation"
    marker.write_text("")
    again, reused_again = sample_in(tmp_path / "s", repos=2, units=20, seed=3)
    assert (reused_first, reused_again) == (False, True)
    assert again == first
    assert marker.exists()


def test_other_parameters_generate_it_again(tmp_path: Path) -> None:
    first, _ = sample_in(tmp_path / "s", repos=2, units=20, seed=3, plugins=("iso",))
    marker = first.pulp_root / "left by the first generation"
    marker.write_text("")
    other, reused = sample_in(tmp_path / "s", repos=2, units=20, seed=4, plugins=("iso",))
    assert not reused
    assert other.seed == 4
    assert not marker.exists()
    rpm, reused = sample_in(tmp_path / "s", repos=2, units=20, seed=4, plugins=("rpm",))
    assert not reused
    assert rpm.rpm is not None


def test_a_sample_without_its_manifest_is_generated_again(tmp_path: Path) -> None:
    """As a generation interrupted before its end leaves it."""
    first, _ = sample_in(tmp_path / "s", repos=2, units=20, seed=3)
    (tmp_path / "s" / MANIFEST).unlink()
    marker = first.pulp_root / "left by the first generation"
    marker.write_text("")
    _, reused = sample_in(tmp_path / "s", repos=2, units=20, seed=3)
    assert not reused
    assert not marker.exists()
    assert (tmp_path / "s" / MANIFEST).exists()
