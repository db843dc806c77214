"""Mapping ``_storage_path`` into the configured Pulp 2 root, and every way out of it refused."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from pulp2to3.pulp2 import UnsafePath, confine_to_root, map_storage_path, resolve_storage_path
from pulp2to3.pulp2.paths import real_path

UNIT = "/var/lib/pulp/content/units/iso/ab/cdef/image.iso"


def test_maps_the_prefix_to_the_configured_root() -> None:
    root = Path("/srv/pulp2-copy")
    assert map_storage_path(UNIT, root) == root / "content/units/iso/ab/cdef/image.iso"


def test_another_source_prefix_can_be_configured() -> None:
    mapped = map_storage_path(
        "/mnt/old/pulp/content/x", Path("/r"), source_root=PurePosixPath("/mnt/old/pulp")
    )
    assert mapped == Path("/r/content/x")


@pytest.mark.parametrize("source_root", ["var/lib/pulp", "//var/lib/pulp"])
def test_a_source_root_must_be_absolute_under_slash(source_root: str) -> None:
    with pytest.raises(ValueError, match="not an absolute path under /"):
        map_storage_path("/var/lib/pulp/x", Path("/r"), source_root=PurePosixPath(source_root))


@pytest.mark.parametrize(
    ("storage_path", "reason"),
    [
        ("/var/lib/pulp/content/../../../../etc/passwd", "has a '..' component"),
        ("/var/lib/pulp/../pulp/content/x", "has a '..' component"),
        ("/etc/passwd", "not under /var/lib/pulp"),
        ("/var/lib/pulpX/content/x", "not under /var/lib/pulp"),
        ("/var/lib", "not under /var/lib/pulp"),
        ("content/units/iso/x", "not an absolute path"),
        ("var/lib/pulp/content/x", "not an absolute path"),
        ("/var/lib/pulp", "is /var/lib/pulp itself"),
        ("/var/lib/pulp/", "is /var/lib/pulp itself"),
        ("/var/lib/pulp/content/x\0.iso", "contains a NUL byte"),
        (None, "not a string"),
        (b"/var/lib/pulp/content/x", "not a string"),
    ],
)
def test_rejects_paths_that_leave_the_tree(storage_path: object, reason: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        map_storage_path(storage_path, Path("/srv/root"))
    assert caught.value.reason.startswith(reason)
    assert repr(storage_path) in str(caught.value)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A root holding one unit file, and a secret file beside the root."""
    root = tmp_path / "root"
    unit = root / "content/units/iso/ab/cdef/image.iso"
    unit.parent.mkdir(parents=True)
    unit.write_bytes(b"iso")
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    return root, secret


def test_resolves_a_plain_file(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    assert (
        resolve_storage_path(UNIT, root) == (root / UNIT.removeprefix("/var/lib/pulp/")).resolve()
    )


def test_a_missing_file_is_no_escape(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    found = resolve_storage_path("/var/lib/pulp/content/units/iso/zz/none.iso", root)
    assert not found.exists()


def test_a_symlink_inside_the_root_is_followed(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    link = root / "content/units/iso/ab/link.iso"
    link.symlink_to("cdef/image.iso")
    found = resolve_storage_path("/var/lib/pulp/content/units/iso/ab/link.iso", root)
    assert found.read_bytes() == b"iso"


def test_the_root_itself_may_be_a_symlink(tree: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = tree
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    assert resolve_storage_path(UNIT, alias).read_bytes() == b"iso"


def test_a_file_symlink_out_of_the_root_is_refused(tree: tuple[Path, Path]) -> None:
    root, secret = tree
    (root / "content/evil.iso").symlink_to(secret)
    with pytest.raises(UnsafePath, match="outside") as caught:
        resolve_storage_path("/var/lib/pulp/content/evil.iso", root)
    assert str(root / "content/evil.iso") in str(caught.value)


def test_a_relative_symlink_out_of_the_root_is_refused(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "content/evil.iso").symlink_to("../../secret")
    with pytest.raises(UnsafePath, match="outside"):
        resolve_storage_path("/var/lib/pulp/content/evil.iso", root)


def test_a_directory_symlink_out_of_the_root_is_refused(tree: tuple[Path, Path]) -> None:
    root, secret = tree
    (root / "content/units/rpm").symlink_to(secret.parent)
    with pytest.raises(UnsafePath, match="outside"):
        resolve_storage_path("/var/lib/pulp/content/units/rpm/secret", root)


def test_a_symlink_to_the_root_itself_is_refused(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    (root / "content/up").symlink_to(root)
    with pytest.raises(UnsafePath, match="outside"):
        resolve_storage_path("/var/lib/pulp/content/up", root)


def test_a_symlink_loop_is_refused(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    os.symlink("loop-b", root / "content/loop-a")
    os.symlink("loop-a", root / "content/loop-b")
    with pytest.raises(UnsafePath):
        resolve_storage_path("/var/lib/pulp/content/loop-a/x", root)


def test_confine_checks_an_already_mapped_path(tree: tuple[Path, Path]) -> None:
    root, secret = tree
    with pytest.raises(UnsafePath, match="outside"):
        confine_to_root(root / ".." / secret.name, root)


def test_a_root_resolved_once_checks_every_path_as_before(
    tree: tuple[Path, Path], tmp_path: Path
) -> None:
    root, secret = tree
    (root / "content/evil.iso").symlink_to(secret)
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    resolved = real_path(alias)
    assert resolved == root.resolve()
    found = resolve_storage_path(UNIT, alias, resolved_root=resolved)
    assert found == resolve_storage_path(UNIT, alias)
    with pytest.raises(UnsafePath, match="outside"):
        resolve_storage_path("/var/lib/pulp/content/evil.iso", alias, resolved_root=resolved)


def test_a_root_in_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    with pytest.raises(UnsafePath, match="cannot be resolved"):
        real_path(tmp_path / "loop-a")
