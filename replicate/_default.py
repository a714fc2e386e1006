"""The module-level client behind ``replicate.run(...)`` and friends, built on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import Replicate
    from ._sse import ServerSentEvent
    from ._use import Function

_client: Replicate | None = None
_lock = threading.Lock()


def default_client() -> Replicate:
    """The shared default client, configured from the environment; thread-safe."""
    global _client
    client = _client
    if client is None:
        with _lock:
            client = _client
            if client is None:
                from ._client import Replicate

                client = _client = Replicate()
    return client


def set_default_client(client: Replicate | None) -> None:
    """Replace the default client (None: build a new one from the environment on next use)."""
    global _client
    with _lock:
        _client = client


def run(ref: Any, **kwargs: Any) -> Any:
    """``Replicate.run`` on the default client (see there)."""
    return default_client().run(ref, **kwargs)


def stream(ref: Any, **kwargs: Any) -> Iterator[ServerSentEvent]:
    """``Replicate.stream`` on the default client (see there)."""
    return default_client().stream(ref, **kwargs)


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
