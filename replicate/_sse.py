"""An incremental, sans-I/O Server-Sent Events parser.

Feed it the bytes of a ``text/event-stream`` response as they arrive, in chunks of any size split
at any byte, and it returns the events each chunk completes::

    decoder = SSEDecoder()
    for chunk in response_chunks:
        for event in decoder.feed(chunk):
            ...
    decoder.flush()  # end of stream

It follows the WHATWG HTML "event stream interpretation" rules: CR, LF and CRLF line endings
(also a CRLF split between two chunks), one leading UTF-8 BOM dropped, comment lines (``:...``)
ignored, a field name without a colon taken with an empty value, one space after the colon
stripped, ``data`` lines joined with ``\\n``, ``id`` ignored when it contains NUL, ``retry`` only
when all ASCII digits, unknown fields ignored, an event with no ``data`` line not dispatched,
and an unfinished event at end of stream discarded. Invalid UTF-8 becomes U+FFFD.

How it is fast: the stream is cut at blank lines (``\\n\\n``) with ``bytes.rfind`` over the
buffer; everything before the last cut is decoded in one call and split into events and lines
with ``str.split``. Because every cut falls at a blank line, no per-event state is ever carried
between two calls to :meth:`SSEDecoder.feed`. CR line endings are rare; a chunk that contains a
CR is normalised to LF first (a CR at the end of a chunk is remembered so that an LF starting
the next chunk is not counted as a second line ending).
"""

from __future__ import annotations

import msgspec

__all__ = ["EventType", "SSEDecoder", "ServerSentEvent"]


class EventType:
    """The event names Replicate's stream endpoint sends (plain strings, not an enum).

    Any other name is passed through unchanged in :attr:`ServerSentEvent.event`.
    """

    #: a piece of output: a token of text, or the URL of a file
    OUTPUT = "output"
    #: a piece of the prediction's logs
    LOGS = "logs"
    #: the prediction failed; ``data`` is JSON such as ``{"detail": "..."}``
    ERROR = "error"
    #: the stream is over; ``data`` is JSON: ``{}``, or
    #: ``{"reason": "canceled"|"aborted"|"error"}``
    DONE = "done"
    #: the SSE default when an event has no ``event:`` field
    MESSAGE = "message"


