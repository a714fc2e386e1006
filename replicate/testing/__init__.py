"""Testing helpers for users' own tests and for transport authors.

- :class:`MockTransport` / :class:`AsyncMockTransport`: a transport answering every request from
  a handler function, as httpx's ``MockTransport`` does::

      def handler(request: replicate.Request) -> replicate.Response:
          return replicate.Response(200, headers={"Content-Type": "application/json"},
                                    content=b'{"id": "p1", "status": "succeeded"}')

      client = replicate.Replicate(bearer_token="t", transport=MockTransport(handler))

- :class:`ScriptServer` (:mod:`replicate.testing.servers`): a scripted HTTP/1.1 server on
  127.0.0.1 that answers each path from a queue of responders (:func:`json_response`,
  :func:`stream_response` of :func:`sse_event` pieces, :func:`raw_response` with a lying
  length, :func:`hang`) and records every request, for testing a transport on real sockets.
- :func:`isolated_environment`: ``REPLICATE_*`` and proxy variables cleared and only the given
  plugins allowed to load, for a plugin's tests; :func:`run_in_threads`: a thread race.
- :mod:`replicate.testing.contract`: the transport contract suite (imports pytest; import it
  from a test module only). Importing ``replicate.testing`` itself imports neither pytest nor
  any transport library.
"""

from __future__ import annotations

from ._isolation import isolated_environment, run_in_threads
from ._mock import AsyncMockTransport, MockTransport
from .servers import (
    PREDICTION_ID,
    RecordedRequest,
    ScriptServer,
    created_prediction,
    hang,
    json_response,
    prediction,
    raw_response,
    refused_port,
    sse_event,
    stream_response,
)

__all__ = [
    "PREDICTION_ID",
    "AsyncMockTransport",
    "MockTransport",
    "RecordedRequest",
    "ScriptServer",
    "created_prediction",
    "hang",
    "isolated_environment",
    "json_response",
    "prediction",
    "raw_response",
    "refused_port",
    "run_in_threads",
    "sse_event",
    "stream_response",
]
