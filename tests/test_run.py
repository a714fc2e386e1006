"""run(): each life cycle scripted by a loopback server, end to end through the SDK."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import (
    VERSION_ID,
    WAIT,
    InterruptWhen,
    json_response,
    prediction,
    requests_to,
    sequence,
    wait_for_log,
)
from werkzeug import Request, Response

import replicate
from replicate._deadline import DEADLINE_GRACE
from replicate.types import Model, Prediction, Version

# --- sync mode ---------------------------------------------------------------------------------


def test_sync_mode_201_returns_complete_output_in_one_request(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    done = prediction(httpserver, status="processing", output="hello Alice")
    httpserver.expect_request(
        "/v1/models/acme/hello/predictions", method="POST"
    ).respond_with_response(json_response(done, 201, {"Preference-Applied": "wait=60"}))
    assert client.run("acme/hello", input={"text": "Alice"}) == "hello Alice"
    assert len(httpserver.log) == 1
    sent = httpserver.log[0][0]
    assert sent.headers["Prefer"] == "wait"
    assert json.loads(sent.data) == {"input": {"text": "Alice"}}


def test_wait_n_sets_prefer_header(client: replicate.Replicate, httpserver: HTTPServer) -> None:
    done = prediction(httpserver, status="succeeded", output=[1, 2])
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(done, 201, {"Preference-Applied": "wait=10"})
    )
    assert client.run("acme/hello", input={}, wait=10) == [1, 2]
    assert httpserver.log[0][0].headers["Prefer"] == "wait=10"


def test_201_processing_without_preference_applied_keeps_waiting(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="processing", output=["partial"]), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing", output=["partial"]),
            prediction(httpserver, status="succeeded", output=["partial", " done"]),
        )
    )
    assert client.run("acme/hello", input={}) == ["partial", " done"]


def test_202_then_polling_until_succeeded(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="processing"), 202)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing", logs="step 1"),
            prediction(httpserver, status="succeeded", output="hi", logs="step 1\nstep 2"),
        )
    )
    updates: list[Prediction] = []
    assert client.run("acme/hello", input={}, on_update=updates.append) == "hi"
    # each new state once: as created, with new logs, finished
    assert [(u.status, u.logs) for u in updates] == [
        ("processing", ""),
        ("processing", "step 1"),
        ("succeeded", "step 1\nstep 2"),
    ]
    assert updates[-1].logs == "step 1\nstep 2"


def test_wait_false_sends_no_prefer_and_polls(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="succeeded", output="ok")
    )
    assert client.run("acme/hello", input={}, wait=False) == "ok"
    assert "Prefer" not in httpserver.log[0][0].headers


def test_202_then_sse_until_done(client: replicate.Replicate, httpserver: HTTPServer) -> None:
    stream_url = httpserver.url_for("/stream/p1")
    created = prediction(httpserver, status="processing")
    created["urls"]["stream"] = stream_url
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 202)
    )

    def sse(request: Request) -> Response:
        body = (
            "event: output\nid: 1:0\ndata: he\n\n"
            "event: output\nid: 1:1\ndata: llo\n\n"
            "event: done\ndata: {}\n\n"
        )
        return Response(body, content_type="text/event-stream")

    httpserver.expect_request("/stream/p1").respond_with_handler(sse)
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="succeeded", output=["he", "llo"])
    )
    assert client.run("acme/hello", input={}) == ["he", "llo"]
    stream_requests = requests_to(httpserver, "GET", "/stream/p1")
    assert len(stream_requests) == 1
    assert stream_requests[0].headers["Accept"] == "text/event-stream"
    # SSE told us when it finished: one GET for the final state, no polling loop.
    assert len(requests_to(httpserver, "GET", "/v1/predictions/p1")) == 1


# --- references --------------------------------------------------------------------------------


def test_version_reference_posts_to_predictions_with_the_id_and_checks_the_schema(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    schema = {
        "openapi": "3.0.2",
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string"}},
                },
                "Output": {"type": "string"},
            }
        },
    }
    httpserver.expect_request(f"/v1/models/acme/hello/versions/{VERSION_ID}").respond_with_json(
        {"id": VERSION_ID, "openapi_schema": schema}
    )
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output="hi"),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    ref = f"acme/hello:{VERSION_ID}"
    assert client.run(ref, input={"text": "Alice"}) == "hi"
    assert client.run(ref, input={"text": "Bob"}) == "hi"
    # the schema was fetched once for two runs
    assert len(requests_to(httpserver, "GET", f"/v1/models/acme/hello/versions/{VERSION_ID}")) == 1
    body = json.loads(requests_to(httpserver, "POST", "/v1/predictions")[0].data)
    assert body == {"version": VERSION_ID, "input": {"text": "Alice"}}
    before = len(httpserver.log)
    with pytest.raises(ValueError, match="text"):
        client.run(ref, input={"txt": "typo"})
    assert len(httpserver.log) == before  # nothing created, nothing billed


def test_bare_version_id_and_objects(client: replicate.Replicate, httpserver: HTTPServer) -> None:
    done = prediction(httpserver, status="succeeded", output="x")
    answer = json_response(done, 201, {"Preference-Applied": "wait"})
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(answer)
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(answer)
    httpserver.expect_request("/v1/deployments/acme/prod/predictions").respond_with_response(answer)
    assert client.run(VERSION_ID, input={}) == "x"
    assert json.loads(httpserver.log[-1][0].data)["version"] == VERSION_ID
    assert client.run(Model(owner="acme", name="hello"), input={}) == "x"
    assert httpserver.log[-1][0].path == "/v1/models/acme/hello/predictions"
    assert client.run(Version(id=VERSION_ID), input={}) == "x"
    assert httpserver.log[-1][0].path == "/v1/predictions"
    deployment = replicate.types.Deployment(owner="acme", name="prod")
    assert client.run(deployment, input={}) == "x"
    assert httpserver.log[-1][0].path == "/v1/deployments/acme/prod/predictions"


@pytest.mark.parametrize(
    "ref", ["", "acme", "acme/", "/hello", "acme/hello:notahexversion", "a/b/c", 42, None]
)
def test_malformed_reference_is_a_value_error_before_any_request(
    client: replicate.Replicate, httpserver: HTTPServer, ref: Any
) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        client.run(ref, input={})
    assert httpserver.log == []


# --- terminal statuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("failed", replicate.ModelError),
        ("canceled", replicate.PredictionCanceledError),
        ("aborted", replicate.PredictionAbortedError),
    ],
)
def test_terminal_failures_raise_with_the_prediction(
    client: replicate.Replicate,
    httpserver: HTTPServer,
    fast_poll: None,
    status: str,
    error: type[replicate.ModelError],
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    final = prediction(httpserver, status=status, error="boom" if status == "failed" else None)
    final["logs"] = "some logs"
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(final)
    with pytest.raises(error) as info:
        client.run("acme/hello", input={}, cancel_after="5m")
    assert isinstance(info.value, replicate.ModelError)
    assert info.value.prediction.id == "p1"
    assert info.value.prediction.status == status
    assert info.value.prediction.logs == "some logs"
    assert httpserver.log[0][0].headers["Cancel-After"] == "5m"


def test_unknown_status_is_not_terminal(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="queued_somewhere_new"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="queued_somewhere_new"),
            prediction(httpserver, status="succeeded", output=1),
        )
    )
    assert client.run("acme/hello", input={}) == 1


# --- deadlines and interrupts ------------------------------------------------------------------


def test_timeout_cancels_the_prediction_then_raises(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="processing")
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    started = time.monotonic()
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        client.run("acme/hello", input={}, timeout=0.3)
    assert time.monotonic() - started < 5  # the server answers "processing" for ever
    assert info.value.prediction_id == "p1"
    assert not isinstance(info.value, replicate.APITimeoutError)
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1
    # the sync-mode window was cut to the time left: under 1 s, no window at all
    assert "Prefer" not in httpserver.log[0][0].headers


def _cancel_answering(server: HTTPServer, status: int) -> None:
    body = prediction(server, status="canceled") if status == 200 else {"detail": "boom"}
    server.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_response(
        json_response(body, status)
    )


@pytest.mark.parametrize("cancel_status", [200, 500])
def test_the_timeout_error_says_whether_the_cancel_succeeded(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None, cancel_status: int
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="processing")
    )
    _cancel_answering(httpserver, cancel_status)
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        client.run("acme/hello", input={}, timeout=0.3)
    message = str(info.value)
    assert message.startswith("prediction p1 did not finish within timeout=0.3 s"), message
    assert requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")
    if cancel_status == 200:
        assert message.endswith("; it was canceled"), message
    else:
        assert "canceled" not in message.replace("cancel it with", ""), message
        assert "may still be running" in message, message
        assert "client.predictions.cancel('p1')" in message, message
    assert info.value.prediction_id == "p1"


@pytest.mark.parametrize("cancel_status", [200, 500])
def test_a_create_answered_after_the_deadline_says_whether_the_cancel_succeeded(
    tclient: replicate.Replicate, tserver: HTTPServer, cancel_status: int
) -> None:
    def slow_create(request: Request) -> Response:
        time.sleep(0.5)
        return json_response(prediction(tserver, status="starting"), 201)

    tserver.expect_request("/v1/models/acme/hello/predictions").respond_with_handler(slow_create)
    _cancel_answering(tserver, cancel_status)
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        tclient.run("acme/hello", input={}, wait=False, timeout=0.2)
    message = str(info.value)
    assert requests_to(tserver, "POST", "/v1/predictions/p1/cancel")
    if cancel_status == 200:
        assert message.endswith("; it was canceled"), message
    else:
        assert "it was canceled" not in message and "may still be running" in message, message


def test_keyboard_interrupt_while_waiting_cancels_the_prediction(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    polled = threading.Event()

    def poll(request: Request) -> Response:
        polled.set()
        return json_response(prediction(httpserver, status="processing"))

    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(poll)
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    with InterruptWhen(polled), pytest.raises(KeyboardInterrupt):  # Ctrl-C once it polls
        client.run("acme/hello", input={})
    # The cancel is sent; it is idempotent and retried once, so on a loaded machine a first
    # cancel whose answer was lost (the interrupt cut the poll's connection) may be seen twice.
    assert 1 <= len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) <= 2


def test_keyboard_interrupt_during_a_sync_create_waits_for_the_id_then_cancels(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    received, release = threading.Event(), threading.Event()

    def held_create(request: Request) -> Response:
        received.set()
        release.wait(WAIT)  # answered once the Ctrl-C has been delivered
        return json_response(prediction(httpserver, status="processing"), 202)

    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_handler(held_create)
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    try:
        with InterruptWhen(received, then=release.set), pytest.raises(KeyboardInterrupt):
            client.run("acme/hello", input={})
    finally:
        release.set()
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_create_is_never_retried_after_it_may_have_reached_the_server(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_data(
        "upstream hiccup", status=503
    )
    with pytest.raises(replicate.InternalServerError):
        client.run("acme/hello", input={})
    assert len(httpserver.log) == 1


# --- use() ---------------------------------------------------------------------------------


SCHEMA = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string"},
                    "steps": {"type": "integer", "minimum": 1, "maximum": 50},
                },
            },
            "Output": {"type": "string", "format": "uri"},
        }
    },
}


def _model_with_schema(server: HTTPServer) -> None:
    server.expect_request("/v1/models/acme/painter").respond_with_json(
        {
            "owner": "acme",
            "name": "painter",
            "latest_version": {"id": VERSION_ID, "openapi_schema": SCHEMA},
        }
    )


def test_use_fetches_the_schema_once_and_runs_in_one_request(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _model_with_schema(httpserver)
    out_url = "https://example.com/out.png"
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output=out_url),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    painter = client.use("acme/painter")
    first = painter(prompt="a cat", steps=4)
    second = painter(prompt="a dog")
    assert isinstance(first, replicate.FileOutput)
    assert first.url == out_url and str(second) == out_url
    assert len(requests_to(httpserver, "GET", "/v1/models/acme/painter")) == 1
    posts = requests_to(httpserver, "POST", "/v1/predictions")
    assert len(posts) == 2
    assert json.loads(posts[0].data)["version"] == VERSION_ID
    assert painter.openapi_schema()["components"]["schemas"]["Output"]["format"] == "uri"


def test_use_checks_inputs_before_creating(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _model_with_schema(httpserver)
    painter = client.use("acme/painter")
    with pytest.raises(ValueError, match="steps"):
        painter(prompt="x", steps=500)
    with pytest.raises(ValueError, match="prompt"):
        painter(steps=3)
    assert requests_to(httpserver, "POST", "/v1/predictions") == []


def test_use_create_returns_a_run_at_once(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    _model_with_schema(httpserver)
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing", logs="working"),
            prediction(httpserver, status="succeeded", output="https://example.com/o.png"),
        )
    )
    run = client.use("acme/painter").create(prompt="x")
    assert run.id == "p1"
    assert "Prefer" not in requests_to(httpserver, "POST", "/v1/predictions")[0].headers
    assert run.logs() == "working"
    output = run.output()
    assert isinstance(output, replicate.FileOutput)
    assert run.prediction.status == "succeeded"


def test_module_level_run_uses_the_default_client(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", httpserver.url_for("/v1"))
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output="hi"),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    assert replicate.run("acme/hello", input={}) == "hi"
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_create_broken_after_sending_is_reported_as_possibly_created(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(WAIT)  # answered only after the client gave up
        return json_response(prediction(httpserver), 201)

    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_handler(hang)
    slow = client.with_options(timeout=replicate.Timeout(connect=1, read=0.2))
    try:
        with pytest.raises(replicate.APITimeoutError, match="may have been created") as info:
            slow.run("acme/hello", input={}, wait=False)
    finally:
        release.set()
    assert info.value.request_sent is True
    wait_for_log(httpserver, 1)  # the server finished the abandoned request: count it
    assert len(httpserver.log) == 1


# --- stream() ------------------------------------------------------------------------------


def _streaming_model(server: HTTPServer, events: str) -> None:
    created = prediction(server, status="starting")
    created["urls"]["stream"] = server.url_for("/stream/p1")
    server.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 201)
    )
    server.expect_request("/stream/p1").respond_with_response(
        Response(events, content_type="text/event-stream")
    )


def test_stream_yields_typed_events_and_creates_without_sync_mode(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _streaming_model(
        httpserver,
        "event: output\nid: 1\ndata: Hel\n\n"
        "event: logs\nid: 2\ndata: step\n\n"
        "event: output\nid: 3\ndata: lo\n\n"
        "event: done\ndata: {}\n\n",
    )
    events = list(client.stream("acme/hello", input={"prompt": "hi"}))
    assert [(e.event, e.data) for e in events] == [
        ("output", "Hel"),
        ("logs", "step"),
        ("output", "lo"),
    ]
    # The README's idiom, print(str(event), end=""), prints the output alone.
    assert "".join(str(e) for e in events) == "Hello"
    assert "Prefer" not in httpserver.log[0][0].headers


def test_module_level_stream_and_error_event(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", httpserver.url_for("/v1"))
    _streaming_model(
        httpserver,
        'event: output\nid: 1\ndata: a\n\nevent: error\nid: 2\ndata: {"detail": "OOM"}\n\n',
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="failed", error="OOM")
    )
    seen: list[str] = []
    with pytest.raises(replicate.ModelError, match="OOM") as info:
        for event in replicate.stream("acme/hello", input={}):
            seen.append(str(event))
    assert seen == ["a"]
    assert info.value.prediction.status == "failed"


def test_stream_timeout_cancels_the_prediction(
    tclient: replicate.Replicate, tserver: HTTPServer
) -> None:
    created = prediction(tserver, status="starting")
    created["urls"]["stream"] = tserver.url_for("/stream/p1")
    tserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 201)
    )
    release = threading.Event()

    def slow_stream(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"event: output\nid: 1\ndata: a\n\n"
            release.wait(2)
            yield b"event: done\ndata: {}\n\n"

        return Response(body(), content_type="text/event-stream")

    tserver.expect_request("/stream/p1").respond_with_handler(slow_stream)
    tserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(tserver, status="canceled")
    )
    seen: list[str] = []
    try:
        with pytest.raises(replicate.PredictionTimeoutError):
            for event in tclient.stream("acme/hello", input={}, timeout=0.3):
                seen.append(str(event))
    finally:
        release.set()
    assert seen == ["a"]
    assert len(requests_to(tserver, "POST", "/v1/predictions/p1/cancel")) == 1


# --- review fixes: stream fallback, deadlines, cancel on giving up ------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        json_response({"detail": "not found"}, 404),
        json_response({"detail": "boom"}, 500),
        Response("<html>hi</html>", content_type="text/html"),
    ],
    ids=["404", "500", "not-sse"],
)
def test_a_stream_url_that_fails_during_run_falls_back_to_polling(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None, answer: Response
) -> None:
    created = prediction(httpserver, status="processing")
    created["urls"]["stream"] = httpserver.url_for("/stream/p1")
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 202)
    )
    httpserver.expect_request("/stream/p1").respond_with_response(answer)
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing"),
            prediction(httpserver, status="succeeded", output="polled"),
        )
    )
    assert client.run("acme/hello", input={}) == "polled"
    assert requests_to(httpserver, "GET", "/stream/p1")
    assert requests_to(httpserver, "POST", "/v1/predictions/p1/cancel") == []


def _slow_retry_client(server: HTTPServer) -> replicate.Replicate:
    return replicate.Replicate(
        bearer_token=TOKEN,
        base_url=server.url_for("/v1"),
        max_retries=50,  # 15 s of retries, if the deadline did not cut them
        retry_policy=replicate.DefaultRetryPolicy(
            initial_backoff=0.3, max_backoff=0.3, rng=_Fixed()
        ),
    )


class _Fixed:
    """A random source whose uniform(a, b) is b: retry waits are exactly the backoff."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize("failure", ["503", "slow"])
