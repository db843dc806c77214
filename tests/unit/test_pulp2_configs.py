"""Importer and distributor configs as every plugin reads them: remotes, base paths, names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.plugins.pulp2_configs import (
    InvalidBasePath,
    InvalidImporter,
    RemoteSpec,
    base_path,
    download_policy,
    normalize_base_path,
    proxy_url,
    remote_from_importer,
    remote_options,
)

# ---------------------------------------------------------------------------------------------
# Remotes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "policy"),
    [
        ({}, "immediate"),
        ({"download_policy": None}, "immediate"),
        ({"download_policy": "immediate"}, "immediate"),
        ({"download_policy": "on_demand"}, "on_demand"),
        ({"download_policy": "background"}, "on_demand"),
    ],
)
def test_download_policies_map_to_pulp3_policies(config: dict[str, Any], policy: str) -> None:
    assert download_policy(config) == policy


@pytest.mark.parametrize("value", ["streamed", "lazy", "", 3, True])
def test_an_unknown_download_policy_is_refused(value: object) -> None:
    with pytest.raises(InvalidImporter, match="download_policy"):
        download_policy({"download_policy": value})


def test_a_full_importer_config_becomes_remote_options() -> None:
    config = {
        "feed": "https://cdn.example.com/isos/",
        "download_policy": "background",
        "ssl_ca_cert": "-----BEGIN CERTIFICATE-----\nCA\n",
        "ssl_client_cert": "CLIENT CERT",
        "ssl_client_key": "CLIENT KEY",
        "ssl_validation": False,
        "proxy_host": "https://proxy.example.com",
        "proxy_port": 3128,
        "proxy_username": "proxy-user",
        "proxy_password": "proxy-secret",
        "basic_auth_username": "user",
        "basic_auth_password": "secret",
        "max_downloads": 7,
        "max_speed": 1000,  # no Pulp 3 equivalent: not carried over
        "remove_missing": True,
    }
    assert remote_from_importer(config) == RemoteSpec(
        url="https://cdn.example.com/isos/",
        policy="on_demand",
        options={
            "ca_cert": "-----BEGIN CERTIFICATE-----\nCA\n",
            "client_cert": "CLIENT CERT",
            "client_key": "CLIENT KEY",
            "download_concurrency": 7,
            "password": "secret",
            "proxy_password": "proxy-secret",
            "proxy_url": "https://proxy.example.com:3128",
            "proxy_username": "proxy-user",
            "tls_validation": False,
            "username": "user",
        },
    )


def test_only_the_options_an_importer_sets_appear() -> None:
    assert remote_options({"feed": "https://x/", "ssl_validation": True}) == {
        "tls_validation": True
    }
    assert remote_options({"feed": "https://x/", "ssl_ca_cert": "", "proxy_host": None}) == {}


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ({}, None),
        ({"proxy_host": ""}, None),
        ({"proxy_host": "proxy.example.com"}, "http://proxy.example.com"),
        ({"proxy_host": "proxy.example.com", "proxy_port": 8080}, "http://proxy.example.com:8080"),
        ({"proxy_host": "https://p.example/", "proxy_port": "8443"}, "https://p.example:8443/"),
        ({"proxy_host": "http://p.example:3128", "proxy_port": 9999}, "http://p.example:3128"),
    ],
)
def test_proxy_host_and_port_make_one_url(config: dict[str, Any], url: str | None) -> None:
    assert proxy_url(config) == url


@pytest.mark.parametrize(
    "config",
    [
        {"proxy_host": "http://", "proxy_port": 1},
        {"proxy_host": "p.example", "proxy_port": 0},
        {"proxy_host": "p.example", "proxy_port": 70000},
        {"proxy_host": "p.example", "proxy_port": "port"},
        {"proxy_host": 12},
    ],
)
def test_a_bad_proxy_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidImporter, match="proxy"):
        proxy_url(config)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"ssl_validation": "maybe"}, "ssl_validation"),
        ({"max_downloads": 0}, "max_downloads"),
        ({"max_downloads": True}, "max_downloads"),
        ({"ssl_ca_cert": 5}, "ssl_ca_cert"),
    ],
)
def test_bad_option_values_are_refused_by_name(config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidImporter, match=field):
        remote_options(config)


def test_textual_flags_and_numbers_are_read() -> None:
    assert remote_options({"ssl_validation": "false", "max_downloads": "3"}) == {
        "download_concurrency": 3,
        "tls_validation": False,
    }


def test_an_importer_without_feed_makes_no_remote() -> None:
    assert remote_from_importer({"download_policy": "on_demand"}) is None
    assert remote_from_importer({"feed": ""}) is None


def test_a_feed_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidImporter, match="feed"):
        remote_from_importer({"feed": ["https://x/"]})


# ---------------------------------------------------------------------------------------------
# Base paths and names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("iso", "iso"),
        ("/iso", "iso"),
        ("iso/", "iso"),
        ("/pub/iso/", "pub/iso"),
        ("pub//iso", "pub/iso"),
        ("//pub///iso//", "pub/iso"),
        ("a.b/..c/c..", "a.b/..c/c.."),
    ],
)
def test_base_paths_are_normalized(raw: str, normalized: str) -> None:
    assert normalize_base_path(raw) == normalized


@pytest.mark.parametrize("raw", ["..", "a/../b", "./a", "a/.", "/", "", "a\nb"])
def test_base_paths_that_leave_or_are_empty_are_refused(raw: str) -> None:
    with pytest.raises(InvalidBasePath):
        normalize_base_path(raw)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "repo-1"),
        ({"relative_url": None}, "repo-1"),
        ({"relative_url": ""}, "repo-1"),
        ({"relative_url": "/"}, "repo-1"),
        ({"relative_url": "repo-1"}, "repo-1"),
        ({"relative_url": "/repo-1"}, "repo-1"),
        ({"relative_url": "repo-1/"}, "repo-1"),
        ({"relative_url": "/iso/repo-1/"}, "iso/repo-1"),
        ({"relative_url": "iso//repo-1"}, "iso/repo-1"),
    ],
)
def test_a_distributor_is_served_at_its_relative_url_or_its_repo_id(
    config: dict[str, Any], expected: str
) -> None:
    assert base_path(config, "repo-1") == expected


def test_a_relative_url_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidBasePath, match="relative_url"):
        base_path({"relative_url": 3}, "repo-1")


def test_a_relative_url_with_dot_dot_is_refused() -> None:
    with pytest.raises(InvalidBasePath, match=r"'\.\.'"):
        base_path({"relative_url": "/pub/../etc"}, "repo-1")


@given(st.text(st.sampled_from("ab./"), max_size=12))
def test_a_normalized_base_path_is_stable_and_clean(raw: str) -> None:
    try:
        normalized = normalize_base_path(raw)
    except InvalidBasePath:
        return
    assert normalize_base_path(normalized) == normalized
    assert not normalized.startswith("/")
    assert not normalized.endswith("/")
    assert "//" not in normalized
    assert all(part not in (".", "..") for part in normalized.split("/"))
