"""Streaming a prediction's output over Server-Sent Events, as a sans-I/O flow.

:func:`stream_events_flow` GETs ``prediction.urls.stream`` with ``Accept: text/event-stream``,
reads the body chunk by chunk as it arrives (``NextChunk``), parses it with the incremental
:class:`~replicate._sse.SSEDecoder` and hands each event to the consumer (``Emit``). A driver runs
it: ``iter_sync(stream_events_flow(client, prediction), client._transport)`` yields the events.

What the consumer sees:

* ``output``, ``logs``, ``message`` and any event name this SDK does not know are emitted as
  :class:`~replicate.ServerSentEvent` objects, in order (``str(event)`` is the data);
* ``done`` ends the stream and is not emitted: ``{}`` is a normal end, ``{"reason": "canceled"}``
  raises :class:`~replicate.PredictionCanceledError` and ``{"reason": "error"}``
  :class:`~replicate.ModelError`;
* ``error`` raises :class:`~replicate.ModelError` whose ``.prediction`` is the prediction as the
  API reports it right after (one ``GET /predictions/{id}``) and whose message holds the event's
  ``detail``.

A dropped connection (a transport error while reading, or the end of the body before ``done``)
is resumed: the stream URL is requested again with ``Last-Event-ID`` set to the id of the last
event received, up to :data:`MAX_RECONNECTS` times in a row (waiting the server's ``retry:``
time, else a short backoff). Events whose id was already received are dropped, so a server that
replays the stream from its start never makes the consumer see an output twice. When no event
carried an id, the reconnect is refused, or the reconnects run out, the flow falls back to
polling ``GET /predictions/{id}`` every ``client.poll_interval`` seconds, emitting only the output
not emitted yet as synthetic ``output`` events (list output: the items past those already
emitted; string output: the characters past those already emitted; any other output: once, when
the prediction has succeeded) and ending, or raising, when the prediction reaches a terminal
status. Logs are not replayed by the fallback. A prediction without ``urls.stream`` (a model that
does not stream) goes straight to polling, and so does a prediction that had already finished
when its stream URL answers with an error status (its stream may have expired; its output has
not). Otherwise an error status, or a response that is not ``text/event-stream``, on the first
request raises the typed error.

``deadline`` (a ``time.monotonic()`` value) bounds the whole flow, waits and reads included:
past it the flow raises :class:`~replicate.PredictionTimeoutError`; canceling the prediction is
the caller's job. Each HTTP read waits at most the time left at the moment its request was sent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from ._decode import snippet
from ._drivers import CloseResponse, Emit, EmitAll, Flow, NextChunk, ReadBody, Sleep
from ._http import Timeout
from ._sentinels import NOT_GIVEN, NotGiven
from ._sse import ServerSentEvent, SSEDecoder
from .exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    ModelError,
    PredictionAbortedError,
    PredictionCanceledError,
    PredictionTimeoutError,
)
from .types import Prediction, is_terminal

if TYPE_CHECKING:
    from ._client import Replicate
    from ._http import Response

__all__ = ["MAX_RECONNECTS", "stream_events_flow"]

#: How many times in a row a dropped stream is requested again before falling back to polling.
MAX_RECONNECTS = 3
#: The wait before the first reconnect when the server sent no ``retry:``; doubles each time.
RECONNECT_BACKOFF = 0.25
#: The longest wait before a reconnect, whatever the server's ``retry:`` says.
MAX_RECONNECT_WAIT = 5.0

_STREAM_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
_json = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


def stream_events_flow(
    client: Replicate,
    prediction: Prediction,
    *,
    deadline: float | None = None,
    timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
) -> Flow[Prediction | None]:
    """Emit the prediction's events as they arrive; see the module docstring.

    Returns None when the stream ended with ``done``, or the terminal prediction when the flow
    fell back to polling. ``timeout`` (default: the client's; None: no limit) applies to each
    HTTP request.
    """
    base_timeout = client.timeout if isinstance(timeout, NotGiven) else Timeout(timeout)
    urls = prediction.urls
    url = urls.stream if urls is not None else None
    if not url:
        return (yield from _poll(client, prediction, deadline, base_timeout, 0, 0))

    # What the consumer has received, so that nothing reaches it twice.
    out_count = 0  # output events emitted
    out_chars = 0  # characters of output emitted
    seen: set[str] = set()  # ids of the events received on earlier connections
    ids: list[str] = []  # ids of the events received on this one (a set costs more per event)
    last_id: str | None = None  # the id to resume after
    retry_ms: int | None = None  # the server's reconnection time
    failures = 0  # reconnects in a row that brought nothing new
    connected = False
    monotonic = time.monotonic

    while True:
        # --- connect (or reconnect) ---------------------------------------------------------
        headers = dict(_STREAM_HEADERS)
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        request = client._build("GET", url, headers=headers, add_default_query=False)
        try:
            response: Response = yield from client._send_flow(
                request, timeout=_bounded(base_timeout, prediction, deadline), stream=True
            )
        except APIError as exc:
            if not connected:
                if isinstance(exc, APIStatusError) and is_terminal(prediction.status):
                    break  # a finished prediction's stream may be gone: its output is not
                raise
            _check_deadline(prediction, deadline)
            if isinstance(exc, APIConnectionError) and failures < MAX_RECONNECTS:
                failures += 1
                yield Sleep(_backoff(failures, retry_ms, prediction, deadline))
                continue
            break  # the reconnect was refused: poll
        if not _is_event_stream(response):
            yield ReadBody(response)
            error = APIResponseValidationError(
                f"GET {url} returned Content-Type "
                f"{response.headers.get('content-type')!r}, not text/event-stream; "
                f"body starts {snippet(response.content)!r}",
                response=response,
            )
            if not connected:
                raise error
            break
        connected = True

        # --- read events ----------------------------------------------------------------------
        decoder = SSEDecoder()  # one per connection: events without an id are never dropped
        feed = decoder.feed
        record = ids.append
        prev_id: str | None = None
        dup = False
        fresh = False  # this connection brought an event not received before
        end: ServerSentEvent | None = None
        closing = False
        try:
            while True:
                try:
                    chunk = yield NextChunk(response)
                except APIConnectionError:
                    break
                if not chunk:
                    break
                batch = feed(chunk)
                keep: list[ServerSentEvent] = []
                append = keep.append
                for event in batch:
                    eid = event.id
                    if eid is not None:
                        if eid != prev_id:
                            # A new id: a replay of an event received on an earlier connection,
                            # or a new one. (An event without an ``id:`` line inherits the
                            # previous id, and its fate.)
                            prev_id = eid
                            if seen and eid in seen:
                                dup = True
                            else:
                                dup = False
                                record(eid)
                        if dup:
                            continue
                    name = event.event
                    if name == "output":
                        out_count += 1
                        out_chars += len(event.data)
                    elif name == "done" or name == "error":
                        end = event
                        break
                    append(event)
                if keep:
                    # The chunk's events in one action; the driver hands them over one by one.
                    fresh = True
                    yield EmitAll(keep)
                if end is not None:
                    break
                if deadline is not None and monotonic() > deadline:
                    break
        except GeneratorExit:
            # The consumer stopped iterating: no more actions may be yielded.
            closing = True
            response.close()
            raise
        finally:
            if not closing:
                yield CloseResponse(response)
            last_id = decoder.last_event_id or last_id
            seen.update(ids)
            ids.clear()
            if decoder.retry is not None:
                retry_ms = decoder.retry

        if end is not None:
            if end.event == "done":
                yield from _on_done(client, prediction, end, base_timeout, deadline)
                return None
            yield from _on_error(client, prediction, end, base_timeout, deadline)
        _check_deadline(prediction, deadline)

        # --- the connection dropped before ``done`` -------------------------------------------
        if fresh:
            failures = 0
        if last_id is None or failures >= MAX_RECONNECTS:
            break
        failures += 1
        yield Sleep(_backoff(failures, retry_ms, prediction, deadline))

    return (yield from _poll(client, prediction, deadline, base_timeout, out_count, out_chars))


def _is_event_stream(response: Response) -> bool:
    ctype = response.headers.get("content-type") or ""
    return ctype.partition(";")[0].strip().lower() == "text/event-stream"


def _bounded(base: Timeout, prediction: Prediction, deadline: float | None) -> Timeout:
    """The request timeout, cut down to the time left before the deadline."""
    if deadline is None:
        return base
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout_error(prediction)
    left = max(left, 0.001)
    connect = left if base.connect is None else min(base.connect, left)
    read = left if base.read is None else min(base.read, left)
    return Timeout(connect=connect, read=read)


def _backoff(
    failures: int, retry_ms: int | None, prediction: Prediction, deadline: float | None
) -> float:
    wait = RECONNECT_BACKOFF * 2 ** (failures - 1) if retry_ms is None else retry_ms / 1000
    wait = min(wait, MAX_RECONNECT_WAIT)
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timeout_error(prediction)
        wait = min(wait, left)
    return wait


def _check_deadline(prediction: Prediction, deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise _timeout_error(prediction)


def _timeout_error(prediction: Prediction) -> PredictionTimeoutError:
    return PredictionTimeoutError(
        f"Prediction {prediction.id} did not finish before the deadline",
        prediction_id=prediction.id,
    )


def _fetch(
    client: Replicate, prediction: Prediction, timeout: Timeout, deadline: float | None
) -> Flow[Prediction]:
    """The prediction as the API reports it now."""
    request = client._build("GET", f"/predictions/{quote(prediction.id, safe='')}")
    response = yield from client._send_flow(
        request, timeout=_bounded(timeout, prediction, deadline)
    )
    current: Prediction = response.parse(Prediction)
    return current


def _fetch_or_keep(
    client: Replicate, prediction: Prediction, timeout: Timeout, deadline: float | None
) -> Flow[Prediction]:
    """The current prediction for an error to carry; the one at hand if fetching fails."""
    try:
        return (yield from _fetch(client, prediction, timeout, deadline))
    except APIError:
        return prediction


def _json_object(data: str) -> dict[str, Any]:
    try:
        value = _json.decode(data)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _on_done(
    client: Replicate,
    prediction: Prediction,
    event: ServerSentEvent,
    timeout: Timeout,
    deadline: float | None,
) -> Flow[None]:
    if event.data == "{}":
        return
    reason = _json_object(event.data).get("reason")
    if reason == "canceled":
        current = yield from _fetch_or_keep(client, prediction, timeout, deadline)
        raise PredictionCanceledError(current, f"Prediction {prediction.id} was canceled")
    if reason == "aborted":
        current = yield from _fetch_or_keep(client, prediction, timeout, deadline)
        raise PredictionAbortedError(current, f"Prediction {prediction.id} was aborted")
    if reason == "error":
        current = yield from _fetch_or_keep(client, prediction, timeout, deadline)
        raise ModelError(current, f"Prediction {prediction.id} failed: {current.error}")


def _on_error(
    client: Replicate,
    prediction: Prediction,
    event: ServerSentEvent,
    timeout: Timeout,
    deadline: float | None,
) -> Flow[None]:
    detail = _json_object(event.data).get("detail")
    if detail is None:
        detail = event.data
    current = yield from _fetch_or_keep(client, prediction, timeout, deadline)
    raise ModelError(current, f"Prediction {prediction.id} failed: {detail}")


def _poll(
    client: Replicate,
    prediction: Prediction,
    deadline: float | None,
    timeout: Timeout,
    out_count: int,
    out_chars: int,
) -> Flow[Prediction]:
    """Poll until the prediction is terminal, emitting the output not emitted yet."""
    interval = client.poll_interval
    while True:
        _check_deadline(prediction, deadline)
        current = yield from _fetch(client, prediction, timeout, deadline)
        status = current.status
        terminal = is_terminal(status)
        output = current.output
        if isinstance(output, list):
            for item in output[out_count:]:
                data = item if isinstance(item, str) else _encode.encode(item).decode()
                yield Emit(ServerSentEvent("output", data))
            out_count = max(out_count, len(output))
        elif isinstance(output, str):
            if len(output) > out_chars:
                yield Emit(ServerSentEvent("output", output[out_chars:]))
                out_chars = len(output)
        elif output is not None and terminal and status == "succeeded" and not out_count:
            yield Emit(ServerSentEvent("output", _encode.encode(output).decode()))
            out_count = 1
        if terminal:
            if status == "succeeded":
                return current
            if status == "canceled":
                raise PredictionCanceledError(current, f"Prediction {current.id} was canceled")
            if status == "aborted":
                raise PredictionAbortedError(current, f"Prediction {current.id} was aborted")
            raise ModelError(current)
        wait = interval
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _timeout_error(prediction)
            wait = min(wait, left)
        yield Sleep(wait)
