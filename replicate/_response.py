"""The HTTP response behind a resource call, with the object it decodes to: what
``with_raw_response`` and ``with_streaming_response`` calls return, one class for all."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._http import Response
from ._save import write_atomically
from .exceptions import ReplicateError

if TYPE_CHECKING:
    import datetime

    from ._http import Request

T = TypeVar("T")
_T = TypeVar("_T")
_R = TypeVar("_R", bound="APIResponse[Any]")

_UNPARSED: Any = object()


def decode_as(response: Response, cast: Any) -> Any:
    """The response body as ``cast``: None (no body), str (text), bytes, any msgspec type, or
    :class:`~replicate.Response` for the response itself, untouched (still unread when sent
    with ``stream=True``). A streamed body must have been read already: this reads nothing
    (:class:`~replicate.ResponseNotRead` otherwise)."""
    if cast is None or cast is type(None):
        return None
    if cast is Response:
        return response
    if cast is str:
        return response.text
    if cast is bytes:
        return response.content
    return response.parse(cast)


class Deferred:
    """How a call's object is decoded from a body that is not read yet (a
    ``with_streaming_response`` call), once :class:`APIResponse` has read it: ``cast`` as
    :func:`decode_as` takes it, then ``wrap``."""

    __slots__ = ("cast", "wrap")

    def __init__(self, cast: Any, wrap: Callable[[Any], Any] | None = None) -> None:
        self.cast = cast
        self.wrap = wrap

    def __call__(self, response: Response) -> Any:
        value = decode_as(response, self.cast)
        return value if self.wrap is None else self.wrap(value)


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
        self._open: Iterator[bytes] | None = None
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
        if to is None:
            if self._parsed is _UNPARSED:
                decode = self._deferred
                if decode is None:
                    self._check_body()
                    self._parsed = None
                else:
                    self.read()
                    self._parsed = decode(self.http_response)
            return self._parsed
        cache = self._parsed_by_type
        if cache is None:
            cache = self._parsed_by_type = {}
        try:
            return cache[to]
        except KeyError:
            keep = True
        except TypeError:  # an unhashable type expression: decode it without keeping it
            keep = False
        if to is Response:
            self._check_body()  # the response itself, its body left as it is
        else:
            self.read()
        value = decode_as(self.http_response, to)
        if keep:
            cache[to] = value
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
        self._check_body()
        response = self.http_response
        if response.is_stream_consumed:  # read already (or never streamed)
            return _pieces(response.content, chunk_size)
        chunks = self._stream(chunk_size)
        self._open = chunks
        return chunks

    def _stream(self, chunk_size: int | None) -> Iterator[bytes]:
        self._check_body()
        self._spent = True
        try:
            yield from self.http_response.iter_bytes(chunk_size)
        finally:
            self._open = None

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """The body as text as it arrives, decoded incrementally with its charset (each piece
        at most ``chunk_size`` characters when given)."""
        import codecs

        encoding = self.http_response.encoding
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        except LookupError:  # an unknown charset= from the server: fall back to UTF-8
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def texts() -> Iterator[str]:
            for chunk in self.iter_bytes():
                text = decoder.decode(chunk)
                if text:
                    yield text
            text = decoder.decode(b"", final=True)
            if text:
                yield text

        return texts() if chunk_size is None else _rechunk(texts(), chunk_size)

    def iter_lines(self) -> Iterator[str]:
        """The body's lines as they arrive, without their line endings (split as
        ``str.splitlines`` splits, a ``\\r\\n`` across two chunks counting once)."""
        pending = ""
        for text in self.iter_text():
            lines = (pending + text).splitlines(keepends=True)
            pending = ""
            # Hold back an unfinished last line, or one ending in "\r" ("\n" may come next).
            if lines and (lines[-1] == lines[-1].splitlines()[0] or lines[-1].endswith("\r")):
                pending = lines.pop()
            for line in lines:
                yield line.splitlines()[0]
        if pending:
            yield from pending.splitlines()

    def close(self) -> None:
        """Release the connection without reading the rest of the body (nothing to do once it
        has been read). Reading afterwards raises :class:`StreamAlreadyConsumed` if the body
        had not been read."""
        response = self.http_response
        chunks, self._open = self._open, None
        if chunks is not None:
            self._spent = True
            chunks.close()  # type: ignore[attr-defined]
        if not response.is_stream_consumed:
            self._spent = True
        response.close()

    def _check_body(self) -> None:
        if self._spent:
            raise StreamAlreadyConsumed()

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


def _rechunk(texts: Iterator[str], size: int) -> Iterator[str]:
    """``texts`` regrouped into pieces of ``size`` characters (the last may be shorter)."""
    buffer = ""
    for text in texts:
        buffer += text
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer


class ResponseContextManager(Generic[_R]):
    """What a ``with_streaming_response`` call returns: entering sends the request and gives
    the :class:`APIResponse` (its body not read yet); leaving closes it, releasing the
    connection. One use: entering a second time raises RuntimeError."""

    __slots__ = ("_request", "_response")

    def __init__(self, request: Callable[[], _R]) -> None:
        self._request: Callable[[], _R] | None = request
        self._response: _R | None = None

    def __enter__(self) -> _R:
        request, self._request = self._request, None
        if request is None:
            raise RuntimeError("a with_streaming_response call can be entered only once")
        self._response = request()
        return self._response

    def __exit__(self, *exc: object) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def __repr__(self) -> str:
        state = "unsent" if self._request is not None else "sent"
        return f"<ResponseContextManager {state}>"


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
        write_atomically(file, self.iter_bytes(chunk_size))

    def __enter__(self) -> BinaryAPIResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_body(response: Response) -> bytes:
    return response.content  # read by APIResponse.parse() before it decodes
