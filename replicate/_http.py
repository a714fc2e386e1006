"""HTTP messages and the transport protocol: what every transport receives and returns.

A transport only moves bytes. It does not retry, follow redirects, authenticate or decode; the
core does all of that the same way for every transport. Writing one takes a ``send`` and a
``close`` (see :class:`SyncTransport`), or for ``asyncio`` an ``async`` ``send`` and an
``aclose`` (see :class:`AsyncTransport`): nothing from this package but the types named here.

Transports and streamed bodies come in two colours, as in httpx: a transport returns a streamed
body as a :class:`SyncByteStream` or an :class:`AsyncByteStream`, and a :class:`Response` reads
it with ``read``/``iter_bytes``/``close`` or with ``aread``/``aiter_bytes``/``aclose`` to match.
A streamed body is read only when one of those is called, never by ``Response.content``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, MutableMapping
from time import perf_counter
from types import EllipsisType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:
    import datetime

    from .exceptions import APIConnectionError

__all__ = [
    "AsyncByteStream",
    "AsyncTransport",
    "Body",
    "Headers",
    "Request",
    "Response",
    "SyncByteStream",
    "SyncTransport",
    "Timeout",
    "connection_error",
]

#: What a request body may be: bytes, a binary file, or an iterable of byte chunks. A resend (a
#: retry, a redirect, a 401 refresh) rewinds a seekable file to where it started; an iterable
#: that is not its own iterator (a list, or an object whose ``__iter__`` starts over) starts
#: over. A one-shot iterator or a file that cannot seek is sent once only (see ``_send``).
Body = bytes | BinaryIO | Iterable[bytes] | None

#: The largest read of a download (``Response._prefer_large_reads``): what a bare urllib3 loop
#: streams a large file with.
LARGE_READ = 1 << 20
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "QUERY"})


class Timeout:
    """Per-request timeouts in seconds: ``connect`` to open a connection, ``read`` between bytes.

    ``None`` means no limit. ``Timeout(10)`` sets both.

    ``deadline`` (set by the SDK for the requests of a ``run(timeout=...)`` call, None otherwise)
    is a :func:`time.monotonic` reading by which the whole exchange must be over: connecting,
    sending the body, and receiving the status, the headers and (unless streamed) the body. The
    per-operation ``connect`` and ``read`` timeouts alone cannot promise that: a server that
    reads an upload slowly, or sends its answer a byte at a time, stays within them. A transport
    that cannot end an exchange at its deadline still gets ``connect`` and ``read`` cut to fit it.
    """

    __slots__ = ("connect", "deadline", "read")

    def __init__(
        self,
        timeout: float | Timeout | EllipsisType | None = ...,
        *,
        connect: float | EllipsisType | None = ...,
        read: float | EllipsisType | None = ...,
        deadline: float | None = None,
    ) -> None:
        if isinstance(timeout, Timeout):
            base_connect: float | None = timeout.connect
            base_read: float | None = timeout.read
        elif timeout is ...:
            base_connect, base_read = DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
        else:
            base_connect = base_read = _check_seconds("timeout", timeout)
        self.connect: float | None = (
            base_connect if connect is ... else _check_seconds("connect", connect)
        )
        self.read: float | None = base_read if read is ... else _check_seconds("read", read)
        self.deadline = deadline

    def __repr__(self) -> str:
        end = "" if self.deadline is None else f", deadline={self.deadline!r}"
        return f"Timeout(connect={self.connect!r}, read={self.read!r}{end})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Timeout)
            and other.connect == self.connect
            and other.read == self.read
            and other.deadline == self.deadline
        )

    def __hash__(self) -> int:
        return hash((self.connect, self.read, self.deadline))

    def __getstate__(self) -> tuple[float | None, float | None]:
        # A deadline is a reading of this process's monotonic clock: meaningless in another.
        return (self.connect, self.read)

    def __setstate__(self, state: tuple[float | None, float | None]) -> None:
        self.connect, self.read = state
        self.deadline = None

    def with_read_at_least(self, seconds: float) -> Timeout:
        """A copy whose read timeout is at least ``seconds`` (None stays unlimited)."""
        if self.read is None or self.read >= seconds:
            return self
        return Timeout(connect=self.connect, read=seconds, deadline=self.deadline)


#: The API holds a sync-mode (``Prefer: wait``) request open for up to 60 s; a sync-mode request
#: gets its read timeout extended past its wait window automatically (see ``_send``).
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0

#: How much of an error response's body (status 400 and up) is read: enough for any error
#: message, while a server answering with gigabytes cannot fill the memory. The rest is never
#: read: its connection is closed instead of reused.
MAX_ERROR_BODY = 1 << 20


def _check_seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if value < 0 or value != value:
        raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
    return float(value)


class Headers(MutableMapping[str, str]):
    """A case-insensitive header mapping that keeps the case it was given for sending."""

    __slots__ = ("_store",)

    def __init__(self, data: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        self._store: dict[str, tuple[str, str]] = {}
        if data:
            items = data.items() if isinstance(data, Mapping) else data
            for k, v in items:
                self._store[k.lower()] = (k, v)

    def __getitem__(self, key: str) -> str:
        return self._store[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        self._store[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._store

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: str, default: Any = None) -> Any:
        item = self._store.get(key.lower())
        return default if item is None else item[1]

    def copy(self) -> Headers:
        new = Headers.__new__(Headers)
        new._store = self._store.copy()
        return new

    def update(self, other: Any = (), /, **kwargs: str) -> None:
        """As ``MutableMapping.update``; a dict or Headers (what every request's credentials and
        defaults come as) without the generic mixin's per-item checks."""
        store = self._store
        if isinstance(other, Headers):
            store.update(other._store)
        elif type(other) is dict:
            for k, v in other.items():
                store[k.lower()] = (k, v)
        else:
            super().update(other)
        for k, v in kwargs.items():
            store[k.lower()] = (k, v)

    def to_dict(self) -> dict[str, str]:
        """Plain ``{name: value}`` in the case they were set, for handing to a transport."""
        return dict(self._store.values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return {k.lower(): v for k, v in other.items()} == {
                k: v for k, (_, v) in self._store.items()
            }
        return NotImplemented

    def __repr__(self) -> str:
        from ._redact import redact_headers

        return f"Headers({redact_headers(self)!r})"


class Request:
    """One HTTP request as the core hands it to a transport.

    ``extensions`` is a free dict for plugins and transports to pass per-request data along.
    """

    __slots__ = ("content", "extensions", "headers", "idempotent", "method", "url")

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: Headers | Mapping[str, str] | None = None,
        content: Body = None,
        idempotent: bool | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.method = method.upper()
        self.url = url
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.content = content
        #: Whether sending it twice is harmless. None: decided by the method (POST and PATCH are
        #: not idempotent, everything else is).
        self.idempotent = self.method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        self.extensions = {} if extensions is None else extensions

    @staticmethod
    def _built(
        method: str, url: str, headers: Headers, content: Body, idempotent: bool | None
    ) -> Request:
        """``Request(...)`` for a method already in upper case and a Headers of its own, without
        the checks and conversions (every call's request is made here)."""
        new = Request.__new__(Request)
        new.method, new.url, new.headers, new.content = method, url, headers, content
        new.idempotent = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        new.extensions = {}
        return new

    def copy(self, **changes: Any) -> Request:
        new = Request.__new__(Request)
        if not changes:  # every authorised send makes one of these
            new.method, new.url, new.content = self.method, self.url, self.content
            new.headers = self.headers.copy()
            new.idempotent, new.extensions = self.idempotent, self.extensions
            return new
        new.method = changes.get("method", self.method)
        new.url = changes.get("url", self.url)
        new.headers = changes["headers"] if "headers" in changes else self.headers.copy()
        new.content = changes.get("content", self.content)
        new.idempotent = changes.get("idempotent", self.idempotent)
        new.extensions = changes.get("extensions", self.extensions)
        return new

    def _with_headers(self, headers: Mapping[str, str]) -> Request:
        """A copy with ``headers`` set on a copy of its own headers (a send's credentials)."""
        new = Request.__new__(Request)
        new.method, new.url, new.content = self.method, self.url, self.content
        new.idempotent, new.extensions = self.idempotent, self.extensions
        mine = new.headers = Headers.__new__(Headers)
        store = mine._store = self.headers._store.copy()
        if type(headers) is dict:
            for k, v in headers.items():
                store[k.lower()] = (k, v)
        else:
            mine.update(headers)
        return new

    def __repr__(self) -> str:
        from ._redact import redact_url

        return f"<Request {self.method} {redact_url(self.url)}>"

    def __reduce__(self) -> Any:
        # Headers may carry a token: a request pickles without them.
        return (Request, (self.method, self.url))


@runtime_checkable
class SyncByteStream(Protocol):
    """A response body that has not been read yet (``stream=True``): what a
    :class:`SyncTransport` passes as ``Response(stream=...)``."""

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Yield the body in chunks as they arrive, decoded of any Content-Encoding."""
        ...

    def close(self) -> None:
        """Release the connection; called once the body is read or abandoned."""
        ...


@runtime_checkable
class AsyncByteStream(Protocol):
    """A response body that has not been read yet (``stream=True``), read with ``await``: what
    an :class:`AsyncTransport` passes as ``Response(stream=...)``.

    The twin of :class:`SyncByteStream`. One object may implement both (as httpx's streams
    can); a :class:`Response` then reads it with either family of methods.
    """

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Yield the body in chunks as they arrive, decoded of any Content-Encoding (an
        ``async def`` with ``yield`` is the usual way to write it)."""
        ...

    async def aclose(self) -> None:
        """Release the connection; awaited once the body is read or abandoned."""
        ...


class Response:
    """An HTTP response: status, case-insensitive headers and a body read now or streamed.

    The raw body stays reachable (``content``, ``text``, ``json()``) even after it is decoded into
    a struct, so fields a struct doesn't declare are never lost.

    A streamed body (``stream=True``) is a :class:`SyncByteStream` or an
    :class:`AsyncByteStream`, read only when asked: whole with ``read()`` (``await aread()``), in
    chunks with ``iter_bytes()`` (``aiter_bytes()``), or released unread with ``close()``
    (``await aclose()``). Until it has been read, ``content``, ``text``, ``json()`` and
    ``parse()`` raise :class:`~replicate.ResponseNotRead`: nothing waits on the network behind
    the caller's back. A method of the other colour than the stream (``read()`` on an async
    stream, ``aread()`` on a sync one) raises TypeError naming the one to call. Once the body
    is read, or when there was no stream, every method of either colour works from memory.

    A transport passes ``http_version`` (the protocol the server answered with); ``elapsed``
    and ``retries_taken`` are recorded by the core as it sends (see their docs).
    """

    __slots__ = (
        "_achunks",
        "_chunks",
        "_content",
        "_elapsed",
        "_on_end",
        "_started",
        "_stream",
        "headers",
        "http_version",
        "request",
        "retries_taken",
        "status_code",
    )

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        request: Request | None = None,
        http_version: str = "HTTP/1.1",
    ) -> None:
        self.status_code = status_code
        #: Any case-insensitive mapping (urllib3's HTTPHeaderDict, httpx.Headers, :class:`Headers`).
        self.headers = headers
        self._content = content
        self._stream: Any = stream
        #: The chunks ``next_chunk()`` / ``anext_chunk()`` are reading, once started.
        self._chunks: Iterator[bytes] | None = None
        self._achunks: AsyncIterator[bytes] | None = None
        self.request = request
        #: The protocol of the exchange as httpx spells it: "HTTP/1.0", "HTTP/1.1", "HTTP/2".
        self.http_version = http_version
        #: How many retries the send flow made before this response: 0 when the first attempt
        #: got it. Redirects and a 401 answered by refreshed credentials are not retries.
        self.retries_taken = 0
        #: perf_counter() when the request was handed to the transport, while the body of a
        #: streamed response is still open; None otherwise.
        self._started: float | None = None
        #: Seconds from sending to the end of the response, once it has ended.
        self._elapsed: float | None = None
        #: Called once as a streamed body ends, ``_on_end(response, complete, error)``: set by
        #: the send flow only when the client has observers (``response_end`` events).
        self._on_end: Any = None

    def _sent_at(self, started: float) -> None:
        """Start the ``elapsed`` clock at ``started`` (a ``perf_counter()`` reading taken just
        before the transport was called); the driver calls it as ``send`` returns. A body read
        already ends the clock now, a streamed one when it is read, streamed to its end or
        closed."""
        if self._stream is None:
            self._elapsed = perf_counter() - started
        else:
            self._started = started

    def _end_clock(self, complete: bool = False, error: BaseException | None = None) -> None:
        """Stop the clock of a streamed body as it ends: read to its end (``complete``),
        failed while read (``error``), or closed before its end (neither)."""
        started = self._started
        if started is not None:
            self._elapsed = perf_counter() - started
            self._started = None
            on_end = self._on_end
            if on_end is not None:
                self._on_end = None
                on_end(self, complete, error)

    @property
    def elapsed(self) -> datetime.timedelta:
        """The time from sending the request to the end of the response, as httpx defines it:
        to the end of the body when it is read (so as ``send`` returns, unless streamed), or to
        ``close()`` for a streamed body closed early. For a streamed response that is still
        open it raises RuntimeError, as httpx does; likewise for a response that no client sent
        (built by hand, or unpickled from one that had not been timed).

        Only the final exchange counts: not the retries or redirects before it.
        """
        seconds = self._elapsed
        if seconds is None:
            if self._started is not None:
                raise RuntimeError(
                    "'.elapsed' may only be accessed after the response has been read or closed."
                )
            raise RuntimeError("this response was not sent by a client, so it was not timed")
        from datetime import timedelta

        return timedelta(seconds=seconds)

    @property
    def content(self) -> bytes:
        """The whole body. A streamed one must be read first (``read()`` or ``await aread()``):
        until then this raises :class:`~replicate.ResponseNotRead`."""
        content = self._content
        if content is None:
            if self._stream is not None:
                raise _not_read(self._stream)
            return b""  # no body, or one streamed away (``iter_bytes``) or closed unread
        return content

    def read(self) -> bytes:
        """The whole body: a streamed one is read to its end on the first call (its connection
        then released), and kept. TypeError for an async stream: ``await aread()`` it."""
        stream = self._unread("read", "iter_bytes")
        if stream is None:
            return self._content  # type: ignore[return-value]
        error: BaseException | None = None
        try:
            self._content = b"".join(stream.iter_bytes())
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._detach(error)
            stream.close()
        return self._content

    async def aread(self) -> bytes:
        """The whole body: a streamed one is read to its end on the first call (its connection
        then released), and kept. TypeError for a sync stream: ``read()`` it."""
        stream = self._unread("aread", "aiter_bytes")
        if stream is None:
            return self._content  # type: ignore[return-value]
        error: BaseException | None = None
        try:
            self._content = b"".join([chunk async for chunk in stream.aiter_bytes()])
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._detach(error)
            await stream.aclose()
        return self._content

    def _unread(self, method: str, reader: str) -> Any:
        """The stream ``method`` is to read with ``reader``; None when the body is in
        ``_content`` already (b"" if there was none)."""
        if self._content is not None:
            return None
        stream = self._stream
        if stream is None:
            self._content = b""
            return None
        if not hasattr(stream, reader):
            raise _wrong_colour(method, sync=reader == "aiter_bytes")
        return stream

    def _detach(self, error: BaseException | None) -> None:
        """The stream is done with (read, or its reading failed with ``error``): stop the
        clock."""
        self._stream = None
        self._end_clock(error is None, error)

    @property
    def is_stream_consumed(self) -> bool:
        """Whether no stream is attached any more: there was none, or it was read, iterated
        (from the first chunk on) or closed."""
        return self._stream is None

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:  # an unknown charset= from the server: fall back to UTF-8
            return self.content.decode("utf-8", errors="replace")

    @property
    def encoding(self) -> str:
        ctype = self.headers.get("content-type") or ""
        for part in ctype.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    def json(self) -> Any:
        """The body decoded as JSON into plain Python values."""
        from ._decode import decode_json

        return decode_json(self)

    def parse(self, type: Any) -> Any:
        """The body decoded straight into ``type`` (a msgspec Struct, list[...], dict, ...).

        Raises :class:`~replicate.APIResponseValidationError` when it does not fit.
        """
        from ._decode import decode_into

        return decode_into(self, type)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in chunks as they arrive (streamed responses), or in one piece; the
        connection is released at the end. TypeError for an async stream: use
        ``aiter_bytes()``."""
        stream = self._stream
        if stream is not None and not hasattr(stream, "iter_bytes"):
            raise _wrong_colour("iter_bytes", sync=False)
        return self._iter_bytes(chunk_size)

    def _iter_bytes(self, chunk_size: int | None) -> Iterator[bytes]:
        stream, kept = self._take_stream()
        if stream is None:
            yield from kept
            return
        complete = False
        error: BaseException | None = None
        try:
            yield from stream.iter_bytes(chunk_size)
            complete = True
        except GeneratorExit:  # closed (or abandoned) before the end
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end_clock(complete, error)
            stream.close()

    def _take_stream(self) -> tuple[Any, tuple[bytes, ...]]:
        """For iterating the body: the stream, detached (the body then counts as streamed
        away, ``content`` b""), or None and the body kept in memory, as one chunk if any."""
        stream = self._stream
        if stream is None:
            return None, (self._content,) if self._content else ()
        self._stream = None
        self._content = b""
        return stream, ()

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive (streamed responses), or in one piece; the
        connection is released at the end. TypeError for a sync stream: use ``iter_bytes()``."""
        stream = self._stream
        if stream is not None and not hasattr(stream, "aiter_bytes"):
            raise _wrong_colour("aiter_bytes", sync=True)
        return self._aiter_bytes(chunk_size)

    async def _aiter_bytes(self, chunk_size: int | None) -> AsyncIterator[bytes]:
        stream, kept = self._take_stream()
        for chunk in kept if stream is None else ():
            yield chunk
        if stream is not None:
            complete = False
            error: BaseException | None = None
            try:
                async for chunk in stream.aiter_bytes(chunk_size):
                    yield chunk
                complete = True
            except GeneratorExit:  # closed (or abandoned) before the end
                raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._end_clock(complete, error)
                await stream.aclose()

    def _prefer_large_reads(self) -> None:
        """Let the transport read this streamed body in pieces of up to ``LARGE_READ`` as they
        arrive (a download to disk; a transport's stream offers it with a ``max_read``)."""
        stream = self._stream
        if stream is not None and hasattr(stream, "max_read"):
            stream.max_read = LARGE_READ

    def next_chunk(self) -> bytes:
        """The next piece of a streamed body as soon as it arrives; b"" once it is over.

        For incremental parsers (SSE) driven one read at a time.
        """
        chunks = self._chunks
        if chunks is None:
            stream = self._stream
            if stream is not None and not hasattr(stream, "iter_bytes"):
                raise _wrong_colour("next_chunk", sync=False)
            chunks = self._chunks = self.iter_bytes()
        return next(chunks, b"")

    async def anext_chunk(self) -> bytes:
        """Like :meth:`next_chunk`, for an async stream."""
        chunks = self._achunks
        if chunks is None:
            stream = self._stream
            if stream is not None and not hasattr(stream, "aiter_bytes"):
                raise _wrong_colour("anext_chunk", sync=True)
            chunks = self._achunks = self.aiter_bytes()
        return await anext(chunks, b"")

    def close(self) -> None:
        """Release the connection of a streamed response without reading the rest; nothing to
        do once it is read or closed. TypeError for an async stream: ``await aclose()`` it."""
        chunks, stream = self._take_for_close("close", started=self._achunks, reader="iter_bytes")
        self._chunks = None
        if chunks is not None:  # next_chunk() started reading: its iterator holds the stream
            chunks.close()
        if stream is not None:
            stream.close()

    async def aclose(self) -> None:
        """Release the connection of a streamed response without reading the rest; nothing to
        do once it is read or closed. TypeError for a sync stream: ``close()`` it."""
        chunks, stream = self._take_for_close("aclose", started=self._chunks, reader="aiter_bytes")
        self._achunks = None
        if chunks is not None:  # anext_chunk() started reading: its iterator holds the stream
            await chunks.aclose()
        if stream is not None:
            await stream.aclose()

    def _take_for_close(self, method: str, *, started: object, reader: str) -> tuple[Any, Any]:
        """Detach what ``method`` (``close`` or ``aclose``) is to close: the chunk iterator of
        its colour, if reading started, and the stream. TypeError when the other colour's
        methods are the ones to use (``started``: its chunk iterator)."""
        stream = self._stream
        if started is not None or (stream is not None and not hasattr(stream, reader)):
            raise _wrong_colour(method, sync=reader == "aiter_bytes")
        chunks = self._chunks if reader == "iter_bytes" else self._achunks
        self._stream = None
        if stream is not None:
            self._end_clock()
        return chunks, stream

    def _release(self) -> None:
        """Close the stream now if that needs no ``await``: what a flow does when its consumer
        stops iterating (it may yield no more actions). A stream that must be awaited shut
        (an async one, or one an async driver started reading) is left to that driver, which
        closes what the flow leaves open."""
        stream = self._stream
        if self._achunks is None and (stream is None or hasattr(stream, "iter_bytes")):
            self.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def __reduce__(self) -> Any:
        # A streamed body must have been read (ResponseNotRead otherwise): a connection does
        # not pickle, and pickling does not read it behind the caller's back.
        content = self.content
        return (
            _rebuild_response,
            (
                self.status_code,
                dict(self.headers.items()),
                content,
                self.http_version,
                self.retries_taken,
                self._elapsed,
            ),
        )


