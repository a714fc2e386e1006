"""Transports that answer from a handler function instead of the network."""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

from .._http import Headers, Request, Response, Timeout
from ..transports.helpers import read_body

__all__ = ["AsyncMockTransport", "MockTransport"]

#: What a handler is given and returns (an async transport's handler may also be ``async def``).
Handler = Callable[[Request], Response]
AsyncHandler = Callable[[Request], "Response | Awaitable[Response]"]


class _Base:
    """What both colours share: reading the body, recording, checking the answer."""

    #: The name a client shows in its repr.
    name = "mock"

    def __init__(self, handler: Callable[[Request], Any]) -> None:
        if not callable(handler):
            raise TypeError(
                f"handler must be a function of a request, not {type(handler).__name__}"
            )
        self.handler = handler
        #: Every request sent, in order, each a copy whose ``content`` is the body as bytes
        #: (None when there was none), read as a real transport reads it.
        self.requests: list[Request] = []
        self._closed = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    def _take(self, request: Request) -> Request:
        if self._closed:
            from ..exceptions import ReplicateError

            raise ReplicateError(f"this {type(self).__name__} is closed")
        sent = request.copy(content=read_body(request.content))
        with self._lock:
            self.requests.append(sent)
        return sent

    def _finish(self, response: object, request: Request) -> Response:
        if not isinstance(response, Response):
            raise TypeError(
                f"the {type(self).__name__} handler must return a replicate.Response, "
                f"not {type(response).__name__}"
            )
        if not isinstance(response.headers, Headers) and isinstance(response.headers, Mapping):
            # A plain dict from the handler: make it case-insensitive, as a transport's are.
            response.headers = Headers(response.headers)
        if response.request is None:
            response.request = request
        return response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self.handler, '__name__', self.handler)!r}>"


class MockTransport(_Base):
    """A :class:`~replicate.SyncTransport` whose every ``send`` calls ``handler(request)``.

    The handler gets the request with its body read into bytes (``request.content``), and
    returns a :class:`~replicate.Response` or raises (an :class:`~replicate.APIConnectionError`
    made with :func:`replicate.connection_error`, say, to act out a network failure). With
    ``stream=True`` a response given with ``content`` is handed back as a streamed body over that
    content, read only when the caller reads it; a response given with a ``stream`` is passed
    on as it is (and read whole when ``stream`` is False).

    ``requests`` records what was sent; ``close()`` makes later sends raise
    :class:`~replicate.ReplicateError`, as the urllib3 transport does. Safe to share between
    threads when the handler is.
    """

    def __init__(self, handler: Handler) -> None:
        super().__init__(handler)

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        sent = self._take(request)
        response = self._finish(self.handler(sent), request)
        body = response._stream
        if stream and body is None:
            response._stream = _Stream(response._content or b"")
            response._content = None
        elif not stream and body is not None:
            response.read()
        return response

    def close(self) -> None:
        self._closed = True


class AsyncMockTransport(_Base):
    """An :class:`~replicate.AsyncTransport` whose every ``send`` calls ``handler(request)``:
    a plain function or an ``async def`` one. Otherwise as :class:`MockTransport`: with
    ``stream=True`` the body is an :class:`~replicate.AsyncByteStream`; ``aclose()`` closes.

    Not tied to an event loop: a client using it may be used from several in turn
    (``asyncio.run()`` in each test).
    """

    loop_bound = False

    def __init__(self, handler: AsyncHandler) -> None:
        super().__init__(handler)

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        sent = self._take(request)
        answer = self.handler(sent)
        if inspect.isawaitable(answer):
            answer = await answer
        response = self._finish(answer, request)
        body = response._stream
        if stream and body is None:
            response._stream = _Stream(response._content or b"")
            response._content = None
        elif not stream and body is not None:
            if hasattr(body, "aiter_bytes"):
                await response.aread()
            else:
                response.read()
        return response

    async def aclose(self) -> None:
        self._closed = True


class _Stream:
    """A body held in memory, streamed in chunks: both a SyncByteStream and an AsyncByteStream
    (a Response reads it with the methods of its client's colour)."""

    __slots__ = ("_content",)

    def __init__(self, content: bytes) -> None:
        self._content = content

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        content = self._content
        size = chunk_size or len(content) or 1
        for start in range(0, len(content), size):
            yield content[start : start + size]

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        for chunk in self.iter_bytes(chunk_size):
            yield chunk

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
