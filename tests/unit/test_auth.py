"""Credentials and the Basic header parser (pure)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulp2to3.http import auth
from pulp2to3.http.auth import PUBLIC_PATHS, Credentials, parse_basic


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_the_password_is_kept_only_as_a_salted_hash() -> None:
    first = Credentials.hashed("admin", "secret")
    second = Credentials.hashed("admin", "secret")
    assert b"secret" not in first.password_hash
    assert "secret" not in repr(first)
    assert first.salt != second.salt
    assert first.password_hash != second.password_hash


def test_the_right_user_and_password_are_accepted() -> None:
    credentials = Credentials.hashed("admin", "secret")
    assert credentials.check("admin", "secret")


@pytest.mark.parametrize(
    ("user", "password"),
    [("admin", "wrong"), ("Admin", "secret"), ("admin", "secret "), ("", "secret"), ("admin", "")],
)
def test_anything_else_is_refused(user: str, password: str) -> None:
    assert not Credentials.hashed("admin", "secret").check(user, password)


@given(user=st.text(), password=st.text())
def test_any_pair_round_trips_through_the_header(user: str, password: str) -> None:
    parsed = parse_basic(header(f"{user}:{password}".encode()))
    if ":" in user:
        # Basic cannot carry a colon in the user name: it splits at the first one.
        assert parsed is not None
        assert parsed[0] == user.split(":", 1)[0]
    else:
        assert parsed == (user, password)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic",
        "Basic ",
        "Bearer abc",
        "Basic !!!",
        "Basic YWJj",  # "abc": no colon
        header(b"\xff:\xfe"),
        "Digest " + base64.b64encode(b"a:b").decode(),
    ],
)
def test_malformed_headers_are_none(value: str) -> None:
    assert parse_basic(value) is None


def test_the_scheme_is_case_insensitive_and_the_password_may_hold_colons() -> None:
    assert parse_basic("bAsIc " + base64.b64encode(b"u:p:q").decode()) == ("u", "p:q")


def test_status_and_the_api_description_are_the_public_api_paths() -> None:
    public = {"/pulp/api/v3/status/", "/pulp/api/v3/docs/api.json"}
    assert public == PUBLIC_PATHS


@pytest.mark.parametrize(
    ("user", "password"),
    [("admin", "secret"), ("admin", "wrong"), ("intruder", "secret"), ("a" * 500, "")],
)
def test_every_check_hashes_the_password_whatever_is_wrong(
    user: str, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No early return on a wrong user name: the costly part runs once for every attempt."""
    credentials = Credentials.hashed("admin", "secret")
    derived: list[str] = []
    real_derive = auth._derive

    def counted(presented: str, salt: bytes) -> bytes:
        derived.append(presented)
        return real_derive(presented, salt)

    monkeypatch.setattr(auth, "_derive", counted)
    credentials.check(user, password)
    assert derived == [password]
