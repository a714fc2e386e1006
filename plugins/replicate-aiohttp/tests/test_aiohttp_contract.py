"""The SDK's transport contract suite, run against the aiohttp transport."""

from __future__ import annotations

from replicate_aiohttp import AiohttpTransport

from replicate.testing.contract import AsyncTransportContract


class TestAiohttpTransportContract(AsyncTransportContract):
    def make_transport(self, config):  # type: ignore[no-untyped-def]
        return AiohttpTransport.from_config(config)
