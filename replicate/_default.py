"""The module-level client behind ``replicate.run(...)`` and friends, built on first use."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._sentinels import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from ._client import Replicate
    from ._sse import ServerSentEvent
    from ._use import Function
    from .types import Prediction

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

_client: Replicate | None = None
_built_from: tuple[Any, ...] | None = None  # the settings _client was built with
_lock = threading.Lock()
_UNSET = object()


def _settings() -> tuple[Any, ...]:
    """The module-level settings as they are now (copies of mappings, so that a change made in
    place is seen too)."""
    module = sys.modules[__package__].__dict__
    values = [module.get(name, _UNSET) for name in SETTINGS]
    return tuple(dict(v) if isinstance(v, Mapping) else v for v in values)


def default_client() -> Replicate:
    """The shared default client, configured from the module-level settings and the
    environment; thread-safe. A change of a module-level setting gives a new client."""
    global _client, _built_from
    client = _client
    settings = _settings()
    if client is None or settings != _built_from:
        with _lock:
            client = _client
            if client is None or settings != _built_from:
                from ._client import Replicate

                pairs = zip(SETTINGS, settings, strict=True)
                given = {name: value for name, value in pairs if value is not _UNSET}
                client = _client = Replicate(**given)
                _built_from = settings
    return client


def set_default_client(client: Replicate | None) -> None:
    """Replace the default client (None: build a new one on next use). It stays the default
    until a module-level setting changes."""
    global _client, _built_from
    with _lock:
        _client = client
        _built_from = _settings()


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
    ``run()``; ``.with_options(timeout=, on_update=, wait=)`` makes a configured copy."""
    from ._use import Function

    if use_async:
        raise NotImplementedError("use_async=True needs the async client, not yet available")
    return Function(ref, client=None, streaming=streaming, hint=hint, timeout=timeout)
