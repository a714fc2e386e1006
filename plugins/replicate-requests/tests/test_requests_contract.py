"""The SDK's transport contract suite, run against the requests transport."""

from __future__ import annotations

from replicate_requests import RequestsTransport

from replicate.testing.contract import SyncTransportContract


class TestRequestsTransportContract(SyncTransportContract):
    def make_transport(self, config):  # type: ignore[no-untyped-def]
        return RequestsTransport.from_config(config)
