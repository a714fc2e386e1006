"""``client.models`` and its sub-resources against a loopback server: what the server sees
(method, path, query, headers, body) and what comes back.

What every resource does alike (validation, per-call options, two-page lists, raw responses)
is in ``test_resources_common.py``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID, check_two_pages, last_request, model, raw_uri, serve_two_pages

import replicate
from replicate._sentinels import omit
from replicate.pagination import SyncPage
from replicate.types import Model, Prediction, Version

MODEL = {
    "url": "https://replicate.com/acme/hot-dog",
    "owner": "acme",
    "name": "hot-dog",
    "description": "Detect hot dogs",
    "visibility": "private",
    "github_url": None,
    "paper_url": None,
    "license_url": None,
    "run_count": 42,
    "cover_image_url": None,
    "default_example": None,
    "latest_version": {
        "id": VERSION_ID,
        "created_at": "2024-05-01T12:00:00.123456Z",
        "cog_version": "0.9.4",
        "openapi_schema": {"components": {"schemas": {"Input": {"type": "object"}}}},
    },
}

PREDICTION = {
    "id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "model": "acme/hot-dog",
    "version": "hidden",
    "input": {"prompt": "a hot dog"},
    "output": None,
    "logs": "",
    "error": None,
    "status": "starting",
    "created_at": "2024-05-01T12:00:00Z",
    "urls": {
        "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
        "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
    },
}


# --- models ----------------------------------------------------------------------------------


def test_create_sends_body_and_decodes_model(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/models",
        method="POST",
        json={
            "hardware": "cpu",
            "name": "hot-dog",
            "owner": "acme",
            "visibility": "private",
            "description": "Detect hot dogs",
            "github_url": "https://github.com/acme/hot-dog",
        },
    ).respond_with_json(MODEL, status=201)
    result = client.models.create(
        hardware="cpu",
        name="hot-dog",
        owner="acme",
        visibility="private",
        description="Detect hot dogs",
        github_url="https://github.com/acme/hot-dog",
    )
    assert isinstance(result, Model)
    assert (result.owner, result.name, result.run_count) == ("acme", "hot-dog", 42)
    assert isinstance(result.latest_version, Version)
    assert result.latest_version.id == VERSION_ID
    assert result.latest_version.created_at == dt.datetime(
        2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc
    )
    req = last_request(httpserver)
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_create_requires_its_fields(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    with pytest.raises(TypeError):
        client.models.create(hardware="cpu", name="x", owner="acme")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.models.create("cpu", "x", "acme", "public")  # type: ignore[misc]
    assert not httpserver.log


def test_create_is_not_retried_on_5xx(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models", method="POST").respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.models.create(hardware="cpu", name="x", owner="acme", visibility="public")
    assert len(httpserver.log) == 1


def test_get_positional_and_keyword(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog", method="GET").respond_with_json(MODEL)
    by_position = client.models.get("acme", "hot-dog")
    by_keyword = client.models.get(model_owner="acme", model_name="hot-dog")
    assert by_position == by_keyword
    assert by_position.description == "Detect hot dogs"
    assert by_position.url == "https://replicate.com/acme/hot-dog"
    assert [r.method for r, _ in httpserver.log] == ["GET", "GET"]


def test_path_params_are_url_quoted(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/my org/a/b").respond_with_json(model("a/b"))
    client.models.get("my org", "a/b")
    assert raw_uri(last_request(httpserver)) == "/v1/models/my%20org/a%2Fb"


def test_get_not_found_raises(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/nope").respond_with_json(
        {"detail": "Not found.", "status": 404}, status=404
    )
    with pytest.raises(replicate.NotFoundError):
        client.models.get("acme", "nope")


def test_list_sort_query(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/models",
        method="GET",
        query_string="sort_by=latest_version_created_at&sort_direction=asc",
    ).respond_with_json({"next": None, "previous": None, "results": [model("m")]})
    page = client.models.list(sort_by="latest_version_created_at", sort_direction="asc")
    assert [m.name for m in page] == ["m"]
    assert not page.has_next_page()


def test_update_sends_only_given_fields(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/models/acme/hot-dog",
        method="PATCH",
        json={"description": "Better", "readme": "# Hot dog", "weights_url": "https://w/x"},
    ).respond_with_json({**MODEL, "description": "Better"})
    result = client.models.update(
        "acme", "hot-dog", description="Better", readme="# Hot dog", weights_url="https://w/x"
    )
    assert isinstance(result, Model)
    assert result.description == "Better"
    assert last_request(httpserver).method == "PATCH"


def test_update_by_keyword(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/models/acme/hot-dog", method="PATCH", json={"paper_url": "https://arxiv.org/x"}
    ).respond_with_json(MODEL)
    client.models.update(model_owner="acme", model_name="hot-dog", paper_url="https://arxiv.org/x")
    assert len(httpserver.log) == 1


def test_delete_returns_none(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog", method="DELETE").respond_with_data(
        "", status=204
    )
    assert client.models.delete("acme", "hot-dog") is None
    req = last_request(httpserver)
    assert req.method == "DELETE"
    assert req.get_data() == b""


# --- search (QUERY /models, text/plain) -------------------------------------------------------


def test_search_sends_query_method_with_plain_text_body(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models", method="QUERY").respond_with_json(
        {"next": None, "previous": None, "results": [model("hot-dog")]}
    )
    page = client.models.search(body="hot dög detector")
    assert [m.name for m in page] == ["hot-dog"]
    req = last_request(httpserver)
    assert req.method == "QUERY"
    assert req.headers["Content-Type"] == "text/plain"
    assert req.get_data() == "hot dög detector".encode()  # the raw string, not JSON-quoted
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_search_query_alias_and_positional(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models", method="QUERY").respond_with_json(
        {"next": None, "previous": None, "results": []}
    )
    assert list(client.models.search(query="upscaler")) == []
    assert last_request(httpserver).get_data() == b"upscaler"
    assert list(client.models.search("llama")) == []
    assert last_request(httpserver).get_data() == b"llama"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({}, TypeError),
        ({"body": "a", "query": "b"}, TypeError),
        ({"body": 3}, TypeError),
        ({"query": ""}, ValueError),
        ({"body": "  "}, ValueError),
    ],
)
def test_search_argument_errors(
    httpserver: HTTPServer, client: replicate.Replicate, kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        client.models.search(**kwargs)
    assert not httpserver.log


def test_search_next_page_repeats_query_and_body(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve_two_pages(
        httpserver, "/v1/models", [model("a")], [model("b"), model("c")], method="QUERY"
    )
    page = client.models.search(query="flux")
    check_two_pages(httpserver, page, lambda m: m.name, ["a", "b", "c"])
    for req, _ in httpserver.log:
        assert req.method == "QUERY"
        assert req.get_data() == b"flux"
        assert req.headers["Content-Type"] == "text/plain"


def test_search_third_page_still_repeats_query(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    base = httpserver.url_for("/v1/models")
    for query, nxt, name in [("", "c=2", "a"), ("c=2", "c=3", "b"), ("c=3", None, "c")]:
        httpserver.expect_request(
            "/v1/models", method="QUERY", query_string=query
        ).respond_with_json({"next": f"{base}?{nxt}" if nxt else None, "results": [model(name)]})
    assert [m.name for m in client.models.search("sdxl")] == ["a", "b", "c"]
    assert [(r.method, r.query_string, r.get_data()) for r, _ in httpserver.log] == [
        ("QUERY", b"", b"sdxl"),
        ("QUERY", b"c=2", b"sdxl"),
        ("QUERY", b"c=3", b"sdxl"),
    ]


# --- examples, readme, versions --------------------------------------------------------------


def test_readme_get_sends_accept_text_plain(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    text = "# Hot dog\n\nDétecte les hot dogs.\n"
    httpserver.expect_request(
        "/v1/models/acme/hot-dog/readme", method="GET", headers={"Accept": "text/plain"}
    ).respond_with_data(text.encode(), content_type="text/plain; charset=utf-8")
    readme = client.models.readme.get(model_owner="acme", model_name="hot-dog")
    assert readme == text
    assert last_request(httpserver).headers["Accept"] == "text/plain"


def test_versions_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        f"/v1/models/acme/hot-dog/versions/{VERSION_ID}", method="GET"
    ).respond_with_json(MODEL["latest_version"])
    version = client.models.versions.get("acme", "hot-dog", VERSION_ID)
    assert isinstance(version, Version)
    assert version.id == VERSION_ID
    assert version.openapi_schema == {"components": {"schemas": {"Input": {"type": "object"}}}}
    again = client.models.versions.get(
        model_owner="acme", model_name="hot-dog", version_id=VERSION_ID
    )
    assert again == version


def test_versions_delete_accepts_202(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        f"/v1/models/acme/hot-dog/versions/{VERSION_ID}", method="DELETE"
    ).respond_with_data("", status=202)
    assert client.models.versions.delete("acme", "hot-dog", VERSION_ID) is None
    assert last_request(httpserver).method == "DELETE"


# --- models.predictions.create ---------------------------------------------------------------


def test_predictions_create_body_and_headers(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/models/acme/hot-dog/predictions",
        method="POST",
        json={
            "input": {"prompt": "a hot dog"},
            "webhook": "https://example.com/hook",
            "webhook_events_filter": ["start", "completed"],
            "stream": True,
        },
    ).respond_with_json(PREDICTION, status=201)
    prediction = client.models.predictions.create(
        "acme",
        "hot-dog",
        input={"prompt": "a hot dog"},
        webhook="https://example.com/hook",
        webhook_events_filter=["start", "completed"],
        stream=True,
        wait=5,
        cancel_after="2m",
        file_encoding_strategy="url",
    )
    assert isinstance(prediction, Prediction)
    assert prediction.id == "gm3qorzdhgbfurvjtvhg6dckhu"
    assert prediction.status == "starting"
    assert prediction.input == {"prompt": "a hot dog"}
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait=5"
    assert req.headers["Cancel-After"] == "2m"
    assert "version" not in json.loads(req.get_data())


def test_predictions_create_prefer_and_wait_true(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/models/acme/hot-dog/predictions", method="POST"
    ).respond_with_json({**PREDICTION, "status": "processing"}, status=202)
    created = client.models.predictions.create(
        model_owner="acme", model_name="hot-dog", input={}, prefer="wait=10", cancel_after=30
    )
    assert created.status == "processing"  # returned as answered, not waited on
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait=10"
    assert req.headers["Cancel-After"] == "30s"
    assert json.loads(req.get_data()) == {"input": {}}
    assert len(httpserver.log) == 1

    client.models.predictions.create("acme", "hot-dog", input={"a": 1}, wait=True)
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait"
    assert "Cancel-After" not in req.headers

    client.models.predictions.create("acme", "hot-dog", input={"a": 1})
    assert "Prefer" not in last_request(httpserver).headers


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"input": {}, "wait": True, "prefer": "wait"}, TypeError),
        ({"input": {}, "wait": 61}, ValueError),
        ({"input": {}, "cancel_after": 1}, ValueError),
        ({"input": ["not", "a", "mapping"]}, TypeError),
    ],
)
def test_predictions_create_rejects_bad_arguments(
    httpserver: HTTPServer, client: replicate.Replicate, kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        client.models.predictions.create("acme", "hot-dog", **kwargs)
    assert not httpserver.log


def test_predictions_create_is_not_retried_on_5xx(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models/acme/m/predictions").respond_with_data("", status=500)
    with pytest.raises(replicate.InternalServerError):
        client.models.predictions.create("acme", "m", input={})
    assert len(httpserver.log) == 1


# --- raw responses and per-call options of the sub-resources ----------------------------------


def test_with_raw_response_on_sub_resources(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog/readme").respond_with_data(
        "# hi", content_type="text/plain", headers={"ratelimit-remaining": "7"}
    )
    httpserver.expect_request(
        f"/v1/models/acme/hot-dog/versions/{VERSION_ID}", method="DELETE"
    ).respond_with_data("", status=202, headers={"ratelimit-remaining": "6"})
    readme = client.models.with_raw_response.readme.get("acme", "hot-dog")
    assert readme.parse() == "# hi"
    assert readme.headers["ratelimit-remaining"] == "7"
    deleted = client.with_raw_response.models.versions.delete("acme", "hot-dog", VERSION_ID)
    assert deleted.status_code == 202
    assert deleted.parse() is None
    assert deleted.headers["ratelimit-remaining"] == "6"


def test_with_raw_response_list_pages_on(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve_two_pages(httpserver, "/v1/models", [model("one")], [model("two")])
    raw = client.models.with_raw_response.list()
    assert raw.headers["ratelimit-remaining"] == "2999"
    page = raw.parse()
    assert isinstance(page, SyncPage)
    assert [m.name for m in page] == ["one", "two"]  # later pages are plain too


def test_extra_headers_can_remove_and_override(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog/readme").respond_with_data("x")
    client.models.readme.get("acme", "hot-dog", extra_headers={"Accept": "text/markdown"})
    assert last_request(httpserver).headers["Accept"] == "text/markdown"
    client.models.readme.get("acme", "hot-dog", extra_headers={"Accept": omit})
    assert "Accept" not in last_request(httpserver).headers


def test_sub_resources_share_the_client(client: replicate.Replicate) -> None:
    models = client.models
    assert client.models is models
    for sub in (models.examples, models.readme, models.versions, models.predictions):
        assert sub._client is client
