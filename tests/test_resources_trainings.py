"""``client.trainings`` against a loopback server: create, get, list, cancel and wait."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._response import APIResponse
from replicate.pagination import SyncPage
from replicate.types import Training, TrainingOutput

CURSOR = "dHJhaW5pbmdz%2Bx%3D"
VERSION_ID = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
TRAINING_ID = "zz4ibbonubfz7carwiefibzgga"
TRAININGS_PATH = f"/v1/models/acme/llama/versions/{VERSION_ID}/trainings"


def training(
    training_id: str = TRAINING_ID, status: str = "starting", **more: Any
) -> dict[str, Any]:
    return {
        "id": training_id,
        "model": "acme/llama",
        "version": VERSION_ID,
        "input": {"train_data": "https://example.com/data.jsonl"},
        "status": status,
        "source": "api",
        "created_at": "2024-05-01T12:00:00.5Z",
        "urls": {
            "get": f"https://api.replicate.com/v1/trainings/{training_id}",
            "cancel": f"https://api.replicate.com/v1/trainings/{training_id}/cancel",
        },
        **more,
    }


def last_request(server: HTTPServer) -> WRequest:
    assert server.log, "the server saw no request"
    return server.log[-1][0]


def raw_uri(request: WRequest) -> str:
    uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    assert uri, "the server did not record the raw request target"
    return str(uri)


def serve_statuses(server: HTTPServer, path: str, statuses: list[str]) -> None:
    """Each GET of ``path`` answers the next status; the last one repeats."""
    remaining: Iterator[str] = iter(statuses)
    last = [statuses[0]]

    def handler(request: WRequest) -> WResponse:
        last[0] = next(remaining, last[0])
        body = training(status=last[0])
        if last[0] == "succeeded":
            body["output"] = {"version": f"acme/tuned:{'c' * 64}", "weights": "https://w/x.tar"}
        return WResponse(json.dumps(body), content_type="application/json")

    server.expect_request(path, method="GET").respond_with_handler(handler)


# --- create ----------------------------------------------------------------------------------


def test_create_sends_body(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        TRAININGS_PATH,
        method="POST",
        json={
            "destination": "acme/tuned",
            "input": {"train_data": "https://example.com/data.jsonl", "epochs": 3},
            "webhook": "https://example.com/hook",
            "webhook_events_filter": ["completed"],
        },
    ).respond_with_json(training(), status=201)
    result = client.trainings.create(
        "acme",
        "llama",
        VERSION_ID,
        destination="acme/tuned",
        input={"train_data": "https://example.com/data.jsonl", "epochs": 3},
        webhook="https://example.com/hook",
        webhook_events_filter=["completed"],
    )
    assert isinstance(result, Training)
    assert result.id == TRAINING_ID
    assert result.status == "starting"
    assert result.source == "api"
    assert result.created_at == dt.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc)
    assert result.urls is not None
    assert result.urls.cancel == f"https://api.replicate.com/v1/trainings/{TRAINING_ID}/cancel"
    req = last_request(httpserver)
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.headers["Content-Type"] == "application/json"


def test_create_by_keyword_minimal_body(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request(
        TRAININGS_PATH, method="POST", json={"destination": "acme/tuned", "input": {}}
    ).respond_with_json(training(), status=201)
    client.trainings.create(
        model_owner="acme",
        model_name="llama",
        version_id=VERSION_ID,
        destination="acme/tuned",
        input={},
    )
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    "destination, error",
    [
        ("acme/tuned", None),
        ("acme/tuned:abc", None),  # names are the API's to judge (it answers 404)
        ("<invalid>", None),
        ("", ValueError),
        ("   ", ValueError),
        (None, TypeError),
    ],
)
def test_create_checks_destination(
    httpserver: HTTPServer, client: replicate.Replicate, destination: Any, error: type | None
) -> None:
    httpserver.expect_request(TRAININGS_PATH, method="POST").respond_with_json(training())

    def call() -> None:
        client.trainings.create("acme", "llama", VERSION_ID, destination=destination, input={})

    if error is None:
        call()
        assert json.loads(last_request(httpserver).get_data())["destination"] == destination
        return
    with pytest.raises(error, match="destination"):
        call()
    assert not httpserver.log


def test_create_rejects_non_mapping_input(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    with pytest.raises(TypeError, match="input"):
        client.trainings.create("acme", "llama", VERSION_ID, destination="a/b", input=[1, 2])  # type: ignore[arg-type]
    assert not httpserver.log


def test_create_is_not_retried_on_5xx(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(TRAININGS_PATH, method="POST").respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.trainings.create("acme", "llama", VERSION_ID, destination="a/b", input={})
    assert len(httpserver.log) == 1


# --- get, list, cancel -----------------------------------------------------------------------


def test_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(f"/v1/trainings/{TRAINING_ID}", method="GET").respond_with_json(
        training(
            status="succeeded",
            output={"version": f"acme/tuned:{'c' * 64}", "weights": "https://w/x.tar"},
            metrics={"predict_time": 12.5, "total_time": 13.0},
            logs="epoch 1\n",
        )
    )
    result = client.trainings.get(TRAINING_ID)
    assert result.status == "succeeded"
    assert isinstance(result.output, TrainingOutput)
    assert result.output.version == f"acme/tuned:{'c' * 64}"
    assert result.metrics is not None and result.metrics.predict_time == 12.5
    assert result.logs == "epoch 1\n"
    assert client.trainings.get(training_id=TRAINING_ID) == result


def test_get_quotes_the_id(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/trainings/a/b").respond_with_json(training("a/b"))
    client.trainings.get("a/b")
    assert raw_uri(last_request(httpserver)) == "/v1/trainings/a%2Fb"


def test_list_two_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    next_url = f"{httpserver.url_for('/v1/trainings')}?cursor={CURSOR}"
    httpserver.expect_request("/v1/trainings", query_string="").respond_with_json(
        {"next": next_url, "previous": None, "results": [training("t1")]}
    )
    httpserver.expect_request("/v1/trainings", query_string=f"cursor={CURSOR}").respond_with_json(
        {"next": None, "previous": None, "results": [training("t2"), training("t3")]}
    )
    page = client.trainings.list()
    assert isinstance(page, SyncPage)
    assert [t.id for t in page.results] == ["t1"]
    assert page.has_next_page()
    second = page.get_next_page()
    assert [t.id for t in second.results] == ["t2", "t3"]
    assert not second.has_next_page()
    assert raw_uri(last_request(httpserver)) == f"/v1/trainings?cursor={CURSOR}"
    assert [len(p.results) for p in page.iter_pages()] == [1, 2]
    assert [t.id for t in page] == ["t1", "t2", "t3"]
    assert all(isinstance(t, Training) for t in page)


def test_cancel(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        f"/v1/trainings/{TRAINING_ID}/cancel", method="POST"
    ).respond_with_json(training(status="canceled"))
    result = client.trainings.cancel(TRAINING_ID)
    assert isinstance(result, Training)
    assert result.status == "canceled"
    assert last_request(httpserver).get_data() == b""


def test_cancel_is_retried_as_idempotent(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    path = f"/v1/trainings/{TRAINING_ID}/cancel"
    httpserver.expect_oneshot_request(path, method="POST").respond_with_data("", status=503)
    httpserver.expect_request(path, method="POST").respond_with_json(training(status="canceled"))
    assert client.trainings.cancel(TRAINING_ID).status == "canceled"
    assert len(httpserver.log) == 2


# --- wait ------------------------------------------------------------------------------------


@pytest.mark.parametrize("final", ["succeeded", "aborted", "failed", "canceled"])
def test_wait_polls_until_terminal(
    httpserver: HTTPServer, client: replicate.Replicate, final: str
) -> None:
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["starting", "processing", final])
    result = client.trainings.wait(TRAINING_ID, poll_interval=0.01)
    assert isinstance(result, Training)
    assert result.status == final
    if final == "succeeded":
        assert result.output is not None
        assert result.output.weights == "https://w/x.tar"
    assert len(httpserver.log) == 3
    assert all(r.method == "GET" for r, _ in httpserver.log)


def test_wait_returns_at_once_when_already_done(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["succeeded"])
    assert client.trainings.wait(training_id=TRAINING_ID).status == "succeeded"
    assert len(httpserver.log) == 1


def test_wait_sleeps_between_polls(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["starting", "processing", "failed"])
    started = time.monotonic()
    client.trainings.wait(TRAINING_ID, poll_interval=0.15)
    assert time.monotonic() - started >= 0.3  # two sleeps between three polls


def test_wait_default_interval_from_env(
    httpserver: HTTPServer, client: replicate.Replicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["starting"] * 5 + ["aborted"])
    started = time.monotonic()
    assert client.trainings.wait(TRAINING_ID).status == "aborted"
    assert time.monotonic() - started < 1.5  # not the 0.5 s default, five times over
    assert len(httpserver.log) == 6


def test_wait_with_raw_response(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["processing", "succeeded"])
    raw = client.trainings.with_raw_response.wait(TRAINING_ID, poll_interval=0.01)
    assert isinstance(raw, APIResponse)
    assert raw.parse().status == "succeeded"
    assert len(httpserver.log) == 2


def test_wait_sends_extra_headers_on_every_poll(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve_statuses(httpserver, f"/v1/trainings/{TRAINING_ID}", ["starting", "succeeded"])
    client.trainings.wait(TRAINING_ID, poll_interval=0.01, extra_headers={"X-Poll": "yes"})
    assert [r.headers.get("X-Poll") for r, _ in httpserver.log] == ["yes", "yes"]


# --- shared behaviour ------------------------------------------------------------------------


def test_with_raw_response(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(f"/v1/trainings/{TRAINING_ID}").respond_with_json(
        training(), headers={"ratelimit-remaining": "2990"}
    )
    raw = client.trainings.with_raw_response.get(TRAINING_ID)
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert raw.headers["ratelimit-remaining"] == "2990"
    parsed = raw.parse()
    assert isinstance(parsed, Training)
    assert parsed.id == TRAINING_ID


def test_with_raw_response_create(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(TRAININGS_PATH, method="POST").respond_with_json(
        training(), status=201, headers={"ratelimit-remaining": "599"}
    )
    raw = client.with_raw_response.trainings.create(
        "acme", "llama", VERSION_ID, destination="acme/tuned", input={}
    )
    assert raw.status_code == 201
    assert raw.headers["ratelimit-remaining"] == "599"
    assert raw.parse().id == TRAINING_ID


EMPTY_PATH_CALLS: list[tuple[str, Callable[[replicate.Replicate], Any]]] = [
    ("model_owner", lambda c: c.trainings.create("", "x", "v", destination="a/b", input={})),
    ("model_name", lambda c: c.trainings.create("acme", "", "v", destination="a/b", input={})),
    ("version_id", lambda c: c.trainings.create("acme", "x", "", destination="a/b", input={})),
    ("training_id", lambda c: c.trainings.get("")),
    ("training_id", lambda c: c.trainings.cancel("")),
    ("training_id", lambda c: c.trainings.wait("", poll_interval=0.01)),
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
    lambda c: c.trainings.create("a", "b", "v", destination="a/b", input={}, hardware="x"),
    lambda c: c.trainings.get("t", bogus=1),
    lambda c: c.trainings.list(created_after="2024-01-01"),
    lambda c: c.trainings.cancel("t", force=True),
    lambda c: c.trainings.wait("t", timeout_s=3),
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
        TRAININGS_PATH,
        method="POST",
        query_string="debug=true",
        headers={"X-Team": "ml"},
        json={"destination": "acme/tuned", "input": {}, "hardware": "gpu-h100"},
    ).respond_with_json(training(), status=201)
    client.trainings.create(
        "acme",
        "llama",
        VERSION_ID,
        destination="acme/tuned",
        input={},
        extra_headers={"X-Team": "ml"},
        extra_query={"debug": True},
        extra_body={"hardware": "gpu-h100"},
    )
    assert len(httpserver.log) == 1


def test_per_call_timeout(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    release = threading.Event()

    def slow(request: WRequest) -> WResponse:
        release.wait(2)
        return WResponse(json.dumps(training()), content_type="application/json")

    httpserver.expect_request(f"/v1/trainings/{TRAINING_ID}").respond_with_handler(slow)
    started = time.monotonic()
    try:
        with pytest.raises(replicate.APITimeoutError):
            client.trainings.get(TRAINING_ID, timeout=0.2, max_retries=0)
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    deadline = time.monotonic() + 3
    while len(httpserver.log) < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
