"""Streaming a prediction's output over Server-Sent Events, as a sans-I/O flow.

:func:`stream_events_flow` GETs ``prediction.urls.stream`` with ``Accept: text/event-stream``,
reads the body chunk by chunk as it arrives (``NextChunk``), parses it with the incremental
:class:`~replicate._sse.SSEDecoder` and hands each event to the consumer (``Emit``). A driver runs
it: given the client core, ``client._iter(stream_events_flow(client._core, prediction))`` yields
the events.

What the consumer sees:

* ``output``, ``logs``, ``message`` and any event name this SDK does not know are emitted as
  :class:`~replicate.ServerSentEvent` objects, in order (``str(event)`` is an
  ``output`` event's data, ``""`` for any other);
* ``done`` ends the stream and is not emitted: ``{}`` is a normal end, ``{"reason": "canceled"}``
  raises :class:`~replicate.PredictionCanceledError`, ``{"reason": "aborted"}``
  :class:`~replicate.PredictionAbortedError` and ``{"reason": "error"}``
  :class:`~replicate.ModelError` (the errors of ``_poll.failure``);
* ``error`` raises :class:`~replicate.ModelError` whose ``.prediction`` is the prediction as the
  API reports it right after (one ``GET /predictions/{id}``) and whose message holds the event's
  ``detail``.

A dropped connection (a transport error while reading, a stream silent for longer than the
read timeout among them, or the end of the body before ``done``) is resumed: the stream URL
is requested again with ``Last-Event-ID`` set to the id of the last event received, up to
:data:`MAX_RECONNECTS` times in a row (waiting the server's ``retry:`` time, else a short
backoff). Events whose id was already received are dropped, so a server that
replays the stream from its start never makes the consumer see an output twice (ids of the
``<n>:<n>`` form the API sends are compared by their order, others against the latest
:data:`RECENT_IDS` ids received). When no event carried an id, the reconnect is refused, or the
reconnects run out, the flow falls back to polling ``GET /predictions/{id}`` every
``core.poll_interval`` seconds, emitting only the output not emitted yet as synthetic
``output`` events (list output: the items past those already emitted; string output: the
characters past those already emitted; any other output: once, when the prediction has
succeeded) and ending, or raising, when the prediction reaches a terminal status. Logs are not
replayed by the fallback. A prediction without ``urls.stream`` (a model that does not stream)
goes straight to polling, and so does a prediction that had already finished when its stream URL
answers with an error status (its stream may have expired; its output has not). Otherwise an
error status, or a response that is not ``text/event-stream``, on the first request raises the
typed error.

``deadline`` (a :class:`~replicate._deadline.Deadline`) bounds the whole flow, waits, retries and
reads included: past it the flow raises :class:`~replicate.PredictionTimeoutError`; canceling
the prediction is the caller's job (``_run.guarded``). Each HTTP read waits at most the time left
at the moment its request was sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from ._deadline import NO_DEADLINE, Deadline
from ._decode import snippet
from ._drivers import CloseResponse, Emit, EmitAll, Flow, NextChunk, Sleep
from ._http import Timeout
from ._poll import failure, finish, poll_flow, prediction_fetch
from ._send import read_error_body
from ._sentinels import NOT_GIVEN, NotGiven
from ._sse import ServerSentEvent, SSEDecoder
from .exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
)
from .types import Prediction, PredictionStatus, is_terminal

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Action
    from ._http import Response

__all__ = ["MAX_RECONNECTS", "stream_events_flow"]

#: How many times in a row a dropped stream is requested again before falling back to polling.
MAX_RECONNECTS = 3
#: The wait before the first reconnect when the server sent no ``retry:``; doubles each time.
RECONNECT_BACKOFF = 0.25
#: The longest wait before a reconnect, whatever the server's ``retry:`` says.
MAX_RECONNECT_WAIT = 5.0
#: How many of the latest event ids are kept to recognise a replay (ids without an order).
RECENT_IDS = 1024

_STREAM_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
_json = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


def _order(event_id: str | None) -> tuple[int, ...] | None:
    """An id's place in the stream when it has the API's ``<n>:<n>`` form (or is a number)."""
    if not event_id:
        return None
    parts = event_id.split(":")
    if all(p.isdigit() for p in parts):
        return tuple(int(p) for p in parts)
    return None


class _Seen:
    """The event ids received on earlier connections, as far as recognising a replay needs:
    the highest ordered id, and the most recent ids (bounded)."""

    __slots__ = ("high", "recent", "recent_set")

    def __init__(self) -> None:
        self.high: tuple[int, ...] | None = None
        self.recent: list[str] = []
        self.recent_set: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.recent)

    def add(self, ids: list[str], last_id: str | None) -> None:
        if not ids:
            return
        recent = (self.recent + ids)[-RECENT_IDS:]
        self.recent = recent
        self.recent_set = set(recent)
        order = _order(last_id)
        if order is not None and (self.high is None or order > self.high):
            self.high = order

    def __contains__(self, event_id: str) -> bool:
        if event_id in self.recent_set:
            return True
        high = self.high
        if high is None:
            return False
        order = _order(event_id)
        return order is not None and len(order) == len(high) and order <= high


def stream_events_flow(
    core: ClientCore,
    prediction: Prediction,
    *,
    deadline: Deadline | None = None,
    timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
) -> Flow[Prediction | None]:
    """Emit the prediction's events as they arrive; see the module docstring.

    Returns None when the stream ended with ``done``, or the terminal prediction when the flow
    fell back to polling. ``timeout`` (default: the core's; None: no limit) applies to each
    HTTP request.
    """
    base_timeout = core.config.timeout if isinstance(timeout, NotGiven) else Timeout(timeout)
    deadline = NO_DEADLINE if deadline is None else deadline
    urls = prediction.urls
    url = urls.stream if urls is not None else None
    if not url:
        return (yield from _poll(core, prediction, deadline, base_timeout, 0, 0))

    # What the consumer has received, so that nothing reaches it twice.
    out_count = 0  # output events emitted
    out_chars = 0  # characters of output emitted
    seen = _Seen()  # the ids received on earlier connections
    ids: list[str] = []  # ids of the events received on this one (a set costs more per event)
    last_id: str | None = None  # the id to resume after
    retry_ms: int | None = None  # the server's reconnection time
    failures = 0  # reconnects in a row that brought nothing new
    connected = False
    monotonic = time.monotonic
    at = deadline.at
    pid = prediction.id

    while True:
        # --- connect (or reconnect) ---------------------------------------------------------
        deadline.check(pid)
        headers = dict(_STREAM_HEADERS)
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        request = core.build("GET", url, headers=headers, add_default_query=False)
        try:
            response: Response = yield from core.send_flow(
                request, timeout=base_timeout, stream=True, deadline=deadline
            )
        except APIError as exc:
            if not connected:
                if isinstance(exc, APIStatusError) and is_terminal(prediction.status):
                    break  # a finished prediction's stream may be gone: its output is not
                if isinstance(exc, APIConnectionError):
                    deadline.check(pid, slack=0.01)  # a timeout cut by the deadline
                raise
            deadline.check(pid)
            if isinstance(exc, APIConnectionError) and failures < MAX_RECONNECTS:
                failures += 1
                yield Sleep(_backoff(failures, retry_ms, pid, deadline))
                continue
            break  # the reconnect was refused: poll
        if not _is_event_stream(response):
            yield from read_error_body(response)  # a bounded prefix: enough for the message
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
                if len(ids) > 2 * RECENT_IDS:
                    del ids[:-RECENT_IDS]  # only the latest are needed to recognise a replay
                if at is not None and monotonic() > at:
                    break
        except GeneratorExit:
            # The consumer stopped iterating: no more actions may be yielded.
            closing = True
            response._release()
            raise
        finally:
            if not closing:
                yield CloseResponse(response)
            last_id = decoder.last_event_id or last_id
            seen.add(ids, last_id)
            ids.clear()
            if decoder.retry is not None:
                retry_ms = decoder.retry

        if end is not None:
            if end.event == "done":
                yield from _on_done(core, prediction, end, base_timeout, deadline)
                return None
            yield from _on_error(core, prediction, end, base_timeout, deadline)
        deadline.check(pid)

        # --- the connection dropped before ``done`` -------------------------------------------
        if fresh:
            failures = 0
        if last_id is None or failures >= MAX_RECONNECTS:
            break
        failures += 1
        yield Sleep(_backoff(failures, retry_ms, pid, deadline))

    return (yield from _poll(core, prediction, deadline, base_timeout, out_count, out_chars))


def _is_event_stream(response: Response) -> bool:
    ctype = response.headers.get("content-type") or ""
    return ctype.partition(";")[0].strip().lower() == "text/event-stream"


def _backoff(failures: int, retry_ms: int | None, pid: str, deadline: Deadline) -> float:
    wait = RECONNECT_BACKOFF * 2 ** (failures - 1) if retry_ms is None else retry_ms / 1000
    return deadline.cut(min(wait, MAX_RECONNECT_WAIT), pid)


def _fetch_or_keep(
    core: ClientCore, prediction: Prediction, timeout: Timeout, deadline: Deadline
) -> Flow[Prediction]:
    """The current prediction for an error to carry; the one at hand if fetching fails."""
    try:
        _, current = yield from prediction_fetch(core, prediction.id, deadline, timeout)()
    except APIError:
        return prediction
    return current


def _json_object(data: str) -> dict[str, Any]:
    try:
        value = _json.decode(data)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


#: The status each ``done`` reason stands for.
_DONE_REASONS = {
    "canceled": PredictionStatus.CANCELED,
    "aborted": PredictionStatus.ABORTED,
    "error": PredictionStatus.FAILED,
}


def _on_done(
    core: ClientCore,
    prediction: Prediction,
    event: ServerSentEvent,
    timeout: Timeout,
    deadline: Deadline,
) -> Flow[None]:
    if event.data == "{}":
        return
    status = _DONE_REASONS.get(_json_object(event.data).get("reason"))  # type: ignore[arg-type]
    if status is not None:
        current = yield from _fetch_or_keep(core, prediction, timeout, deadline)
        raise failure(current, status)  # type: ignore[misc]


def _on_error(
    core: ClientCore,
    prediction: Prediction,
    event: ServerSentEvent,
    timeout: Timeout,
    deadline: Deadline,
) -> Flow[None]:
    detail = _json_object(event.data).get("detail")
    if detail is None:
        detail = event.data
    current = yield from _fetch_or_keep(core, prediction, timeout, deadline)
    raise failure(current, PredictionStatus.FAILED, str(detail))  # type: ignore[misc]


def _poll(
    core: ClientCore,
    prediction: Prediction,
    deadline: Deadline,
    timeout: Timeout,
    out_count: int,
    out_chars: int,
) -> Flow[Prediction]:
    """Poll until the prediction is terminal, emitting the output not emitted yet."""
    sent = [out_count, out_chars]

    def emit_new(current: Prediction) -> Iterator[Action]:
        output = current.output
        if isinstance(output, list):
            for item in output[sent[0] :]:
                data = item if isinstance(item, str) else _encode.encode(item).decode()
                yield Emit(ServerSentEvent("output", data))
            sent[0] = max(sent[0], len(output))
        elif isinstance(output, str):
            if len(output) > sent[1]:
                yield Emit(ServerSentEvent("output", output[sent[1] :]))
                sent[1] = len(output)
        elif output is not None and current.status == PredictionStatus.SUCCEEDED and not sent[0]:
            yield Emit(ServerSentEvent("output", _encode.encode(output).decode()))
            sent[0] = 1

    _, current = yield from poll_flow(
        prediction_fetch(core, prediction.id, deadline, timeout),
        interval=core.poll_interval,
        deadline=deadline,
        on_state=emit_new,
    )
    return finish(current)
