"""The entry point of the ``"requests"`` transport: registers it without importing requests.

Every installed plugin is loaded when the first client is built, so this module stays light:
requests (and :mod:`replicate_requests`, which is built on it) is imported only when a client
that chose ``transport="requests"`` calls the factory here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicate import hookimpl


def _factory(config: Any) -> Any:
    """What a client choosing ``"requests"`` calls: ``RequestsTransport.from_config(config)``."""
    from replicate_requests import RequestsTransport

    return RequestsTransport.from_config(config)


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("requests", _factory, sync=True)
