"""The emulator as a transport of the SDK: requests answered in process, no socket.

``Replicate(transport="emulator")`` uses :class:`EmulatorTransport` over the process's shared
emulator (:func:`default_emulator`); ``Replicate(transport=EmulatorTransport(emu))`` over one of
your own. ``AsyncReplicate`` gets :class:`AsyncEmulatorTransport`, which runs the emulator in
worker threads whenever an answer may take time, so the event loop never waits on it.

Each request becomes an :class:`~replicate_emulator.wire.EmuRequest` whose ``origin`` is the
request URL's (``https://api.replicate.com`` unless the client has another base URL), so the
URLs in answers lead back here. Fault directives on an answer are acted out as a network would
fail: ``drop="before"`` is an APIConnectionError that never reached the API
(``request_sent=False``: nothing was done), ``drop="mid"`` and ``truncate`` break the body part
way (``request_sent=True``), ``stall`` pauses a stream after its first chunk (an
APITimeoutError when the pause outlasts the read timeout).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs

from replicate import Headers, Request, Response, Timeout, connection_error
from replicate.exceptions import ReplicateError
from replicate.transports import helpers

from .wire import EmuRequest, EmuResponse

if TYPE_CHECKING:
    from .app import Emulator

__all__ = [
    "PLACEHOLDER_TOKEN",
    "STATE_ENV",
    "AsyncEmulatorTransport",
    "EmulatorTransport",
    "default_emulator",
]

#: The token a client without one sends to the emulator (which takes any non-empty token).
PLACEHOLDER_TOKEN = "r8_emulator"
#: The environment variable naming the SQLite file of the shared emulator's state.
STATE_ENV = "REPLICATE_EMULATOR_STATE"

_default: Emulator | None = None
_default_lock = threading.Lock()


def default_emulator() -> Emulator:
    """The emulator shared by every ``transport="emulator"`` client of this process, built on
    first use: its state in the SQLite file ``$REPLICATE_EMULATOR_STATE`` when that is set
    (kept across runs), else in memory. Closed at interpreter exit."""
    global _default
    emu = _default
    if emu is None:
        with _default_lock:
            emu = _default
            if emu is None:
                # Imported here: the engine loads every route and model, which a process that
                # only imports the plugin must not pay for.
                from .app import Emulator

                emu = _default = Emulator(state=os.environ.get(STATE_ENV) or None)
                atexit.register(emu.close)
    return emu


# --- requests in ----------------------------------------------------------------------------


def _emu_request(request: Request) -> EmuRequest:
    """The emulator's view of ``request``, its body read as a network transport would send it."""
    scheme, _, rest = request.url.partition("://")
    host, _, target = rest.partition("/")
    if "#" in target:
        target = target.partition("#")[0]
    path, _, qs = target.partition("?")
    headers = request.headers
    if type(headers) is Headers:
        # The core's Headers keeps {lower-case name: (name, value)}: read it without a copy of
        # each name lowered again.
        lowered = {key: value for key, (_, value) in headers._store.items()}
    else:
        lowered = {name.lower(): value for name, value in headers.items()}
    return EmuRequest(
        request.method,
        "/" + path,
        parse_qs(qs, keep_blank_values=True) if qs else {},
        lowered,
        helpers.read_body(request.content) or b"",
        f"{scheme}://{host.rpartition('@')[2]}",
    )


# --- responses out --------------------------------------------------------------------------


def _headers(items: list[tuple[str, str]]) -> Headers:
    """Response headers, a repeated one joined with ", " as a network transport gives it."""
    headers = Headers()
    store = headers._store  # filled directly: one pass, no second dict
    for name, value in items:
        key = name.lower()
        seen = store.get(key)
        store[key] = (name, value) if seen is None else (seen[0], f"{seen[1]}, {value}")
    return headers


def _dropped(request: Request) -> NoReturn:
    raise connection_error(
        f"Connection to {helpers.origin(request.url)} was closed before the request was sent "
        "(emulator fault: drop='before')",
        request,
        sent=False,
    )


def _broken(request: Request, detail: str) -> NoReturn:
    raise helpers.body_broken_error(request, f"{detail} (emulator fault)")


def _stall_timeout(request: Request, stall: float, read: float | None) -> float | None:
    """How long a stall may sleep before the read timeout ends it (None: the whole stall)."""
    return read if read is not None and stall > read else None


class _Shaper:
    """Carries out an answer's body directives (drop mid, truncate, stall) on its chunks, the
    same way for both colours: ``take(chunk)`` gives what may be passed on and says whether
    the body must break after it."""

    __slots__ = ("drop", "first", "limit", "sent", "stall")

    def __init__(self, resp: EmuResponse) -> None:
        self.drop = resp.drop == "mid"
        self.limit = resp.truncate
        # A pause belongs to a stream produced as it is read, as on the network.
        self.stall = None if isinstance(resp.body, (bytes, bytearray)) else resp.stall
        self.sent = 0
        self.first = True

    def take(self, chunk: bytes) -> tuple[bytes, str | None]:
        """``(part to pass on, why the body breaks after it or None)``."""
        limit = self.limit
        if limit is not None and self.sent + len(chunk) > limit:
            part = chunk[: limit - self.sent]
            self.sent = limit
            return part, f"the body was cut off after {limit} bytes (truncate={limit})"
        self.sent += len(chunk)
        if self.first and chunk:
            self.first = False
            if self.drop:
                return chunk, "the connection was dropped in the middle of the body (drop='mid')"
        return chunk, None


