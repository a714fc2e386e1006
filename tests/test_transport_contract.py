"""The transport contract suite (``replicate.testing.contract``) run on the built-in
transports: urllib3 (sync), and urllib3 driven from worker threads (async), which is what
``AsyncReplicate`` uses when no async transport is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replicate import ClientConfig
from replicate.testing.contract import AsyncTransportContract, SyncTransportContract, tls_material
from replicate.transports.threaded import ThreadedTransport
from replicate.transports.urllib3_transport import Urllib3Transport


class TestUrllib3Transport(SyncTransportContract):
    def make_transport(self, config: ClientConfig) -> Any:
        return Urllib3Transport.from_config(config)


class TestThreadedUrllib3Transport(AsyncTransportContract):
    def make_transport(self, config: ClientConfig) -> Any:
        # As AsyncReplicate builds it when no async transport is installed.
        return ThreadedTransport(
            Urllib3Transport.from_config(config), max_threads=config.pool_maxsize
        )


def test_tls_material_is_made_here_so_no_tls_test_is_skipped(tmp_path: Path) -> None:
    ca, cert, key = tls_material(tmp_path)
    assert all(Path(p).read_bytes().startswith(b"-----BEGIN") for p in (ca, cert, key))
