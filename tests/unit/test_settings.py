"""``load_settings``: defaults, environment, TOML file, and the errors it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulp2to3.settings import ConfigError, Settings, load_settings

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "pulp2to3"


def test_defaults_match_the_configuration_table() -> None:
    assert load_settings({}) == Settings(
        database_url=None,
        data_dir=DEFAULT_DATA_DIR,
        pulp2_dump=None,
        pulp2_root=Path("/var/lib/pulp"),
        media_root=DEFAULT_DATA_DIR / "media",
        admin_user="admin",
        admin_password=None,
        api_host="127.0.0.1",
        api_port=24817,
        verify_checksums=False,
        api_read_timeout=60.0,
        api_max_connections=1000,
        db_encryption_key=None,
    )


def test_every_variable_overrides_its_default(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PULP2TO3_DATABASE_URL": "postgresql://db.example/pulp2to3",
            "PULP2TO3_DATA_DIR": str(tmp_path / "data"),
            "PULP2TO3_PULP2_DUMP": str(tmp_path / "dump.archive"),
            "PULP2TO3_PULP2_ROOT": str(tmp_path / "pulp"),
            "PULP2TO3_MEDIA_ROOT": str(tmp_path / "media"),
            "PULP2TO3_ADMIN_USER": "operator",
            "PULP2TO3_ADMIN_PASSWORD": "s3cret",
            "PULP2TO3_API_BIND": "0.0.0.0:8080",
            "PULP2TO3_VERIFY_CHECKSUMS": "true",
            "PULP2TO3_API_READ_TIMEOUT": "2.5",
            "PULP2TO3_API_MAX_CONNECTIONS": "50",
            "PULP2TO3_DB_ENCRYPTION_KEY": "/etc/new.key,/etc/old.key",
        }
    )
    assert settings == Settings(
        database_url="postgresql://db.example/pulp2to3",
        data_dir=tmp_path / "data",
        pulp2_dump=tmp_path / "dump.archive",
        pulp2_root=tmp_path / "pulp",
        media_root=tmp_path / "media",
        admin_user="operator",
        admin_password="s3cret",
        api_host="0.0.0.0",
        api_port=8080,
        verify_checksums=True,
        api_read_timeout=2.5,
        api_max_connections=50,
        db_encryption_key="/etc/new.key,/etc/old.key",
    )


def test_media_root_follows_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"PULP2TO3_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.media_root == tmp_path / "media"


def test_paths_expand_the_home_directory() -> None:
    settings = load_settings({"PULP2TO3_PULP2_DUMP": "~/dump"})
    assert settings.pulp2_dump == Path.home() / "dump"


def test_database_url_falls_back_to_database_url() -> None:
    fallback = {"DATABASE_URL": "postgresql://fallback/db"}
    assert load_settings(fallback).database_url == "postgresql://fallback/db"
    own = {**fallback, "PULP2TO3_DATABASE_URL": "postgresql://own/db"}
    assert load_settings(own).database_url == "postgresql://own/db"
    # An empty value is unset, not an empty URL.
    empty = {**fallback, "PULP2TO3_DATABASE_URL": ""}
    assert load_settings(empty).database_url == "postgresql://fallback/db"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" ON ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_booleans(value: str, expected: bool) -> None:
    settings = load_settings({"PULP2TO3_VERIFY_CHECKSUMS": value})
    assert settings.verify_checksums is expected


def test_a_bad_boolean_names_the_variable_and_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PULP2TO3_VERIFY_CHECKSUMS": "maybe"})
    message = str(caught.value)
    assert "PULP2TO3_VERIFY_CHECKSUMS" in message
    assert "'maybe'" in message


@pytest.mark.parametrize(
    ("bind", "host", "port"),
    [
        ("localhost:1", "localhost", 1),
        ("[::1]:24817", "::1", 24817),
        ("10.0.0.1:65535", "10.0.0.1", 65535),
    ],
)
def test_bind(bind: str, host: str, port: int) -> None:
    settings = load_settings({"PULP2TO3_API_BIND": bind})
    assert (settings.api_host, settings.api_port) == (host, port)


@pytest.mark.parametrize(
    "bind", ["localhost", ":8080", "localhost:", "localhost:0", "localhost:65536", "host:http", ""]
)
def test_a_bad_bind_is_refused(bind: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PULP2TO3_API_BIND": bind})
    message = str(caught.value)
    assert "PULP2TO3_API_BIND must be host:port" in message
    assert repr(bind) in message


@pytest.mark.parametrize(
    ("name", "value", "what"),
    [
        ("API_READ_TIMEOUT", "0", "a positive number"),
        ("API_READ_TIMEOUT", "-1", "a positive number"),
        ("API_READ_TIMEOUT", "inf", "a positive number"),
        ("API_READ_TIMEOUT", "nan", "a positive number"),
        ("API_READ_TIMEOUT", "soon", "a positive number"),
        ("API_MAX_CONNECTIONS", "0", "a positive integer"),
        ("API_MAX_CONNECTIONS", "1.5", "a positive integer"),
        ("API_MAX_CONNECTIONS", "", "a positive integer"),
    ],
)
def test_a_bad_limit_is_refused(name: str, value: str, what: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({f"PULP2TO3_{name}": value})
    assert str(caught.value) == f"PULP2TO3_{name} must be {what}, not {value!r}"


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pulp2to3.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_toml_file_sets_lower_case_keys(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        'database_url = "postgresql://from-file/db"\n'
        'admin_user = "from-file"\n'
        "verify_checksums = true\n"
        'API_BIND = "127.0.0.2:9000"\n',
    )
    settings = load_settings({"PULP2TO3_CONFIG": config})
    assert settings.database_url == "postgresql://from-file/db"
    assert settings.admin_user == "from-file"
    assert settings.verify_checksums is True
    assert (settings.api_host, settings.api_port) == ("127.0.0.2", 9000)


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'admin_user = "from-file"\nadmin_password = "file-password"\n')
    settings = load_settings({"PULP2TO3_CONFIG": config, "PULP2TO3_ADMIN_USER": "from-env"})
    assert settings.admin_user == "from-env"
    assert settings.admin_password == "file-password"


def test_the_file_wins_over_the_generic_database_url(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'database_url = "postgresql://from-file/db"\n')
    settings = load_settings({"PULP2TO3_CONFIG": config, "DATABASE_URL": "postgresql://generic/db"})
    assert settings.database_url == "postgresql://from-file/db"


def test_values_from_the_file_are_checked_too(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'verify_checksums = "perhaps"\n')
    with pytest.raises(ConfigError, match="PULP2TO3_VERIFY_CHECKSUMS"):
        load_settings({"PULP2TO3_CONFIG": config})


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings({"PULP2TO3_CONFIG": str(missing)})
    message = str(caught.value)
    assert f"cannot read config file {missing}" in message
    assert "No such file or directory" in message


def test_a_directory_is_not_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({"PULP2TO3_CONFIG": str(tmp_path)})


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "database_url = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings({"PULP2TO3_CONFIG": config})
    message = str(caught.value)
    assert f"config file {config} is not valid TOML" in message
    assert "line 1" in message
