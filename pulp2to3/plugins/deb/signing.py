"""Sign a ``Release`` file with a GPG key, as apt verifies it: ``InRelease`` (the file
clear-signed) and ``Release.gpg`` (an armored detached signature).

gpg runs with the signing service's own home (``--homedir``), in batch mode: the key must be
usable without a passphrase prompt. Blocking: call it in a thread.
"""

from __future__ import annotations

import shutil
import subprocess

from pulp2to3.settings import SigningService

TIMEOUT = 60


class SigningError(RuntimeError):
    """gpg could not sign: the publication cannot be signed as its plan asks."""


def _gpg(service: SigningService, data: bytes, mode: str) -> bytes:
    gpg = shutil.which("gpg")
    if gpg is None:
        raise SigningError("gpg is not installed: a signed publication needs it")
    try:
        result = subprocess.run(
            [
                gpg, "--homedir", str(service.gpg_home), "--batch", "--yes", "--no-tty",
                "--local-user", service.key_id, "--digest-algo", "SHA512", "--armor", mode,
            ],
            input=data, capture_output=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SigningError(f"gpg did not run: {error}") from error
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode(errors="replace").strip()
        raise SigningError(f"gpg could not sign with key {service.key_id}: {reason}")
    return result.stdout


def sign_release(service: SigningService, release: bytes) -> dict[str, bytes]:
    """``InRelease`` and ``Release.gpg`` of ``release``, by their names."""
    return {
        "InRelease": _gpg(service, release, "--clearsign"),
        "Release.gpg": _gpg(service, release, "--detach-sign"),
    }
