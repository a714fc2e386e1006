"""The entry point of the ``"httpx"`` transport: registers it without importing httpx.

Every installed plugin is loaded when the first client is built, so this module stays light:
httpx (and :mod:`replicate_httpx`, which is built on it) is imported only when a client that
chose ``transport="httpx"`` calls a factory here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicate import hookimpl

NAME = "httpx"


def _sync_factory(config: Any, *, http_client: Any = None) -> Any:
    """What ``Replicate`` calls: a transport of its own, or over v2's ``http_client=``."""
    from replicate_httpx import _sync_factory as factory

    return factory(config, http_client=http_client)


def _async_factory(config: Any, *, http_client: Any = None) -> Any:
    """What ``AsyncReplicate`` calls: a transport of its own, or over v2's ``http_client=``."""
    from replicate_httpx import _async_factory as factory

    return factory(config, http_client=http_client)


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    # One name, one factory per colour: Replicate makes the sync one, AsyncReplicate the async.
    register(NAME, _sync_factory, sync=True)
    register(NAME, _async_factory, sync=False, async_=True)
