"""``client.models`` and its sub-resources against a loopback server: what the server sees
(method, path, query, headers, body) and what comes back."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._response import APIResponse
from replicate._sentinels import omit
from replicate.pagination import SyncPage
from replicate.types import Model, Prediction, Version

CURSOR = "cD0yMDI0LTA1LTAxKzEyJTNBMDA%3D"  # opaque, with an escape that must survive verbatim
VERSION_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"

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


def last_request(server: HTTPServer) -> WRequest:
    assert server.log, "the server saw no request"
    return server.log[-1][0]


def raw_uri(request: WRequest) -> str:
    """The request target as sent (path and query still percent-encoded)."""
    uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    assert uri, "the server did not record the raw request target"
    return str(uri)


def model(name: str, **more: Any) -> dict[str, Any]:
    return {"owner": "acme", "name": name, "visibility": "public", **more}


def serve_two_pages(
    server: HTTPServer,
    path: str,
    first: list[Any],
    second: list[Any],
    *,
    method: str = "GET",
    query_string: str = "",
) -> str:
    """Page one at ``path`` (exact query), page two at the absolute ``next`` URL it names."""
    next_url = f"{server.url_for(path)}?cursor={CURSOR}"
    server.expect_request(path, method=method, query_string=query_string).respond_with_json(
        {"next": next_url, "previous": None, "results": first},
        headers={"ratelimit-remaining": "2999"},
    )
    server.expect_request(path, method=method, query_string=f"cursor={CURSOR}").respond_with_json(
        {"next": None, "previous": f"{server.url_for(path)}?cursor=back", "results": second}
    )
    return next_url


def check_two_pages(
    server: HTTPServer, page: SyncPage[Any], key: Callable[[Any], Any], expected: list[Any]
) -> None:
    """Navigation on a two-page list: has/get next page, iter_pages, and item iteration."""
    assert isinstance(page, SyncPage)
    assert page.has_next_page()
    assert page.next is not None and page.next.endswith(f"?cursor={CURSOR}")
    assert [key(x) for x in page.results] == expected[:1]

    second = page.get_next_page()
    assert not second.has_next_page()
    assert [key(x) for x in second.results] == expected[1:]
    with pytest.raises(RuntimeError):
        second.get_next_page()
    follow = last_request(server)
    assert raw_uri(follow).endswith(f"?cursor={CURSOR}")  # followed verbatim, not re-encoded
    assert follow.headers["Authorization"] == f"Bearer {TOKEN}"

    pages = list(page.iter_pages())
    assert [[key(x) for x in p.results] for p in pages] == [expected[:1], expected[1:]]
    assert [key(x) for x in page] == expected


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


def test_list_two_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    serve_two_pages(httpserver, "/v1/models", [model("one")], [model("two"), model("three")])
    page = client.models.list()
    check_two_pages(httpserver, page, lambda m: m.name, ["one", "two", "three"])
    assert all(isinstance(m, Model) for m in page)
    assert last_request(httpserver).method == "GET"


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


def test_examples_list_two_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    first = {**PREDICTION, "id": "p1", "status": "succeeded", "output": ["https://x/1.png"]}
    second = {**PREDICTION, "id": "p2", "status": "succeeded"}
    serve_two_pages(httpserver, "/v1/models/acme/hot-dog/examples", [first], [second])
    page = client.models.examples.list("acme", "hot-dog")
    check_two_pages(httpserver, page, lambda p: p.id, ["p1", "p2"])
    example = page.results[0]
    assert isinstance(example, Prediction)
    assert example.output == ["https://x/1.png"]
    assert example.status == "succeeded"


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


def test_versions_list_two_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    v1 = {"id": "a" * 64, "created_at": "2024-05-02T00:00:00Z", "cog_version": "0.9.4"}
    v2 = {"id": "b" * 64, "created_at": "2024-05-01T00:00:00Z", "cog_version": "0.8.0"}
    serve_two_pages(httpserver, "/v1/models/acme/hot-dog/versions", [v1], [v2])
    page = client.models.versions.list("acme", "hot-dog")
    check_two_pages(httpserver, page, lambda v: v.id, ["a" * 64, "b" * 64])
    assert page.results[0].cog_version == "0.9.4"
    assert isinstance(page.results[0], Version)


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


# --- shared behaviour: raw responses, validation, per-call options ---------------------------


def test_with_raw_response_on_resource(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog").respond_with_json(
        MODEL, headers={"ratelimit-remaining": "2998"}
    )
    raw = client.models.with_raw_response.get("acme", "hot-dog")
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert raw.headers["ratelimit-remaining"] == "2998"
    parsed = raw.parse()
    assert isinstance(parsed, Model)
    assert parsed.name == "hot-dog"
    # The plain resource still returns plain values.
    assert isinstance(client.models.get("acme", "hot-dog"), Model)


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


EMPTY_PATH_CALLS: list[tuple[str, Callable[[replicate.Replicate], Any]]] = [
    ("model_owner", lambda c: c.models.get("", "x")),
    ("model_name", lambda c: c.models.get("acme", "")),
    ("model_owner", lambda c: c.models.update("", "x", description="d")),
    ("model_name", lambda c: c.models.delete("acme", "")),
    ("model_owner", lambda c: c.models.examples.list("", "x")),
    ("model_name", lambda c: c.models.readme.get("acme", "")),
    ("model_name", lambda c: c.models.versions.list("acme", "")),
    ("version_id", lambda c: c.models.versions.get("acme", "x", "")),
    ("version_id", lambda c: c.models.versions.delete("acme", "x", "")),
    ("model_owner", lambda c: c.models.predictions.create("", "x", input={})),
    ("model_name", lambda c: c.models.predictions.create("acme", "", input={})),
]


@pytest.mark.parametrize("name, call", EMPTY_PATH_CALLS)
def test_empty_path_params_rejected(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    name: str,
    call: Callable[[replicate.Replicate], Any],
) -> None:
    with pytest.raises(ValueError, match=name):
        call(client)
    assert not httpserver.log


UNKNOWN_KWARG_CALLS: list[Callable[[replicate.Replicate], Any]] = [
    lambda c: c.models.get("acme", "x", bogus=1),
    lambda c: c.models.list(page_size=10),
    lambda c: c.models.create(hardware="cpu", name="x", owner="o", visibility="public", x=1),
    lambda c: c.models.update("acme", "x", readme_url="u"),
    lambda c: c.models.delete("acme", "x", force=True),
    lambda c: c.models.search(body="x", limit=3),
    lambda c: c.models.examples.list("acme", "x", bogus=1),
    lambda c: c.models.readme.get("acme", "x", bogus=1),
    lambda c: c.models.versions.list("acme", "x", bogus=1),
    lambda c: c.models.versions.get("acme", "x", "v", bogus=1),
    lambda c: c.models.versions.delete("acme", "x", "v", bogus=1),
    lambda c: c.models.predictions.create("acme", "x", input={}, version="v"),
]


@pytest.mark.parametrize("call", UNKNOWN_KWARG_CALLS)
def test_unknown_kwargs_rejected(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    call: Callable[[replicate.Replicate], Any],
) -> None:
    with pytest.raises(TypeError):
        call(client)
    assert not httpserver.log


def test_extra_headers_query_and_body(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/models/acme/hot-dog",
        method="PATCH",
        query_string="dry_run=true",
        headers={"X-Trace": "abc"},
        json={"description": "d", "visibility": "public"},
    ).respond_with_json(MODEL)
    client.models.update(
        "acme",
        "hot-dog",
        description="d",
        extra_headers={"X-Trace": "abc"},
        extra_query={"dry_run": True},
        extra_body={"visibility": "public"},
    )
    assert len(httpserver.log) == 1
    assert last_request(httpserver).headers["X-Trace"] == "abc"


def test_extra_headers_can_remove_and_override(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/models/acme/hot-dog/readme").respond_with_data("x")
    client.models.readme.get("acme", "hot-dog", extra_headers={"Accept": "text/markdown"})
    assert last_request(httpserver).headers["Accept"] == "text/markdown"
    client.models.readme.get("acme", "hot-dog", extra_headers={"Accept": omit})
    assert "Accept" not in last_request(httpserver).headers


def test_extra_query_on_list_and_search(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/models", method="QUERY", query_string="limit=5"
    ).respond_with_json({"next": None, "results": [model("x")]})
    assert [m.name for m in client.models.search("x", extra_query={"limit": 5})] == ["x"]


def test_per_call_timeout(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    release = threading.Event()

    def slow(request: WRequest) -> WResponse:
        release.wait(2)
        return WResponse(json.dumps(MODEL), content_type="application/json")

    httpserver.expect_request("/v1/models/acme/slow").respond_with_handler(slow)
    started = time.monotonic()
    try:
        with pytest.raises(replicate.APITimeoutError):
            client.models.get("acme", "slow", timeout=0.2, max_retries=0)
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    deadline = time.monotonic() + 3
    while len(httpserver.log) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)


def test_per_call_max_retries(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/models/acme/busy").respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.models.get("acme", "busy", max_retries=0)
    assert len(httpserver.log) == 1
    httpserver.clear_log()
    with pytest.raises(replicate.InternalServerError):
        client.models.get("acme", "busy", max_retries=1)
    assert len(httpserver.log) == 2


def test_sub_resources_share_the_client(client: replicate.Replicate) -> None:
    models = client.models
    assert client.models is models
    for sub in (models.examples, models.readme, models.versions, models.predictions):
        assert sub._client is client
