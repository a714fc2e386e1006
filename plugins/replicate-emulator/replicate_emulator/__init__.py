"""An offline Replicate API.

``import replicate_emulator`` loads nothing else: the names below load on first use.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not from typing: importing it would cost more than this whole module
if TYPE_CHECKING:
    from typing import Any

    from .app import Emulator
    from .faults import Faults
    from .predictors import Canceled, File, Input, Predictor, log
    from .ratelimit import RateLimits
    from .registry import Registry, model
    from .server import Server, serve
    from .transport import AsyncEmulatorTransport, EmulatorTransport, default_emulator

__all__ = [
    "AsyncEmulatorTransport",
    "Canceled",
    "Emulator",
    "EmulatorTransport",
    "Faults",
    "File",
    "Input",
    "Predictor",
    "RateLimits",
    "Registry",
    "Server",
    "default_emulator",
    "log",
    "model",
    "serve",
]

_LAZY = {
    "Emulator": "app",
    "Faults": "faults",
    "RateLimits": "ratelimit",
    "Server": "server",
    "serve": "server",
    "EmulatorTransport": "transport",
    "AsyncEmulatorTransport": "transport",
    "default_emulator": "transport",
    "Canceled": "predictors",
    "File": "predictors",
    "Input": "predictors",
    "Predictor": "predictors",
    "log": "predictors",
    "Registry": "registry",
    "model": "registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
