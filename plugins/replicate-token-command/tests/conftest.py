"""Isolation for the plugin's tests; independent of the SDK's own ``tests/conftest.py``.

Every test starts with the ``REPLICATE_*`` environment (and proxy variables) cleared, only this
plugin allowed to load (``REPLICATE_PLUGINS=token-command``) and the SDK's entry-point scan
forgotten, so whatever else is installed or exported on the machine cannot change a result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from replicate import _plugins


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("REPLICATE_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPLICATE_PLUGINS", "token-command")
    _plugins.reset()
    yield
    _plugins.reset()
