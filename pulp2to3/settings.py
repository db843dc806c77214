"""Configuration, read once from the environment and an optional TOML file.

Every process (API, worker, one-shot CLI) reads the same variables. The TOML file named by
``PULP2TO3_CONFIG`` may hold the same keys in lower case without the prefix
(``database_url = "..."``); the environment wins over the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

PREFIX = "PULP2TO3_"
_Number = TypeVar("_Number", int, float)


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


@dataclasses.dataclass(frozen=True)
class SigningService:
    """A GPG key that signs publications: its id, in the GnuPG home that holds its secret."""

    key_id: str
    gpg_home: Path


@dataclasses.dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    pulp2_dump: Path | None
    pulp2_root: Path
    media_root: Path
    admin_user: str
    admin_password: str | None
    api_host: str
    api_port: int
    verify_checksums: bool
    api_read_timeout: float  # seconds a connection may keep the API waiting for a request
    api_max_connections: int
    db_encryption_key: str | None  # key files, comma-separated (see encryption.py)
    # The signing services a plan's repositories may name (``name:key id:gpg home``, comma-
    # separated in PULP2TO3_SIGNING_SERVICES).
    signing_services: Mapping[str, SigningService] = dataclasses.field(default_factory=dict)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{PREFIX}{name.upper()} must be true or false, not {value!r}")


def _parse_positive(name: str, value: str, kind: Callable[[str], _Number]) -> _Number:
    try:
        number = kind(value.strip())
    except ValueError:
        number = kind("0")
    if not 0 < number < math.inf:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(f"{PREFIX}{name.upper()} must be {what}, not {value!r}")
    return number


def _parse_bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{PREFIX}API_BIND must be host:port, not {value!r}")
    return host.strip("[]"), int(port)


def _read_file(path: str) -> dict[str, str]:
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    return {str(key).lower(): str(value) for key, value in raw.items()}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    config_file = env.get(f"{PREFIX}CONFIG")
    if config_file:
        values.update(_read_file(config_file))
    for key, value in env.items():
        if key.startswith(PREFIX) and key != f"{PREFIX}CONFIG":
            values[key[len(PREFIX) :].lower()] = value

    database_url = values.get("database_url") or env.get("DATABASE_URL") or None
    data_dir = Path(
        values.get("data_dir") or Path.home() / ".local" / "share" / "pulp2to3"
    ).expanduser()
    dump = values.get("pulp2_dump")
    host, port = _parse_bind(values.get("api_bind", "127.0.0.1:24817"))
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        pulp2_dump=Path(dump).expanduser() if dump else None,
        pulp2_root=Path(values.get("pulp2_root", "/var/lib/pulp")).expanduser(),
        media_root=Path(values.get("media_root") or data_dir / "media").expanduser(),
        admin_user=values.get("admin_user", "admin"),
        admin_password=values.get("admin_password") or None,
        api_host=host,
        api_port=port,
        verify_checksums=_parse_bool("verify_checksums", values.get("verify_checksums", "false")),
        api_read_timeout=_parse_positive(
            "api_read_timeout", values.get("api_read_timeout", "60"), float
        ),
        api_max_connections=_parse_positive(
            "api_max_connections", values.get("api_max_connections", "1000"), int
        ),
        db_encryption_key=values.get("db_encryption_key") or None,
        signing_services=_parse_signing_services(values.get("signing_services", "")),
    )


def _parse_signing_services(value: str) -> dict[str, SigningService]:
    services = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, _, rest = entry.partition(":")
        key_id, _, home = rest.partition(":")
        if not (name and key_id and home):
            raise ConfigError(
                f"{PREFIX}SIGNING_SERVICES entries are name:key id:gpg home, not {entry!r}"
            )
        services[name] = SigningService(key_id=key_id, gpg_home=Path(home).expanduser())
    return services
