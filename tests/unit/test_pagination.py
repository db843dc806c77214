"""``limit``/``offset`` parsing and the ``{count, next, previous, results}`` page (pure)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from pulp2to3.http.errors import APIError
from pulp2to3.http.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    PageRequest,
    page_of,
    page_response,
)


def request_for(query: str) -> web.Request:
    return make_mocked_request("GET", f"/pulp/api/v3/content/?{query}", headers={"Host": "h:1"})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", PageRequest(DEFAULT_LIMIT, 0)),
        ("limit=5", PageRequest(5, 0)),
        ("limit=5&offset=10", PageRequest(5, 10)),
        ("limit=0", PageRequest(DEFAULT_LIMIT, 0)),
        ("limit=", PageRequest(DEFAULT_LIMIT, 0)),
        (f"limit={MAX_LIMIT}", PageRequest(MAX_LIMIT, 0)),
        (f"limit={MAX_LIMIT + 1}", PageRequest(MAX_LIMIT, 0)),
        ("limit=99999999999999999999", PageRequest(MAX_LIMIT, 0)),
        ("offset=7&other=x", PageRequest(DEFAULT_LIMIT, 7)),
        (f"offset={MAX_OFFSET}", PageRequest(DEFAULT_LIMIT, MAX_OFFSET)),
    ],
)
def test_limit_and_offset(query: str, expected: PageRequest) -> None:
    assert page_of(request_for(query)) == expected


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("limit=abc", {"limit": ["A valid integer is required."]}),
        ("limit=1.5", {"limit": ["A valid integer is required."]}),
        ("offset=x", {"offset": ["A valid integer is required."]}),
        ("limit=-1", {"limit": ["Ensure this value is greater than or equal to 0."]}),
        ("offset=-3", {"offset": ["Ensure this value is greater than or equal to 0."]}),
        (
            f"offset={MAX_OFFSET + 1}",
            {"offset": [f"Ensure this value is less than or equal to {MAX_OFFSET}."]},
        ),
    ],
)
def test_bad_values_are_field_errors(query: str, errors: dict[str, list[str]]) -> None:
    with pytest.raises(APIError) as raised:
        page_of(request_for(query))
    assert raised.value.status == 400
    assert raised.value.detail == errors


def test_a_middle_page_links_both_ways_keeping_the_filters() -> None:
    request = request_for("pulp_type=file.file&limit=10&offset=20")
    body = page_response(request, PageRequest(10, 20), 45, ["x"])
    assert body["count"] == 45
    assert body["results"] == ["x"]
    following, previous = URL(body["next"]), URL(body["previous"])
    assert (following.host, following.port) == ("h", 1)
    assert following.path == "/pulp/api/v3/content/"
    assert dict(following.query) == {"pulp_type": "file.file", "limit": "10", "offset": "30"}
    assert dict(previous.query) == {"pulp_type": "file.file", "limit": "10", "offset": "10"}


def test_the_first_page_has_no_previous_and_its_next_has_the_offset() -> None:
    body = page_response(request_for(""), PageRequest(10, 0), 11, [])
    assert body["previous"] is None
    assert dict(URL(body["next"]).query) == {"limit": "10", "offset": "10"}


def test_the_second_page_links_back_to_the_first_without_an_offset() -> None:
    body = page_response(request_for("offset=5"), PageRequest(10, 5), 11, [])
    assert body["next"] is None
    assert dict(URL(body["previous"]).query) == {"limit": "10"}


def test_the_last_page_and_past_it_have_no_next() -> None:
    assert page_response(request_for(""), PageRequest(10, 0), 10, [])["next"] is None
    past = page_response(request_for(""), PageRequest(10, 50), 10, [])
    assert past["next"] is None
    assert dict(URL(past["previous"]).query) == {"limit": "10", "offset": "40"}
