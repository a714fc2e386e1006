"""Streaming a prediction over Server-Sent Events: ``client.predictions.stream`` and the flow.

A scripted HTTP/1.1 server on 127.0.0.1 (``replicate.testing.servers.ScriptServer``) plays both
the API and the stream host: each path has a queue of responders (the last one repeats), and each
responder controls the socket (chunked or close-delimited bodies, flushes between writes, cutting
the connection mid-event).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TOKEN

import replicate
from replicate import _stream
from replicate._deadline import Deadline
from replicate._drivers import iter_sync
from replicate._stream import stream_events_flow
from replicate.testing.servers import PREDICTION_ID, Handler, ScriptServer, json_response
from replicate.testing.servers import sse_event as event
from replicate.testing.servers import stream_response as sse
from replicate.types import Prediction

PID = PREDICTION_ID
PRED_PATH = f"/v1/predictions/{PID}"
STREAM_PATH = f"/stream/{PID}"

DONE = event("done", "{}", "1690212292:done")


def prediction(
    server: ScriptServer,
    *,
    status: str = "processing",
    output: Any = None,
    error: str | None = None,
    stream: str | None = "",
) -> dict[str, Any]:
    urls = {"get": server.url(PRED_PATH), "cancel": server.url(PRED_PATH + "/cancel")}
    if stream is not None:
        urls["stream"] = stream or server.url(STREAM_PATH)
    return {
        "id": PID,
        "status": status,
        "input": {"prompt": "hi"},
        "output": output,
        "error": error,
        "logs": "",
        "urls": urls,
    }


@pytest.fixture
def server() -> Iterator[ScriptServer]:
    with ScriptServer() as s:
        yield s


@pytest.fixture
def other() -> Iterator[ScriptServer]:
    """A second origin (another loopback port)."""
    with ScriptServer() as s:
        yield s


@pytest.fixture
def sclient(
    server: ScriptServer,
    fast_retries: replicate.DefaultRetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[replicate.Replicate]:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=server.url("/v1"), retry_policy=fast_retries, timeout=5
    ) as c:
        yield c


def collect(client: replicate.Replicate) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in client.predictions.stream(PID)]


# --- the happy path ---------------------------------------------------------------------------

STREAM = b"".join(
    [
        b": a comment\r\n",
        event("output", "Hello", "1690212292:0", crlf=True),
        event("logs", "loading weights", "1690212292:1", crlf=True),
        event("output", ", w\u00f6rld \U0001f999", "1690212292:2", crlf=True),
        event("metrics", '{"tokens": 3}', "1690212292:3", crlf=True),
        event("output", "line one\nline two", "1690212292:4", crlf=True),
        b"data: no event name\r\n\r\n",
        event("done", "{}", "1690212292:5", crlf=True),
    ]
)
EXPECTED = [
    ("output", "Hello"),
    ("logs", "loading weights"),
    ("output", ", w\u00f6rld \U0001f999"),
    ("metrics", '{"tokens": 3}'),
    ("output", "line one\nline two"),
    ("message", "no event name"),
]


def _split(stream: bytes, how: str) -> list[bytes]:
    if how == "whole":
        return [stream]
    if how == "events":
        return [part + b"\r\n\r\n" for part in stream.split(b"\r\n\r\n")[:-1]]
    if how == "odd":  # cuts inside lines, inside CRLF pairs and inside UTF-8 sequences
        return [stream[i : i + 7] for i in range(0, len(stream), 7)]
    return [stream[i : i + 1] for i in range(len(stream))]  # one byte per write


@pytest.mark.parametrize("how", ["whole", "events", "odd", "bytes"])
def test_events_arrive_typed_and_in_order(
    server: ScriptServer, sclient: replicate.Replicate, how: str
) -> None:
    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(STREAM_PATH, sse(*_split(STREAM, how), pause=0.002 if how == "events" else 0))
    events = list(sclient.predictions.stream(PID))
    assert [(e.event, e.data) for e in events] == EXPECTED
    assert all(isinstance(e, replicate.ServerSentEvent) for e in events)
    assert events[0].id == "1690212292:0"
    assert events[0].event == replicate.EventType.OUTPUT
    assert events[1].event == replicate.EventType.LOGS
    (headers,) = server.hits(STREAM_PATH)
    assert headers["accept"] == "text/event-stream"
    assert headers["cache-control"] == "no-store"
    assert "last-event-id" not in headers


def test_stream_opens_on_iteration_and_wrong_id_raises_at_call(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    with pytest.raises(replicate.NotFoundError):
        sclient.predictions.stream("nope")
    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(STREAM_PATH, sse(DONE))
    events = sclient.predictions.stream(PID)
    assert server.hits(STREAM_PATH) == []
    assert list(events) == []
    assert len(server.hits(STREAM_PATH)) == 1


# --- errors -----------------------------------------------------------------------------------


def test_error_event_raises_model_error_with_the_prediction(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server)),
        json_response(prediction(server, status="failed", error="CUDA out of memory")),
    )
    server.route(
        STREAM_PATH,
        sse(
            event("output", "partial", "1:0"),
            event("error", '{"detail": "CUDA out of memory"}', "1:1"),
            event("done", '{"reason": "error"}', "1:2"),
        ),
    )
    got: list[str] = []
    with pytest.raises(replicate.ModelError) as info:
        for e in sclient.predictions.stream(PID):
            got.append(str(e))
    assert got == ["partial"]
    assert type(info.value) is replicate.ModelError
    assert info.value.prediction.id == PID
    assert info.value.prediction.status == "failed"
    assert info.value.prediction.error == "CUDA out of memory"
    assert "CUDA out of memory" in str(info.value)


@pytest.mark.parametrize(
    ("reason", "status", "error_type"),
    [
        ("canceled", "canceled", replicate.PredictionCanceledError),
        ("aborted", "aborted", replicate.PredictionAbortedError),
        ("error", "failed", replicate.ModelError),
    ],
)
def test_done_with_a_reason_raises(
    server: ScriptServer,
    sclient: replicate.Replicate,
    reason: str,
    status: str,
    error_type: type[Exception],
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server)),
        json_response(prediction(server, status=status, error="boom" if reason else None)),
    )
    server.route(
        STREAM_PATH,
        sse(event("output", "a", "1:0"), event("done", json.dumps({"reason": reason}), "1:1")),
    )
    with pytest.raises(error_type) as info:
        collect(sclient)
    assert type(info.value) is error_type
    assert info.value.prediction.status == status  # type: ignore[attr-defined]


def test_a_response_that_is_not_an_event_stream_raises(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(STREAM_PATH, sse(b'{"not": "sse"}', content_type="application/json"))
    with pytest.raises(replicate.APIResponseValidationError, match="text/event-stream"):
        collect(sclient)


def test_a_stream_url_that_answers_404_raises(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(STREAM_PATH, json_response({"detail": "gone"}, status=404))
    with pytest.raises(replicate.NotFoundError):
        collect(sclient)


def test_a_finished_prediction_whose_stream_is_gone_hands_over_its_output(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    done = prediction(server, status="succeeded", output=["a", "b"])
    server.route(PRED_PATH, json_response(done))
    server.route(STREAM_PATH, json_response({"detail": "stream expired"}, status=410))
    assert collect(sclient) == [("output", "a"), ("output", "b")]


# --- dropped connections ----------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [True, False], ids=["broken-chunked-body", "early-eof"])
@pytest.mark.parametrize("replay", [True, False], ids=["server-replays", "server-resumes"])
def test_a_dropped_stream_resumes_with_last_event_id(
    server: ScriptServer, sclient: replicate.Replicate, chunked: bool, replay: bool
) -> None:
    server.route(PRED_PATH, json_response(prediction(server)))
    e0, e1, e2, e3 = (event("output", t, f"1690212292:{i}") for i, t in enumerate("abcd"))
    first = sse(b"retry: 10\n\n", e0, e1, e2[:20], end="cut", chunked=chunked)
    again = sse(*([e0, e1, e2, e3, DONE] if replay else [e2, e3, DONE]), chunked=chunked)
    server.route(STREAM_PATH, first, again)
    assert collect(sclient) == [("output", t) for t in "abcd"]
    hits = server.hits(STREAM_PATH)
    assert len(hits) == 2
    assert hits[1]["last-event-id"] == "1690212292:1"
    assert hits[1]["accept"] == "text/event-stream"


def test_events_without_an_id_line_are_not_mistaken_for_replays(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(
        STREAM_PATH,
        sse(b"retry: 10\n\n", event("output", "a", "7:0"), event("output", "b"), end="cut"),
        sse(event("output", "c"), event("output", "d", "7:1"), DONE),
    )
    assert [data for _, data in collect(sclient)] == ["a", "b", "c", "d"]
    assert server.hits(STREAM_PATH)[1]["last-event-id"] == "7:0"


@pytest.mark.parametrize("kind", ["list", "string", "failed"])
def test_a_refused_reconnect_falls_back_to_polling(
    server: ScriptServer, sclient: replicate.Replicate, kind: str
) -> None:
    sent: list[str]
    partial: str | list[str]
    final: str | list[str]
    if kind == "string":
        sent, partial, final = ["Hel", "lo"], "Hello, w", "Hello, world"
    else:
        sent, partial, final = ["Hello", ","], ["Hello", ",", " wor"], ["Hello", ",", " wor", "ld"]
    last_status = "failed" if kind == "failed" else "succeeded"
    server.route(
        PRED_PATH,
        json_response(prediction(server)),
        json_response(prediction(server, output=sent[:1])),  # lags behind the stream
        json_response(prediction(server, output=partial)),
        json_response(prediction(server, status=last_status, output=final, error="oops")),
    )
    server.route(
        STREAM_PATH,
        sse(
            b"retry: 10\n\n",
            *(event("output", t, f"9:{i}") for i, t in enumerate(sent)),
            end="cut",
        ),
        json_response({"detail": "stream expired"}, status=410),
    )
    got: list[str] = []
    if kind == "failed":
        with pytest.raises(replicate.ModelError, match="oops"):
            got.extend(str(e) for e in sclient.predictions.stream(PID))
    else:
        got.extend(str(e) for e in sclient.predictions.stream(PID))
    if kind == "string":
        assert got == ["Hel", "lo", ", w", "orld"]
        assert "".join(got) == final
    else:
        assert got == final
    hits = server.hits(STREAM_PATH)
    assert len(hits) == 2
    assert hits[1]["last-event-id"] == "9:1"
    assert len(server.hits(PRED_PATH)) == 4


def test_without_event_ids_a_drop_goes_straight_to_polling(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server)),
        json_response(prediction(server, status="succeeded", output=["x", "y", "z"])),
    )
    server.route(STREAM_PATH, sse(event("output", "x"), end="cut", chunked=False))
    assert [data for _, data in collect(sclient)] == ["x", "y", "z"]
    assert len(server.hits(STREAM_PATH)) == 1


def test_reconnects_that_keep_failing_end_in_polling(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server)),
        json_response(prediction(server, status="succeeded", output=["a", "b"])),
    )
    server.route(
        STREAM_PATH,
        sse(b"retry: 5\n\n", event("output", "a", "3:0"), end="cut"),
        sse(end="cut"),  # accepted, then dropped at once, every time
    )
    assert [data for _, data in collect(sclient)] == ["a", "b"]
    hits = server.hits(STREAM_PATH)
    assert len(hits) == 1 + 3
    assert all(h["last-event-id"] == "3:0" for h in hits[1:])


def test_a_model_that_does_not_stream_is_polled(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server, status="starting", stream=None)),
        json_response(prediction(server, status="processing", stream=None)),
        json_response(
            prediction(server, status="succeeded", output={"url": "https://x/y.png"}, stream=None)
        ),
    )
    assert collect(sclient) == [("output", '{"url":"https://x/y.png"}')]
    assert server.hits(STREAM_PATH) == []


def test_a_replay_older_than_the_remembered_ids_is_still_dropped(
    server: ScriptServer, sclient: replicate.Replicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the latest RECENT_IDS ids are kept; the API's ordered "<n>:<n>" ids cover the rest.
    monkeypatch.setattr(_stream, "RECENT_IDS", 2)
    server.route(PRED_PATH, json_response(prediction(server)))
    events = [event("output", str(i), f"1690212292:{i}") for i in range(12)]
    server.route(
        STREAM_PATH,
        sse(b"retry: 5\n\n", *events[:8], end="cut"),
        sse(*events, DONE),  # replays from the start
    )
    assert [data for _, data in collect(sclient)] == [str(i) for i in range(12)]
    assert server.hits(STREAM_PATH)[1]["last-event-id"] == "1690212292:7"


def test_the_ids_kept_to_recognise_replays_are_bounded() -> None:
    seen = _stream._Seen()
    seen.add([f"id-{i}" for i in range(10 * _stream.RECENT_IDS)], "id-last")
    assert len(seen.recent) == len(seen.recent_set) == _stream.RECENT_IDS
    assert "id-0" not in seen and f"id-{10 * _stream.RECENT_IDS - 1}" in seen
    seen.add(["7:3"], "7:3")
    assert "7:1" in seen and "7:3" in seen and "7:4" not in seen and "8:0" not in seen


# --- credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize("same_origin", [True, False])
def test_the_token_goes_only_to_a_stream_host_in_the_auth_scope(
    server: ScriptServer,
    other: ScriptServer,
    sclient: replicate.Replicate,
    same_origin: bool,
) -> None:
    host = server if same_origin else other
    server.route(PRED_PATH, json_response(prediction(server, stream=host.url(STREAM_PATH))))
    host.route(STREAM_PATH, sse(event("output", "ok", "1:0"), DONE))
    assert collect(sclient) == [("output", "ok")]
    (headers,) = host.hits(STREAM_PATH)
    if same_origin:
        assert headers["authorization"] == f"Bearer {TOKEN}"
    else:
        assert "authorization" not in headers
        assert TOKEN not in json.dumps(headers)


# --- deadline and early exit ------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["stream", "polling"])
def test_the_deadline_raises_prediction_timeout_error(
    server: ScriptServer, sclient: replicate.Replicate, phase: str
) -> None:
    body = prediction(server, stream=None if phase == "polling" else "")
    server.route(PRED_PATH, json_response(body))
    server.route(STREAM_PATH, sse(event("output", "first", "1:0"), end="hang"))
    pred = Prediction.from_dict(body)
    got: list[str] = []
    start = time.monotonic()
    flow = stream_events_flow(sclient._core, pred, deadline=Deadline(0.3))
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        got.extend(str(e) for e in iter_sync(flow, sclient._transport))
    elapsed = time.monotonic() - start
    assert 0.25 < elapsed < 5  # the stream hangs for ever: the deadline ended it
    assert info.value.prediction_id == PID
    assert got == (["first"] if phase == "stream" else [])


def test_stopping_early_closes_the_stream(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    closed = threading.Event()

    def endless(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            for i in range(1000):
                data = event("output", str(i), f"5:{i}")
                h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                h.wfile.flush()
                time.sleep(0.005)
        except OSError:
            closed.set()
        h.close_connection = True

    server.route(PRED_PATH, json_response(prediction(server)))
    server.route(STREAM_PATH, endless)
    events = sclient.predictions.stream(PID)
    first = [str(e) for _, e in zip(range(3), events, strict=False)]
    assert first == ["0", "1", "2"]
    events.close()
    assert closed.wait(5)


# --- exports ----------------------------------------------------------------------------------


def test_event_types_are_exported_lazily() -> None:
    from replicate import _sse

    assert replicate.ServerSentEvent is _sse.ServerSentEvent
    assert replicate.EventType.DONE == "done"
    assert {"ServerSentEvent", "EventType"} <= set(replicate.__all__)
    code = "import sys, replicate; print('replicate._sse' in sys.modules, 'msgspec' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
