"""The module-level client behind ``replicate.run(...)`` and friends, built on first use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import Replicate

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
