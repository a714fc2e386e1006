"""The HTTP response behind a resource call, with the object it decodes to: what
``with_raw_response`` and ``with_streaming_response`` calls return, one class for all (and its
async twin, :class:`AsyncAPIResponse`, for the async client).

The two colours share everything but the awaiting: the bookkeeping of a body read, streamed or
closed, the parse cache, and turning byte chunks into text and lines (:class:`_Text`, fed one
chunk at a time) are colour-neutral; each colour's methods only move the chunks.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._cast import decode_as
from ._http import Response
from .exceptions import ReplicateError, ResponseNotRead

if TYPE_CHECKING:
    import datetime

    from ._http import Request

T = TypeVar("T")
_T = TypeVar("_T")
_R = TypeVar("_R", bound="APIResponse[Any]")
_AR = TypeVar("_AR", bound="AsyncAPIResponse[Any]")
_S = TypeVar("_S")
#: A body's chunks, of either colour.
_C = TypeVar("_C", Iterator[bytes], AsyncIterator[bytes])

_UNPARSED: Any = object()
#: What the colour-neutral first step of ``parse()`` answers when the body must be read first.
_READ_FIRST: Any = object()


class StreamAlreadyConsumed(ReplicateError):
    """The body was already streamed (``iter_bytes()`` and friends) or the response closed
    before it was read, so it cannot be read again (v2's name).

    Call ``read()`` before iterating to keep the body, or accumulate the chunks yourself.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "the response body was already streamed (or the response closed before it was "
            "read), so it cannot be read again: call .read() before iterating to keep it"
        )


