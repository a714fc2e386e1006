"""The emulator's hook implementations for the SDK: the transport name ``"emulator"``.

``Replicate(transport="emulator")`` and ``AsyncReplicate(transport="emulator")`` answer every
request from the process's shared emulator (see
:func:`replicate_emulator.transport.default_emulator`). This module is loaded whenever a client
is built, so it imports nothing of the emulator until such a client is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from replicate import hookimpl

__all__ = ["replicate_register_transports"]


def _sync(config: Any) -> Any:
    # Imported here: only a client choosing "emulator" pays for loading it.
    from .transport import EmulatorTransport

    return EmulatorTransport.from_config(config)


def _async(config: Any) -> Any:
    # Imported here: only a client choosing "emulator" pays for loading it.
    from .transport import AsyncEmulatorTransport

    return AsyncEmulatorTransport.from_config(config)


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("emulator", _sync, sync=True)
    register("emulator", _async, sync=False, async_=True)
