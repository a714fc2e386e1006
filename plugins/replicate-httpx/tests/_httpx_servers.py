"""Helpers for the plugin's tests (no conftest.py: the plugins' tests run in one pytest
session with the SDK's, so every name here is this plugin's own).

``ISOLATION`` (for ``replicate.testing.isolated_environment`` in each test module's autouse
fixture): the ``REPLICATE_*``, proxy and ``SSL_CERT_*`` variables cleared and only this plugin
allowed to load, so whatever else is installed or exported on the machine cannot change a
result. ``raw_servers``
(the ``raw_server`` fixture) starts loopback TCP servers that answer as no well-behaved HTTP
server does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: ``isolated_environment(**ISOLATION)``.
ISOLATION: dict[str, Any] = {"plugins": "httpx", "clear": ("SSL_CERT_",)}


class RawServer:
    """A loopback TCP server whose every connection is handled by ``handler(conn)`` in a thread
    of its own: for answers no well-behaved HTTP server gives (slow, cut short, silent)."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str = "/v1") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    """Read a request's head (and no body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def raw_servers() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
