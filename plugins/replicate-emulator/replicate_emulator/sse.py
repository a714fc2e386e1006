"""A prediction's Server-Sent Events stream (``urls.stream``).

Events are ``output`` (a token, or an output as JSON when it is not a string), ``logs``,
``error`` (``{"detail": ...}``) and ``done`` (``{}``, or ``{"reason": "canceled" | "error" |
"aborted"}``), each with an id ``<created unix seconds>:<index>`` so that a client reconnecting
with ``Last-Event-ID`` gets only the events after it. The body is produced while the client
reads it, waiting on the runner's condition for new events, and ends after ``done``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from .runner import TERMINAL, Run
from .wire import EmuResponse

__all__ = ["event_bytes", "stream_response"]

#: A comment line sent when nothing happened for this long, so idle connections stay open.
KEEPALIVE = 15.0


def event_bytes(event: str, data: str, event_id: str | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def _resume_index(last_event_id: str | None) -> int:
    """The index of the first event to send after ``Last-Event-ID``."""
    if not last_event_id:
        return 0
    _, _, index = last_event_id.strip().rpartition(":")
    try:
        return int(index) + 1
    except ValueError:
        return 0


def _stored_events(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The events of a finished prediction this process did not run (kept in state only)."""
    encode = msgspec.json.encode
    events: list[tuple[str, str]] = []
    output = doc.get("output")
    if isinstance(output, list) and doc.get("urls", {}).get("stream"):
        for item in output:
            events.append(("output", item if isinstance(item, str) else encode(item).decode()))
    elif output is not None:
        events.append(("output", output if isinstance(output, str) else encode(output).decode()))
    status = doc.get("status")
    if doc.get("error"):
        events.append(("error", encode({"detail": doc["error"]}).decode()))
    reason = {"succeeded": None, "failed": "error"}.get(str(status), status)
    events.append(("done", encode({"reason": reason} if reason else {}).decode()))
    return events


def stream_response(
    emu: Any, doc: dict[str, Any], run: Run | None, last_event_id: str | None
) -> EmuResponse:
    """The ``text/event-stream`` answer for one prediction."""
    start = _resume_index(last_event_id)
    created = int(run.created) if run is not None else 0
    headers = [
        ("Content-Type", "text/event-stream"),
        ("Cache-Control", "no-store"),
        ("X-Accel-Buffering", "no"),
    ]
    if run is None:
        if doc.get("status") not in TERMINAL:
            events: list[tuple[str, str]] = [("done", '{"reason": "error"}')]
        else:
            events = _stored_events(doc)
        body = b"".join(
            event_bytes(name, data, f"{created}:{i}")
            for i, (name, data) in enumerate(events)
            if i >= start
        )
        return EmuResponse(200, headers, iter([body]))
    return EmuResponse(200, headers, _follow(emu, run, start, created))


def _follow(emu: Any, run: Run, index: int, created: int) -> Iterator[bytes]:
    runner = emu.runner
    cond = runner.cond
    yield b"retry: 1000\n\n"
    while True:
        with cond:
            if len(run.events) <= index and not runner.closed:
                cond.wait_for(
                    lambda at=index: len(run.events) > at or runner.closed,
                    KEEPALIVE,
                )
            batch = run.events[index:]
            closed = runner.closed
        if not batch:
            if closed:
                return
            yield b": keep-alive\n\n"
            continue
        chunk = []
        for name, data in batch:
            chunk.append(event_bytes(name, data, f"{created}:{index}"))
            index += 1
            if name == "done":
                yield b"".join(chunk)
                return
        yield b"".join(chunk)