def test_retries_of_a_poll_never_outlive_the_deadline(
    tserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    release = threading.Event()
    tserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(tserver, status="starting"), 201)
    )

    def poll(request: Request) -> Response:
        if failure == "slow":
            release.wait(WAIT)
        return json_response({"detail": "busy"}, 503)

    tserver.expect_request("/v1/predictions/p1", method="GET").respond_with_handler(poll)
    tserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(tserver, status="canceled")
    )
    started = time.monotonic()
    try:
        with _slow_retry_client(tserver) as slow, pytest.raises(replicate.ReplicateError) as info:
            slow.run("acme/hello", input={}, timeout=0.5)
    finally:
        release.set()
    elapsed = time.monotonic() - started
    # 50 retries 0.3 s apart (or polls held 10 s) would take 15 s or more; the deadline ends it
    # at 0.5 s plus the cancel's grace; the bound leaves room for a loaded machine.
    assert elapsed < 0.5 + DEADLINE_GRACE + 4, elapsed
    if failure == "slow":
        assert isinstance(info.value, replicate.PredictionTimeoutError)
    assert len(requests_to(tserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_the_wait_ends_with_one_last_poll_at_the_deadline(
    client: replicate.Replicate, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.8")
    started = time.monotonic()
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )

    def poll(request: Request) -> Response:
        done = time.monotonic() - started > 0.9
        status = "succeeded" if done else "processing"
        return json_response(prediction(httpserver, status=status, output="late but in time"))

    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(poll)
    # polls at ~0 and ~0.8 s; the next (1.6 s) would pass the deadline: the last one ends at 1.5
    assert client.run("acme/hello", input={}, timeout=1.5) == "late but in time"
    assert time.monotonic() - started < 1.5 + 4  # generous: shared, noisy machines
    assert requests_to(httpserver, "POST", "/v1/predictions/p1/cancel") == []


@pytest.mark.parametrize("call", ["stream", "run-wait-false"])
def test_a_create_answered_after_the_deadline_is_canceled(
    tclient: replicate.Replicate, tserver: HTTPServer, call: str
) -> None:
    created = prediction(tserver, status="starting")
    created["urls"]["stream"] = tserver.url_for("/stream/p1")

    def slow_create(request: Request) -> Response:
        time.sleep(0.5)
        return json_response(created, 201)

    tserver.expect_request("/v1/models/acme/hello/predictions").respond_with_handler(slow_create)
    tserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(tserver, status="canceled")
    )
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        if call == "stream":
            list(tclient.stream("acme/hello", input={}, timeout=0.2))
        else:
            tclient.run("acme/hello", input={}, wait=False, timeout=0.2)
    assert not isinstance(info.value, replicate.APITimeoutError)
    assert info.value.prediction_id == "p1"
    assert len(requests_to(tserver, "POST", "/v1/predictions/p1/cancel")) == 1
    assert requests_to(tserver, "GET", "/stream/p1") == []


def test_a_status_unknown_for_too_long_gives_up_and_cancels(
    client: replicate.Replicate,
    httpserver: HTTPServer,
    fast_poll: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("replicate._poll.UNKNOWN_STATUS_LIMIT", 0.1)
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(httpserver, status="warming_up_somewhere_new")
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    started = time.monotonic()
    with pytest.raises(replicate.ReplicateError, match="warming_up_somewhere_new"):
        client.run("acme/hello", input={})
    assert 0.1 <= time.monotonic() - started < 5  # polls 10 ms apart would go on for ever
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_a_poll_that_fails_for_good_cancels(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_response(
        json_response({"detail": "who?"}, 403)
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    with pytest.raises(replicate.PermissionDeniedError):
        client.run("acme/hello", input={})
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_on_update_raising_cancels(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, status="starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(httpserver, status="processing", logs="50%")
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )

    def progress(p: Prediction) -> None:
        if p.logs:
            raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        client.run("acme/hello", input={}, on_update=progress)
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_on_update_sees_logs_and_output_while_streaming(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    created = prediction(httpserver, status="starting")
    created["urls"]["stream"] = httpserver.url_for("/stream/p1")
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 202)
    )
    httpserver.expect_request("/stream/p1").respond_with_response(
        Response(
            "event: logs\nid: 1:0\ndata: loading\n\n"
            "event: output\nid: 1:1\ndata: he\n\n"
            "event: output\nid: 1:2\ndata: llo\n\n"
            "event: done\nid: 1:3\ndata: {}\n\n",
            content_type="text/event-stream",
        )
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, status="succeeded", output=["he", "llo"], logs="loading\n")
    )
    updates: list[Prediction] = []
    assert client.run("acme/hello", input={}, on_update=updates.append) == ["he", "llo"]
    assert updates[0].status == "starting"
    during = updates[1:-1]
    assert during, "no update while the stream ran"
    assert during[-1].status == "processing"
    assert during[-1].logs == "loading"
    assert during[-1].output == ["he", "llo"]
    assert updates[-1].status == "succeeded"


def test_options_are_checked_before_any_upload(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    with pytest.raises(ValueError, match="wait"):
        client.run("acme/hello", input={"image": b"\x89PNG"}, wait=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cancel_after"):
        client.run("acme/hello", input={"image": b"\x89PNG"}, cancel_after=1)
    with pytest.raises(ValueError, match="file_encoding_strategy"):
        client.run("acme/hello", input={"image": b"\x89PNG"}, file_encoding_strategy="zip")
    assert httpserver.log == []  # nothing uploaded, nothing created


def test_prefer_wait_is_cut_to_the_deadline(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output="ok"),
            201,
            {"Preference-Applied": "wait=3"},
        )
    )
    assert client.run("acme/hello", input={}, prefer="wait=30", timeout=3.5) == "ok"
    assert httpserver.log[0][0].headers["Prefer"] == "wait=3"
    assert client.run("acme/hello", input={}, prefer="wait=30") == "ok"
    assert httpserver.log[1][0].headers["Prefer"] == "wait=30"


def test_stream_checks_the_reference_and_options_before_iterating(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        client.stream("not a reference", input={})
    with pytest.raises(ValueError, match="cancel_after"):
        client.stream("acme/hello", input={}, cancel_after=0)
    with pytest.raises(TypeError, match="input"):
        client.stream("acme/hello", input=["x"])  # type: ignore[arg-type]
    assert httpserver.log == []


def test_a_second_real_sigint_during_a_held_create_stops_at_once(
    tclient: replicate.Replicate, tserver: HTTPServer
) -> None:
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    received, release, stop = threading.Event(), threading.Event(), threading.Event()
    sent: list[float] = []

    def held_create(request: Request) -> Response:
        received.set()
        release.wait(WAIT)  # held until the test ends
        return json_response(prediction(tserver, status="processing"), 202)

    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c_until_stopped() -> None:
        """Once the create is open, a real SIGINT every 0.2 s until the call has ended."""
        if not received.wait(WAIT):
            return
        while not stop.is_set():
            signal.pthread_kill(main, signal.SIGINT)
            sent.append(time.monotonic())
            stop.wait(0.2)

    tserver.expect_request("/v1/models/acme/hello/predictions").respond_with_handler(held_create)
    presser = threading.Thread(target=ctrl_c_until_stopped, daemon=True)
    started = time.monotonic()
    try:
        presser.start()
        with pytest.raises(KeyboardInterrupt):
            tclient.run("acme/hello", input={})
        stop.set()
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        presser.join(WAIT)
        release.set()
    # the first interrupt was held (the create kept going), the second stopped at once
    assert len(sent) >= 2, sent
    assert elapsed < WAIT, elapsed  # the server never answered the create: it did not wait
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _Ref:
    """A v2-style reference object (owner, name, version), as ModelVersionIdentifier."""

    def __init__(self, owner: str, name: str, version: str) -> None:
        self.owner = owner
        self.name = name
        self.version = version


def test_duck_typed_references_are_cached_by_what_they_name_not_their_id(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    other = "a" * 64
    for version, output in ((VERSION_ID, "string"), (other, "integer")):
        httpserver.expect_request(f"/v1/models/acme/hello/versions/{version}").respond_with_json(
            {
                "id": version,
                "openapi_schema": {
                    "components": {
                        "schemas": {
                            "Input": {"type": "object", "properties": {"text": {"type": output}}}
                        }
                    }
                },
            }
        )
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output="x"),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    ref = _Ref("acme", "hello", VERSION_ID)
    assert client.run(ref, input={"text": "a string"}) == "x"
    # The same object now names another version (as a new object at a reused id() would).
    ref.version = other
    with pytest.raises(ValueError, match="integer"):
        client.run(ref, input={"text": "a string"})
    assert client.run(ref, input={"text": 7}) == "x"
    posts = requests_to(httpserver, "POST", "/v1/predictions")
    assert [json.loads(p.data)["version"] for p in posts] == [VERSION_ID, other]
    # fresh objects, likely at reused addresses, each run their own version
    for _ in range(5):
        assert client.run(_Ref("acme", "hello", VERSION_ID), input={"text": "s"}) == "x"
        assert client.run(_Ref("acme", "hello", other), input={"text": 1}) == "x"
    versions = [
        json.loads(p.data)["version"] for p in requests_to(httpserver, "POST", "/v1/predictions")
    ]
    assert versions[2:] == [VERSION_ID, other] * 5


def test_wait_false_polls_even_when_the_model_streams(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    created = prediction(httpserver)
    created["urls"]["stream"] = httpserver.url_for("/stream/p1")
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing"),
            prediction(httpserver, status="succeeded", output="ok"),
        )
    )
    assert client.run("acme/hello", input={}, wait=False) == "ok"
    assert requests_to(httpserver, "GET", "/stream/p1") == []  # v2's behaviour: polling