def _split(body: bytes, resp: EmuResponse, chunk_size: int | None) -> list[bytes]:
    """A bytes body as the chunks a stream gives: halves when it is to be dropped in the
    middle (the break comes after the first), else pieces of ``chunk_size``."""
    if resp.drop == "mid" and resp.truncate is None:
        half = len(body) // 2 or len(body)
        return [body[:half], body[half:]]
    size = chunk_size or len(body) or 1
    return [body[i : i + size] for i in range(0, len(body), size)]


def _shaped(resp: EmuResponse) -> bool:
    return resp.drop is not None or resp.truncate is not None or resp.stall is not None


class _SyncStream:
    """A streamed body read in the caller's thread (a sync client)."""

    __slots__ = ("_body", "_it", "_request", "_resp", "_timeout")

    def __init__(self, resp: EmuResponse, request: Request, timeout: Timeout) -> None:
        self._resp = resp
        self._body = resp.body
        self._request = request
        self._timeout = timeout
        #: An iterator body, to close once read or abandoned.
        self._it: Iterator[bytes] | None = None if isinstance(resp.body, bytes) else resp.body

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        body = self._body
        resp = self._resp
        if isinstance(body, (bytes, bytearray)):
            chunks: Iterator[bytes] = iter(_split(bytes(body), resp, chunk_size))
        else:
            chunks = body
        if not _shaped(resp):
            for chunk in chunks:
                if chunk:
                    yield chunk
            return
        shaper = _Shaper(resp)
        for chunk in chunks:
            part, broken = shaper.take(chunk)
            if part:
                yield part
            if broken:
                self.close()
                _broken(self._request, broken)
            stall = shaper.stall
            if stall and part:
                shaper.stall = None
                cut = _stall_timeout(self._request, stall, self._timeout.read)
                time.sleep(stall if cut is None else cut)
                if cut is not None:
                    self.close()
                    raise helpers.body_timeout_error(self._request)

    def read_all(self) -> bytes:
        try:
            return b"".join(self.iter_bytes())
        finally:
            self.close()

    def close(self) -> None:
        it, self._it = self._it, None
        close = getattr(it, "close", None)
        if close is not None:
            with helpers.quietly("closing an emulator stream"):
                close()


_END = object()


def _next(it: Iterator[bytes]) -> Any:
    return next(it, _END)


class _AsyncStream:
    """A streamed body for an async client: each chunk of an iterator body is pulled in a
    worker thread (producing one may wait on a running prediction); a bytes body is served
    from memory."""

    __slots__ = ("_body", "_closed", "_inflight", "_pool", "_request", "_resp", "_timeout")

    def __init__(
        self,
        resp: EmuResponse,
        request: Request,
        timeout: Timeout,
        pool: ThreadPoolExecutor,
    ) -> None:
        self._resp = resp
        self._body = resp.body
        self._request = request
        self._timeout = timeout
        self._pool = pool
        self._inflight: asyncio.Future[Any] | None = None
        self._closed = False

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        body = self._body
        resp = self._resp
        request = self._request
        shaper = _Shaper(resp) if _shaped(resp) else None
        source: Iterator[bytes] = iter(())
        if isinstance(body, (bytes, bytearray)):
            pieces: Iterator[bytes] | None = iter(_split(bytes(body), resp, chunk_size))
        else:
            pieces, source = None, body
        loop = asyncio.get_running_loop()
        while True:
            if pieces is not None:
                chunk: Any = next(pieces, _END)
            else:
                self._inflight = fut = loop.run_in_executor(self._pool, _next, source)
                chunk = await fut
                self._inflight = None
            if chunk is _END:
                return
            if shaper is None:
                if chunk:
                    yield chunk
                continue
            part, broken = shaper.take(chunk)
            if part:
                yield part
            if broken:
                await self.aclose()
                _broken(request, broken)
            stall = shaper.stall
            if stall and part:
                shaper.stall = None
                cut = _stall_timeout(request, stall, self._timeout.read)
                await asyncio.sleep(stall if cut is None else cut)
                if cut is not None:
                    await self.aclose()
                    raise helpers.body_timeout_error(request)

    async def aread_all(self) -> bytes:
        try:
            return b"".join([chunk async for chunk in self.aiter_bytes()])
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is None:
            return
        fut = self._inflight
        if fut is not None and not fut.done():
            # The iterator is running in a worker thread (a generator cannot be closed while it
            # runs): close it as soon as that pull returns.
            fut.add_done_callback(lambda _: _close_quietly(close))
        else:
            _close_quietly(close)


