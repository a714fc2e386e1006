"""The emulator served over real HTTP/1.1 on loopback, for clients in other processes or
languages, and for the SDK's own network transports.

:func:`serve` starts a :class:`http.server.ThreadingHTTPServer` (a daemon thread per
connection, keep-alive) in a background thread and returns a :class:`Server`. Bodies the
emulator streams (SSE, downloads) go out with ``Transfer-Encoding: chunked`` as they are
produced; others with a ``Content-Length``. Request bodies are read by ``Content-Length`` or
chunked framing. URLs in answers are built on the ``Host`` the client addressed.

Fault directives are carried out on the socket: ``drop="before"`` closes the connection without
an answer, ``drop="mid"`` after half the body (or a stream's first chunk), ``truncate=n`` sends
``n`` bytes of a body announced longer and closes, ``stall=s`` pauses a stream for ``s``
seconds after its first chunk.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .wire import EmuRequest, EmuResponse, problem

if TYPE_CHECKING:
    from types import TracebackType

    from .app import Emulator

__all__ = ["DEFAULT_PORT", "Server", "serve"]

DEFAULT_PORT = 8787
#: Seconds an idle keep-alive connection (or a client not reading) is kept before it is closed.
IDLE_TIMEOUT = 300.0
#: Response headers the server frames itself.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
#: Statuses that have no body (and so no Content-Length either).
_NO_BODY = frozenset({204, 304})


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "replicate-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: with Nagle's algorithm on, the body
        # waits for the client's delayed ACK of the headers (some 40 ms on Linux), per answer.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log:
            super().log_message(format, *args)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (_BadRequest, ValueError) as exc:
            self.close_connection = True
            self._write(problem(400, f"Malformed request body: {exc}"))
            return
        target = self.path
        if not target.startswith("/"):  # an absolute-form target (sent as to a proxy)
            target = "/" + target.split("://", 1)[-1].partition("/")[2]
        host = self.headers.get("Host") or self.server.authority
        req = EmuRequest.from_target(
            self.command, target, self.headers.items(), body, f"http://{host}"
        )
        try:
            resp = self.server.emulator.handle(req)
        except Exception as exc:  # the emulator answers its own errors; this is a last guard
            resp = problem(500, f"The emulator failed: {type(exc).__name__}: {exc}")
        self._write(resp)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_QUERY = _serve

    def _read_body(self) -> bytes:
        encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in encoding:
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        size = int(length)
        if size < 0:
            raise _BadRequest("negative Content-Length")
        data = self.rfile.read(size)
        if len(data) < size:
            raise _BadRequest(f"the body ended after {len(data)} of {size} bytes")
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        rfile = self.rfile
        while True:
            line = rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise _BadRequest("a chunk size line was cut off")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            data = rfile.read(size)
            if len(data) < size:
                raise _BadRequest("a chunk was cut off")
            parts.append(data)
            rfile.readline(8)

    def _write(self, resp: EmuResponse) -> None:
        body = resp.body
        if resp.drop == "before":
            _close(body)
            self._abort()
            return
        head = self.command == "HEAD"
        self.send_response(resp.status)
        for name, value in resp.headers:
            if name.lower() not in _FRAMING:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if isinstance(body, (bytes, bytearray)):
            self._write_bytes(resp, bytes(body), head)
        else:
            self._write_stream(resp, body, head)

    def _write_bytes(self, resp: EmuResponse, body: bytes, head: bool) -> None:
        if resp.status in _NO_BODY:
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        cut: int | None = None
        if resp.truncate is not None and resp.truncate < len(body):
            cut = resp.truncate
        elif resp.drop == "mid":
            cut = len(body) // 2
        try:
            self.wfile.write(body if cut is None else body[:cut])
        except OSError:
            self.close_connection = True
            return
        if cut is not None:
            self._abort()

    def _write_stream(self, resp: EmuResponse, body: Iterator[bytes], head: bool) -> None:
        if head or resp.status in _NO_BODY:
            _close(body)
            self.end_headers()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        write = self.wfile.write
        left = resp.truncate
        stall = resp.stall
        drop = resp.drop == "mid"
        try:
            for chunk in body:
                if not chunk:
                    continue
                if left is not None and len(chunk) > left:
                    if left:
                        write(b"%x\r\n%s\r\n" % (left, chunk[:left]))
                    self._abort()
                    return
                write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if left is not None:
                    left -= len(chunk)
                if drop:
                    self._abort()
                    return
                if stall:
                    time.sleep(stall)
                    stall = None
            write(b"0\r\n\r\n")
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            _close(body)

    def _abort(self) -> None:
        """Close the connection now, whatever was (not) sent."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _close(body: object) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog (5) drops the SYNs of clients that open many connections
    # at once (an async client's pool of 100), each then waiting seconds to retransmit.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], emulator: Emulator, log: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self.log = log
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)
        bound, port = self.server_address[:2]
        host = bound.decode() if isinstance(bound, bytes) else str(bound)
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        self.authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Print the traceback of a request that failed, except when the client went away
        (a reset or closed connection is the client's choice, not the emulator's fault)."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def track(self, sock: socket.socket, opened: bool) -> None:
        with self._open_lock:
            if opened:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now, self._open = self._open, set()
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Server:
    """A running emulator server: ``url`` is its origin (``http://127.0.0.1:8787``),
    ``base_url`` the API's base (``url + "/v1"``) to give a client. ``close()`` (or leaving the
    ``with`` block) stops it and ends its open connections; the emulator is closed too only
    when the server made it."""

    def __init__(self, httpd: _HTTPServer, owns_emulator: bool) -> None:
        self._httpd = httpd
        self._owns_emulator = owns_emulator
        self.emulator = httpd.emulator
        self.url = f"http://{httpd.authority}"
        self.base_url = f"{self.url}/v1"
        self.host, self.port = httpd.server_address[:2]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"replicate-emulator {self.url}",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join(5)
        if self._owns_emulator:
            self.emulator.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Server {self.base_url}{' closed' if self._closed else ''}>"


def serve(
    emulator: Emulator | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    log: bool = False,
) -> Server:
    """Serve ``emulator`` (None: a new in-memory one, closed with the server) on ``host:port``
    (port 0: a free one) until the returned :class:`Server` is closed. ``log`` writes a line
    per request to stderr. Raises OSError when the address cannot be bound."""
    owns = emulator is None
    if emulator is None:
        # Imported here: the engine loads every route and model; serving one given needs none.
        from .app import Emulator

        emulator = Emulator()
    try:
        httpd = _HTTPServer((host, port), emulator, log)
    except BaseException:
        if owns:
            emulator.close()
        raise
    return Server(httpd, owns)
