"""A sync transport driven from worker threads: what ``AsyncReplicate`` sends through when no
async transport is installed.

Each ``await send(...)`` runs the sync transport's ``send`` in a worker thread of a bounded pool
(:data:`DEFAULT_THREADS`, the urllib3 pool's default size, so every thread can keep a pooled
connection), and each chunk of a streamed body is read there too: the event loop never waits on
a socket. Up to that many requests are in flight at once; more wait their turn in the pool's
queue without holding the loop. The pool is not tied to an event loop, so a client may be used
from any loop (and from several in turn).

A task canceled while its request is in a thread stops waiting at once; the thread finishes
that one exchange in the background and its response, if any, is closed (its connection goes
back to the pool). The urllib3 transport ends an exchange by its deadline, so no thread is kept
past a call's ``timeout``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._http import Request, Response, SyncByteStream, SyncTransport, Timeout

__all__ = ["DEFAULT_THREADS", "ThreadedTransport"]

#: Worker threads per client, unless ``max_threads=`` says otherwise.
DEFAULT_THREADS = 32

_END: Any = object()


class ThreadedTransport:
    """An :class:`~replicate.AsyncTransport` over a :class:`~replicate.SyncTransport`, in at
    most ``max_threads`` worker threads (started as needed, named ``replicate-N``)."""

    #: Not tied to an event loop: any loop may await it.
    loop_bound = False

    def __init__(self, transport: SyncTransport, *, max_threads: int = DEFAULT_THREADS) -> None:
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise ValueError(f"max_threads must be a positive integer, got {max_threads!r}")
        self.sync = transport
        self.max_threads = max_threads
        self.name = getattr(transport, "name", type(transport).__name__)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = ThreadPoolExecutor(
                        max_workers=self.max_threads, thread_name_prefix="replicate"
                    )
        return pool

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        pool = self._executor()
        future = pool.submit(self.sync.send, request, timeout=timeout, stream=stream)
        try:
            response: Response = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.add_done_callback(_close_abandoned)
            raise
        stream_ = response._stream
        if stream_ is not None:
            response._stream = ThreadedStream(stream_, pool)
        return response

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the sync transport's pool; idle worker threads end (busy ones finish first)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
        self.sync.close()

    def __repr__(self) -> str:
        return f"<ThreadedTransport {self.name!r} max_threads={self.max_threads}>"


class ThreadedStream:
    """A sync byte stream read with ``aiter_bytes`` chunk by chunk in the worker threads; it
    keeps ``iter_bytes``/``close`` too.

    ``aclose()`` never waits on the network: when a worker is still blocked reading a chunk
    (the task reading it was canceled), the stream's ``shutdown()`` (if it has one; the urllib3
    transport's does) ends that read at once, and the stream is closed as soon as the worker
    lets go of it.
    """

    __slots__ = ("_pool", "_reading", "_stream")

    def __init__(self, stream: SyncByteStream, pool: ThreadPoolExecutor) -> None:
        self._stream = stream
        self._pool = pool
        self._reading: Future[Any] | None = None

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._stream.iter_bytes(chunk_size)

    def close(self) -> None:
        self._stream.close()

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        chunks = self._stream.iter_bytes(chunk_size)
        while True:
            reading = self._reading = self._pool.submit(next, chunks, _END)
            chunk = await asyncio.wrap_future(reading)
            if chunk is _END:
                return
            yield chunk

    async def aclose(self) -> None:
        reading = self._reading
        if reading is None or reading.done():
            self._stream.close()
            return
        shutdown = getattr(self._stream, "shutdown", None)
        if callable(shutdown):
            shutdown()
        reading.add_done_callback(lambda _: self._stream.close())


def _close_abandoned(future: Future[Response]) -> None:
    """Close the response of a send whose task stopped waiting for it."""
    if future.cancelled() or future.exception() is not None:
        return
    try:
        future.result().close()
    except Exception:  # pragma: no cover - closing must never raise here
        pass
