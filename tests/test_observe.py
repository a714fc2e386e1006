"""The observe hook's events for tracing: the end of streamed bodies, durations, the client an
event came from, and the ``run`` event; against loopback servers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import json_response
from werkzeug import Request, Response

import replicate
from replicate._events import RunInfo


class Observer:
    def __init__(self) -> None:
        self.events: list[replicate.Event] = []

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[replicate.Event]:
        return [e for e in self.events if e.kind == kind]


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def oclient(
    httpserver: HTTPServer, observer: Observer, fast_retries: replicate.DefaultRetryPolicy
) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        retry_policy=fast_retries,
        plugins=[observer],
    ) as c:
        yield c


def slow_body(request: Request) -> Response:
    def chunks() -> Iterator[bytes]:
        yield b"a" * 10
        time.sleep(0.05)
        yield b"b" * 10

    return Response(chunks(), content_type="application/octet-stream")


# --- the end of a streamed body -----------------------------------------------------------------


def test_read_to_the_end_is_a_response_end_with_the_whole_duration(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/blob").respond_with_handler(slow_body)
    response = oclient.get("blob", stream=True)
    assert observer.kinds() == ["request", "response"]
    first = observer.of("response")[0]
    assert first.response is response and not response.is_stream_consumed
    assert first.duration is not None and first.duration >= 0
    assert response.read() == b"a" * 10 + b"b" * 10
    assert observer.kinds() == ["request", "response", "response_end"]
    end = observer.of("response_end")[0]
    assert end.data == "complete" and end.error is None
    assert end.response is response and end.request is first.request
    assert end.duration == pytest.approx(response.elapsed.total_seconds(), abs=1e-5)
    assert end.duration >= 0.05 > first.duration
    response.close()
    assert observer.kinds().count("response_end") == 1  # once only


def test_iterating_to_the_end_and_closing_early(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/blob").respond_with_handler(slow_body)
    with oclient.get("blob", stream=True) as response:
        assert b"".join(response.iter_bytes()) == b"a" * 10 + b"b" * 10
    assert [e.data for e in observer.of("response_end")] == ["complete"]

    observer.events.clear()
    response = oclient.get("blob", stream=True)
    assert response.next_chunk()
    response.close()
    assert [e.data for e in observer.of("response_end")] == ["closed"]

    observer.events.clear()
    oclient.get("blob", stream=True).close()  # closed before reading anything
    assert [e.data for e in observer.of("response_end")] == ["closed"]


def test_a_body_that_is_not_streamed_has_no_response_end(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/ping").respond_with_json({"ok": True})
    response = oclient.get("ping")
    assert observer.kinds() == ["request", "response"]
    assert response.is_stream_consumed
    assert observer.events[1].duration == pytest.approx(response.elapsed.total_seconds(), abs=1e-5)


def test_a_streamed_attempt_retried_ends_closed(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    answers = iter([Response("busy", status=503), Response("fine", status=200)])
    httpserver.expect_request("/v1/flaky").respond_with_handler(lambda r: next(answers))
    response = oclient.get("flaky", stream=True)
    assert response.read() == b"fine"
    assert [(e.kind, e.attempt, e.data) for e in observer.events] == [
        ("request", 0, None),
        ("response", 0, None),
        ("response_end", 0, "closed"),
        ("retry", 0, None),
        ("request", 1, None),
        ("response", 1, None),
        ("response_end", 1, "complete"),
    ]


@pytest.fixture
def short_body_server() -> Iterator[str]:
    """A raw server announcing 100 bytes and sending 10 before hanging up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n"
                    + b"x" * 10
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    sock.close()


def test_a_body_that_fails_while_read_ends_with_the_error(
    short_body_server: str, observer: Observer
) -> None:
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=short_body_server, plugins=[observer], max_retries=0
    ) as client:
        response = client.get("/short", stream=True)
        with pytest.raises(replicate.APIConnectionError):
            response.read()
    (end,) = observer.of("response_end")
    assert end.data == "error"
    assert isinstance(end.error, replicate.APIConnectionError)
    assert end.duration is not None


