"""``AsyncReplicate``: the async client, a :class:`~replicate._facade.BaseClient` with the async
driver.

Every method is the shared facade's; the driver methods here run its flows with
:func:`~replicate._adrivers.drive_async` and :func:`~replicate._adrivers.iter_async`, so each
call returns an awaitable (or an async iterator) instead of a value.

With no async transport installed (the core's dependencies alone), requests go through the sync
transport (urllib3) in worker threads, at most ``pool_maxsize`` (32) at once per client
(:class:`~replicate.transports.threaded.ThreadedTransport`): the event loop never waits on a
socket, and the client serves any event loop, one after another or at once. An async
transport (an object with ``async def send`` and ``aclose``, or a registered async one) is
awaited directly; such a transport belongs to one event loop, and using the client from another
raises a RuntimeError that says so instead of hanging.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from typing import TYPE_CHECKING, Any, ClassVar

from ._adrivers import drive_async, iter_async
from ._facade import BaseClient
from ._files import AsyncFileOutput
from ._response import AsyncAPIResponse, AsyncResponseContextManager

if TYPE_CHECKING:
    from ._batch import BatchPlan
    from ._config import ClientConfig
    from ._drivers import Flow
    from ._http import AsyncTransport, Response
    from ._plugins import TransportEntry
    from ._sse import ServerSentEvent
    from ._use import AsyncFunction
    from .types import BatchResult, SearchResponse

__all__ = ["AsyncClient", "AsyncReplicate", "AsyncStream"]


class AsyncReplicate(BaseClient):
    """An asyncio client for Replicate's HTTP API: the keywords, methods and resources of
    :class:`~replicate.Replicate`, each awaited.

    ``await client.run(...)``; ``await client.predictions.get(...)``; lists are awaitable (the
    first page) and async-iterable (every item, across pages); ``client.stream(...)`` is iterated
    with ``async for`` (awaiting it first, as v1 and v2 code do, works too); ``client.use(ref)``
    gives async functions; file outputs are :class:`~replicate.AsyncFileOutput`. Canceling the
    task of a ``run``, ``use`` call or ``stream`` cancels the prediction on the server, as
    Ctrl-C does in sync code. ``auth`` providers and ``on_update`` callbacks may be ``async``.
    ``async with AsyncReplicate() as client:`` closes it at the end (``await client.close()``).

    ``transport`` is a registered transport name or a transport object: an async one is used as
    it is; a sync one (the default urllib3 transport included) is driven from at most
    ``pool_maxsize`` worker threads.
    """

    _transport: AsyncTransport
    _api_response = AsyncAPIResponse
    _file_output = AsyncFileOutput
    _is_async = True
    _name: ClassVar[str] = "AsyncReplicate"
    _loop: weakref.ReferenceType[asyncio.AbstractEventLoop] | None = None

    def _given_transport(self, transport: Any) -> AsyncTransport:
        send = getattr(transport, "send", None)
        if inspect.iscoroutinefunction(send) and callable(getattr(transport, "aclose", None)):
            return transport  # type: ignore[no-any-return]
        if callable(send) and callable(getattr(transport, "close", None)):
            return self._threaded(transport, None)
        raise TypeError(
            "transport must be a registered transport name, an async transport (async "
            "send(request, *, timeout, stream) and aclose()) or a sync one (send and close); "
            f"got {type(transport).__name__}"
        )

    def _make_transport(
        self, entry: TransportEntry, config: ClientConfig, **options: Any
    ) -> AsyncTransport:
        made = entry.factory_for(async_=entry.async_)(config, **options)
        # A factory's transport is checked as a transport= object is, now, not at the first
        # request: an async entry's must be async, a sync entry's sync (then threaded).
        send = getattr(made, "send", None)
        if entry.async_:
            ok = inspect.iscoroutinefunction(send) and callable(getattr(made, "aclose", None))
            want = "an async transport (async send(request, *, timeout, stream) and aclose())"
        else:
            ok = (
                callable(send)
                and not inspect.iscoroutinefunction(send)
                and callable(getattr(made, "close", None))
            )
            want = "a sync transport (send(request, *, timeout, stream) and close())"
        if not ok:
            from .exceptions import PluginError

            raise PluginError(
                f"transport {entry.name!r} registered by plugin {entry.plugin!r} is broken: its "
                f"factory returned {type(made).__name__}, not {want}; see "
                "replicate.SyncTransport / replicate.AsyncTransport"
            )
        if entry.async_:
            return made  # type: ignore[no-any-return]
        return self._threaded(made, config)

    @staticmethod
    def _threaded(transport: Any, config: ClientConfig | None) -> AsyncTransport:
        from .transports.threaded import DEFAULT_THREADS, ThreadedTransport

        threads = DEFAULT_THREADS if config is None else config.pool_maxsize
        return ThreadedTransport(transport, max_threads=threads)

    @property
    def transport(self) -> AsyncTransport:
        return self._transport

    # --- the driver ---------------------------------------------------------------------------

    def _run(self, flow: Flow[Any], then: Callable[[Any], Any] | None = None) -> Any:
        """An awaitable that drives the flow to its end through the async transport (the loop
        checked first when the transport is bound to one)."""
        transport = self._transport
        check = self._check_loop if getattr(transport, "loop_bound", True) else None
        return drive_async(flow, transport, check=check, then=then)

    def _iter(self, flow: Flow[Any]) -> AsyncGenerator[Any, None]:
        """An async iterator that drives the flow as it is iterated, yielding what it emits."""
        if getattr(self._transport, "loop_bound", True):
            return self._iter_checked(flow)
        return iter_async(flow, self._transport)

    async def _iter_checked(self, flow: Flow[Any]) -> AsyncGenerator[Any, None]:
        self._check_loop()
        events = iter_async(flow, self._transport)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    def _check_loop(self) -> None:
        """A transport bound to an event loop is used from that loop only: a clear error
        instead of a hang or "Event loop is closed" (the thread transport serves any loop)."""
        if not getattr(self._transport, "loop_bound", True):
            return
        loop = asyncio.get_running_loop()
        bound = self._loop() if self._loop is not None else None
        if bound is None:
            self._loop = weakref.ref(loop)
        elif bound is not loop:
            raise RuntimeError(
                f"this AsyncReplicate's transport {self._transport_name!r} belongs to the event "
                "loop it was first used in, and this is another one: make a client in each "
                "event loop (asyncio.run() starts a new loop each time)"
            )

    def _response_manager(self, open: Callable[[], Any]) -> AsyncResponseContextManager[Any]:
        return AsyncResponseContextManager(open)

    def _paginate(self, first: Callable[[], Any]) -> Any:
        from .pagination import AsyncPaginator

        return AsyncPaginator(first)

    def _streamed_events(self, events: AsyncIterator[Any]) -> AsyncStream:
        return AsyncStream(events)

    async def _batch(self, plan: BatchPlan) -> AsyncGenerator[BatchResult, None]:
        """A batch's results from tasks on the running loop, as they complete."""
        from ._batch import iter_batch_async

        self._check_loop()
        results = iter_batch_async(plan, self._transport)
        try:
            async for result in results:
                yield result
        finally:
            await results.aclose()

    # --- lifecycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection pool (unless it belongs to the client this one was copied from)."""
        if self._closing():
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncReplicate:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    if TYPE_CHECKING:
        # The resources are the sync client's classes, whose methods are typed with what they
        # return there; here each returns an awaitable of it (a list, an AsyncPaginator), so a
        # type checker is told Any rather than a type an ``await`` would contradict.
        predictions: Any
        models: Any
        deployments: Any
        trainings: Any
        files: Any
        collections: Any
        hardware: Any
        account: Any
        webhooks: Any

        # The shared methods as this client's callers see them: awaited.

        async def request(self, method: str, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def get(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def post(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def put(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def patch(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def delete(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def query(self, url: str, **kwargs: Any) -> Response: ...  # type: ignore[override]
        async def run(self, ref: Any, **kwargs: Any) -> Any: ...
        def stream(self, ref: Any, **kwargs: Any) -> AsyncStream: ...  # type: ignore[override]
        def use(self, ref: Any, **kwargs: Any) -> AsyncFunction: ...
        def batch(self, ref: Any, inputs: Any, **kwargs: Any) -> AsyncIterator[BatchResult]: ...  # type: ignore[override]
        async def search(self, **kwargs: Any) -> SearchResponse: ...  # type: ignore[override]


AsyncClient = AsyncReplicate


class AsyncStream:
    """What ``AsyncReplicate.stream(...)`` returns: the prediction's Server-Sent Events, read
    with ``async for``; created when iteration starts.

    ``async for event in client.stream(...)`` and, as v1's ``async_stream`` and v2's docs spell
    it, ``async for event in await client.stream(...)`` (awaiting gives the stream itself).
    ``await stream.aclose()`` stops early (the prediction goes on; cancel the task to cancel it).
    """

    __slots__ = ("_events",)

    def __init__(self, events: AsyncIterator[ServerSentEvent]) -> None:
        self._events = events

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        return self._events

    async def __anext__(self) -> ServerSentEvent:
        return await self._events.__anext__()

    def __await__(self) -> Generator[Any, None, AsyncStream]:
        return self._itself().__await__()

    async def _itself(self) -> AsyncStream:
        return self

    async def aclose(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return "<AsyncStream of server-sent events>"
