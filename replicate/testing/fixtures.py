"""pytest fixtures for a plugin's tests (imports pytest: import it from a test module only).

:func:`script_server_fixture` makes the usual one: each test gets its own
:class:`~replicate.testing.servers.ScriptServer` and runs in
:func:`~replicate.testing.isolated_environment`, so only the plugin under test loads::

    from replicate.testing.fixtures import script_server_fixture

    server = script_server_fixture("my-plugin", REPLICATE_POLL_INTERVAL="0.01")

    def test_get(server: ScriptServer) -> None: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._isolation import isolated_environment
from .servers import ScriptServer

__all__ = ["script_server_fixture"]


def script_server_fixture(plugins: str, *, name: str = "server", **env: str) -> Any:
    """An autouse fixture called ``name`` yielding a running :class:`ScriptServer` (closed when
    the test ends) inside ``isolated_environment(plugins, **env)``. Assign it to a module-level
    name in the test module (or a conftest) so pytest finds it."""

    @pytest.fixture(autouse=True, name=name)
    def script_server() -> Iterator[ScriptServer]:
        with isolated_environment(plugins, **env), ScriptServer() as server:
            yield server

    return script_server
