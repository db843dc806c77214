"""The read-only views of what was migrated, over real HTTP against a real database.

The data is what ``tests.migrated_support.populate`` puts in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yarl

from tests.http_support import Client, app_for, client_for
from tests.migrated_support import FILES, Migrated, populate, sha256

API = "/pulp/api/v3/"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
async def migrated(pool: asyncpg.Pool, tmp_path: Path) -> Migrated:
    return await populate(pool, tmp_path / "media")


@pytest.fixture
async def client(db_url: str, pool: asyncpg.Pool, migrated: Migrated) -> AsyncIterator[Client]:
    async with client_for(app_for(db_url, pool, migrated.media_root), authenticated=True) as client:
        yield client


async def get(client: Client, path: str, expected: int = 200, /, **params: str) -> Any:
    """GET ``path`` (an href, or a full URL of the test server) expecting a JSON answer."""
    response = await client.get(yarl.URL(path).path_qs, params=params or None)
    text = await response.text()
    assert response.status == expected, text
    assert response.content_type == "application/json"
    return await response.json()


def repository_href(migrated: Migrated) -> str:
    return f"{API}repositories/{migrated.repository}/"


def version_href(migrated: Migrated, number: int) -> str:
    return f"{repository_href(migrated)}versions/{number}/"


# --- repositories and versions ----------------------------------------------------------------


async def test_repositories_are_listed_in_pulp_3_shape(client: Client, migrated: Migrated) -> None:
    body = await get(client, f"{API}repositories/")
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    file_repository, empty = body["results"]
    created = file_repository.pop("pulp_created")
    assert RFC3339.match(created), created
    assert file_repository == {
        "pulp_href": repository_href(migrated),
        "pulp_type": "file.file",
        "name": "file",
        "description": "Files",
        "remote": f"{API}remotes/{migrated.remote}/",
        "versions_href": f"{repository_href(migrated)}versions/",
        "latest_version_href": version_href(migrated, 2),
    }
    assert empty["name"] == "empty"
    assert empty["remote"] is None
    assert empty["description"] is None
    assert empty["latest_version_href"] is None
    detail = await get(client, repository_href(migrated))
    assert detail == {**file_repository, "pulp_created": created}


async def test_versions_are_listed_newest_first_with_their_content_summary(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{repository_href(migrated)}versions/")
    assert body["count"] == 3
    assert [v["number"] for v in body["results"]] == [2, 1, 0]
    latest = body["results"][0]
    assert RFC3339.match(latest["pulp_created"])
    assert latest["pulp_href"] == version_href(migrated, 2)
    assert latest["repository"] == repository_href(migrated)
    href = version_href(migrated, 2)
    assert latest["content_summary"] == {
        "added": {
            "file.file": {
                "count": 2,
                "href": f"{API}content/?repository_version_added={href}",
            },
            "rpm.package": {
                "count": 1,
                "href": f"{API}content/?repository_version_added={href}",
            },
        },
        "removed": {
            "file.file": {
                "count": 1,
                "href": f"{API}content/?repository_version_removed={href}",
            }
        },
        "present": {
            "file.file": {"count": 3, "href": f"{API}content/?repository_version={href}"},
            "rpm.package": {"count": 1, "href": f"{API}content/?repository_version={href}"},
        },
    }
    first = await get(client, version_href(migrated, 1))
    assert {
        kind: {t: c["count"] for t, c in s.items()} for kind, s in first["content_summary"].items()
    } == {
        "added": {"file.file": 2},
        "removed": {},
        "present": {"file.file": 2},
    }
    zero = await get(client, version_href(migrated, 0))
    assert zero["content_summary"] == {"added": {}, "removed": {}, "present": {}}
    assert await get(client, version_href(migrated, 2)) == latest


async def test_the_versions_of_a_repository_without_any_are_an_empty_page(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{API}repositories/{migrated.empty_repository}/versions/")
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


# --- publications, distributions, remotes -----------------------------------------------------


async def test_publications_show_their_version_and_distributions(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{API}publications/")
    assert body["count"] == 1
    [publication] = body["results"]
    assert RFC3339.match(publication.pop("pulp_created"))
    assert publication == {
        "pulp_href": f"{API}publications/{migrated.publication}/",
        "pulp_type": "file.file",
        "repository_version": version_href(migrated, 2),
        "repository": repository_href(migrated),
        "distributions": [f"{API}distributions/{migrated.distribution}/"],
    }
    detail = await get(client, publication["pulp_href"])
    detail.pop("pulp_created")
    assert detail == publication


async def test_distributions_have_a_base_url_from_the_request(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{API}distributions/")
    assert body["count"] == 2
    served, idle = body["results"]
    assert RFC3339.match(served.pop("pulp_created"))
    host = f"{client.host}:{client.port}"
    assert served == {
        "pulp_href": f"{API}distributions/{migrated.distribution}/",
        "pulp_type": "file.file",
        "name": "file-dist",
        "base_path": "nested/base",
        "base_url": f"http://{host}/pulp/content/nested/base/",
        "publication": f"{API}publications/{migrated.publication}/",
    }
    assert idle["publication"] is None
    assert idle["base_url"] == f"http://{host}/pulp/content/idle/"
    response = await client.get(served["pulp_href"], headers={"Host": "pulp.example.com:8443"})
    assert (await response.json())[
        "base_url"
    ] == "http://pulp.example.com:8443/pulp/content/nested/base/"


async def test_remotes_hide_their_secrets(client: Client, migrated: Migrated) -> None:
    body = await get(client, f"{API}remotes/")
    [remote] = body["results"]
    assert RFC3339.match(remote.pop("pulp_created"))
    assert remote == {
        "pulp_href": f"{API}remotes/{migrated.remote}/",
        "pulp_type": "file.file",
        "name": "file-remote",
        "url": "https://remote.example.com/file/",
        "policy": "on_demand",
        "options": {"tls_validation": True, "proxy_url": "http://proxy:3128"},
        "hidden_fields": [
            {"name": "client_key", "is_set": False},
            {"name": "proxy_username", "is_set": False},
            {"name": "proxy_password", "is_set": False},
            {"name": "username", "is_set": False},
            {"name": "password", "is_set": True},
        ],
    }
    assert "hunter2" not in await (await client.get(remote["pulp_href"])).text()


# --- content ----------------------------------------------------------------------------------


async def test_content_shows_file_fields_and_other_types_natural_key(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{API}content/")
    assert body["count"] == 5
    by_href = {c["pulp_href"]: c for c in body["results"]}
    a = by_href[f"{API}content/{migrated.content['a.iso']}/"]
    created = a.pop("pulp_created")
    assert RFC3339.match(created)
    assert a == {
        "pulp_href": f"{API}content/{migrated.content['a.iso']}/",
        "pulp_type": "file.file",
        "relative_path": "a.iso",
        "sha256": sha256(FILES["a.iso"]),
        "size": len(FILES["a.iso"]),
    }
    other = await get(client, f"{API}content/{migrated.content['other']}/")
    assert other["pulp_type"] == "rpm.package"
    assert other["natural_key"] == "bash-5.1"
    assert "relative_path" not in other


def paths_of(body: dict[str, Any]) -> list[str]:
    return sorted(c.get("relative_path", c.get("natural_key")) for c in body["results"])


@pytest.mark.parametrize(
    ("name", "number", "expected"),
    [
        ("repository_version", 0, []),
        ("repository_version", 1, ["a.iso", "b.iso"]),
        ("repository_version", 2, ["a.iso", "bash-5.1", "dir/c.iso", "on-demand.iso"]),
        ("repository_version_added", 2, ["bash-5.1", "dir/c.iso", "on-demand.iso"]),
        ("repository_version_removed", 2, ["b.iso"]),
        ("repository_version_removed", 1, []),
    ],
)
async def test_content_of_a_repository_version(
    client: Client, migrated: Migrated, name: str, number: int, expected: list[str]
) -> None:
    body = await get(client, f"{API}content/", **{name: version_href(migrated, number)})
    assert body["count"] == len(expected)
    assert paths_of(body) == expected


async def test_content_filters_accept_full_urls_and_combine_with_the_type(
    client: Client, migrated: Migrated
) -> None:
    url = f"http://{client.host}:{client.port}{version_href(migrated, 2)}"
    body = await get(client, f"{API}content/", repository_version=url, pulp_type="file.file")
    assert paths_of(body) == ["a.iso", "dir/c.iso", "on-demand.iso"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        (
            {"repository_version": "nonsense"},
            {"repository_version": ["Invalid hyperlink - No URL match."]},
        ),
        (
            {"repository_version": f"{API}repositories/not-a-uuid/versions/1/"},
            {"repository_version": ["Invalid hyperlink - No URL match."]},
        ),
        (
            {"repository_version_added": f"{API}repositories/{uuid.uuid4()}/versions/1/"},
            {"repository_version_added": ["Invalid hyperlink - Object does not exist."]},
        ),
    ],
)
async def test_bad_version_filters_are_400(
    client: Client, params: dict[str, str], errors: dict[str, list[str]]
) -> None:
    assert await get(client, f"{API}content/", 400, **params) == errors


async def test_a_missing_version_number_is_400_and_two_version_filters_too(
    client: Client, migrated: Migrated
) -> None:
    body = await get(client, f"{API}content/", 400, repository_version=version_href(migrated, 9))
    assert body == {"repository_version": ["Invalid hyperlink - Object does not exist."]}
    body = await get(
        client,
        f"{API}content/",
        400,
        repository_version=version_href(migrated, 1),
        repository_version_added=version_href(migrated, 2),
    )
    assert set(body) == {"repository_version", "repository_version_added"}


# --- the Pulp 2 mapping -----------------------------------------------------------------------


async def test_pulp2_repositories_show_what_they_became(client: Client, migrated: Migrated) -> None:
    body = await get(client, f"{API}pulp2repositories/")
    assert body["count"] == 2
    migrated_repo, skipped = body["results"]
    created = migrated_repo.pop("pulp_created")
    assert RFC3339.match(created)
    assert migrated_repo == {
        "pulp_href": f"{API}pulp2repositories/{migrated.pulp2_repositories['file']}/",
        "pulp2_object_id": "oid-file",
        "pulp2_repo_id": "file",
        "pulp2_repo_type": "iso",
        "is_migrated": True,
        "not_in_plan": False,
        "pulp3_repository_href": repository_href(migrated),
        "pulp3_repository_version": version_href(migrated, 2),
        "pulp3_remote_href": f"{API}remotes/{migrated.remote}/",
        "pulp3_publication_href": f"{API}publications/{migrated.publication}/",
        "pulp3_distribution_hrefs": [f"{API}distributions/{migrated.distribution}/"],
    }
    assert skipped["is_migrated"] is False
    assert skipped["not_in_plan"] is True
    assert skipped["pulp3_repository_href"] is None
    assert skipped["pulp3_repository_version"] is None
    assert skipped["pulp3_remote_href"] is None
    assert skipped["pulp3_publication_href"] is None
    assert skipped["pulp3_distribution_hrefs"] == []
    assert await get(client, migrated_repo["pulp_href"]) == {
        **migrated_repo,
        "pulp_created": created,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"is_migrated": "true"}, ["file"]),
        ({"is_migrated": "false"}, ["skipped"]),
        ({"not_in_plan": "True"}, ["skipped"]),
        ({"not_in_plan": "0"}, ["file"]),
        ({"pulp2_repo_id": "skipped"}, ["skipped"]),
        ({"pulp2_repo_id": "nothing"}, []),
        ({"pulp2_repo_id__in": "nothing,skipped,file"}, ["file", "skipped"]),
        ({"pulp2_repo_id__in": "skipped"}, ["skipped"]),
        ({"is_migrated": "true", "not_in_plan": "true"}, []),
        ({"is_migrated": ""}, ["file", "skipped"]),
        ({"ordering": "-pulp2_repo_id"}, ["skipped", "file"]),
        ({"ordering": "is_migrated,pulp2_repo_id"}, ["skipped", "file"]),
    ],
)
async def test_pulp2_repositories_are_filtered(
    client: Client, params: dict[str, str], expected: list[str]
) -> None:
    body = await get(client, f"{API}pulp2repositories/", **params)
    assert [r["pulp2_repo_id"] for r in body["results"]] == expected
    assert body["count"] == len(expected)


async def test_pulp2_content_shows_what_it_became(client: Client, migrated: Migrated) -> None:
    body = await get(client, f"{API}pulp2content/")
    assert body["count"] == 3
    a, skipped, orphan = body["results"]
    created = a.pop("pulp_created")
    assert RFC3339.match(created)
    assert a == {
        "pulp_href": f"{API}pulp2content/{migrated.pulp2_content['u-a']}/",
        "pulp2_id": "u-a",
        "pulp2_content_type_id": "iso",
        "pulp2_last_updated": 1700000000,
        "pulp2_storage_path": "/var/lib/pulp/content/units/iso/a.iso",
        "downloaded": True,
        "is_migrated": True,
        "not_in_plan": False,
        "pulp3_content": f"{API}content/{migrated.content['a.iso']}/",
        "pulp3_repository_version": None,
    }
    assert (skipped["not_in_plan"], skipped["pulp3_content"]) == (True, None)
    assert orphan["not_in_plan"] is True
    assert await get(client, a["pulp_href"]) == {**a, "pulp_created": created}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"is_migrated": "true"}, ["u-a"]),
        ({"is_migrated": "false"}, ["u-skipped", "u-orphan"]),
        ({"not_in_plan": "true"}, ["u-skipped", "u-orphan"]),
        ({"not_in_plan": "false"}, ["u-a"]),
        ({"pulp2_id": "u-orphan"}, ["u-orphan"]),
        ({"pulp2_id__in": "u-orphan,u-a,u-none"}, ["u-a", "u-orphan"]),
        ({"pulp2_content_type_id": "rpm"}, []),
        ({"pulp2_content_type_id": "iso"}, ["u-a", "u-skipped", "u-orphan"]),
        ({"pulp2_content_type_id__in": "rpm,iso", "pulp2_id": "u-a"}, ["u-a"]),
        ({"pulp2_last_updated": "1700000001"}, ["u-skipped"]),
        ({"pulp2_last_updated": "2023-11-14T22:13:21Z"}, ["u-skipped"]),
        ({"pulp2_last_updated__lt": "1700000001"}, ["u-a"]),
        ({"pulp2_last_updated__lte": "1700000001"}, ["u-a", "u-skipped"]),
        ({"pulp2_last_updated__gt": "1700000001"}, ["u-orphan"]),
        ({"pulp2_last_updated__gte": "1700000001"}, ["u-skipped", "u-orphan"]),
        ({"pulp2_last_updated__lt": "0"}, []),
        ({"pulp2_last_updated__range": "1700000001,1700000002"}, ["u-skipped", "u-orphan"]),
        ({"not_in_plan": "true", "is_migrated": "false", "limit": "1"}, ["u-skipped"]),
        ({"ordering": "-pulp2_last_updated"}, ["u-orphan", "u-skipped", "u-a"]),
        ({"ordering": "-is_migrated", "limit": "1"}, ["u-a"]),
    ],
)
async def test_pulp2_content_is_filtered(
    client: Client, params: dict[str, str], expected: list[str]
) -> None:
    body = await get(client, f"{API}pulp2content/", **params)
    assert [c["pulp2_id"] for c in body["results"]] == expected


async def test_pulp2_content_is_filtered_by_what_it_became(
    client: Client, migrated: Migrated
) -> None:
    content = f"{API}content/{migrated.content['a.iso']}/"
    body = await get(client, f"{API}pulp2content/", pulp3_content=content)
    assert [c["pulp2_id"] for c in body["results"]] == ["u-a"]
    body = await get(client, f"{API}pulp2content/", pulp3_content=str(uuid.uuid4()))
    assert body["count"] == 0
    body = await get(client, f"{API}pulp2content/", 400, pulp3_content="/not/an/href/")
    assert body == {"pulp3_content": ["Invalid hyperlink - No URL match."]}


@pytest.mark.parametrize("path", ["pulp2repositories/", "pulp2content/"])
async def test_an_unknown_filter_is_400_not_ignored(client: Client, path: str) -> None:
    body = await get(client, f"{API}{path}", 400, unknown_filter="x", is_migrated="true")
    assert list(body) == ["unknown_filter"]
    assert "Unknown filter" in body["unknown_filter"][0]
    assert "not_in_plan" in body["unknown_filter"][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pulp2_last_updated__lt": "yesterday"}, "pulp2_last_updated__lt"),
        ({"pulp2_last_updated__range": "1"}, "pulp2_last_updated__range"),
        ({"pulp2_last_updated__range": "1,x"}, "pulp2_last_updated__range"),
        ({"ordering": "storage"}, "ordering"),
    ],
)
async def test_a_bad_filter_value_or_order_is_a_field_error(
    client: Client, params: dict[str, str], field: str
) -> None:
    body = await get(client, f"{API}pulp2content/", 400, **params)
    assert list(body) == [field]


async def test_fields_and_exclude_fields_shape_lists_and_details(client: Client) -> None:
    url = f"{API}pulp2repositories/"
    body = await get(client, url, fields="pulp2_repo_id,is_migrated")
    assert body["results"] == [
        {"pulp2_repo_id": "file", "is_migrated": True},
        {"pulp2_repo_id": "skipped", "is_migrated": False},
    ]
    full = (await get(client, url))["results"][0]
    excluded = (await get(client, url, exclude_fields="pulp3_distribution_hrefs"))["results"][0]
    assert excluded == {k: v for k, v in full.items() if k != "pulp3_distribution_hrefs"}
    response = await client.get(f"{full['pulp_href']}?fields=pulp_href&fields=not_in_plan")
    assert await response.json() == {"pulp_href": full["pulp_href"], "not_in_plan": False}
    body = await get(client, url, 400, fields="pulp2_repo_id,colour")
    assert body == {"fields": ["Unknown field(s): colour."]}
    body = await get(client, full["pulp_href"], 400, exclude_fields="size")
    assert body == {"exclude_fields": ["Unknown field(s): size."]}


@pytest.mark.parametrize("path", ["pulp2repositories/", "pulp2content/"])
@pytest.mark.parametrize("name", ["is_migrated", "not_in_plan"])
async def test_a_bad_boolean_filter_is_a_field_error(client: Client, path: str, name: str) -> None:
    body = await get(client, f"{API}{path}", 400, **{name: "maybe"})
    assert body == {name: ["Must be a valid boolean."]}


# --- pagination -------------------------------------------------------------------------------


async def test_pages_link_to_each_other(client: Client) -> None:
    url = f"{API}content/"
    first = await get(client, url, limit="2")
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    second = await get(client, first["next"])
    assert second["previous"] is not None
    third = await get(client, second["next"])
    assert len(third["results"]) == 1
    assert third["next"] is None
    seen = [c["pulp_href"] for page in (first, second, third) for c in page["results"]]
    assert len(set(seen)) == 5
    assert seen == [c["pulp_href"] for c in (await get(client, url))["results"]]
    back = await get(client, third["previous"])
    assert back["results"] == second["results"]
    assert first["next"].startswith(f"http://{client.host}:{client.port}{url}?")


async def test_a_page_past_the_end_is_empty_and_the_limit_is_capped(client: Client) -> None:
    past = await get(client, f"{API}content/", offset="50")
    assert past["count"] == 5
    assert past["results"] == []
    assert past["next"] is None
    capped = await get(client, f"{API}content/", limit="5000", offset="1")
    assert len(capped["results"]) == 4
    assert "limit=1000" in capped["previous"]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": "x"}, {"limit": ["A valid integer is required."]}),
        ({"offset": "-1"}, {"offset": ["Ensure this value is greater than or equal to 0."]}),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "repositories/",
        "publications/",
        "distributions/",
        "remotes/",
        "content/",
        "pulp2repositories/",
        "pulp2content/",
    ],
)
async def test_bad_paging_values_are_400(
    client: Client, path: str, params: dict[str, str], errors: dict[str, list[str]]
) -> None:
    assert await get(client, f"{API}{path}", 400, **params) == errors


async def test_bad_paging_values_on_versions_are_400(client: Client, migrated: Migrated) -> None:
    body = await get(client, f"{repository_href(migrated)}versions/", 400, limit="-5")
    assert body == {"limit": ["Ensure this value is greater than or equal to 0."]}


# --- 404s -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "repositories/{random}/",
        "repositories/not-a-uuid/",
        "repositories/{random}/versions/",
        "repositories/not-a-uuid/versions/",
        "repositories/{repository}/versions/7/",
        "repositories/{repository}/versions/x/",
        "repositories/{repository}/versions/-1/",
        "repositories/{repository}/versions/99999999999999999999/",
        "repositories/{random}/versions/0/",
        "publications/{random}/",
        "publications/12345/",
        "distributions/{random}/",
        "distributions/{repository}/",
        "remotes/{random}/",
        "content/{random}/",
        "content/%00/",
        "pulp2repositories/{random}/",
        "pulp2content/{random}/",
        "pulp2content/{repository}/",
    ],
)
async def test_unknown_and_malformed_ids_are_404(
    client: Client, migrated: Migrated, path: str
) -> None:
    url = API + path.format(random=uuid.uuid4(), repository=migrated.repository)
    assert await get(client, url, 404) == {"detail": "Not found."}


async def test_the_views_are_read_only(client: Client, migrated: Migrated) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, repository_href(migrated), json={})
        assert response.status == 405, method
        assert await response.json() == {"detail": f'Method "{method}" not allowed.'}