#: Each body method of a Response with its twin of the other colour, and how a call reads.
_COLOUR_TWINS = {
    "read": ("aread", "await response.aread()"),
    "iter_bytes": ("aiter_bytes", "async for chunk in response.aiter_bytes()"),
    "next_chunk": ("anext_chunk", "await response.anext_chunk()"),
    "close": ("aclose", "await response.aclose()"),
    "aread": ("read", "response.read()"),
    "aiter_bytes": ("iter_bytes", "for chunk in response.iter_bytes()"),
    "anext_chunk": ("next_chunk", "response.next_chunk()"),
    "aclose": ("close", "response.close()"),
}


def _wrong_colour(method: str, *, sync: bool) -> TypeError:
    """The error for ``method`` called on a response whose stream is of the other colour
    (``sync``: the stream is a sync one, so an async method was called)."""
    right, how = _COLOUR_TWINS[method]
    kind = "a sync stream (SyncByteStream)" if sync else "an async stream (AsyncByteStream)"
    return TypeError(
        f"{method}() cannot be used on this response: its body is {kind}; use {right}() "
        f"instead ({how})"
    )


def _not_read(stream: object) -> Exception:
    from .exceptions import ResponseNotRead

    if hasattr(stream, "iter_bytes"):
        how = "call response.read() first (or iterate response.iter_bytes())"
    else:
        how = "call await response.aread() first (or iterate response.aiter_bytes())"
    return ResponseNotRead(f"the body of this streamed response has not been read: {how}")


