"""A scripted HTTP/1.1 server on 127.0.0.1, for testing a transport (or anything else that talks
to the API) against real sockets. Standard library only; importing it imports no test framework.

Each path has a queue of *responders*; a request to the path takes the next one (the last one
repeats), and a path with no route answers 404. A responder is any ``Callable[[Handler], None]``
that writes to the socket itself, so a response can be chunked, close-delimited, short, slow,
cut mid-body or never sent. Every request is recorded (method, path, lower-cased headers, body)::

    from replicate.testing.servers import PREDICTION_ID, ScriptServer, json_response, prediction
    from replicate.testing.servers import sse_event, stream_response

    with ScriptServer() as server:  # listening on a free loopback port until the block ends
        server.route(f"/v1/predictions/{PREDICTION_ID}", json_response(prediction(server)))
        server.route(f"/stream/{PREDICTION_ID}", stream_response(sse_event("output", "hi")))
        client = replicate.Replicate(bearer_token="t", base_url=server.url("/v1"), transport=...)
        ...
        method, path, headers, body = server.requests[0]

As a pytest fixture::

    @pytest.fixture
    def server() -> Iterator[ScriptServer]:
        with ScriptServer() as s:
            yield s
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple

__all__ = [
    "PREDICTION_ID",
    "Handler",
    "RecordedRequest",
    "Responder",
    "ScriptServer",
    "created_prediction",
    "hang",
    "json_response",
    "prediction",
    "raw_response",
    "refused_port",
    "sse_event",
    "stream_response",
]

#: The prediction id :func:`prediction` answers with.
PREDICTION_ID = "ufawqhfynnddngldkgtslldrkq"

#: Writes one response (or none) for the request ``Handler`` holds.
Responder = Callable[["Handler"], None]


class RecordedRequest(NamedTuple):
    """A request the server received: ``method, path, headers, body = server.requests[0]``."""

    method: str
    #: Without the query string (and, for a proxy's absolute-form target, without the origin).
    path: str
    #: Lower-cased names.
    headers: dict[str, str]
    #: Read by Content-Length or de-chunked.
    body: bytes


class ScriptServer(ThreadingHTTPServer):
    """The server: :meth:`start` (or ``with ScriptServer() as server:``) serves it from a daemon
    thread, :meth:`close` (or leaving the block) ends it, waking every :func:`hang`-ing responder
    first."""

    daemon_threads = True
    #: 100 connects at once (the default backlog of 5 would drop SYNs: 1 s retransmits).
    request_queue_size = 256

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """``ssl_context``: serve HTTPS with it (a server-side context holding the certificate,
        e.g. from ``trustme``)."""
        super().__init__(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.routes: dict[str, list[Responder]] = {}
        #: Every request received, in order.
        self.requests: list[RecordedRequest] = []
        #: Set when the server closes: responders that wait (``hang``) wait on it.
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def url(self, path: str = "") -> str:
        """``http://127.0.0.1:<port><path>`` (``https://`` with an ``ssl_context``)."""
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}{path}"

    def route(self, path: str, *responders: Responder) -> None:
        """Answer requests to ``path`` with ``responders`` in turn; the last one repeats."""
        self.routes[path] = list(responders)

    def hits(self, path: str) -> list[dict[str, str]]:
        """The headers of each request to ``path``, in order."""
        return [r.headers for r in self.requests if r.path == path]

    def start(self) -> ScriptServer:
        """Serve from a daemon thread (until :meth:`close`); returns the server."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Wake waiting responders, stop serving and close the listening socket."""
        self.stop.set()
        if self._thread is not None:
            self.shutdown()
            self._thread = None
        self.server_close()

    def __enter__(self) -> ScriptServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Handler(BaseHTTPRequestHandler):
    """Reads and records each request, then runs the path's next responder. Responders write
    with the usual ``send_response`` / ``send_header`` / ``end_headers`` / ``wfile`` and may
    :meth:`cut` the connection."""

    protocol_version = "HTTP/1.1"
    server: ScriptServer

    def _any(self) -> None:
        path = self.path.split("?", 1)[0]
        if "://" in path:  # a proxy's absolute-form target
            path = "/" + path.split("://", 1)[1].split("/", 1)[1]
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = b""
        if "content-length" in headers:
            body = self.rfile.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if not size:
                    break
                body += chunk
        self.server.requests.append(RecordedRequest(self.command, path, headers, body))
        queue = self.server.routes.get(path)
        if not queue:
            json_response({"detail": "not found"}, status=404)(self)
            return
        responder = queue.pop(0) if len(queue) > 1 else queue[0]
        responder(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_QUERY = _any

    def cut(self) -> None:
        """Drop the connection at once (no end of body)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def raw_response(
    body: bytes,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    *,
    length: int | None = None,
    delay: float = 0.0,
) -> Responder:
    """``body`` with a Content-Length (``length`` to lie about it: a short body, then a cut),
    after ``delay`` seconds; ``headers`` default to ``Content-Type: application/json``."""

    def respond(h: Handler) -> None:
        if delay:
            time.sleep(delay)
        h.send_response(status)
        for name, value in headers or [("Content-Type", "application/json")]:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        if length is not None and length > len(body):
            h.cut()

    return respond


def json_response(obj: Any, status: int = 200, **kwargs: Any) -> Responder:
    """``obj`` as JSON; ``kwargs`` as for :func:`raw_response`."""
    return raw_response(json.dumps(obj).encode(), status, **kwargs)


def stream_response(
    *writes: bytes,
    end: str = "finish",
    chunked: bool = True,
    content_type: str = "text/event-stream",
    pause: float = 0.0,
) -> Responder:
    """A 200 whose body is written in ``writes`` pieces, flushed one by one (``pause`` seconds
    after each): an event stream by default (see :func:`sse_event`).

    ``chunked=False`` sends a close-delimited body instead. ``end``: "finish" ends the body
    properly; "cut" drops the connection (mid-body when chunked: a broken connection; when
    close-delimited the body just ends); "hang" keeps the connection open, silent, until the
    server closes.
    """

    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        h.wfile.flush()
        for data in writes:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            h.wfile.flush()
            if pause:
                time.sleep(pause)
        if end == "hang":
            h.server.stop.wait(10)
            h.cut()
        elif end == "cut":
            h.cut()
        elif chunked:
            h.wfile.write(b"0\r\n\r\n")

    return respond


def hang(h: Handler) -> None:
    """A responder that never answers (until the server closes, then cuts the connection)."""
    h.server.stop.wait(10)
    h.cut()


def sse_event(name: str, data: str, id: str | None = None, crlf: bool = False) -> bytes:
    """One Server-Sent Event (``event:``, ``id:``, a ``data:`` line per line of ``data``), with
    ``\\n`` (or, ``crlf=True``, ``\\r\\n``) line ends."""
    lines = [f"event: {name}"]
    if id is not None:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    eol = "\r\n" if crlf else "\n"
    return (eol.join(lines) + eol + eol).encode()


def prediction(server: ScriptServer, status: str = "succeeded", **fields: Any) -> dict[str, Any]:
    """A prediction's JSON (id :data:`PREDICTION_ID`) whose ``urls`` point at ``server``
    (``/v1/predictions/<id>``, ``.../cancel`` and ``/stream/<id>``); ``fields`` override."""
    pid = PREDICTION_ID
    urls = {
        "get": server.url(f"/v1/predictions/{pid}"),
        "cancel": server.url(f"/v1/predictions/{pid}/cancel"),
        "stream": server.url(f"/stream/{pid}"),
    }
    return {
        "id": pid,
        "status": status,
        "model": "acme/hello",
        "version": "v1",
        "input": {"prompt": "hi"},
        "output": None,
        "error": None,
        "logs": "",
        "created_at": "2024-01-01T00:00:00Z",
        "urls": urls,
        **fields,
    }


def created_prediction(server: ScriptServer, *, wait: int | None = 60, **fields: Any) -> Responder:
    """The 201 answering a prediction's creation: :func:`prediction` (``fields`` override;
    ``status`` "succeeded" unless given) with ``Preference-Applied: wait=<wait>``, as the API
    answers a create in sync mode (``Prefer: wait``); ``wait=None`` leaves the header out."""
    headers = [("Content-Type", "application/json")]
    if wait is not None:
        headers.append(("Preference-Applied", f"wait={wait}"))
    return json_response(prediction(server, **fields), 201, headers=headers)


def refused_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