def _close_quietly(close: Any) -> None:
    with helpers.quietly("closing an emulator stream"):
        close()


# --- the transports ---------------------------------------------------------------------------


class _Base:
    #: Shown in the client's repr.
    name = "emulator"
    #: The token a client without one sends (see :class:`replicate.SyncTransport`).
    placeholder_token = PLACEHOLDER_TOKEN

    def __init__(self, emulator: Emulator | None = None) -> None:
        self._emulator = emulator
        self._closed = False

    @property
    def emulator(self) -> Emulator:
        """The emulator answering (the shared :func:`default_emulator` when none was given)."""
        emu = self._emulator
        if emu is None:
            emu = self._emulator = default_emulator()
        return emu

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ReplicateError(f"this client's transport ({self.name}) is closed")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled: it holds a live emulator")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'shared' if self._emulator is None else 'own'} emulator>"


class EmulatorTransport(_Base):
    """A :class:`replicate.SyncTransport` answered by an emulator in this process.

    ``emulator``: the :class:`~replicate_emulator.app.Emulator` to answer with; None: the
    process's shared one (:func:`default_emulator`), built on the first request. Closing the
    transport never closes the emulator: it stays its owner's (and the shared one lives until
    the interpreter exits). Requests are handled in the calling thread: a ``Prefer: wait``
    request waits there as it would on the network.
    """

    def __init__(self, emulator: Emulator | None = None) -> None:
        super().__init__(emulator)
        self._handle: Any = None if emulator is None else emulator.handle

    @classmethod
    def from_config(cls, config: object = None) -> EmulatorTransport:
        """The transport of ``Replicate(transport="emulator")``: the shared emulator."""
        return cls()

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            self._check_open()
        handle = self._handle
        if handle is None:
            handle = self._handle = self.emulator.handle
        if timeout.deadline is not None:
            helpers.time_left(request, timeout.deadline)
        resp: EmuResponse = handle(_emu_request(request))
        body = resp.body
        if not stream and type(body) is bytes and resp.drop is None and resp.truncate is None:
            return Response(
                resp.status, headers=_headers(resp.headers), content=body, request=request
            )
        if resp.drop == "before":
            _close_quietly(getattr(body, "close", lambda: None))
            _dropped(request)
        streamed = _SyncStream(resp, request, timeout)
        headers = _headers(resp.headers)
        if stream:
            return Response(resp.status, headers=headers, stream=streamed, request=request)
        return Response(resp.status, headers=headers, content=streamed.read_all(), request=request)

    def close(self) -> None:
        self._closed = True


class AsyncEmulatorTransport(_Base):
    """A :class:`replicate.AsyncTransport` answered by an emulator in this process.

    As :class:`EmulatorTransport`, with the emulator run in worker threads of the transport's
    own (so many requests can wait at once without starving the event loop's default
    executor) for every request that may take time: all but plain GETs with no fault rules in
    force, which are answered at once. A streamed body is pulled chunk by chunk in those
    threads too. Serves any event loop (``loop_bound = False``).
    """

    loop_bound = False
    #: Worker threads at most: each ``Prefer: wait`` request or open stream holds one.
    max_workers = 64

    def __init__(self, emulator: Emulator | None = None) -> None:
        super().__init__(emulator)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: object = None) -> AsyncEmulatorTransport:
        """The transport of ``AsyncReplicate(transport="emulator")``: the shared emulator."""
        return cls()

    def _workers(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = ThreadPoolExecutor(
                        self.max_workers, thread_name_prefix="replicate-emulator"
                    )
        return pool

    def _at_once(self, emu: Emulator, req: EmuRequest, stream: bool) -> bool:
        """Whether answering ``req`` cannot block: a plain GET, no wait, no faults."""
        return (
            not stream
            and req.method == "GET"
            and "prefer" not in req.headers
            and not emu.faults.rules
        )

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        self._check_open()
        emu = self.emulator
        deadline = timeout.deadline
        left = helpers.time_left(request, deadline)
        req = _emu_request(request)
        if self._at_once(emu, req, stream):
            resp: EmuResponse = emu.handle(req)
        else:
            fut = asyncio.get_running_loop().run_in_executor(self._workers(), emu.handle, req)
            if left is None or stream:
                resp = await fut
            else:
                try:
                    resp = await asyncio.wait_for(fut, left)
                except asyncio.TimeoutError:
                    raise helpers.past_deadline(request) from None
        if resp.drop == "before":
            _close_quietly(getattr(resp.body, "close", lambda: None))
            _dropped(request)
        headers = _headers(resp.headers)
        body = resp.body
        if not stream and type(body) is bytes and resp.drop is None and resp.truncate is None:
            return Response(resp.status, headers=headers, content=body, request=request)
        streamed = _AsyncStream(resp, request, timeout, self._workers())
        if stream:
            return Response(resp.status, headers=headers, stream=streamed, request=request)
        return Response(
            resp.status, headers=headers, content=await streamed.aread_all(), request=request
        )

    async def aclose(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """``aclose()`` without an event loop: close, and let the worker threads end."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