class APIResponse(Generic[T]):
    """What a ``with_raw_response`` or ``with_streaming_response`` call returns (v2's name,
    attributes and methods).

    ``parse()`` gives the object the method normally returns (``parse(to=Type)`` decodes the
    body into another msgspec type instead); everything else describes the HTTP exchange:
    ``status_code``, ``headers`` (such as ``ratelimit-remaining``), ``http_request``, ``url``,
    ``method``, ``http_version``, ``retries_taken`` (how many retries came before it),
    ``elapsed``, and the body through ``read()``, ``text()``, ``json()``, ``iter_bytes()``,
    ``iter_text()`` and ``iter_lines()``.

    From ``with_raw_response`` the body has been read and the object decoded already (but for
    ``files.download``, whose body is never read up front). From ``with_streaming_response``
    nothing of the body is read until one of those is called; iterating streams it from the
    connection, after which it cannot be read again (:class:`StreamAlreadyConsumed`).
    ``close()`` releases the connection.

    ``elapsed`` is httpx's: from sending the request to the end of the response, that is to
    the end of its body (read or streamed whole) or to ``close()``; asked for while a streamed
    body is still open, it raises RuntimeError, as v2's does. ``http_response`` is this
    library's :class:`~replicate.Response`, not httpx's.
    """

    __slots__ = ("_deferred", "_open", "_parsed", "_parsed_by_type", "_spent", "http_response")

    def __init__(
        self,
        http_response: Response,
        parsed: T = _UNPARSED,
        *,
        deferred: Callable[[Response], T] | None = None,
    ) -> None:
        self.http_response = http_response
        self._parsed: Any = parsed
        self._deferred = deferred
        self._parsed_by_type: dict[Any, Any] | None = None
        #: The iterator streaming the body, while it holds the connection.
        self._open: Iterator[bytes] | AsyncIterator[bytes] | None = None
        #: The body was streamed away, or discarded unread: it can't be read any more.
        self._spent = False

    @overload
    def parse(self) -> T: ...

    @overload
    def parse(self, *, to: type[_T]) -> _T: ...

    def parse(self, *, to: Any = None) -> Any:
        """The object the method returns, decoded on first use; or, with ``to=``, the body
        decoded into that type (a msgspec Struct, ``list[...]``, ``dict``, ``str``, ``bytes``,
        ...), raising :class:`~replicate.APIResponseValidationError` when it does not fit. Each
        result is kept, so asking again decodes nothing."""
        value = self._parse_unread(to)
        if value is _READ_FIRST:
            self.read()
            value = self._parse_read(to)
        return value

    def _parse_unread(self, to: Any) -> Any:
        """What ``parse(to=to)`` gives without reading the body (kept, or needing no body), or
        ``_READ_FIRST``: then read the body and call :meth:`_parse_read`."""
        if to is None:
            if self._parsed is _UNPARSED and self._deferred is None:
                self._check_body()
                self._parsed = None
            return _READ_FIRST if self._parsed is _UNPARSED else self._parsed
        cache = self._parsed_by_type
        if cache is not None:
            try:
                return cache[to]
            except (KeyError, TypeError):  # not kept, or an unhashable type expression
                pass
        if to is not Response:
            return _READ_FIRST
        self._check_body()  # the response itself, its body left as it is
        return self._keep(to, decode_as(self.http_response, to))

    def _parse_read(self, to: Any) -> Any:
        """``parse(to=to)`` once the body has been read."""
        if to is None:
            decode: Callable[[Response], Any] = self._deferred  # type: ignore[assignment]
            self._parsed = decode(self.http_response)
            return self._parsed
        return self._keep(to, decode_as(self.http_response, to))

    def _keep(self, to: Any, value: Any) -> Any:
        cache = self._parsed_by_type
        if cache is None:
            cache = self._parsed_by_type = {}
        try:
            cache[to] = value
        except TypeError:  # an unhashable type expression: decoded again if asked again
            pass
        return value

    @property
    def http_request(self) -> Request:
        """The request as it was last sent (after redirects), without credentials."""
        request = self.http_response.request
        if request is None:
            raise AttributeError("this response was built without the request it answers")
        return request

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self.http_response.headers

    @property
    def url(self) -> str:
        """The URL the request was sent to (the last one, after redirects)."""
        return self.http_request.url

    @property
    def method(self) -> str:
        return self.http_request.method

    @property
    def http_version(self) -> str:
        """The protocol the server answered with, such as "HTTP/1.1"."""
        return self.http_response.http_version

    @property
    def retries_taken(self) -> int:
        """How many retries were made before this response: 0 when the first attempt got it.
        Redirects and a 401 answered by refreshed credentials are not retries."""
        return self.http_response.retries_taken

    @property
    def elapsed(self) -> datetime.timedelta:
        """The time from sending the (last) request to the end of the response: its body read
        or streamed whole, or the response closed. RuntimeError while a streamed body is open."""
        return self.http_response.elapsed

    @property
    def is_closed(self) -> bool:
        """Whether the body is done with: read whole, streamed to its end, or closed.

        While this is False part of the body is still on the connection: read it all or call
        ``close()`` (leaving a ``with_streaming_response`` block does) to release it.
        """
        return self._open is None and self.http_response.is_stream_consumed

    def read(self) -> bytes:
        """The whole body (read from the connection on first use, then kept)."""
        self._check_body()
        return self.http_response.read()

    @property
    def content(self) -> bytes:
        """The whole body, as ``read()`` returns it (httpx's name for it)."""
        return self.read()

    def text(self) -> str:
        """The whole body decoded with the charset of its ``Content-Type`` (UTF-8 if none)."""
        self.read()
        return self.http_response.text

    def json(self) -> Any:
        """The whole body decoded as JSON into plain Python values."""
        self.read()
        return self.http_response.json()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in chunks as they arrive, decoded of any Content-Encoding (each at most
        ``chunk_size`` bytes when given); a body already read comes from memory."""
        return self._chunks(chunk_size, _pieces, self._stream)

    def _stream(self, chunk_size: int | None) -> Iterator[bytes]:
        self._spend()
        try:
            yield from self.http_response.iter_bytes(chunk_size)
        finally:
            self._open = None

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """The body as text as it arrives, decoded incrementally with its charset (each piece
        at most ``chunk_size`` characters when given)."""
        return _texts(self.iter_bytes, self._text(size=chunk_size))

    def iter_lines(self) -> Iterator[str]:
        """The body's lines as they arrive, without their line endings (split as
        ``str.splitlines`` splits, a ``\\r\\n`` across two chunks counting once)."""
        return _texts(self.iter_bytes, self._text(lines=True))

    def close(self) -> None:
        """Release the connection without reading the rest of the body (nothing to do once it
        has been read). Reading afterwards raises :class:`StreamAlreadyConsumed` if the body
        had not been read."""
        chunks = self._release()
        if chunks is not None:
            chunks.close()  # type: ignore[union-attr]
        self.http_response.close()

    # --- the bookkeeping both colours share ----------------------------------------------------

    def _check_body(self) -> None:
        if self._spent:
            raise StreamAlreadyConsumed()

    def _spend(self) -> None:
        """The body starts streaming away: from now on it cannot be read whole."""
        self._check_body()
        self._spent = True

    def _chunks(
        self,
        chunk_size: int | None,
        memory: Callable[[bytes, int | None], _C],
        stream: Callable[[int | None], _C],
    ) -> _C:
        """The body's chunks: from ``memory`` once read (or when never streamed), else from
        ``stream``, whose iterator holds the connection until it ends or ``close()``."""
        self._check_body()
        response = self.http_response
        if response.is_stream_consumed:  # read already (or never streamed)
            return memory(response.content, chunk_size)
        chunks = self._open = stream(chunk_size)
        return chunks

    def _release(self) -> Iterator[bytes] | AsyncIterator[bytes] | None:
        """Mark the body spent unless it was read, and hand over the iterator streaming it
        (if any) for the caller to close."""
        chunks, self._open = self._open, None
        if chunks is not None or not self.http_response.is_stream_consumed:
            self._spent = True
        return chunks

    def _text(self, *, size: int | None = None, lines: bool = False) -> _Text:
        return _Text(self.http_response.encoding, size=size, lines=lines)

    def __repr__(self) -> str:
        parsed = self._parsed
        if parsed is _UNPARSED:
            cast = getattr(self._deferred, "cast", None)
            name = "" if cast is None else f" {getattr(cast, '__name__', None) or cast!r}"
        else:
            name = f" {type(parsed).__name__}"
        return f"<{type(self).__name__} [{self.status_code}]{name}>"


def _pieces(data: bytes, size: int | None) -> Iterator[bytes]:
    if size is None or size <= 0 or len(data) <= size:
        if data:
            yield data
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _apieces(data: bytes, size: int | None) -> AsyncIterator[bytes]:
    for piece in _pieces(data, size):
        yield piece


class _Text:
    """A body's text as its byte chunks arrive, for either colour: ``feed`` each chunk, then
    ``end()`` after the last; each gives the pieces complete so far.

    Decoded incrementally with ``encoding`` (UTF-8 when Python does not know it), bad bytes
    replaced; then given as decoded (``size`` None), in pieces of ``size`` characters (the
    last may be shorter), or (``lines``) as lines without their endings, split as
    ``str.splitlines`` splits: a line is held back until its ending has arrived, and one ending
    in "\\r" until the next chunk says whether "\\n" follows.
    """

    __slots__ = ("_buffer", "_decoder", "_lines", "_size")

    def __init__(self, encoding: str, *, size: int | None = None, lines: bool = False) -> None:
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        except LookupError:  # an unknown charset= from the server: fall back to UTF-8
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._decoder = decoder
        self._size = size if size is not None and size > 0 else None
        self._lines = lines
        #: What is held back: the start of a piece or of a line.
        self._buffer = ""

    def feed(self, chunk: bytes) -> list[str]:
        return self._cut(self._decoder.decode(chunk))

    def end(self) -> list[str]:
        pieces = self._cut(self._decoder.decode(b"", final=True))
        rest, self._buffer = self._buffer, ""
        if self._lines:
            pieces.extend(rest.splitlines())
        elif rest:
            pieces.append(rest)
        return pieces

    def _cut(self, text: str) -> list[str]:
        if self._lines:
            lines = (self._buffer + text).splitlines(keepends=True)
            self._buffer = ""
            # Hold back an unfinished last line, or one ending in "\r" ("\n" may come next).
            if lines and (lines[-1] == lines[-1].splitlines()[0] or lines[-1].endswith("\r")):
                self._buffer = lines.pop()
            return [line.splitlines()[0] for line in lines]
        size = self._size
        if size is None:
            return [text] if text else []
        buffer = self._buffer + text
        stop = len(buffer) - len(buffer) % size
        self._buffer = buffer[stop:]
        return [buffer[start : start + size] for start in range(0, stop, size)]


def _texts(chunks: Callable[[], Iterable[bytes]], text: _Text) -> Iterator[str]:
    """The pieces ``text`` makes of the chunks ``chunks()`` gives (called on the first
    ``next``)."""
    for chunk in chunks():
        yield from text.feed(chunk)
    yield from text.end()


async def _atexts(chunks: Callable[[], AsyncIterator[bytes]], text: _Text) -> AsyncIterator[str]:
    """:func:`_texts` for async chunks."""
    async for chunk in chunks():
        for piece in text.feed(chunk):
            yield piece
    for piece in text.end():
        yield piece


class _OneUse(Generic[_S]):
    """What both colours of response context manager share: the request sent once only, and
    the response it gave, handed back once for closing."""

    __slots__ = ("_request", "_response")

    def __init__(self, request: Callable[[], Any]) -> None:
        self._request: Callable[[], Any] | None = request
        self._response: _S | None = None

    def _send(self) -> Any:
        """Call the request (its result awaited by the async manager); RuntimeError when it
        was called already."""
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("a with_streaming_response call can be entered only once")
        return request()

    def _taken(self) -> _S | None:
        response, self._response = self._response, None
        return response

    def __repr__(self) -> str:
        state = "unsent" if self._request is not None else "sent"
        return f"<{type(self).__name__} {state}>"


class ResponseContextManager(_OneUse[_R]):
    """What a ``with_streaming_response`` call returns: entering sends the request and gives
    the :class:`APIResponse` (its body not read yet); leaving closes it, releasing the
    connection. One use: entering a second time raises RuntimeError."""

    __slots__ = ()

    def __init__(self, request: Callable[[], _R]) -> None:
        super().__init__(request)

    def __enter__(self) -> _R:
        response: _R = self._send()
        self._response = response
        return response

    def __exit__(self, *exc: object) -> None:
        response = self._taken()
        if response is not None:
            response.close()


class BinaryAPIResponse(APIResponse[bytes]):
    """A response whose body is bytes not read yet: what ``files.download(...)`` returns (v2's
    name and methods).

    Read it whole (``read()``, ``parse()``), in chunks (``iter_bytes()``), or straight into a
    file (``write_to_file(path)``); close it, or use it as a context manager, if you stop early.
    """

    __slots__ = ()

    def __init__(self, http_response: Response) -> None:
        super().__init__(http_response, deferred=_read_body)

    def write_to_file(self, file: str | os.PathLike[str]) -> None:
        """Stream the body into ``file`` atomically.

        The bytes go to a temporary file in the same directory, which replaces ``file`` only
        once the whole body has arrived: a broken connection or a short body raises and leaves
        ``file`` as it was (absent, or its previous contents), never half-written.
        """
        self.stream_to_file(file)

    def stream_to_file(
        self, file: str | os.PathLike[str], *, chunk_size: int | None = None
    ) -> None:
        """Like :meth:`write_to_file`, reading the body in ``chunk_size`` pieces."""
        from ._save import write_atomically

        write_atomically(file, self.iter_bytes(chunk_size))

    def __enter__(self) -> BinaryAPIResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_body(response: Response) -> bytes:
    return response.content  # read by APIResponse.parse() before it decodes


class AsyncAPIResponse(APIResponse[T]):
    """What a ``with_raw_response`` or ``with_streaming_response`` call of the async client
    gives (v2's name): :class:`APIResponse` with its body awaited.

    The same attributes (``status_code``, ``headers``, ``http_request``, ``url``, ``method``,
    ``http_version``, ``retries_taken``, ``elapsed``, ``is_closed``); the body through ``await
    parse()``, ``await read()``, ``await text()`` and ``await json()``, or streamed with ``async
    for`` over ``iter_bytes()``, ``iter_text()`` and ``iter_lines()``; ``await close()``
    releases the connection. Once the body has been read, every one of them works from memory.

    ``content`` cannot wait for the network: it is the body once read (by ``await read()``,
    ``await parse()``, ...), and before that raises :class:`~replicate.ResponseNotRead`
    (:class:`StreamAlreadyConsumed` when it was streamed away or closed unread).
    """

    __slots__ = ()

    @overload  # type: ignore[override]
    async def parse(self) -> T: ...

    @overload
    async def parse(self, *, to: type[_T]) -> _T: ...

    async def parse(self, *, to: Any = None) -> Any:
        """The object the method returns, or with ``to=`` the body decoded into that type, as
        :meth:`APIResponse.parse` gives them; the body is read first if it has to be."""
        value = self._parse_unread(to)
        if value is _READ_FIRST:
            await self.read()
            value = self._parse_read(to)
        return value

    async def read(self) -> bytes:  # type: ignore[override]
        """The whole body, read from the connection on the first call, then kept."""
        self._check_body()
        return await self.http_response.aread()

    @property
    def content(self) -> bytes:
        """The body, once read (see the class's docs)."""
        self._check_body()
        response = self.http_response
        if not response.is_stream_consumed:
            raise ResponseNotRead(
                "the body of this streamed response has not been read: await response.read() "
                "first (or iterate response.iter_bytes() with async for)"
            )
        return response.content

    async def text(self) -> str:  # type: ignore[override]
        """The whole body decoded with its charset (UTF-8 if none)."""
        await self.read()
        return self.http_response.text

    async def json(self) -> Any:
        """The whole body decoded as JSON."""
        await self.read()
        return self.http_response.json()

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:  # type: ignore[override]
        """``async for`` the body's chunks as they arrive (each at most ``chunk_size`` bytes
        when given), or from memory once read."""
        return self._chunks(chunk_size, _apieces, self._astream)

    async def _astream(self, chunk_size: int | None) -> AsyncIterator[bytes]:
        self._spend()
        chunks = self.http_response.aiter_bytes(chunk_size)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            self._open = None
            # Closed early, ``async for`` leaves the response's own iterator open: close it
            # now, releasing the connection, rather than whenever it is collected.
            await chunks.aclose()  # type: ignore[attr-defined]

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:  # type: ignore[override]
        """``async for`` the body as text, decoded incrementally with its charset (pieces of at
        most ``chunk_size`` characters when given)."""
        return _atexts(self.iter_bytes, self._text(size=chunk_size))

    def iter_lines(self) -> AsyncIterator[str]:  # type: ignore[override]
        """``async for`` the body's lines as they arrive, without their line endings."""
        return _atexts(self.iter_bytes, self._text(lines=True))

    async def close(self) -> None:  # type: ignore[override]
        """Release the connection without reading the rest of the body, as
        :meth:`APIResponse.close` does."""
        chunks = self._release()
        if chunks is not None:
            await chunks.aclose()  # type: ignore[union-attr]
        await self.http_response.aclose()


class AsyncResponseContextManager(_OneUse[_AR]):
    """What a ``with_streaming_response`` call of the async client returns: ``async with``
    sends the request and gives the :class:`AsyncAPIResponse` (its body not read yet); leaving
    awaits its ``close()``. One use: entering a second time raises RuntimeError."""

    __slots__ = ()

    def __init__(self, request: Callable[[], Awaitable[_AR]]) -> None:
        super().__init__(request)

    async def __aenter__(self) -> _AR:
        response: _AR = await self._send()
        self._response = response
        return response

    async def __aexit__(self, *exc: object) -> None:
        response = self._taken()
        if response is not None:
            await response.close()


class AsyncBinaryAPIResponse(AsyncAPIResponse[bytes]):
    """:class:`BinaryAPIResponse` for the async client: a body of bytes not read yet, read
    whole (``await read()``), in chunks (``async for`` over ``iter_bytes()``) or into a file
    (``await write_to_file(path)``). ``async with`` it to close it on leaving."""

    __slots__ = ()

    def __init__(self, http_response: Response) -> None:
        super().__init__(http_response, deferred=_read_body)

    async def write_to_file(self, file: str | os.PathLike[str]) -> None:
        """Stream the body into ``file`` atomically, as :meth:`BinaryAPIResponse.write_to_file`
        does: a temporary sibling renamed over ``file`` only once the body is whole, removed
        if anything fails."""
        await self.stream_to_file(file)

    async def stream_to_file(
        self, file: str | os.PathLike[str], *, chunk_size: int | None = None
    ) -> None:
        """Like :meth:`write_to_file`, reading the body in ``chunk_size`` pieces."""
        from ._save import awrite_atomically

        await awrite_atomically(file, self.iter_bytes(chunk_size))

    async def __aenter__(self) -> AsyncBinaryAPIResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
