"""Pulp 2 importer and distributor configs, read the same way for every plugin (pure).

- An importer becomes a remote: ``config.feed`` is its url, the download policy maps to
  Pulp 3's, and TLS, proxy and credential options take Pulp 3's field names.
- A distributor becomes a distribution served at its ``relative_url``, or, when it has none, at
  the Pulp 2 repo id (where Pulp 2 published it), normalized.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pulp2to3.encryption import REMOTE_SECRET_FIELDS
from pulp2to3.plugins import InvalidBasePath, InvalidImporter, RemoteSpec

# Pulp 2 download policy -> Pulp 3 remote policy; a missing policy is Pulp 2's default.
POLICIES: Mapping[str, str] = {
    "immediate": "immediate",
    "on_demand": "on_demand",
    "background": "on_demand",  # Pulp 3 has no background policy
}
DEFAULT_POLICY = "immediate"

# Pulp 2 importer option -> Pulp 3 remote field, for the options copied as they are.
_TEXT_OPTIONS: Mapping[str, str] = {
    "ssl_ca_cert": "ca_cert",
    "ssl_client_cert": "client_cert",
    "ssl_client_key": "client_key",
    "proxy_username": "proxy_username",
    "proxy_password": "proxy_password",
    "basic_auth_username": "username",
    "basic_auth_password": "password",
}
# The importer options that hold secrets: stored encrypted from premigrate on.
SECRET_OPTIONS = tuple(
    pulp2_key for pulp2_key, pulp3_key in _TEXT_OPTIONS.items() if pulp3_key in REMOTE_SECRET_FIELDS
)
_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})


# ---------------------------------------------------------------------------------------------
# Remotes
# ---------------------------------------------------------------------------------------------


def download_policy(config: Mapping[str, Any]) -> str:
    """The Pulp 3 policy of an importer: immediate stays, on_demand and background on_demand."""
    value = config.get("download_policy")
    if value is None:
        return DEFAULT_POLICY
    if not isinstance(value, str) or value not in POLICIES:
        raise InvalidImporter(
            f"download_policy {value!r} is not one of {', '.join(sorted(POLICIES))}"
        )
    return POLICIES[value]


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise InvalidImporter(f"{key} {value!r} is not a boolean")


def _positive_int(config: Mapping[str, Any], key: str) -> int:
    value = config[key]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidImporter(f"{key} {value!r} is not a positive integer")
    return value


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config[key]
    if not isinstance(value, str):
        raise InvalidImporter(f"{key} is {type(value).__name__}, not a string")
    return value


def proxy_url(config: Mapping[str, Any]) -> str | None:
    """``proxy_host`` (with or without a scheme) and ``proxy_port`` as one URL, or None."""
    if not config.get("proxy_host"):
        return None
    host = _text(config, "proxy_host").strip()
    url = host if "://" in host else f"http://{host}"
    parts = urlsplit(url)
    if not parts.hostname:
        raise InvalidImporter(f"proxy_host {host!r} names no host")
    if config.get("proxy_port") is not None and parts.port is None:
        port = _positive_int(config, "proxy_port")
        if port > 65535:
            raise InvalidImporter(f"proxy_port {port} is out of range")
        url = parts._replace(netloc=f"{parts.netloc}:{port}").geturl()
    return url


def remote_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """TLS, proxy, credential and concurrency options of an importer, as Pulp 3 remote fields.

    Only options the importer sets appear: the rest keep Pulp 3's defaults.
    """
    options: dict[str, Any] = {}
    for pulp2_key, pulp3_key in _TEXT_OPTIONS.items():
        if config.get(pulp2_key) not in (None, ""):
            options[pulp3_key] = _text(config, pulp2_key)
    if config.get("ssl_validation") is not None:
        options["tls_validation"] = _flag(config, "ssl_validation")
    proxy = proxy_url(config)
    if proxy is not None:
        options["proxy_url"] = proxy
    if config.get("max_downloads") is not None:
        options["download_concurrency"] = _positive_int(config, "max_downloads")
    return dict(sorted(options.items()))


def remote_from_importer(config: Mapping[str, Any]) -> RemoteSpec | None:
    """The remote an importer's config makes; None when it has no feed (nothing to sync from)."""
    feed = config.get("feed")
    if feed in (None, ""):
        return None
    if not isinstance(feed, str):
        raise InvalidImporter(f"feed is {type(feed).__name__}, not a string")
    return RemoteSpec(url=feed, policy=download_policy(config), options=remote_options(config))


# ---------------------------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------------------------


def normalize_base_path(raw: str) -> str:
    """``raw`` without leading, trailing or doubled ``/``; '.' and '..' segments are refused."""
    if any(char in raw for char in "\0\n\r"):
        raise InvalidBasePath(f"base path {raw!r} contains a NUL or line break")
    segments = [segment for segment in raw.split("/") if segment]
    for segment in segments:
        if segment in (".", ".."):
            raise InvalidBasePath(f"base path {raw!r} has a {segment!r} segment")
    if not segments:
        raise InvalidBasePath(f"base path {raw!r} is empty")
    return "/".join(segments)


def base_path(config: Mapping[str, Any], repo_id: str) -> str:
    """Where a distributor's content is served: its ``relative_url``, else the repo id.

    A ``relative_url`` that is missing, null, or nothing but slashes means the repo id, as
    Pulp 2 published such a repository at its repo id.
    """
    relative_url = config.get("relative_url")
    if relative_url is not None and not isinstance(relative_url, str):
        raise InvalidBasePath(f"relative_url is {type(relative_url).__name__}, not a string")
    if relative_url is None or not relative_url.strip("/"):
        return normalize_base_path(repo_id)
    return normalize_base_path(relative_url)