class ServerSentEvent(msgspec.Struct, frozen=True, gc=False):
    """One dispatched event.

    ``id`` is the stream's last event id at the time the event was dispatched (it persists from
    earlier events, as the SSE spec says); None when no id has been set (or it was reset with an
    empty ``id:`` line). ``retry`` is the reconnection time in milliseconds if this event's block
    carried a valid ``retry:`` field, else None.

    ``str(event)`` is the data of an ``output`` event and ``""`` for every other event, as in the
    official SDKs, so ``print(str(event), end="")`` prints the output alone; ``event.event`` and
    ``event.data`` still give logs, errors and the rest.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def __str__(self) -> str:
        return self.data if self.event == "output" else ""


_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Incremental SSE parser: :meth:`feed` bytes, get the events each chunk completes.

    ``last_event_id`` (None when unset) and ``retry`` (milliseconds, None until the server sends
    one) keep the latest values seen, for use when reconnecting (``Last-Event-ID`` header).

    One decoder per stream: :meth:`flush` ends the stream and resets the buffer, keeping
    ``last_event_id`` and ``retry``, so the same decoder may then read a reconnected stream.
    """

    __slots__ = ("_at_start", "_buf", "_last_id", "_skip_lf", "retry")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._last_id = ""
        self._skip_lf = False  # the previous chunk ended with CR: drop an LF that starts the next
        self._at_start = True  # nothing but (part of) a BOM seen yet
        #: the latest valid ``retry`` value in milliseconds, None until the server sends one
        self.retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id buffer; None when it is empty (never set, or reset by ``id:``)."""
        return self._last_id or None

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Add bytes of the stream; return the events they complete (often none, or several)."""
        if type(chunk) is not bytes:
            chunk = bytes(chunk)
        if not chunk:
            return []
        if self._skip_lf or self._at_start or 13 in chunk:
            chunk = self._prepare(chunk)
        buf = self._buf
        if buf:
            start = len(buf) - 1  # a blank line may start with the buffer's last byte
            buf += chunk
            end = buf.rfind(b"\n\n", start)
            if end < 0:
                return []
            text = buf[: end + 2].decode("utf-8", "replace")
            del buf[: end + 2]
        else:
            end = chunk.rfind(b"\n\n")
            if end < 0:
                buf += chunk
                return []
            end += 2
            if end == len(chunk):  # the usual case: the chunk ends with an event
                text = chunk.decode("utf-8", "replace")
            else:
                text = chunk[:end].decode("utf-8", "replace")
                buf += chunk[end:]
        return self._parse(text)

    def _prepare(self, chunk: bytes) -> bytes:
        """The slow start of :meth:`feed`: CR line endings, and a BOM at the start of the stream."""
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 10:  # the LF of a CRLF split between two chunks
                chunk = chunk[1:]
        if 13 in chunk:
            self._skip_lf = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._at_start and chunk:
            # Until 3 bytes have arrived, the buffer holds nothing but the start of a BOM.
            head = bytes(self._buf) + chunk
            self._buf.clear()
            if len(head) < 3 and _BOM.startswith(head):
                self._buf += head
                return b""
            self._at_start = False
            chunk = head[3:] if head.startswith(_BOM) else head
        return chunk

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: return the events still to dispatch, which is always none.

        The SSE spec discards an event that is not terminated by a blank line before the end of
        the stream (a truncated event may be incomplete). Its complete ``id:`` and ``retry:``
        lines still update :attr:`last_event_id` and :attr:`retry`, as they would in a browser.
        The decoder is then reset for a new (reconnected) stream.
        """
        buf = self._buf
        cut = buf.rfind(b"\n")
        if cut >= 0:  # (while _at_start, the buffer holds at most 2 bytes of a BOM: no LF)
            # Only whole lines count, for their side effects (id, retry). The buffer holds no
            # blank line (a leading LF at most, which dispatches nothing) and the final LF is
            # left out, so no event comes out.
            self._parse(buf[:cut].decode("utf-8", "replace"))
        self._buf = bytearray()
        self._skip_lf = False
        self._at_start = True
        return []

    def _parse(self, text: str) -> list[ServerSentEvent]:
        """The events dispatched by the blank lines in ``text``.

        ``text`` starts at the start of an event (no state is carried in) and holds whole lines:
        from :meth:`feed` it ends with a blank line (``...\\n\\n``), from :meth:`flush` it is
        the unfinished event's complete lines without the final LF. Split at LF, an empty string
        is a blank line, which dispatches the event built so far (the one after the final LF of
        ``...\\n\\n`` finds nothing to dispatch); an event unfinished at the end is dropped.
        """
        events: list[ServerSentEvent] = []
        append = events.append
        last_id = self._last_id
        sse = ServerSentEvent
        event = ""
        data: str | None = None
        more: list[str] | None = None  # all the data lines, once there are two or more
        retry: int | None = None
        for line in text.split("\n"):
            if not line:  # blank line: dispatch
                if data is not None:
                    if more is not None:
                        data = "\n".join(more)
                        more = None
                    append(sse(event or "message", data, last_id or None, retry))
                    data = None
                event = ""
                retry = None
                continue
            # Fast path: "name: value" with one of the common names. The common names contain
            # no colon, so when one matches, the ": " found is the line's first colon.
            name, _, value = line.partition(": ")
            if name == "data":
                if data is None:
                    data = value
                elif more is None:
                    more = [data, value]
                else:
                    more.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            else:
                # Careful path: no space after the colon, no colon at all, a comment (empty
                # name), "retry", or an unknown field (ignored).
                name, _, value = line.partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    if data is None:
                        data = value
                    elif more is None:
                        more = [data, value]
                    else:
                        more.append(value)
                elif name == "event":
                    event = value
                elif name == "id":
                    if "\0" not in value:
                        last_id = value
                elif name == "retry" and value.isdigit() and value.isascii():
                    retry = self.retry = int(value)
        self._last_id = last_id
        return events
