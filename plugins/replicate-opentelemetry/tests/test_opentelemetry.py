"""The OpenTelemetry plugin against loopback servers, read back through the OpenTelemetry SDK's
in-memory span exporter and metric reader."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import replicate_opentelemetry
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pytest_httpserver import HTTPServer
from replicate_opentelemetry import OpenTelemetryObserver, redact_url
from werkzeug import Request, Response

import replicate
from replicate import _plugins
from replicate.testing import isolated_environment

TOKEN = "r8_OtelTokenMustNeverBeRecorded42"
SECRET_INPUT = "my-secret-prompt-value"


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    # REPLICATE_PLUGINS empty: the plugin's instances are passed per client
    with isolated_environment("", REPLICATE_POLL_INTERVAL="0.01"):
        yield


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.observer = OpenTelemetryObserver(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def spans(self, kind: SpanKind | None = None) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        return [s for s in spans if kind is None or s.kind == kind]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        out.extend(metric.data.data_points)
        return out


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


@pytest.fixture
def client(httpserver: HTTPServer, telemetry: Telemetry) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        plugins=[telemetry.observer],
        retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.002),
    ) as c:
        yield c


def prediction(server: HTTPServer, status: str, **fields: Any) -> dict[str, Any]:
    body = {
        "id": "p1",
        "model": "acme/hello",
        "version": "hidden",
        "input": {"prompt": SECRET_INPUT},
        "output": None,
        "logs": "",
        "error": None,
        "status": status,
        "created_at": "2024-04-23T18:55:47.081Z",
        "urls": {
            "get": server.url_for("/v1/predictions/p1"),
            "cancel": server.url_for("/v1/predictions/p1/cancel"),
        },
    }
    body.update(fields)
    return body


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def everything_recorded(telemetry: Telemetry) -> str:
    """Every attribute value and span name recorded, spans and metrics, as one string."""
    parts: list[str] = []
    for span in telemetry.spans():
        parts.append(span.name)
        parts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        parts.extend(str(e.attributes) for e in span.events)
        parts.append(str(span.status.description))
    data = telemetry.reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    parts.extend(f"{k}={v}" for k, v in point.attributes.items())
    return "\n".join(parts)


# --- HTTP attempts ------------------------------------------------------------------------------


def test_a_span_per_attempt_with_the_http_client_conventions(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({"username": "me"})
    client.get("account", params={"cursor": "abc"})
    (span,) = telemetry.spans()
    attrs = dict(span.attributes or {})
    assert span.name == "GET" and span.kind == SpanKind.CLIENT
    assert attrs["http.request.method"] == "GET"
    assert attrs["url.full"] == httpserver.url_for("/v1/account") + "?cursor=abc"
    assert attrs["server.address"] == "localhost" and attrs["server.port"] == httpserver.port
    assert attrs["url.scheme"] == "http"
    assert attrs["http.response.status_code"] == 200
    version = attrs["network.protocol.version"]
    assert version in ("1.0", "1.1")  # werkzeug's test server answers in HTTP/1.0
    assert attrs["replicate.client.id"] == client.client_id
    assert "http.request.resend_count" not in attrs and "error.type" not in attrs
    assert span.status.status_code == StatusCode.UNSET
    (point,) = telemetry.points("http.client.request.duration")
    assert point.count == 1 and point.sum > 0
    assert dict(point.attributes) == {
        "http.request.method": "GET",
        "server.address": "localhost",
        "server.port": httpserver.port,
        "url.scheme": "http",
        "http.response.status_code": 200,
        "network.protocol.version": version,
    }
    (count,) = telemetry.points("replicate.client.requests")
    assert count.value == 1


def test_retries_count_as_resends_and_errors_have_a_type(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    answers = iter([Response("busy", status=503), json_response({"ok": 1})])
    httpserver.expect_request("/v1/flaky").respond_with_handler(lambda r: next(answers))
    client.get("flaky")
    first, second = telemetry.spans()
    assert first.attributes["http.response.status_code"] == 503  # type: ignore[index]
    assert first.attributes["error.type"] == "503"  # type: ignore[index]
    assert first.status.status_code == StatusCode.ERROR
    assert "http.request.resend_count" not in (first.attributes or {})
    assert second.attributes["http.request.resend_count"] == 1  # type: ignore[index]
    assert second.attributes["http.response.status_code"] == 200  # type: ignore[index]
    assert sum(p.value for p in telemetry.points("replicate.client.requests")) == 2


def test_a_404_is_an_error_span(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    httpserver.expect_request("/v1/missing").respond_with_json({"detail": "no"}, status=404)
    with pytest.raises(replicate.NotFoundError):
        client.get("missing")
    (span,) = telemetry.spans()
    assert span.attributes["error.type"] == "404"  # type: ignore[index]
    assert span.status.status_code == StatusCode.ERROR


def test_a_connection_error_is_an_error_span(telemetry: Telemetry) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        replicate.Replicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{port}/v1",
            plugins=[telemetry.observer],
            max_retries=0,
        ) as client,
        pytest.raises(replicate.APIConnectionError),
    ):
        client.get("account")
    (span,) = telemetry.spans()
    assert span.attributes["error.type"] == "APIConnectionError"  # type: ignore[index]
    assert "http.response.status_code" not in (span.attributes or {})
    assert span.status.status_code == StatusCode.ERROR
    (point,) = telemetry.points("http.client.request.duration")
    assert point.attributes["error.type"] == "APIConnectionError"


def test_a_streamed_download_span_lasts_until_its_body_ends(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    import time

    def slow(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            yield b"a"
            time.sleep(0.1)
            yield b"b"

        return Response(chunks())

    httpserver.expect_request("/files/out.bin").respond_with_handler(slow)
    output = replicate.FileOutput(httpserver.url_for("/files/out.bin"), client=client)
    response = client.get(httpserver.url_for("/files/out.bin"), stream=True)
    assert telemetry.spans() == []  # still open: the body is unread
    assert response.read() == b"ab"
    assert output.read() == b"ab"
    spans = telemetry.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.end_time is not None and span.start_time is not None
        assert (span.end_time - span.start_time) / 1e9 >= 0.1
    for point in telemetry.points("http.client.request.duration"):
        assert point.sum >= 0.2


def test_the_url_keeps_no_credentials() -> None:
    assert (
        redact_url("https://user:pw@files.example/a.png?X-Amz-Signature=abc&n=1&token=t#frag")
        == "https://REDACTED:REDACTED@files.example/a.png?X-Amz-Signature=REDACTED&n=1"
        "&token=REDACTED"
    )
    assert redact_url("http://h/p") == "http://h/p"


def test_no_token_or_input_value_lands_in_an_attribute(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, "starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, "failed", error=f"model echoed {SECRET_INPUT}")
    )
    httpserver.expect_request("/v1/signed").respond_with_json({})
    with pytest.raises(replicate.ModelError):
        client.run("acme/hello", input={"prompt": SECRET_INPUT})
    client.get(f"signed?token={TOKEN}&signature={TOKEN}")
    recorded = everything_recorded(telemetry)
    assert recorded  # something was recorded
    assert TOKEN not in recorded
    assert SECRET_INPUT not in recorded
    assert "Bearer" not in recorded


# --- runs ---------------------------------------------------------------------------------------


def test_a_span_per_run_with_its_id_model_status_and_duration(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, "starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, "succeeded", output="hi", metrics={"predict_time": 1.5})
    )
    assert client.run("acme/hello", input={"prompt": SECRET_INPUT}) == "hi"
    (run,) = [s for s in telemetry.spans() if s.name == "replicate.run"]
    attrs = dict(run.attributes or {})
    assert run.kind == SpanKind.INTERNAL
    assert attrs["replicate.prediction.id"] == "p1"
    assert attrs["replicate.model"] == "acme/hello"
    assert attrs["replicate.prediction.status"] == "succeeded"
    assert attrs["replicate.prediction.predict_time"] == 1.5
    assert (
        isinstance(attrs["replicate.run.duration"], float) and attrs["replicate.run.duration"] > 0
    )
    assert run.end_time is not None and run.start_time is not None
    assert abs((run.end_time - run.start_time) / 1e9 - attrs["replicate.run.duration"]) < 1e-3
    assert run.status.status_code == StatusCode.UNSET
    # Every HTTP span of the run lies within it.
    http = telemetry.spans(SpanKind.CLIENT)
    assert len(http) >= 2
    assert all(s.start_time >= run.start_time - 1_000_000 for s in http)  # type: ignore[operator]
    (point,) = telemetry.points("replicate.run.duration")
    assert point.count == 1
    assert dict(point.attributes) == {
        "replicate.model": "acme/hello",
        "replicate.prediction.status": "succeeded",
    }


def test_a_failed_run_is_an_error_span(
    client: replicate.Replicate, httpserver: HTTPServer, telemetry: Telemetry
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, "failed", error="boom"), 201)
    )
    with pytest.raises(replicate.ModelError):
        client.run("acme/hello", input={})
    (run,) = [s for s in telemetry.spans() if s.name == "replicate.run"]
    assert run.attributes["error.type"] == "ModelError"  # type: ignore[index]
    assert run.attributes["replicate.prediction.status"] == "failed"  # type: ignore[index]
    assert run.status.status_code == StatusCode.ERROR
    assert "boom" not in everything_recorded(telemetry)


def test_async_client_spans(httpserver: HTTPServer, telemetry: Telemetry) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({"username": "me"})

    async def main() -> None:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[telemetry.observer]
        ) as client:
            await asyncio.gather(*(client.get("account") for _ in range(5)))

    asyncio.run(main())
    spans = telemetry.spans(SpanKind.CLIENT)
    assert len(spans) == 5
    assert {s.attributes["http.response.status_code"] for s in spans} == {200}  # type: ignore[index]


# --- installed ----------------------------------------------------------------------------------


def test_the_installed_plugin_observes_every_client(
    httpserver: HTTPServer, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "opentelemetry")
    monkeypatch.setattr(replicate_opentelemetry, "_default", telemetry.observer)
    _plugins.reset()
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/v1")) as one:
        one.get("account")
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/v1")) as two:
        two.get("account")
    ids = [s.attributes["replicate.client.id"] for s in telemetry.spans()]  # type: ignore[index]
    assert ids == [one.client_id, two.client_id] and ids[0] != ids[1]
