"""Pytest fixtures backed by the emulator (installed with the plugin: nothing to configure).

- ``emulator``: a fresh :class:`~replicate_emulator.app.Emulator` for the test (state in
  memory, rate limits off), closed after it. Assert through it: ``emulator.predictions()``,
  ``emulator.inputs("owner/name")``, ``emulator.webhooks.sent``, ``emulator.faults.add(...)``.
- ``emulator_client``: a :class:`replicate.Replicate` answered by that emulator in process.
- ``async_emulator_client``: a :class:`replicate.AsyncReplicate` answered by it in process.
- ``emulator_server``: that emulator served on a free loopback port (a
  :class:`~replicate_emulator.server.Server`), for code that makes its own HTTP requests.
- ``emulator_url``: that server's API base URL (``http://127.0.0.1:<port>/v1``), to give a
  client as ``base_url=`` (any token works).

A test asks for other settings with the ``emulator`` marker, whose keywords go to the
``Emulator`` (``@pytest.mark.emulator(rate_limits=True)`` for the service's limits,
``faults=[...]``, ``speed=``...). A test module's own fixture of the same name takes
precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import replicate

    from .app import Emulator
    from .server import Server

# The emulator itself is imported inside the fixtures: this module is loaded by every pytest
# run of a project that has the plugin installed, and must cost nothing there.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "emulator(**options): options for the emulator fixture's Emulator "
        "(rate_limits=True, faults=[...], speed=...)",
    )


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A fresh emulator for one test: state in memory, rate limits off unless the test's
    ``emulator`` marker asks for them; closed afterwards."""
    from .app import Emulator

    options: dict[str, object] = {"rate_limits": False}
    marker = request.node.get_closest_marker("emulator")
    if marker is not None:
        options.update(marker.kwargs)
    emu = Emulator(**options)  # type: ignore[arg-type]
    try:
        yield emu
    finally:
        emu.close()


@pytest.fixture
def emulator_client(emulator: Emulator) -> Iterator[replicate.Replicate]:
    """A ``replicate.Replicate`` whose requests the ``emulator`` fixture answers in process."""
    import replicate

    from .transport import EmulatorTransport

    client = replicate.Replicate(
        transport=EmulatorTransport(emulator), base_url="https://api.replicate.com/v1"
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_emulator_client(emulator: Emulator) -> Iterator[replicate.AsyncReplicate]:
    """A ``replicate.AsyncReplicate`` whose requests the ``emulator`` fixture answers in
    process; usable from any event loop (``asyncio.run`` in the test, or pytest-asyncio)."""
    import replicate

    from .transport import AsyncEmulatorTransport

    transport = AsyncEmulatorTransport(emulator)
    try:
        yield replicate.AsyncReplicate(transport=transport, base_url="https://api.replicate.com/v1")
    finally:
        transport.shutdown()


@pytest.fixture
def emulator_server(emulator: Emulator) -> Iterator[Server]:
    """The ``emulator`` fixture served over HTTP on a free port of 127.0.0.1."""
    from .server import serve

    server = serve(emulator, port=0)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def emulator_url(emulator_server: Server) -> str:
    """The served emulator's API base URL, ``http://127.0.0.1:<port>/v1``."""
    return emulator_server.base_url
