"""The comparison of two targets: a row missing, an extra row, or a row written twice shows."""

from __future__ import annotations

from tests.target_support import differences


def test_equal_targets_have_no_difference() -> None:
    assert differences({"t": ["a", "b"]}, {"t": ["b", "a"]}) == {}


def test_a_missing_an_extra_and_a_duplicate_row_show() -> None:
    expected = {"t": ["a", "b"], "u": ["x"]}
    actual = {"t": ["b", "b", "c"], "u": ["x"], "v": ["new"]}
    assert differences(expected, actual) == {"t": (["a"], ["b", "c"]), "v": ([], ["new"])}
