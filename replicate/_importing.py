"""Imports made with the cyclic garbage collector paused, for a first client's cold start.

Importing the client, its transport and a resource makes tens of thousands of objects that live
as long as the process (functions, classes, dicts) and no garbage, yet their allocations set off
collections that go through every object made so far: about a tenth of a new process's time to
its first result went to them. :func:`import_paused` imports with the collector off and turns it
back on afterwards, only if it was on (a program that switched it off keeps it off).
"""

from __future__ import annotations

import gc
from importlib import import_module
from types import ModuleType

__all__ = ["import_paused"]


def import_paused(name: str, package: str | None = None) -> ModuleType:
    """``importlib.import_module(name, package)`` with the garbage collector paused."""
    running = gc.isenabled()
    if running:
        gc.disable()
    try:
        return import_module(name, package)
    finally:
        if running:
            gc.enable()
