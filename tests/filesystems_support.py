"""A small real filesystem to fill up: a tmpfs mounted on a folder of the test's."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_filesystem(folder: Path, size: int) -> Iterator[Path]:
    """``folder`` (made if needed) as a tmpfs of ``size`` bytes, unmounted afterwards; the test
    is skipped when ``mount`` is missing or may not mount here (not root, no CAP_SYS_ADMIN)."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount is None or umount is None:
        pytest.skip("no `mount`/`umount` to make a small filesystem")
    folder.mkdir(parents=True, exist_ok=True)
    result = _run(mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    if result.returncode != 0:
        pytest.skip(f"`mount` may not make a tmpfs here: {result.stderr.strip()}")
    try:
        yield folder
    finally:
        _run(umount, str(folder)).check_returncode()


def resize(folder: Path, size: int) -> None:
    """Give the tmpfs at ``folder`` ``size`` bytes (space freed, or taken), keeping its files."""
    mount = shutil.which("mount")
    assert mount is not None
    _run(mount, "-o", f"remount,size={size}", str(folder)).check_returncode()
