"""``client.deployments`` and ``client.deployments.predictions`` against a loopback server."""

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
from replicate.pagination import SyncPage
from replicate.types import Account, Deployment, DeploymentRelease, Prediction

CURSOR = "ZGVwbG95bWVudHM%3D"
VERSION_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


def deployment(name: str = "my-app", **release: Any) -> dict[str, Any]:
    return {
        "owner": "acme",
        "name": name,
        "current_release": {
            "number": 3,
            "model": "stability-ai/sdxl",
            "version": VERSION_ID,
            "created_at": "2024-05-01T12:00:00Z",
            "created_by": {"type": "organization", "username": "acme", "name": "Acme"},
            "configuration": {"hardware": "gpu-t4", "min_instances": 1, "max_instances": 5},
            **release,
        },
    }


PREDICTION = {
    "id": "ufawqhfynnddngldkgtslldrkq",
    "model": "stability-ai/sdxl",
    "version": VERSION_ID,
    "input": {"prompt": "a cat"},
    "status": "starting",
    "created_at": "2024-05-01T12:00:00Z",
    "deployment": "acme/my-app",
    "urls": {"get": "https://api.replicate.com/v1/predictions/ufawqhfynnddngldkgtslldrkq"},
}


def last_request(server: HTTPServer) -> WRequest:
    assert server.log, "the server saw no request"
    return server.log[-1][0]


def raw_uri(request: WRequest) -> str:
    uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    assert uri, "the server did not record the raw request target"
    return str(uri)


# --- deployments -----------------------------------------------------------------------------


