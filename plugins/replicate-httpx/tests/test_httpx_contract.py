"""The SDK's transport contract suite (``replicate.testing.contract``) run on both httpx
transports: over a client of their own made from the suite's config, and over a user's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _httpx_servers import ISOLATION
from replicate_httpx import AsyncHttpxTransport, HttpxTransport

from replicate import ClientConfig
from replicate.testing import isolated_environment
from replicate.testing.contract import AsyncTransportContract, SyncTransportContract


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with isolated_environment(**ISOLATION):
        yield


class TestHttpxTransport(SyncTransportContract):
    def make_transport(self, config: ClientConfig) -> Any:
        return HttpxTransport.from_config(config)


class TestAsyncHttpxTransport(AsyncTransportContract):
    def make_transport(self, config: ClientConfig) -> Any:
        return AsyncHttpxTransport.from_config(config)


def _own_client_options(config: ClientConfig) -> dict[str, Any]:
    """What a user would set on their own client to match the config (verify, proxy, pool)."""
    from replicate_httpx import _client_options

    return _client_options(
        verify=config.verify,
        proxy=config.proxy,
        pool_maxsize=config.pool_maxsize,
        http2=False,
        trust_env=True,
        timeout=config.timeout,
    )


class TestHttpxTransportOverAUsersClient(SyncTransportContract):
    """The ``client=`` path (``http_client=``): requests built by the user's client."""

    def make_transport(self, config: ClientConfig) -> Any:
        return _Closing(HttpxTransport(client=httpx.Client(**_own_client_options(config))))


class TestAsyncHttpxTransportOverAUsersClient(AsyncTransportContract):
    def make_transport(self, config: ClientConfig) -> Any:
        return _AsyncClosing(
            AsyncHttpxTransport(client=httpx.AsyncClient(**_own_client_options(config)))
        )


class _Closing:
    """A transport over a user's client that closes that client too when closed, as its owner
    would once done with it (the transport itself never does)."""

    def __init__(self, transport: HttpxTransport) -> None:
        self.transport = transport
        self.send = transport.send

    def close(self) -> None:
        self.transport.close()
        self.transport.client.close()


class _AsyncClosing:
    def __init__(self, transport: AsyncHttpxTransport) -> None:
        self.transport = transport
        self.send = transport.send
        self.loop_bound = True

    async def aclose(self) -> None:
        await self.transport.aclose()
        await self.transport.client.aclose()
