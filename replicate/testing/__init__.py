"""Testing helpers for users' own tests and for transport authors.

- :class:`MockTransport` / :class:`AsyncMockTransport`: a transport answering every request from
  a handler function, as httpx's ``MockTransport`` does::

      def handler(request: replicate.Request) -> replicate.Response:
          return replicate.Response(200, headers={"Content-Type": "application/json"},
                                    content=b'{"id": "p1", "status": "succeeded"}')

      client = replicate.Replicate(bearer_token="t", transport=MockTransport(handler))

- :mod:`replicate.testing.contract`: the transport contract suite (imports pytest; import it
  from a test module only). Importing ``replicate.testing`` itself imports neither pytest nor
  any transport library.
"""

from __future__ import annotations

from ._mock import AsyncMockTransport, MockTransport

__all__ = ["AsyncMockTransport", "MockTransport"]
