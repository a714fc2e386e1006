"""``client.trainings`` against a loopback server: create, get, list, cancel and wait.

What every resource does alike (validation, per-call options, two-page lists, raw responses)
is in ``test_resources_common.py``."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import TRAINING_ID, VERSION_ID, last_request, raw_uri, training
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._response import APIResponse
from replicate.types import Training, TrainingOutput

TRAININGS_PATH = f"/v1/models/acme/llama/versions/{VERSION_ID}/trainings"


def serve_statuses(server: HTTPServer, path: str, statuses: list[str]) -> list[float]:
    """Each GET of ``path`` answers the next status; the last one repeats. Returns the list
    that receives each GET's arrival time (``time.monotonic()``)."""
    remaining: Iterator[str] = iter(statuses)
    last = [statuses[0]]
    arrivals: list[float] = []

    def handler(request: WRequest) -> WResponse:
        arrivals.append(time.monotonic())
        last[0] = next(remaining, last[0])
        body = training(status=last[0])
        if last[0] == "succeeded":
            body["output"] = {"version": f"acme/tuned:{'c' * 64}", "weights": "https://w/x.tar"}
        return WResponse(json.dumps(body), content_type="application/json")

    server.expect_request(path, method="GET").respond_with_handler(handler)
    return arrivals


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
    path = f"/v1/trainings/{TRAINING_ID}"
    arrivals = serve_statuses(httpserver, path, ["starting"] * 5 + ["aborted"])
    assert client.trainings.wait(TRAINING_ID).status == "aborted"
    assert len(httpserver.log) == 6
    # The 0.5 s default would hold every gap between polls to at least 0.5 s; with 0.01 s, a
    # loaded machine may stretch some gaps, but not all five.
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) < 0.4, gaps


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
