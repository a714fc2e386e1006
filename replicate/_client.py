"""``Replicate``: the sync client, a :class:`~replicate._facade.BaseClient` with the sync driver.

Its driver methods run flows with :func:`~replicate._drivers.drive_sync` and
:func:`~replicate._drivers.iter_sync` through a :class:`~replicate.SyncTransport`; everything
else is the facade both clients share.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from ._drivers import drive_sync, iter_sync
from ._facade import BaseClient

if TYPE_CHECKING:
    from ._batch import BatchPlan
    from ._config import ClientConfig
    from ._drivers import Flow
    from ._http import SyncTransport
    from ._plugins import TransportEntry
    from ._response import ResponseContextManager
    from .types import BatchResult

__all__ = ["Client", "Replicate"]


class Replicate(BaseClient):
    """A client for Replicate's HTTP API.

    ``bearer_token`` defaults to ``REPLICATE_API_TOKEN`` (or the current Cog prediction's token),
    ``base_url`` to ``REPLICATE_BASE_URL`` and then ``https://api.replicate.com/v1``. ``timeout``
    (a number or :class:`replicate.Timeout`) applies to each HTTP request; ``max_retries`` to each
    call. ``transport`` is a registered transport name or a transport object; ``plugins`` are
    plugin objects for this client only. ``verify`` is True, False, a CA bundle path or an
    ``ssl.SSLContext``. ``auth`` and ``retry_policy`` take provider objects that win over any
    plugin; ``auth`` may instead name an installed auth plugin (``auth="keyring"``, by its
    entry-point name), which is then asked alone. ``auth_hosts`` replaces the allowlist of hosts
    besides the API origin that receive the token.

    A pickled client carries its configuration but no token: it resolves one in the new process
    as a new client would (environment, Cog scope, auth plugins).
    """

    _transport: SyncTransport

    def _given_transport(self, transport: Any) -> SyncTransport:
        send = getattr(transport, "send", None)
        if inspect.iscoroutinefunction(send):
            raise TypeError(
                f"transport {type(transport).__name__} is an async transport (its send is "
                "async def): use it with replicate.AsyncReplicate"
            )
        if not callable(send) or not callable(getattr(transport, "close", None)):
            raise TypeError(
                "transport must be a registered transport name or an object with "
                f"send(request, *, timeout, stream) and close(); got {type(transport).__name__}"
            )
        return transport  # type: ignore[no-any-return]

    def _make_transport(
        self, entry: TransportEntry, config: ClientConfig, **options: Any
    ) -> SyncTransport:
        if not entry.sync:
            raise ValueError(f"transport {entry.name!r} is async-only; use it with an async client")
        made = entry.factory_for(async_=False)(config, **options)
        try:
            # A factory's transport is checked as a transport= object is, now, not at the
            # first request.
            return self._given_transport(made)
        except TypeError as exc:
            from .exceptions import PluginError

            raise PluginError(
                f"transport {entry.name!r} registered by plugin {entry.plugin!r} is broken: its "
                f"factory returned {type(made).__name__}, not a sync transport (send(request, *, "
                "timeout, stream) and close(); see replicate.SyncTransport)"
            ) from exc

    @property
    def transport(self) -> SyncTransport:
        return self._transport

    # --- the driver ---------------------------------------------------------------------------

    def _run(self, flow: Flow[Any], then: Callable[[Any], Any] | None = None) -> Any:
        """Drive a flow made from this client's core to its end, through its transport."""
        result = drive_sync(flow, self._transport)
        return result if then is None else then(result)

    def _iter(self, flow: Flow[Any]) -> Generator[Any, None, Any]:
        """Drive a flow lazily, yielding what it emits (streamed events)."""
        return iter_sync(flow, self._transport)

    def _response_manager(self, open: Callable[[], Any]) -> ResponseContextManager[Any]:
        from ._response import ResponseContextManager

        return ResponseContextManager(open)

    def _paginate(self, first: Callable[[], Any]) -> Any:
        return first()

    def _streamed_events(self, events: Any) -> Any:
        return events

    def _batch(self, plan: BatchPlan) -> Iterator[BatchResult]:
        """A batch's results from worker threads, as they complete."""
        from ._batch import iter_batch_sync

        return iter_batch_sync(plan, self._transport)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (unless it belongs to the client this one was copied from)."""
        if self._closing():
            self._transport.close()

    def __enter__(self) -> Replicate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Client = Replicate
