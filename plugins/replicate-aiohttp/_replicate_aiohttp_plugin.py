"""The entry point of the ``"aiohttp"`` transport: registers it without importing aiohttp.

Every installed plugin is loaded when the first client is built, so this module stays light:
aiohttp (and :mod:`replicate_aiohttp`, which is built on it) is imported only when a client
that chose ``transport="aiohttp"`` calls the factory here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicate import hookimpl


def _factory(config: Any) -> Any:
    """What a client choosing ``"aiohttp"`` calls: ``AiohttpTransport.from_config(config)``."""
    from replicate_aiohttp import AiohttpTransport

    return AiohttpTransport.from_config(config)


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("aiohttp", _factory, sync=False, async_=True)
