"""The default urllib3 transport on loopback servers: errors, streaming, pools, proxies, TLS."""

from __future__ import annotations

import gzip
import logging
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
import urllib3
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import make_client
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    InsecureRequestWarning,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

import replicate
from replicate import Request, Timeout
from replicate.transports.urllib3_transport import Urllib3Transport

FAST = replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)


# --- a small threaded HTTP/1.1 server with keep-alive and scripted routes ---------------------

Route = Callable[[BaseHTTPRequestHandler, bytes], None]


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def echo_path(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    send(handler, 200, handler.path.encode(), Content_Type="text/plain")


class Loopback:
    """A ThreadingHTTPServer on 127.0.0.1 that records connections and requests."""

    def __init__(self, routes: dict[str, Route] | None = None, default: Route = echo_path) -> None:
        self.routes = routes or {}
        self.default = default
        self.connections: list[tuple[str, int]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with outer.lock:
                    outer.connections.append(self.client_address)

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path, dict(self.headers), body))
                route = outer.routes.get(self.path.split("?", 1)[0], outer.default)
                try:
                    route(self, body)
                except OSError:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # 16 threads connect at once: the default backlog of 5 drops SYNs under load.
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[Callable[..., Loopback]]:
    servers: list[Loopback] = []

    def make(*args: Any, **kwargs: Any) -> Loopback:
        server = Loopback(*args, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


# --- import cost ------------------------------------------------------------------------------


def test_import_replicate_does_not_import_urllib3() -> None:
    code = (
        "import sys, replicate\n"
        "print('urllib3' in sys.modules)\n"
        "c = replicate.Replicate(bearer_token='x', base_url='http://127.0.0.1:9/v1')\n"
        "print('urllib3' in sys.modules)\n"
        "print(type(c.transport).__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "REPLICATE_PLUGINS": ""},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True", "Urllib3Transport"]


# --- concurrency ------------------------------------------------------------------------------


def test_many_threads_share_one_client_without_pool_warnings(
    loopback: Callable[..., Loopback], caplog: pytest.LogCaptureFixture
) -> None:
    server = loopback()
    threads, per_thread = 16, 20
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    with make_client(server.url + "/v1") as client:

        def work(t: int) -> None:
            try:
                for i in range(per_thread):
                    path = f"/items/{t}-{i}"
                    body = client.get(path).content
                    with lock:
                        results[path] = body
            except BaseException as exc:
                errors.append(exc)

        with (
            warnings.catch_warnings(record=True) as caught,
            caplog.at_level(logging.DEBUG, logger="urllib3"),
        ):
            warnings.simplefilter("always")
            workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(30)

    assert errors == []
    assert len(results) == threads * per_thread
    for path, body in results.items():
        assert body == f"/v1{path}".encode()
    assert not [w for w in caught if "pool" in str(w.message).lower()]
    assert "Connection pool is full" not in caplog.text
    # Keep-alive connections were reused: no more than one per thread was ever opened.
    assert len(server.connections) <= threads


# --- timeouts and error mapping ---------------------------------------------------------------


def test_read_timeout_maps_to_api_timeout_error_sent(loopback: Callable[..., Loopback]) -> None:
    stop = threading.Event()

    def slow(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        stop.wait(1)

    server = loopback({"/v1/slow": slow})
    try:
        with (
            make_client(server.url + "/v1", timeout=Timeout(connect=1, read=0.2)) as client,
            pytest.raises(replicate.APITimeoutError) as info,
        ):
            client.get("/slow", max_retries=0)
    finally:
        stop.set()
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, ReadTimeoutError)
    assert "0.2" in str(info.value)


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A listening socket whose accept backlog is full: new connections hang in SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    # the backlog is full once a filler's connect has completed (its socket is writable)
    _, writable, _ = select.select([], fillers, [], 5)
    assert writable, "no connection reached the listener's backlog"
    yield port
    for s in fillers:
        s.close()
    listener.close()


def test_connect_timeout_maps_to_api_timeout_error_not_sent(unaccepting_port: int) -> None:
    events: list[replicate.Event] = []

    class Observer:
        @replicate.hookimpl
        def replicate_observe(self, event: replicate.Event) -> None:
            events.append(event)

    client = make_client(
        f"http://127.0.0.1:{unaccepting_port}/v1",
        timeout=Timeout(connect=0.2, read=5),
        max_retries=1,
        plugins=[Observer()],
    )
    start = time.monotonic()
    with client, pytest.raises(replicate.APITimeoutError) as info:
        client.post("/predictions", json={})
    elapsed = time.monotonic() - start
    assert info.value.request_sent is False
    assert isinstance(info.value.__cause__, ConnectTimeoutError)
    assert not isinstance(info.value.__cause__, NewConnectionError)
    # Never sent, so even a POST is retried; each attempt waits the connect timeout only.
    assert len([e for e in events if e.kind == "request"]) == 2
    assert 0.35 < elapsed < 6  # two connect timeouts of 0.2 s, not two read timeouts of 5 s
    # The message names the origin and the timeout, not urllib3's connection object.
    message = str(info.value)
    assert message.startswith(f"Could not connect to http://127.0.0.1:{unaccepting_port}")
    assert "HTTPConnection" not in message and "0x" not in message


def _conn() -> urllib3.connection.HTTPConnection:
    return urllib3.connection.HTTPConnection("api.example.test", 443)


def _ssl_error_from_a_read() -> SSLError:
    """A urllib3 SSLError as it looks when TLS breaks while reading a response."""
    try:
        raise ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac")
    except ssl.SSLError as exc:
        return SSLError(exc)


MAPPINGS: list[tuple[str, Callable[[], BaseException], type[Exception], bool]] = [
    (
        "connect-timeout",
        lambda: ConnectTimeoutError(_conn(), "Connection timed out. (connect timeout=0.2)"),
        replicate.APITimeoutError,
        False,
    ),
    (
        "refused",
        lambda: NewConnectionError(_conn(), "Failed to establish a new connection: refused"),
        replicate.APIConnectionError,
        False,
    ),
    (
        "dns",
        lambda: urllib3.exceptions.NameResolutionError(
            "api.example.test", _conn(), socket.gaierror(-2, "Name or service not known")
        ),
        replicate.APIConnectionError,
        False,
    ),
    (
        "read-timeout",
        lambda: ReadTimeoutError(None, "/", "Read timed out. (read timeout=0.2)"),  # type: ignore[arg-type]
        replicate.APITimeoutError,
        True,
    ),
    (
        "reset",
        lambda: ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        replicate.APIConnectionError,
        True,
    ),
    (
        "tls-verify",
        lambda: SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
        replicate.APIConnectionError,
        False,
    ),
    (
        "tls-after-send",
        _ssl_error_from_a_read,
        replicate.APIConnectionError,
        True,
    ),
    (
        "proxy-refused",
        lambda: ProxyError("Unable to connect to proxy", NewConnectionError(_conn(), "refused")),
        replicate.APIConnectionError,
        False,
    ),
    (
        "proxy-connect-timeout",
        lambda: ProxyError("Unable to connect to proxy", ConnectTimeoutError(_conn(), "t/o")),
        replicate.APITimeoutError,
        False,
    ),
    (
        "proxy-other",
        lambda: ProxyError("Unable to connect to proxy", OSError("Tunnel connection failed")),
        replicate.APIConnectionError,
        True,
    ),
    (
        "decode",
        lambda: DecodeError("Received response with content-encoding: gzip, but failed"),
        replicate.APIConnectionError,
        True,
    ),
    (
        "oserror",
        lambda: ConnectionResetError(104, "Connection reset by peer"),
        replicate.APIConnectionError,
        True,
    ),
]


@pytest.mark.parametrize(
    ("make_error", "expected", "sent"),
    [m[1:] for m in MAPPINGS],
    ids=[m[0] for m in MAPPINGS],
)
def test_urllib3_errors_are_mapped(
    monkeypatch: pytest.MonkeyPatch,
    make_error: Callable[[], BaseException],
    expected: type[Exception],
    sent: bool,
) -> None:
    error = make_error()

    def urlopen(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", urlopen)
    transport = Urllib3Transport()
    request = Request("POST", "https://api.example.test/v1/predictions", content=b"{}")
    with pytest.raises(replicate.APIConnectionError) as info:
        transport.send(request, timeout=Timeout(1))
    assert type(info.value) is expected
    assert info.value.request_sent is sent
    assert info.value.__cause__ is error
    assert info.value.request is request
    assert "https://api.example.test" in str(info.value)


def test_programming_errors_propagate_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("bad argument")

    monkeypatch.setattr(HTTPConnectionPool, "urlopen", urlopen)
    with pytest.raises(TypeError, match="bad argument"):
        Urllib3Transport().send(Request("GET", "http://127.0.0.1:9/"), timeout=Timeout(1))


# --- streaming --------------------------------------------------------------------------------


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class TwoPartStream:
    """A route that sends one chunk, then waits for the test before sending the rest."""

    def __init__(self) -> None:
        self.first_sent = threading.Event()
        self.release = threading.Event()
        self.second_sent = threading.Event()
        self.released_in_time = False

    def __call__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(_chunk(b"first part;"))
        self.first_sent.set()
        self.released_in_time = self.release.wait(3)
        handler.wfile.write(_chunk(b"second part"))
        self.second_sent.set()
        handler.wfile.write(b"0\r\n\r\n")


def test_stream_returns_before_the_body_is_complete(loopback: Callable[..., Loopback]) -> None:
    route = TwoPartStream()
    server = loopback({"/v1/stream": route})
    with make_client(server.url + "/v1", timeout=Timeout(connect=1, read=5)) as client:
        resp = client.get("/stream", stream=True)
        assert resp.status_code == 200
        assert not resp.is_stream_consumed
        chunks = resp.iter_bytes()
        first = next(chunks)
        assert first == b"first part;"
        assert not route.second_sent.is_set()
        route.release.set()
        rest = list(chunks)
        assert route.released_in_time
        assert b"".join([first, *rest]) == b"first part;second part"
        assert resp.is_stream_consumed
        # The connection went back to the pool: the next request reuses it.
        assert client.get("/after").content == b"/v1/after"
    assert len(server.connections) == 1


def test_stream_yields_several_chunks_not_one_buffer(loopback: Callable[..., Loopback]) -> None:
    payload = os.urandom(1024 * 1024)

    def big(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        send(handler, 200, payload, Content_Type="application/octet-stream")

    server = loopback({"/v1/big": big})
    with make_client(server.url + "/v1") as client:
        with client.get("/big", stream=True) as resp:
            chunks = list(resp.iter_bytes())
        assert len(chunks) > 4
        assert max(len(c) for c in chunks) <= 64 * 1024
        assert b"".join(chunks) == payload
        with client.get("/big", stream=True) as resp:
            sized = list(resp.iter_bytes(chunk_size=100_000))
        assert b"".join(sized) == payload
        assert all(len(c) == 100_000 for c in sized[:-1])


def _pool(client: replicate.Replicate, url: str) -> Any:
    transport = client.transport
    assert isinstance(transport, Urllib3Transport)
    return transport._pool.connection_from_url(url)


def test_closed_streams_do_not_leak_connections(loopback: Callable[..., Loopback]) -> None:
    payload = b"x" * (512 * 1024)

    def big(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        send(handler, 200, payload, Content_Type="application/octet-stream")

    server = loopback({"/v1/big": big})
    with make_client(server.url + "/v1") as client:
        pool = _pool(client, server.url)
        free = pool.pool.qsize()
        for _ in range(40):  # more than pool_maxsize, abandoned after one chunk
            resp = client.get("/big", stream=True)
            next(resp.iter_bytes())
            resp.close()
        assert pool.pool.qsize() == free
        for _ in range(5):  # read to the end
            with client.get("/big", stream=True) as resp:
                assert resp.read() == payload
        assert pool.pool.qsize() == free
        assert client.get("/ping").content == b"/v1/ping"


def test_an_error_status_on_a_stream_is_read_and_raised(loopback: Callable[..., Loopback]) -> None:
    def missing(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        send(handler, 404, b'{"detail": "no such thing"}', Content_Type="application/json")

    server = loopback({"/v1/missing": missing})
    with make_client(server.url + "/v1") as client:
        pool = _pool(client, server.url)
        free = pool.pool.qsize()
        with pytest.raises(replicate.NotFoundError) as info:
            client.get("/missing", stream=True)
        assert info.value.detail == "no such thing"
        assert pool.pool.qsize() == free


def truncated(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Promise 100 bytes, send 10, hang up."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    handler.wfile.write(b"0123456789")
    handler.close_connection = True


@pytest.mark.parametrize(("method", "attempts"), [("GET", 3), ("POST", 1)])
def test_a_body_cut_short_is_a_connection_error_after_sending(
    loopback: Callable[..., Loopback], method: str, attempts: int
) -> None:
    server = loopback({"/v1/cut": truncated})
    with (
        make_client(server.url + "/v1") as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.request(method, "/cut", json={})
    assert not isinstance(info.value, replicate.APITimeoutError)
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, ProtocolError)
    assert len(server.requests) == attempts


def test_a_streamed_body_cut_short_raises_while_reading(loopback: Callable[..., Loopback]) -> None:
    server = loopback({"/v1/cut": truncated})
    with make_client(server.url + "/v1") as client:
        resp = client.get("/cut", stream=True)
        with pytest.raises(replicate.APIConnectionError) as info:
            resp.read()
        assert info.value.request_sent is True
        assert resp.is_stream_consumed
        assert client.get("/next").content == b"/v1/next"


def test_a_stalled_stream_times_out_between_chunks(loopback: Callable[..., Loopback]) -> None:
    route = TwoPartStream()
    server = loopback({"/v1/stream": route})
    try:
        with make_client(server.url + "/v1", timeout=Timeout(connect=1, read=0.2)) as client:
            resp = client.get("/stream", stream=True)
            chunks = resp.iter_bytes()
            assert next(chunks) == b"first part;"
            with pytest.raises(replicate.APITimeoutError) as info:
                next(chunks)
            assert info.value.request_sent is True
            assert isinstance(info.value.__cause__, ReadTimeoutError)
    finally:
        route.release.set()


def test_a_streamed_request_is_retried_and_returns_the_stream(
    loopback: Callable[..., Loopback],
) -> None:
    calls: list[int] = []

    def flaky(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        calls.append(1)
        if len(calls) == 1:
            send(handler, 503, b"busy" * 10_000)
        else:
            send(handler, 200, b"payload")

    server = loopback({"/v1/flaky": flaky})
    with make_client(server.url + "/v1") as client:
        pool = _pool(client, server.url)
        free = pool.pool.qsize()
        with client.get("/flaky", stream=True) as resp:
            assert resp.status_code == 200
            assert resp.read() == b"payload"
        assert len(calls) == 2
        assert pool.pool.qsize() == free


# --- no redirects, no retries at the transport level ------------------------------------------


def test_transport_does_not_follow_redirects(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/from").respond_with_data(
        "", status=302, headers={"Location": "/to"}
    )
    httpserver.expect_request("/to").respond_with_data("arrived")
    transport = Urllib3Transport()
    try:
        resp = transport.send(Request("GET", httpserver.url_for("/from")), timeout=Timeout(1))
    finally:
        transport.close()
    assert resp.status_code == 302
    assert resp.headers["location"] == "/to"
    assert [req.path for req, _ in httpserver.log] == ["/from"]


def test_transport_does_not_retry(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    transport = Urllib3Transport()
    try:
        resp = transport.send(Request("GET", httpserver.url_for("/busy")), timeout=Timeout(1))
    finally:
        transport.close()
    assert resp.status_code == 503
    assert resp.content == b"busy"
    assert len(httpserver.log) == 1


def test_transport_sends_method_headers_and_body_as_given(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/put", method="PUT").respond_with_data("ok")
    transport = Urllib3Transport()
    try:
        request = Request(
            "PUT", httpserver.url_for("/put"), headers={"X-Thing": "1"}, content=b"hello"
        )
        transport.send(request, timeout=Timeout(1))
        chunked = Request("PUT", httpserver.url_for("/put"), content=iter([b"ab", b"cd"]))
        transport.send(chunked, timeout=Timeout(1))
    finally:
        transport.close()
    first, second = (req for req, _ in httpserver.log)
    assert first.headers["X-Thing"] == "1" and first.get_data() == b"hello"
    assert second.headers.get("Transfer-Encoding") == "chunked"
    assert second.get_data() == b"abcd"


TARGETS = [
    "/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
    "/v1/predictions?cursor=abc%2Fdef&created_after=2024-01-01T00%3A00%3A00%2B00%3A00",
    "/v1/models/owner/name/versions/abc:def@x,y;z=1!$&'()*+~_-.",
    "/v1/files/a%2fb",  # a lower-case escape: urllib3 upper-cases it
    "/v1/files/a%2",  # an escape cut short, and one that is not hex: urllib3 escapes the '%'
    "/v1/files/a%zz",
    "/v1/files/with space/and\u00e9",  # characters urllib3 escapes
    "/v1/a/./b/../c",  # dot segments: urllib3 removes them
    "/v1/a/.hidden",
    "/v1/predictions?q=a?b",  # a '?' inside the query stays
    "/v1/frag#part",  # a fragment is never sent
    "/v1/predictions?",
    "/",
]


def test_request_targets_reach_the_server_as_urllib3_sends_them(
    loopback: Callable[..., Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport sends most requests straight to its origin's pool, skipping urllib3's
    per-request URL parsing and pool look-up: the server sees every target exactly as through
    ``PoolManager.urlopen``, plain or not."""
    server = loopback()
    ours, bare = Urllib3Transport(), urllib3.PoolManager()
    routed: list[str] = []
    manager_urlopen = urllib3.PoolManager.urlopen

    def spy(self: urllib3.PoolManager, method: str, url: str, **kw: Any) -> Any:
        if self is not bare:
            routed.append(url.removeprefix(server.url))
        return manager_urlopen(self, method, url, **kw)

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", spy)
    try:
        for target in TARGETS:
            transport_url = server.url + target
            ours.send(Request("GET", transport_url), timeout=Timeout(5))
            bare.request("GET", transport_url, retries=False)
    finally:
        ours.close()
        bare.clear()
    seen = [path for _, path, _, _ in server.requests]
    assert seen[0::2] == seen[1::2]
    assert seen[0] == TARGETS[0]
    assert "/v1/files/a%2Fb" in seen and "/v1/a/c" in seen and "/v1/frag" in seen
    assert len(server.connections) == 2  # one keep-alive connection each, both paths
    # Only what URL parsing would change went through the manager's routing.
    assert routed == [
        "/v1/files/a%2fb",
        "/v1/files/a%2",
        "/v1/files/a%zz",
        "/v1/files/with space/and\u00e9",
        "/v1/a/./b/../c",
        "/v1/a/.hidden",
        "/v1/frag#part",
    ]


def test_origins_beyond_the_managers_pools_still_work(loopback: Callable[..., Loopback]) -> None:
    """An origin whose pool the manager evicted (``num_pools``) gets a pool again: never a
    closed pool, never a lost request."""
    servers = [loopback() for _ in range(3)]
    transport = Urllib3Transport(num_pools=1)
    try:
        for _ in range(3):
            for server in servers:
                resp = transport.send(Request("GET", server.url + "/x"), timeout=Timeout(5))
                assert resp.status_code == 200 and resp.content == b"/x"
        # Userinfo, an upper-case scheme: through the manager, as urllib3 routes them.
        host = servers[0].url.removeprefix("http://")
        for url in (f"http://user:pw@{host}/y", f"HTTP://{host}/z"):
            assert transport.send(Request("GET", url), timeout=Timeout(5)).content in (b"/y", b"/z")
    finally:
        transport.close()
    assert all(len(server.requests) == 3 for server in servers[1:])
    assert len(servers[0].requests) == 5
    with pytest.raises(replicate.ReplicateError, match="closed"):
        transport.send(Request("GET", servers[0].url + "/x"), timeout=Timeout(5))


# --- proxies ----------------------------------------------------------------------------------


def via_proxy(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    send(handler, 200, b'{"via": "proxy"}', Content_Type="application/json")


@pytest.fixture
def proxy(loopback: Callable[..., Loopback]) -> Loopback:
    return loopback(default=via_proxy)


def test_http_proxy_environment_is_used(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/models").respond_with_json({"via": "direct"})
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "proxy"}
    assert [r[1] for r in proxy.requests] == [httpserver.url_for("/v1/models")]
    assert proxy.requests[0][2]["Authorization"] == f"Bearer {TOKEN}"
    assert len(httpserver.log) == 0


def test_lowercase_and_all_proxy_environment(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("all_proxy", f"127.0.0.1:{proxy.port}")  # no scheme: http:// assumed
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "proxy"}
    assert [r[1] for r in proxy.requests] == [httpserver.url_for("/v1/models")]


@pytest.mark.parametrize("no_proxy", ["localhost", "example.com, .localhost", "*"])
def test_no_proxy_bypasses_the_proxy(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    assert httpserver.url_for("/").startswith("http://localhost:")
    httpserver.expect_request("/v1/models").respond_with_json({"via": "direct"})
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "direct"}
    assert proxy.requests == []


def test_no_proxy_by_ip_address(
    loopback: Callable[..., Loopback], proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = loopback()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with make_client(target.url + "/v1") as client:
        assert client.get("/direct").content == b"/v1/direct"
    assert proxy.requests == []
    assert [r[1] for r in target.requests] == ["/v1/direct"]


def test_no_proxy_for_other_hosts_keeps_the_proxy(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "example.com,127.0.0.2")
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "proxy"}
    assert len(proxy.requests) == 1


def test_https_proxy_is_not_used_for_http(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/models").respond_with_json({"via": "direct"})
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "direct"}
    assert proxy.requests == []


def test_proxy_credentials_in_the_url_are_sent_as_proxy_authorization(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    user_url = proxy.url.replace("http://", "http://al%40ice:s3cr%3At@")
    monkeypatch.setenv("HTTP_PROXY", user_url)
    with make_client(httpserver.url_for("/v1")) as client:
        assert client.get("/models").json() == {"via": "proxy"}
    expected = base64.b64encode(b"al@ice:s3cr:t").decode()
    sent = {k.lower(): v for k, v in proxy.requests[0][2].items()}
    assert sent["proxy-authorization"] == f"Basic {expected}"


def test_explicit_proxy(httpserver: HTTPServer, proxy: Loopback) -> None:
    with make_client(httpserver.url_for("/v1"), proxy=proxy.url) as client:
        assert client.post("/predictions", json={"a": 1}).json() == {"via": "proxy"}
    assert [(r[0], r[1], r[3]) for r in proxy.requests] == [
        ("POST", httpserver.url_for("/v1/predictions"), b'{"a":1}')
    ]


def test_explicit_proxy_wins_over_the_environment(
    httpserver: HTTPServer, proxy: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with make_client(httpserver.url_for("/v1"), proxy=proxy.url) as client:
        assert client.get("/models").json() == {"via": "proxy"}
    assert len(proxy.requests) == 1


def test_unreachable_proxy_is_a_connection_error_not_sent(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    with (
        make_client(httpserver.url_for("/v1"), max_retries=0) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.post("/predictions", json={})
    assert info.value.request_sent is False
    assert isinstance(info.value.__cause__, ProxyError)
    assert len(httpserver.log) == 0


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def https(tls_server: HTTPServer) -> Iterator[HTTPServer]:
    tls_server.clear()
    tls_server.expect_request("/v1/account").respond_with_json({"secure": True})
    yield tls_server
    tls_server.clear()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_tls_with_a_ca_bundle_path(https: HTTPServer, ca_bundle: str) -> None:
    with make_client(https.url_for("/v1"), verify=ca_bundle) as client:
        assert client.get("/account").json() == {"secure": True}
    assert https.url_for("/").startswith("https://")
    with make_client(https.url_for("/v1"), verify=Path(ca_bundle)) as client:
        assert client.get("/account").json() == {"secure": True}


def test_tls_with_an_ssl_context(https: HTTPServer, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with make_client(https.url_for("/v1"), verify=context) as client:
        assert client.get("/account").json() == {"secure": True}


def test_tls_default_verification_rejects_an_unknown_ca(https: HTTPServer) -> None:
    with (
        make_client(https.url_for("/v1"), max_retries=0) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.get("/account")
    err = info.value
    assert not isinstance(err, replicate.APITimeoutError)
    assert err.request_sent is False
    assert isinstance(err.__cause__, SSLError)
    assert "certificate" in str(err).lower()
    assert len(https.log) == 0


def test_tls_verify_false_works_and_warns(
    https: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="replicate"):
        client = make_client(https.url_for("/v1"), verify=False)
    assert any(
        r.name == "replicate" and r.levelno == logging.WARNING and "verify=False" in r.message
        for r in caplog.records
    )
    with client, warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureRequestWarning)
        assert client.get("/account").json() == {"secure": True}


def test_verified_clients_do_not_warn(
    https: HTTPServer, ca_bundle: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="replicate"):
        make_client(https.url_for("/v1"), verify=ca_bundle).close()
    assert not [r for r in caplog.records if r.name == "replicate"]


def test_https_to_a_plain_http_port_fails_before_sending(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/v1").replace("http://", "https://")
    with (
        make_client(url, max_retries=0) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.get("/account")
    assert info.value.request_sent is False
    assert isinstance(info.value.__cause__, SSLError)


class GarblingTLSServer:
    """A TLS server that reads a request, then writes bytes that are not a valid TLS record."""

    def __init__(self, ca: trustme.CA) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.request_lines: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                raw.settimeout(3)
                conn = self.context.wrap_socket(raw, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:
                    more = conn.recv(65536)
                    if not more:
                        break
                    body += more
                self.request_lines.append(head.split(b"\r\n", 1)[0])
                # Bypass TLS: an application-data record header followed by junk.
                with socket.socket(fileno=os.dup(conn.fileno())) as bare:
                    bare.sendall(b"\x17\x03\x03\x00\x10" + b"not-a-tls-record")
                    # Close only after the client hung up, so nothing can overtake the junk.
                    while bare.recv(65536):
                        pass
                conn.close()
            except OSError:
                raw.close()

    def close(self) -> None:
        self.listener.close()


def test_tls_failure_after_the_request_was_sent_is_not_retried_for_post(
    ca: trustme.CA,
) -> None:
    server = GarblingTLSServer(ca)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    try:
        with (
            make_client(f"https://127.0.0.1:{server.port}/v1", verify=context) as client,
            pytest.raises(replicate.APIConnectionError) as info,
        ):
            client.post("/predictions", json={"input": {}})
    finally:
        server.close()
    assert isinstance(info.value.__cause__, SSLError)
    # The server saw the POST: sending it again could create a second prediction.
    assert info.value.request_sent is True
    assert server.request_lines == [b"POST /v1/predictions HTTP/1.1"]


# --- content decoding -------------------------------------------------------------------------


def test_gzip_response_is_decoded(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    body = b'{"results": [' + b",".join(b'{"n": %d}' % i for i in range(500)) + b"]}"
    httpserver.expect_request("/v1/list").respond_with_data(
        gzip.compress(body),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    resp = client.get("/list")
    assert resp.content == body
    assert len(resp.json()["results"]) == 500
    with client.get("/list", stream=True) as streamed:
        assert b"".join(streamed.iter_bytes()) == body