def _rebuild_response(
    status: int,
    headers: dict[str, str],
    content: bytes,
    http_version: str = "HTTP/1.1",
    retries_taken: int = 0,
    elapsed: float | None = None,
) -> Response:
    # The defaults rebuild pickles made before the last three were recorded.
    response = Response(
        status, headers=Headers(headers), content=content, http_version=http_version
    )
    response.retries_taken = retries_taken
    response._elapsed = elapsed
    return response


@runtime_checkable
class SyncTransport(Protocol):
    """What a synchronous transport implements: the contract every transport is held to, and
    which :class:`replicate.testing.contract.SyncTransportContract` checks on loopback servers
    (subclass it, define ``make_transport(config)``, run pytest).

    ``send`` performs exactly one HTTP exchange:

    - it sends ``request.method`` to ``request.url`` with ``request.headers`` and
      ``request.content`` as given (the core has already added auth, user agent, content type);
    - it does not follow redirects and does not retry: a 3xx or 5xx is returned as a Response;
    - with ``stream=False`` it reads the whole body into ``Response.content`` (of an error
      status, 400 and up, it may keep only the first :data:`MAX_ERROR_BODY` bytes, closing the
      connection on the rest, as urllib3's does); with ``stream=True`` it returns at once
      with a :class:`SyncByteStream` as ``stream`` that reads the body as it arrives and
      releases the connection on ``close()``;
    - it passes the protocol the server answered with as ``Response(http_version=...)``:
      "HTTP/1.0", "HTTP/1.1" or "HTTP/2", as httpx spells them (left out, it is "HTTP/1.1").
      It sets nothing else about the exchange: the core times it (``Response.elapsed``) and
      counts its retries (``Response.retries_taken``);
    - it applies ``timeout.connect`` to opening the connection and ``timeout.read`` to each wait
      for bytes; when ``timeout.deadline`` is set and ``stream`` is False, it should end the whole
      exchange by then (raising :class:`~replicate.APITimeoutError`, ``request_sent=True`` once
      anything may have been sent), never returning a response it was cut off from. A transport
      that cannot may ignore it: the connect and read timeouts are already cut to fit;
    - on failure it raises :class:`~replicate.APIConnectionError` (or
      :class:`~replicate.APITimeoutError` for a timeout), with the library's exception chained as
      ``__cause__``, and sets ``request_sent=False`` only when the server surely never saw the
      request (DNS failure, refused connection, connect timeout, TLS handshake failure). The core's
      retry policy depends on that flag: a create request is resent only when it is False.
      Programming errors (TypeError and the like) propagate unchanged.
      :func:`replicate.connection_error` builds either error.

    The request body, ``request.content``, is a :data:`Body`: bytes, a binary file (sent from
    where it stands to its end) or an iterable of byte chunks, sent as it is iterated, framed
    with ``Transfer-Encoding: chunked`` unless the request carries a ``Content-Length`` (the core
    sets one whenever it knows the size: then exactly that many bytes, unchunked).

    The response body:

    - a body shorter than its ``Content-Length`` (the connection closed early) is an error,
      never a silent short read: :class:`~replicate.APIConnectionError` with
      ``request_sent=True``, raised by ``send`` when ``stream`` is False, and by the stream's
      ``iter_bytes`` when it is True;
    - a streamed body that fails while it is read (a reset, a read timeout, a short body, bad
      compressed data) raises from ``iter_bytes``: APIConnectionError, or APITimeoutError for a
      timeout, ``request_sent=True``, the library's exception chained; never a library
      exception of its own, and never a clean early end;
    - ``Content-Encoding`` is the transport's to decode: ``content`` and ``iter_bytes`` give the
      decoded bytes (gzip and deflate at least, and whatever else it asks for), the headers are
      passed on as received. The core sends no ``Accept-Encoding`` of its own (a caller's is
      sent as given): a transport may ask for compression (httpx and aiohttp ask for
      ``gzip, deflate``; urllib3 sends ``identity``) as long as it decodes what comes back.

    Headers: ``Response.headers`` is a case-insensitive mapping (urllib3's ``HTTPHeaderDict``,
    ``httpx.Headers``, :class:`Headers`), and a header received more than once reads as its
    values joined with ``", "`` in the order received, as urllib3, httpx and requests give it
    (aiohttp's ``CIMultiDict`` gives the first value only: an aiohttp transport joins them).
    Request headers are sent with the names and values given.

    A pooled keep-alive connection that the server closed while it sat idle must never turn a
    request into an unknown: the transport checks a pooled connection before it writes on it
    (urllib3 and httpcore do) and sends on a fresh one instead; failing that it raises with
    ``request_sent=False``, which it may do only when nothing can have reached the server. It
    never resends by itself. A connection that breaks after the request was written and before
    the answer is ``request_sent=True``: the server may have acted on it.

    ``close`` releases every pooled connection, and may be called again. After it, ``send``
    raises :class:`~replicate.ReplicateError` (the urllib3 transport's says its pool is closed;
    an APIConnectionError must then have ``request_sent=False``) and sends nothing: a closed
    transport never quietly opens new connections. A transport object is shared by every
    thread using the client, so ``send`` must be thread-safe.

    Pickling: a client pickles its settings, never its transport (a client given a transport
    object unpickles with the default one). A transport object may refuse pickling with
    TypeError (the built-in ones do: they hold locks and sockets) or unpickle into a working
    transport with connections of its own, never sharing the original's.

    Optional attributes: ``name`` (shown in the client's repr) and ``placeholder_token``, a
    string that a transport answering requests itself (an offline emulator, never one that
    reaches the network) offers as the token of a client that has none: the built-in token
    auth sends it when neither ``bearer_token=``, a Cog scope nor ``REPLICATE_API_TOKEN`` gives
    one.
    """

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """What an asynchronous (``asyncio``) transport implements: the contract of
    :class:`SyncTransport`, awaited. ``await send(...)`` performs exactly one HTTP exchange, as
    ``SyncTransport.send`` describes it (no redirects or retries, ``http_version``,
    ``timeout.connect``/``read``/``deadline``, the errors and ``request_sent``), with these
    differences:

    - ``request.content`` is a :data:`Body` as for a sync transport, so a file or an iterable of
      chunks is read with plain (not awaited) calls as it is sent;
    - with ``stream=True`` the Response's ``stream`` is an :class:`AsyncByteStream`, which
      releases the connection on ``aclose()``;
    - the body rules hold for ``aiter_bytes``: a short body or a read that fails raises from it
      (APIConnectionError or APITimeoutError, ``request_sent=True``);
    - the task's cancellation (``asyncio.CancelledError``) propagates unchanged, at once.

    ``await aclose()`` releases every pooled connection, and may be awaited again; a ``send``
    after it raises as one after ``SyncTransport.close`` does. A transport object is shared by
    every task using the client, so ``send`` must be safe to run concurrently. One that serves
    any event loop says so with a ``loop_bound = False`` attribute; otherwise a client checks
    that it is used from the loop it was first used in. Pickling is as for a sync transport.

    :class:`replicate.testing.contract.AsyncTransportContract` checks all of it (it runs its
    own event loop: no pytest plugin needed).
    """

    async def send(
        self, request: Request, *, timeout: Timeout, stream: bool = False
    ) -> Response: ...

    async def aclose(self) -> None: ...


def connection_error(
    message: str, request: Request, *, sent: bool, timeout: bool = False
) -> APIConnectionError:
    """The error a transport raises for an exchange that failed, so that a transport need not
    import the exception classes (public as ``replicate.connection_error``): an
    :class:`~replicate.APITimeoutError` when ``timeout``, else an
    :class:`~replicate.APIConnectionError`, for ``request``, its ``request_sent`` ``sent``
    (False only when the server surely never saw the request; see :class:`SyncTransport`).
    Raise it from the library's own exception::

        except SomeLibraryTimeout as exc:
            raise replicate.connection_error("timed out", request, sent=True, timeout=True) from exc
    """
    from .exceptions import APIConnectionError, APITimeoutError

    cls = APITimeoutError if timeout else APIConnectionError
    return cls(message, request=request, request_sent=sent)
