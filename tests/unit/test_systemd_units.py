"""The systemd units in contrib/systemd/ pass ``systemd-analyze verify``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
INSTALLED = "/opt/pulp2to3/bin/pulp2to3"


def _verify(tmp_path: Path, *names: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no `systemd-analyze` to verify the units")
    # verify insists that ExecStart= exists: point it at this checkout's own command.
    executable = Path(sys.executable).parent / "pulp2to3"
    paths = []
    for name, source in names:
        text = (UNITS / source).read_text()
        assert INSTALLED in text, f"{source} no longer runs {INSTALLED}"
        path = tmp_path / name
        path.write_text(text.replace(INSTALLED, str(executable)))
        paths.append(str(path))
    return subprocess.run(
        [analyze, "verify", *paths], capture_output=True, text=True, check=False, timeout=60
    )


def test_api_and_worker_instances_verify(tmp_path: Path) -> None:
    result = _verify(
        tmp_path,
        ("pulp2to3-api.service", "pulp2to3-api.service"),
        ("pulp2to3-worker@1.service", "pulp2to3-worker@.service"),
        ("pulp2to3-worker@8.service", "pulp2to3-worker@.service"),
    )
    assert result.returncode == 0, result.stderr
    # Unknown or misspelled directives are warnings naming the file, not a failing exit status.
    assert [line for line in result.stderr.splitlines() if str(tmp_path) in line] == []


def test_units_are_sandboxed_and_restart_on_failure() -> None:
    for source in ("pulp2to3-api.service", "pulp2to3-worker@.service"):
        lines = set((UNITS / source).read_text().splitlines())
        for required in (
            "User=pulp2to3",
            "EnvironmentFile=/etc/pulp2to3/pulp2to3.env",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/pulp2to3",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "Restart=on-failure",
        ):
            assert required in lines, f"{source} lacks {required}"


def test_a_broken_unit_fails_verification(tmp_path: Path) -> None:
    """The check can fail: an unknown directive is reported (``source`` may be an absolute
    path, which ``UNITS / source`` keeps as it is)."""
    (tmp_path / "source.service").write_text(
        (UNITS / "pulp2to3-api.service").read_text().replace("[Service]", "[Service]\nNoSuch=1")
    )
    result = _verify(tmp_path, ("broken.service", str(tmp_path / "source.service")))
    assert "NoSuch" in result.stderr
