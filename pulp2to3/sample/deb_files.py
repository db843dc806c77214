"""Real ``.deb`` files written in Python: an ``ar`` archive of ``debian-binary``,
``control.tar.gz`` and ``data.tar.gz``, as ``dpkg-deb --build`` lays them out.

Every timestamp is fixed, so the same control fields and payload always give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping

from debian import deb822

_AR_MAGIC = b"!<arch>\n"
_MTIME = 1546300800  # 2019-01-01


def _ar_member(name: str, data: bytes) -> bytes:
    header = f"{name:<16}{_MTIME:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}".encode() + b"`\n"
    return header + data + (b"\n" if len(data) % 2 else b"")


def _tar_gz(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size, info.mtime, info.mode = len(data), _MTIME, 0o644
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def control_text(fields: Mapping[str, str]) -> str:
    """The ``control`` file of a package with these fields (multi-line values folded)."""
    return str(deb822.Deb822(dict(fields)).dump())


def deb_bytes(fields: Mapping[str, str], files: Mapping[str, bytes]) -> bytes:
    """A binary package: ``fields`` as its control file, ``files`` (paths without a leading
    ``/``) as its payload."""
    control = _tar_gz({"control": control_text(fields).encode()})
    return (
        _AR_MAGIC
        + _ar_member("debian-binary", b"2.0\n")
        + _ar_member("control.tar.gz", control)
        + _ar_member("data.tar.gz", _tar_gz(files))
    )
