"""The module-level client behind ``replicate.run(...)`` and friends, built on first use."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from ._sentinels import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    import os

    from ._async_client import AsyncReplicate, AsyncStream
    from ._client import Replicate
    from ._sse import ServerSentEvent
    from ._use import AsyncFunction, Function
    from .types import BatchResult, Prediction

#: v2's module-level settings: ``replicate.bearer_token = "r8_..."`` (and the rest) configures
#: the default client from its next use on. Unset, each reads as its default (see
#: ``replicate.__getattr__``) and the client takes it from the environment.
SETTINGS = (
    "bearer_token",
    "base_url",
    "timeout",
    "max_retries",
    "default_headers",
    "default_query",
)

#: The default clients, sync and async (keyed by ``is_async``), each with the settings it was
#: built with.
_clients: dict[bool, tuple[Any, tuple[Any, ...]]] = {}
_lock = threading.Lock()
_UNSET = object()


def _settings() -> tuple[Any, ...]:
    """The module-level settings as they are now (copies of mappings, so that a change made in
    place is seen too)."""
    module = sys.modules[__package__].__dict__
    values = [module.get(name, _UNSET) for name in SETTINGS]
    return tuple(dict(v) if isinstance(v, Mapping) else v for v in values)


def _default(is_async: bool) -> Any:
    settings = _settings()
    entry = _clients.get(is_async)
    if entry is None or entry[1] != settings:
        with _lock:
            entry = _clients.get(is_async)
            if entry is None or entry[1] != settings:
                cls: Any
                if is_async:
                    from ._async_client import AsyncReplicate as cls
                else:
                    from ._client import Replicate as cls

                pairs = zip(SETTINGS, settings, strict=True)
                given = {name: value for name, value in pairs if value is not _UNSET}
                entry = _clients[is_async] = (cls(**given), settings)
    return entry[0]


def default_client() -> Replicate:
    """The shared default client, configured from the module-level settings and the
    environment; thread-safe. A change of a module-level setting gives a new client."""
    return _default(False)  # type: ignore[no-any-return]


def default_async_client() -> AsyncReplicate:
    """The shared default async client (``replicate.async_run``, ``use(..., use_async=True)``),
    configured as :func:`default_client` is. Its thread transport is not bound to an event
    loop, so it serves every loop."""
    return _default(True)  # type: ignore[no-any-return]


def set_default_client(client: Replicate | AsyncReplicate | None) -> None:
    """Replace the default client of the client's kind, sync or async (None: build both anew
    on next use). It stays the default until a module-level setting changes."""
    with _lock:
        if client is None:
            _clients.clear()
        else:
            _clients[client._is_async] = (client, _settings())


# The module-level functions spell out the client methods' parameters (a test holds them equal)
# so that help() and type checkers see them, without importing the client module until a call;
# like the methods, run() and stream() build the call's RunOptions and hand it to the client.


def run(
    ref: Any,
    *,
    input: Mapping[str, Any] | None = None,
    wait: bool | int | NotGiven = NOT_GIVEN,
    timeout: float | None = None,
    on_update: Callable[[Prediction], Any] | None = None,
    use_file_output: bool = True,
    file_encoding_strategy: str | None = None,
    prefer: str | NotGiven = NOT_GIVEN,
    cancel_after: str | int | NotGiven = NOT_GIVEN,
    webhook: str | NotGiven = NOT_GIVEN,
    webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
    stream: bool | NotGiven = NOT_GIVEN,
) -> Any:
    """Run a model on the default client and return its finished output (see
    ``Replicate.run``)."""
    from ._options import RunOptions

    return default_client()._run_with(
        ref,
        RunOptions(
            input=input,
            wait=wait,
            timeout=timeout,
            on_update=on_update,
            use_file_output=use_file_output,
            file_encoding_strategy=file_encoding_strategy,
            prefer=prefer,
            cancel_after=cancel_after,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            stream=stream,
        ),
    )


def stream(
    ref: Any,
    *,
    input: Mapping[str, Any],
    timeout: float | None = None,
    cancel_after: str | int | NotGiven = NOT_GIVEN,
    webhook: str | NotGiven = NOT_GIVEN,
    webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
    file_encoding_strategy: str | None = None,
) -> Iterator[ServerSentEvent]:
    """Run a model on the default client and yield its Server-Sent Events (see
    ``Replicate.stream``)."""
    from ._options import RunOptions

    return default_client()._stream_with(
        ref,
        RunOptions(
            input=input,
            timeout=timeout,
            cancel_after=cancel_after,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
            file_encoding_strategy=file_encoding_strategy,
        ),
    )


def batch(
    ref: Any,
    inputs: Iterable[Mapping[str, Any]],
    *,
    concurrency: int = 8,
    rate_limit: float | None = 600,
    timeout: float | None = None,
    wait: bool | int | NotGiven = NOT_GIVEN,
    use_file_output: bool = True,
    journal: str | os.PathLike[str] | None = None,
    progress: bool = False,
    file_encoding_strategy: str | None = None,
) -> Iterator[BatchResult]:
    """Run a model once per input on the default client, yielding each input's
    :class:`~replicate.BatchResult` as it completes (see ``Replicate.batch``)."""
    return default_client().batch(
        ref,
        inputs,
        concurrency=concurrency,
        rate_limit=rate_limit,
        timeout=timeout,
        wait=wait,
        use_file_output=use_file_output,
        journal=journal,
        progress=progress,
        file_encoding_strategy=file_encoding_strategy,
    )


@overload
def use(
    ref: Any,
    *,
    hint: Any = ...,
    streaming: bool = ...,
    use_async: Literal[False] = ...,
    timeout: float | None = ...,
) -> Function: ...
@overload
def use(
    ref: Any,
    *,
    hint: Any = ...,
    streaming: bool = ...,
    use_async: Literal[True],
    timeout: Any = ...,
) -> AsyncFunction: ...
def use(
    ref: Any,
    *,
    hint: Any = None,
    streaming: bool = False,
    use_async: bool = False,
    timeout: float | None = None,
) -> Function:
    """A model as a Python function; the default client is built when it is first called, so
    ``use()`` at module level costs nothing at import. ``timeout`` bounds each call as in
    ``run()``; ``.with_options(timeout=, on_update=, wait=)`` makes a configured copy. With
    ``use_async=True`` it is an async function (``await f(...)``) on the default async client."""
    from ._use import make_function

    return make_function(
        ref, client=None, use_async=use_async, streaming=streaming, hint=hint, timeout=timeout
    )


async def async_run(ref: Any, *, input: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """v1's ``replicate.async_run``: ``await client.run(...)`` on the default async client
    (``options`` are ``run()``'s keywords)."""
    return await default_async_client().run(ref, input=input, **options)


def async_stream(ref: Any, *, input: Mapping[str, Any], **options: Any) -> AsyncStream:
    """v1's ``replicate.async_stream``: the default async client's ``stream()`` (``options``
    are its keywords). ``async for event in await replicate.async_stream(...)``, as in v1, and
    ``async for event in replicate.async_stream(...)`` both work."""
    return default_async_client().stream(ref, input=input, **options)