def test_downloads_end_with_a_response_end(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer, tmp_path: Path
) -> None:
    httpserver.expect_request("/files/out.bin").respond_with_handler(slow_body)
    output = replicate.FileOutput(httpserver.url_for("/files/out.bin"), client=oclient)
    assert output.read() == b"a" * 10 + b"b" * 10
    output.save(tmp_path / "out.bin")
    assert list(output)  # iterated to the end
    ends = observer.of("response_end")
    assert [e.data for e in ends] == ["complete"] * 3
    assert all(e.duration is not None and e.duration >= 0.05 for e in ends)
    for event in observer.events:
        assert event.request is not None and "authorization" not in event.request.headers


def test_an_async_client_reports_the_end_of_bodies_it_reads(
    httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/blob").respond_with_handler(slow_body)

    async def main() -> None:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[observer]
        ) as client:
            response = await client.get("blob", stream=True)
            assert observer.kinds() == ["request", "response"]
            assert await response.aread() == b"a" * 10 + b"b" * 10
            response = await client.get("blob", stream=True)
            await response.aclose()

    asyncio.run(main())
    assert [e.data for e in observer.of("response_end")] == ["complete", "closed"]


def test_an_error_event_has_a_duration(observer: Observer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    with (
        replicate.Replicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{port}",
            plugins=[observer],
            max_retries=0,
        ) as client,
        pytest.raises(replicate.APIConnectionError),
    ):
        client.get("/x")
    (error,) = observer.of("error")
    assert error.duration is not None and error.duration >= 0


# --- which client -------------------------------------------------------------------------------


def test_events_name_their_client_and_copies_keep_the_name(
    httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/ping").respond_with_json({})
    base = httpserver.url_for("/v1")
    with (
        replicate.Replicate(bearer_token=TOKEN, base_url=base, plugins=[observer]) as one,
        replicate.Replicate(bearer_token=TOKEN, base_url=base, plugins=[observer]) as two,
    ):
        one.get("ping")
        two.get("ping")
        one.with_options(timeout=5).get("ping")
        one.with_raw_response.get("ping")
        ids = [e.client for e in observer.of("request")]
        assert ids[0] == one.client_id and ids[1] == two.client_id
        assert ids[0] != ids[1]
        assert ids[2] == ids[3] == ids[0]
    for event in observer.events:
        assert event.client is not None and TOKEN not in event.client
        assert event.client.startswith("client-")


def test_the_client_id_is_in_the_repr_of_events(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/ping").respond_with_json({})
    oclient.get("ping")
    assert f"client={oclient.client_id}" in repr(observer.events[0])
    assert TOKEN not in repr(observer.events[0])


# --- no observer, no cost -----------------------------------------------------------------------


def test_without_observers_nothing_is_recorded(
    client: replicate.Replicate, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replicate import _run

    built: list[Any] = []
    monkeypatch.setattr(replicate.Event, "__init__", lambda self, *a, **k: built.append(a))
    monkeypatch.setattr(_run, "RunInfo", lambda **k: built.append(k))
    httpserver.expect_request("/v1/blob").respond_with_data(b"abc")
    response = client.get("blob", stream=True)
    assert response._on_end is None
    assert response.read() == b"abc"
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, "succeeded", output="hi"), 201)
    )
    assert client.run("acme/hello", input={}) == "hi"
    assert built == []


# --- runs ---------------------------------------------------------------------------------------


