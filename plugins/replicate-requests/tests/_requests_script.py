"""(A module name of its own: the test folders of several plugins share one pytest run.)

A scripted HTTP/1.1 server on 127.0.0.1 for the transport's tests: each path has a queue of
responders (the last one repeats), and each responder writes to the socket itself (so bodies can
be chunked, close-delimited, short, slow or cut)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PID = "ufawqhfynnddngldkgtslldrkq"

Responder = Callable[["Handler"], None]


class ScriptServer(ThreadingHTTPServer):
    daemon_threads = True
    #: 100 connects at once (the default backlog of 5 would drop SYNs: 1 s retransmits).
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, list[Responder]] = {}
        #: (method, path, headers, body) of every request received.
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.stop = threading.Event()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def route(self, path: str, *responders: Responder) -> None:
        self.routes[path] = list(responders)


class Handler(BaseHTTPRequestHandler):
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
        self.server.requests.append((self.command, path, headers, body))
        queue = self.server.routes.get(path)
        if not queue:
            json_response({"detail": "not found"}, status=404)(self)
            return
        responder = queue.pop(0) if len(queue) > 1 else queue[0]
        responder(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_QUERY = _any

    def cut(self) -> None:
        """Drop the connection at once."""
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
    """``body`` with a Content-Length (``length`` to lie about it: a short body, then a cut)."""

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
    return raw_response(json.dumps(obj).encode(), status, **kwargs)


def chunks(
    *writes: bytes, pause: float = 0.0, content_type: str = "text/event-stream", end: str = "finish"
) -> Responder:
    """A chunked body written piece by piece, flushed each time; ``end``: "finish", "cut"
    (mid-body) or "hang" (silent until the test ends)."""

    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        for data in writes:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()
            if pause:
                time.sleep(pause)
        if end == "hang":
            h.server.stop.wait(10)
            h.cut()
        elif end == "cut":
            h.cut()
        else:
            h.wfile.write(b"0\r\n\r\n")

    return respond


def hang(h: Handler) -> None:
    """Never answer (until the test ends)."""
    h.server.stop.wait(10)
    h.cut()


def event(name: str, data: str, id: str | None = None) -> bytes:
    lines = [f"event: {name}"]
    if id is not None:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def prediction(server: ScriptServer, status: str = "succeeded", **fields: Any) -> dict[str, Any]:
    urls = {
        "get": server.url(f"/v1/predictions/{PID}"),
        "cancel": server.url(f"/v1/predictions/{PID}/cancel"),
        "stream": server.url(f"/stream/{PID}"),
    }
    return {
        "id": PID,
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


def serve() -> Iterator[ScriptServer]:
    s = ScriptServer()
    thread = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield s
    finally:
        s.stop.set()
        s.shutdown()
        s.server_close()


def refused_port() -> int:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
