"""use(): calls, runs, streaming, settings, and the schema resolved once per client."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from support import VERSION_ID, json_response, prediction, requests_to, sequence
from werkzeug import Request, Response

import replicate
from replicate import _schema
from replicate.types import Prediction

SCHEMA = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string"},
                    "timeout": {"type": "integer"},
                    "mode": {"allOf": [{"$ref": "#/components/schemas/mode"}]},
                },
            },
            "mode": {"type": "string", "enum": ["fast", "good"]},
            "Output": {
                "type": "array",
                "items": {"type": "string", "format": "uri"},
                "x-cog-array-type": "iterator",
            },
        }
    },
}


def _model(server: HTTPServer, schema: dict[str, Any] = SCHEMA) -> None:
    server.expect_request("/v1/models/acme/painter").respond_with_json(
        {
            "owner": "acme",
            "name": "painter",
            "latest_version": {"id": VERSION_ID, "openapi_schema": schema},
        }
    )


def _created(server: HTTPServer, **fields: Any) -> None:
    server.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(prediction(server, **fields), 201)
    )


def test_streaming_use_yields_items_over_sse_as_they_arrive(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    _model(httpserver)
    created = prediction(httpserver, status="starting")
    created["urls"]["stream"] = httpserver.url_for("/stream/p1")
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(created, 201)
    )
    httpserver.expect_request("/stream/p1").respond_with_response(
        Response(
            "event: output\nid: 1:0\ndata: https://replicate.delivery/a.png\n\n"
            "event: logs\nid: 1:1\ndata: step 2\n\n"
            "event: output\nid: 1:2\ndata: https://replicate.delivery/b.png\n\n"
            "event: done\nid: 1:3\ndata: {}\n\n",
            content_type="text/event-stream",
        )
    )
    painter = client.use("acme/painter", streaming=True)
    items = painter(prompt="two frames")
    assert not isinstance(items, list)
    got = list(items)
    assert [type(i) for i in got] == [replicate.FileOutput, replicate.FileOutput]
    assert [i.url for i in got] == [
        "https://replicate.delivery/a.png",
        "https://replicate.delivery/b.png",
    ]
    (stream_request,) = requests_to(httpserver, "GET", "/stream/p1")
    assert stream_request.headers["Accept"] == "text/event-stream"
    assert "Prefer" not in requests_to(httpserver, "POST", "/v1/predictions")[0].headers
    # no polling: the stream said when it was done
    assert requests_to(httpserver, "GET", "/v1/predictions/p1") == []


def test_run_cancel_wait_and_output(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    _model(httpserver)
    _created(httpserver, status="starting")
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="processing")
    )
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_handler(
        sequence(
            prediction(httpserver, status="processing"),
            prediction(httpserver, status="canceled", logs="stopped"),
        )
    )
    run = client.use("acme/painter").create(prompt="x")
    assert run.id == "p1" and repr(run) == "<Run p1 starting>"
    assert run.cancel().status == "processing"  # as the API answered the cancel
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1
    final = run.wait()  # a canceled prediction is returned, not raised
    assert final.status == "canceled" and run.prediction is final
    with pytest.raises(replicate.PredictionCanceledError) as info:
        run.output()
    assert info.value.prediction.logs == "stopped"
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_run_wait_timeout_cancels_and_raises(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    _model(httpserver)
    _created(httpserver, status="starting")
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(httpserver, status="processing")
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    run = client.use("acme/painter").create(prompt="x")
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        run.wait(timeout=0.1)
    assert info.value.prediction_id == "p1"
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


@pytest.mark.parametrize("how", ["use", "with_options"])
def test_a_function_has_a_timeout_and_every_call_keyword_is_an_input(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None, how: str
) -> None:
    _model(httpserver)
    _created(httpserver, status="starting")
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(httpserver, status="processing")
    )
    httpserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(httpserver, status="canceled")
    )
    if how == "use":
        painter = client.use("acme/painter", timeout=0.2)
    else:
        painter = client.use("acme/painter").with_options(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(replicate.PredictionTimeoutError):
        painter(prompt="x", timeout=600)  # the model's own "timeout" input
    assert time.monotonic() - started < 5  # the 0.2 s timeout, not the model's 600 s input
    body = json.loads(requests_to(httpserver, "POST", "/v1/predictions")[0].data)
    assert body["input"] == {"prompt": "x", "timeout": 600}
    assert len(requests_to(httpserver, "POST", "/v1/predictions/p1/cancel")) == 1


def test_with_options_on_update_and_wait(
    client: replicate.Replicate, httpserver: HTTPServer, fast_poll: None
) -> None:
    _model(httpserver)
    _created(httpserver, status="processing")
    httpserver.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(httpserver, status="succeeded", output=["https://replicate.delivery/o.png"])
    )
    painter = client.use("acme/painter")
    updates: list[Prediction] = []
    configured = painter.with_options(on_update=updates.append, wait=5)
    (out,) = configured(prompt="x")
    assert isinstance(out, replicate.FileOutput)
    assert requests_to(httpserver, "POST", "/v1/predictions")[0].headers["Prefer"] == "wait=5"
    assert [u.status for u in updates] == ["processing", "succeeded"]
    # the original is unchanged, and the copy shares its resolved schema (one model GET)
    assert painter._options.on_update is None
    assert len(requests_to(httpserver, "GET", "/v1/models/acme/painter")) == 1
    with pytest.raises(ValueError, match="wait"):
        painter.with_options(wait=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        painter.with_options(timeout=0)


def test_the_schema_is_dereferenced_once_per_version(
    client: replicate.Replicate, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = _schema.dereference

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_schema, "dereference", counting)
    _model(httpserver)
    httpserver.expect_request(f"/v1/models/acme/painter/versions/{VERSION_ID}").respond_with_json(
        {"id": VERSION_ID, "openapi_schema": SCHEMA}
    )
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output=["https://x.test/o.png"]),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    painter = client.use("acme/painter")
    for _ in range(3):
        painter(prompt="x", mode="fast")
    assert len(calls) == 1
    with pytest.raises(ValueError, match="mode"):
        painter(prompt="x", mode="slow")  # the $ref'd enum is checked
    ref = f"acme/painter:{VERSION_ID}"
    for _ in range(3):
        (out,) = client.run(ref, input={"prompt": "x"})
        assert isinstance(out, replicate.FileOutput)  # decoded by the output schema
    assert len(calls) == 2  # once more, for the version reference's own cache entry
    mode = painter.openapi_schema()["components"]["schemas"]["Input"]["properties"]["mode"]
    assert mode == {"allOf": [{"type": "string", "enum": ["fast", "good"]}]}
    assert len(calls) == 2


def test_concurrent_first_calls_fetch_the_schema_once(
    tclient: replicate.Replicate, tserver: HTTPServer
) -> None:
    def slow_model(request: Request) -> Response:
        time.sleep(0.2)
        return json_response(
            {
                "owner": "acme",
                "name": "painter",
                "latest_version": {"id": VERSION_ID, "openapi_schema": SCHEMA},
            }
        )

    tserver.expect_request("/v1/models/acme/painter").respond_with_handler(slow_model)
    tserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(
            prediction(tserver, status="succeeded", output=[]),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    errors: list[BaseException] = []

    def call() -> None:
        try:
            tclient.use("acme/painter")(prompt="x")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(requests_to(tserver, "GET", "/v1/models/acme/painter")) == 1
    assert len(requests_to(tserver, "POST", "/v1/predictions")) == 4


def test_use_rejects_a_bad_reference_or_timeout_at_once() -> None:
    with pytest.raises(ValueError, match="owner/name"):
        replicate.use("nope")
    with pytest.raises(ValueError, match="timeout"):
        replicate.use("acme/painter", timeout=-1)


def test_a_schema_misfit_is_the_public_input_validation_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    _model(httpserver)
    painter = client.use("acme/painter")
    with pytest.raises(replicate.InputValidationError) as info:
        painter(prompt="p", mode="slow")
    assert info.type is replicate.exceptions.InputValidationError
    assert isinstance(info.value, replicate.ReplicateError)
    assert isinstance(info.value, ValueError)
    assert "mode" in str(info.value)
    with pytest.raises(replicate.ReplicateError, match="prompt"):
        painter(mode="fast")
    assert requests_to(httpserver, "POST", "/v1/predictions") == []
