"""Secrets at rest: importer passwords and keys are stored as Fernet tokens, as Pulp 3 does.

The keys are files named by ``PULP2TO3_DB_ENCRYPTION_KEY`` (comma-separated: the first
encrypts, all decrypt, so that a key can be rotated); with none configured, one key file is
made on first use in ``$PULP2TO3_DATA_DIR``, readable by its owner only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SETTING = "PULP2TO3_DB_ENCRYPTION_KEY"
GENERATED_KEY_NAME = "db_encryption.key"
# The Pulp 3 remote fields that hold secrets: encrypted in the store, hidden by the API.
REMOTE_SECRET_FIELDS = ("client_key", "password", "proxy_password")

log = structlog.get_logger(__name__)


class SecretKeyError(Exception):
    """The encryption key is missing, malformed, or not the one the secrets were stored with."""


class Keys:
    """The configured keys: ``encrypt`` with the first, ``decrypt`` and ``rotate`` with all."""

    def __init__(self, keys: Collection[bytes], described: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._described = described

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with the key(s) of {SETTING}"
                f" ({self._described}): set it to the key file the secrets were stored with"
            ) from None

    def rotate(self, token: str) -> str:
        """``token`` encrypted again with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            self.decrypt(token)  # raises the error that names the setting
            raise

    def seal(
        self,
        values: Mapping[str, Any],
        fields: Collection[str],
        previous: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``values`` with its text ``fields`` encrypted. A token of ``previous`` that holds the
        same text is kept, so that an unchanged secret leaves the row unchanged."""
        sealed = dict(values)
        for field in fields:
            text = values.get(field)
            if not isinstance(text, str) or text == "":
                continue
            kept = (previous or {}).get(field)
            if isinstance(kept, str) and self._holds(kept, text):
                sealed[field] = kept
            else:
                sealed[field] = self.encrypt(text)
        return sealed

    def unseal(self, values: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
        """``values`` with its encrypted ``fields`` in clear."""
        return _map_tokens(values, fields, self.decrypt)

    def reseal(self, values: Mapping[str, Any], fields: Collection[str]) -> dict[str, Any]:
        """``values`` with its encrypted ``fields`` encrypted again with the first key."""
        return _map_tokens(values, fields, self.rotate)

    def _holds(self, token: str, text: str) -> bool:
        try:
            return self._fernet.decrypt(token.encode()).decode() == text
        except InvalidToken:
            return False


def _map_tokens(
    values: Mapping[str, Any], fields: Collection[str], change: Callable[[str], str]
) -> dict[str, Any]:
    return {
        name: change(value) if name in fields and isinstance(value, str) else value
        for name, value in values.items()
    }


def _read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(f"{SETTING}: cannot read key file {path}: {exc.strerror}") from None
    try:
        Fernet(key)
    except ValueError:
        raise SecretKeyError(
            f"{SETTING}: {path} does not hold a Fernet key (32 url-safe base64-encoded bytes;"
            " make one with: python3 -c 'from cryptography.fernet import Fernet;"
            " print(Fernet.generate_key().decode())')"
        ) from None
    return key


def _generated_key(data_dir: Path) -> Path:
    """The key file of ``data_dir``, made (mode 0600) when missing."""
    path = data_dir / GENERATED_KEY_NAME
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written whole under a name of its own, then linked: another process never reads half a key.
    draft = data_dir / f".{GENERATED_KEY_NAME}.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return path  # another process made it just now
    finally:
        draft.unlink()
    log.warning("db_encryption_key_generated", path=str(path), setting=SETTING)
    return path


def load_keys(key_files: str | None, data_dir: Path) -> Keys:
    """The keys of the setting's value (comma-separated key files), else the generated one."""
    paths = [Path(name.strip()).expanduser() for name in (key_files or "").split(",")]
    paths = [path for path in paths if str(path) not in ("", ".")]
    if not paths:
        paths = [_generated_key(data_dir)]
    return Keys([_read_key(path) for path in paths], ", ".join(map(str, paths)))