def test_create_sends_all_fields(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/deployments",
        method="POST",
        json={
            "hardware": "gpu-t4",
            "max_instances": 5,
            "min_instances": 1,
            "model": "stability-ai/sdxl",
            "name": "my-app",
            "version": VERSION_ID,
        },
    ).respond_with_json(deployment())
    result = client.deployments.create(
        hardware="gpu-t4",
        max_instances=5,
        min_instances=1,
        model="stability-ai/sdxl",
        name="my-app",
        version=VERSION_ID,
    )
    assert isinstance(result, Deployment)
    assert (result.owner, result.name) == ("acme", "my-app")
    release = result.current_release
    assert isinstance(release, DeploymentRelease)
    assert release.number == 3
    assert release.created_at == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    assert isinstance(release.created_by, Account)
    assert release.created_by.username == "acme"
    assert release.configuration is not None
    assert release.configuration.max_instances == 5
    req = last_request(httpserver)
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_create_requires_every_field(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    with pytest.raises(TypeError):
        client.deployments.create(  # type: ignore[call-arg]
            hardware="gpu-t4", max_instances=5, min_instances=1, model="a/b", name="x"
        )
    assert not httpserver.log


def test_get_positional_and_keyword(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/my-app", method="GET").respond_with_json(
        deployment()
    )
    a = client.deployments.get("acme", "my-app")
    b = client.deployments.get(deployment_owner="acme", deployment_name="my-app")
    assert a == b
    assert a.current_release is not None
    assert a.current_release.model == "stability-ai/sdxl"
    assert len(httpserver.log) == 2


def test_get_quotes_path_params(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/ac me/x?y").respond_with_json(deployment())
    client.deployments.get("ac me", "x?y")
    assert raw_uri(last_request(httpserver)) == "/v1/deployments/ac%20me/x%3Fy"


def test_list_two_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    next_url = f"{httpserver.url_for('/v1/deployments')}?cursor={CURSOR}"
    httpserver.expect_request("/v1/deployments", query_string="").respond_with_json(
        {"next": next_url, "previous": None, "results": [deployment("one")]}
    )
    httpserver.expect_request("/v1/deployments", query_string=f"cursor={CURSOR}").respond_with_json(
        {"next": None, "previous": None, "results": [deployment("two"), deployment("three")]}
    )
    page = client.deployments.list()
    assert isinstance(page, SyncPage)
    assert [d.name for d in page.results] == ["one"]
    assert page.has_next_page()
    second = page.get_next_page()
    assert [d.name for d in second.results] == ["two", "three"]
    assert not second.has_next_page()
    assert raw_uri(last_request(httpserver)) == f"/v1/deployments?cursor={CURSOR}"
    assert [[d.name for d in p.results] for p in page.iter_pages()] == [
        ["one"],
        ["two", "three"],
    ]
    names = [d.name for d in page]
    assert names == ["one", "two", "three"]
    assert all(isinstance(d, Deployment) for d in page)


def test_update_sends_only_given_fields(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app",
        method="PATCH",
        json={"min_instances": 0, "max_instances": 2},
    ).respond_with_json(deployment(number=4))
    result = client.deployments.update("acme", "my-app", min_instances=0, max_instances=2)
    assert result.current_release is not None
    assert result.current_release.number == 4

    httpserver.clear()
    httpserver.expect_request(
        "/v1/deployments/acme/my-app",
        method="PATCH",
        json={"hardware": "gpu-a40-large", "version": "b" * 64},
    ).respond_with_json(deployment(number=5))
    result = client.deployments.update(
        deployment_owner="acme",
        deployment_name="my-app",
        hardware="gpu-a40-large",
        version="b" * 64,
    )
    assert result.current_release is not None
    assert result.current_release.number == 5


def test_update_is_not_retried(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/x", method="PATCH").respond_with_data(
        "", status=502
    )
    with pytest.raises(replicate.InternalServerError):
        client.deployments.update("acme", "x", min_instances=1)
    assert len(httpserver.log) == 1


def test_delete_returns_none(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/my-app", method="DELETE").respond_with_data(
        "", status=204
    )
    assert client.deployments.delete("acme", "my-app") is None
    assert last_request(httpserver).method == "DELETE"


# --- deployments.predictions.create ----------------------------------------------------------


def test_predictions_create(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions",
        method="POST",
        json={
            "input": {"prompt": "a cat"},
            "webhook": "https://example.com/hook",
            "webhook_events_filter": ["completed"],
        },
    ).respond_with_json(PREDICTION, status=201)
    prediction = client.deployments.predictions.create(
        "acme",
        "my-app",
        input={"prompt": "a cat"},
        webhook="https://example.com/hook",
        webhook_events_filter=["completed"],
        wait=True,
        cancel_after="1h30m",
    )
    assert isinstance(prediction, Prediction)
    assert prediction.id == "ufawqhfynnddngldkgtslldrkq"
    assert prediction.deployment == "acme/my-app"
    assert prediction.created_at == dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait"
    assert req.headers["Cancel-After"] == "1h30m"


def test_predictions_create_keywords_prefer_and_stream(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions",
        method="POST",
        json={"input": {"n": 1}, "stream": True},
    ).respond_with_json({**PREDICTION, "status": "processing"}, status=202)
    prediction = client.deployments.predictions.create(
        deployment_owner="acme",
        deployment_name="my-app",
        input={"n": 1},
        stream=True,
        prefer="wait=3",
        file_encoding_strategy="base64",
    )
    assert prediction.status == "processing"
    req = last_request(httpserver)
    assert req.headers["Prefer"] == "wait=3"
    assert "Cancel-After" not in req.headers
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"input": {}, "wait": 5, "prefer": "wait=5"}, TypeError),
        ({"input": {}, "wait": 0}, ValueError),
        ({"input": {}, "prefer": "wait\r\nX: y"}, ValueError),
        ({"input": "prompt"}, TypeError),
    ],
)
def test_predictions_create_rejects_bad_arguments(
    httpserver: HTTPServer, client: replicate.Replicate, kwargs: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        client.deployments.predictions.create("acme", "my-app", **kwargs)
    assert not httpserver.log


# --- shared behaviour ------------------------------------------------------------------------


def test_with_raw_response(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments/acme/my-app").respond_with_json(
        deployment(), headers={"ratelimit-remaining": "41"}
    )
    raw = client.deployments.with_raw_response.get("acme", "my-app")
    assert isinstance(raw, APIResponse)
    assert raw.headers["ratelimit-remaining"] == "41"
    parsed = raw.parse()
    assert isinstance(parsed, Deployment)
    assert parsed.name == "my-app"


def test_with_raw_response_predictions_create(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions", method="POST"
    ).respond_with_json(PREDICTION, status=201, headers={"ratelimit-remaining": "599"})
    raw = client.with_raw_response.deployments.predictions.create("acme", "my-app", input={})
    assert raw.status_code == 201
    assert raw.headers["ratelimit-remaining"] == "599"
    assert isinstance(raw.parse(), Prediction)
    assert raw.parse().id == PREDICTION["id"]


EMPTY_PATH_CALLS: list[tuple[str, Callable[[replicate.Replicate], Any]]] = [
    ("deployment_owner", lambda c: c.deployments.get("", "x")),
    ("deployment_name", lambda c: c.deployments.get("acme", "")),
    ("deployment_owner", lambda c: c.deployments.update("", "x", min_instances=1)),
    ("deployment_name", lambda c: c.deployments.delete("acme", "")),
    ("deployment_owner", lambda c: c.deployments.predictions.create("", "x", input={})),
    ("deployment_name", lambda c: c.deployments.predictions.create("acme", "", input={})),
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
    lambda c: c.deployments.get("acme", "x", bogus=1),
    lambda c: c.deployments.list(limit=10),
    lambda c: c.deployments.create(
        hardware="h", max_instances=1, min_instances=0, model="a/b", name="n", version="v", x=1
    ),
    lambda c: c.deployments.update("acme", "x", model="a/b"),
    lambda c: c.deployments.delete("acme", "x", force=True),
    lambda c: c.deployments.predictions.create("acme", "x", input={}, version="v"),
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


def test_extra_options(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/deployments/acme/my-app/predictions",
        method="POST",
        query_string="trace=1",
        headers={"X-Request-Source": "tests"},
        json={"input": {"a": 1}, "metadata": {"k": "v"}},
    ).respond_with_json(PREDICTION, status=201)
    client.deployments.predictions.create(
        "acme",
        "my-app",
        input={"a": 1},
        extra_headers={"X-Request-Source": "tests"},
        extra_query={"trace": 1},
        extra_body={"metadata": {"k": "v"}},
    )
    assert len(httpserver.log) == 1
    assert json.loads(last_request(httpserver).get_data())["metadata"] == {"k": "v"}


def test_extra_query_on_list(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/deployments", query_string="owner=acme").respond_with_json(
        {"next": None, "results": [deployment()]}
    )
    assert [d.name for d in client.deployments.list(extra_query={"owner": "acme"})] == ["my-app"]


def test_per_call_timeout(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    release = threading.Event()

    def slow(request: WRequest) -> WResponse:
        release.wait(2)
        return WResponse(json.dumps(deployment()), content_type="application/json")

    httpserver.expect_request("/v1/deployments").respond_with_handler(slow)
    started = time.monotonic()
    try:
        with pytest.raises(replicate.APITimeoutError):
            client.deployments.list(timeout=0.2, max_retries=0)
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    deadline = time.monotonic() + 3
    while len(httpserver.log) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