def prediction(server: HTTPServer, status: str, **fields: Any) -> dict[str, Any]:
    body = {
        "id": "p1",
        "model": "acme/hello",
        "version": "hidden",
        "input": {"secret_prompt": "do not record me"},
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


def run_event(observer: Observer) -> tuple[replicate.Event, RunInfo]:
    (event,) = observer.of("run")
    assert isinstance(event.data, RunInfo)
    return event, event.data


def test_a_run_that_succeeds_is_one_run_event(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(prediction(httpserver, "starting"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, "succeeded", output="hi")
    )
    assert oclient.run("acme/hello", input={"secret_prompt": "x"}) == "hi"
    event, info = run_event(observer)
    assert observer.kinds()[-1] == "run"
    assert event.error is None and event.client == oclient.client_id
    assert event.duration is not None and event.duration > 0
    assert (info.model, info.version, info.deployment) == ("acme/hello", None, None)
    assert (info.id, info.status) == ("p1", "succeeded")
    assert info.prediction is not None and info.prediction.output == "hi"
    assert [e.data.status for e in observer.of("prediction")] == ["starting", "succeeded"]


def test_a_failed_run_carries_its_error_and_final_state(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer, fast_poll: None
) -> None:
    httpserver.expect_request("/v1/deployments/acme/prod/predictions").respond_with_response(
        json_response(prediction(httpserver, "processing"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, "failed", error="boom")
    )
    with pytest.raises(replicate.ModelError):
        oclient.run(_deployment(), input={})
    event, info = run_event(observer)
    assert isinstance(event.error, replicate.ModelError)
    assert (info.deployment, info.model, info.status) == ("acme/prod", None, "failed")


def _deployment() -> Any:
    from replicate.types import Deployment

    return Deployment(owner="acme", name="prod")


def test_a_run_whose_create_fails_has_no_prediction(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_json(
        {"detail": "bad input"}, status=422
    )
    with pytest.raises(replicate.UnprocessableEntityError):
        oclient.run("acme/hello", input={})
    event, info = run_event(observer)
    assert isinstance(event.error, replicate.UnprocessableEntityError)
    assert (info.model, info.id, info.status, info.prediction) == ("acme/hello", None, None, None)


def sse_prediction(httpserver: HTTPServer) -> None:
    created = prediction(httpserver, "starting")
    created["urls"]["stream"] = httpserver.url_for("/stream/p1")
    httpserver.expect_request("/v1/models/acme/hello/predictions").respond_with_response(
        json_response(created, 201)
    )
    body = (
        "event: output\nid: 1:0\ndata: he\n\n"
        "event: output\nid: 1:1\ndata: llo\n\n"
        "event: done\ndata: {}\n\n"
    )
    httpserver.expect_request("/stream/p1").respond_with_data(
        body, content_type="text/event-stream"
    )


def test_a_stream_is_one_run_event_and_its_sse_body_ends(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    sse_prediction(httpserver)
    assert "".join(str(e) for e in oclient.stream("acme/hello", input={})) == "hello"
    event, info = run_event(observer)
    assert event.error is None and (info.id, info.status) == ("p1", "succeeded")
    ends = observer.of("response_end")
    assert [e.request.url for e in ends if e.request] == [httpserver.url_for("/stream/p1")]


def test_a_stream_its_consumer_stops_is_a_run_event_without_error(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer
) -> None:
    sse_prediction(httpserver)
    events = oclient.stream("acme/hello", input={})
    for _ in events:
        break
    events.close()  # type: ignore[attr-defined]
    event, info = run_event(observer)
    assert event.error is None and (info.id, info.status) == ("p1", "starting")
    assert [e.data for e in observer.of("response_end")] == ["closed"]


def test_a_use_call_is_a_run_event_naming_the_model_and_version(
    oclient: replicate.Replicate, httpserver: HTTPServer, observer: Observer, fast_poll: None
) -> None:
    version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    schema = {
        "openapi": "3.0.2",
        "components": {
            "schemas": {
                "Input": {"type": "object", "properties": {"prompt": {"type": "string"}}},
                "Output": {"type": "string"},
            }
        },
    }
    httpserver.expect_request("/v1/models/acme/hello").respond_with_json(
        {
            "owner": "acme",
            "name": "hello",
            "latest_version": {"id": version, "openapi_schema": schema},
        }
    )
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_response(
        json_response(prediction(httpserver, "processing"), 201)
    )
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(httpserver, "succeeded", output="hi")
    )
    assert oclient.use("acme/hello")(prompt="x") == "hi"
    event, info = run_event(observer)
    assert (info.model, info.version, info.status) == ("acme/hello", version, "succeeded")
    assert event.error is None
