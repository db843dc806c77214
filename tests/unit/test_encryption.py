"""Secrets at rest: the key files, encryption round trips, a wrong key, rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from pulp2to3.cli import main
from pulp2to3.encryption import GENERATED_KEY_NAME, SETTING, SecretKeyError, load_keys


def key_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(Fernet.generate_key())
    return path


def test_a_secret_makes_a_round_trip_and_its_token_hides_it(tmp_path: Path) -> None:
    keys = load_keys(str(key_file(tmp_path, "k")), tmp_path / "data")
    token = keys.encrypt("hunter2")
    assert "hunter2" not in token
    assert keys.decrypt(token) == "hunter2"


def test_without_a_configured_key_one_is_made_once_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    token = load_keys(None, data_dir).encrypt("hunter2")
    made = data_dir / GENERATED_KEY_NAME
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert list(data_dir.iterdir()) == [made]  # no draft left beside it
    content = made.read_bytes()
    assert load_keys("", data_dir).decrypt(token) == "hunter2"  # the same key, not a new one
    assert made.read_bytes() == content


def test_a_wrong_key_is_a_clear_error_naming_the_setting(tmp_path: Path) -> None:
    token = load_keys(str(key_file(tmp_path, "old")), tmp_path).encrypt("hunter2")
    other = load_keys(str(key_file(tmp_path, "new")), tmp_path)
    with pytest.raises(SecretKeyError, match=SETTING) as raised:
        other.decrypt(token)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    with pytest.raises(SecretKeyError, match=SETTING):
        other.rotate(token)


@pytest.mark.parametrize("content", [b"", b"not a key", Fernet.generate_key()[:-4]])
def test_a_file_without_a_key_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "k").write_bytes(content)
    with pytest.raises(SecretKeyError, match=f"{SETTING}: .*k does not hold a Fernet key"):
        load_keys(str(tmp_path / "k"), tmp_path)


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=f"{SETTING}: cannot read key file .*missing"):
        load_keys(str(tmp_path / "missing"), tmp_path)


def test_rotation_encrypts_with_the_first_key_and_decrypts_with_all(tmp_path: Path) -> None:
    old, new = key_file(tmp_path, "old"), key_file(tmp_path, "new")
    token = load_keys(str(old), tmp_path).encrypt("hunter2")
    both = load_keys(f"{new}, {old}", tmp_path)
    assert both.decrypt(token) == "hunter2"
    rotated = both.rotate(token)
    only_new = load_keys(str(new), tmp_path)
    assert only_new.decrypt(rotated) == "hunter2"
    assert only_new.decrypt(both.encrypt("x")) == "x"
    with pytest.raises(SecretKeyError):
        only_new.decrypt(token)


def test_sealing_encrypts_text_fields_and_keeps_an_unchanged_token(tmp_path: Path) -> None:
    keys = load_keys(str(key_file(tmp_path, "k")), tmp_path)
    config = {"feed": "https://x/", "password": "pw", "client_key": "", "proxy_password": None}
    sealed = keys.seal(config, ["password", "client_key", "proxy_password"])
    assert sealed["password"] != "pw"
    assert {k: v for k, v in sealed.items() if k != "password"} == {
        k: v for k, v in config.items() if k != "password"
    }
    assert keys.unseal(sealed, ["password"]) == config
    assert keys.seal(config, ["password"], sealed)["password"] == sealed["password"]
    changed = keys.seal({**config, "password": "pw2"}, ["password"], sealed)
    assert keys.decrypt(changed["password"]) == "pw2"
    assert keys.seal(config, ["password"], {"password": "pw"})["password"] != "pw"


def test_rotate_key_with_an_unreadable_key_is_a_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SETTING, str(tmp_path / "missing"))
    assert main(["rotate-key"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pulp2to3 rotate-key: {SETTING}: cannot read key file")
    assert "Traceback" not in err
