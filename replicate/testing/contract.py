"""The transport contract suite: what every transport must do, as pytest tests.

A transport author runs it with a few lines::

    from replicate.testing.contract import AsyncTransportContract, SyncTransportContract

    class TestMyTransport(SyncTransportContract):
        def make_transport(self, config):
            return MyTransport.from_config(config)

    class TestMyAsyncTransport(AsyncTransportContract):
        def make_transport(self, config):  # called inside the event loop; may be async def
            return MyAsyncTransport.from_config(config)

``config`` is a :class:`replicate.ClientConfig`; the suite builds one per test (``verify`` and
``proxy`` vary). Each test starts its own HTTP/1.1 servers on 127.0.0.1 (plain sockets in
threads: nothing but pytest is needed, and nothing leaves the machine). The async suite runs
each test's event loop itself (no pytest-asyncio needed). TLS tests make a throwaway CA and
server certificate with the ``cryptography`` package when it is installed, else with the
``openssl`` command; with neither they are skipped.

What is checked is written down in :class:`replicate.SyncTransport` and
:class:`replicate.AsyncTransport`. A transport that takes no proxy settings sets
``supports_proxy = False`` on its test class (the proxy tests are then skipped). The whole suite
takes a few seconds.

The suite's assertions carry messages; for pytest's detailed comparisons as well, register the
module for assertion rewriting before it is imported, in a ``conftest.py``::

    pytest.register_assert_rewrite("replicate.testing.contract")

:class:`LoopbackServer` and :class:`Exchange` (a scripted HTTP/1.1 server and one request to
it) and :func:`tls_material` are public too, for a transport's own further tests.

This module imports pytest; :mod:`replicate.testing` itself does not import this module.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import inspect
import io
import os
import pickle
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .._config import ClientConfig
from .._http import AsyncByteStream, Request, Response, SyncByteStream, Timeout
from ..exceptions import APIConnectionError, APITimeoutError, ReplicateError
from .servers import refused_port

__all__ = [
    "AsyncTransportContract",
    "Exchange",
    "LoopbackServer",
    "SyncTransportContract",
    "tls_material",
]

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
#: Generous limits that still end a hung test quickly.
_GUARD = 20.0


# --- a loopback HTTP/1.1 server ---------------------------------------------------------------


class Exchange:
    """One request as the server read it, and the means to answer it (or not)."""

    def __init__(
        self,
        server: LoopbackServer,
        sock: socket.socket,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        self.server = server
        self.sock = sock
        self.method = method
        #: The request target as sent: a path, or an absolute URL when sent to a proxy.
        self.target = target
        self.path = target if target.startswith("/") else "/" + target.split("/", 3)[-1]
        self.headers = headers
        self.body = body
        self.closed = False

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Answer with ``body``; a Content-Length is added unless ``headers`` frame it."""
        headers = list(headers)
        names = {k.lower() for k, _ in headers}
        if not names & {"content-length", "transfer-encoding"}:
            headers.append(("Content-Length", str(len(body))))
        self.start(status, headers)
        if self.method != "HEAD":
            self.write(body)

    def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        """Write the status line and headers only."""
        lines = [f"HTTP/1.1 {status} Status"] + [f"{k}: {v}" for k, v in headers]
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunk(self, data: bytes) -> None:
        """One chunk of a ``Transfer-Encoding: chunked`` body (b"" ends it)."""
        self.write(b"%x\r\n%s\r\n" % (len(data), data))

    def close(self) -> None:
        """Close the connection (a FIN)."""
        self.closed = True
        _close_quietly(self.sock)

    def reset(self) -> None:
        """Close the connection with a RST."""
        self.closed = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


Handler = Callable[[Exchange], None]


def _ok(exchange: Exchange) -> None:
    exchange.respond(200, exchange.path.encode(), [("Content-Type", "text/plain")])


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 with keep-alive, one thread per connection, calling
    ``handler(exchange)`` for each request; over TLS when given a server ``tls`` context."""

    def __init__(self, handler: Handler = _ok, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: list[Exchange] = []
        #: Connections accepted so far.
        self.connections = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._closed = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True, name="contract-accept").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.tls is not None:
                sock.settimeout(_GUARD)
                sock = self.tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self._socks.append(sock)
            sock.settimeout(_GUARD)
            rfile = _Reader(sock)
            while not self._closed:
                exchange = self._read(sock, rfile)
                if exchange is None:
                    break
                with self._lock:
                    self.requests.append(exchange)
                self.handler(exchange)
                if exchange.closed or (exchange.header("connection") or "").lower() == "close":
                    break
        except (OSError, ValueError):
            pass
        finally:
            _close_quietly(sock)

    def _read(self, sock: socket.socket, rfile: Any) -> Exchange | None:
        line = rfile.readline(65537)
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            raw = rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lowered = {k.lower(): v for k, v in headers}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(rfile.read(size))
                rfile.readline()
            body = b"".join(parts)
        else:
            body = rfile.read(int(lowered.get("content-length") or 0))
        return Exchange(self, sock, method, target, headers, body)

    def close(self) -> None:
        self._closed = True
        _close_quietly(self._listener)
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            _close_quietly(sock)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Reader:
    """Buffered reads from a socket (not ``makefile``, whose open file would keep the socket
    from closing when a test closes the connection)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def readline(self, limit: int = 65537) -> bytes:
        while b"\n" not in self.buffer and len(self.buffer) < limit:
            if not self._fill():
                break
        end = self.buffer.find(b"\n")
        end = len(self.buffer) if end < 0 else end + 1
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                break
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _unaccepting_port() -> tuple[int, list[socket.socket]]:
    """A listening socket whose accept backlog is full: a new connection hangs in SYN, as one to
    an unreachable host does, without leaving the machine."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = [listener]
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except (BlockingIOError, OSError):
            pass
        held.append(filler)
    time.sleep(0.05)
    return port, held


# --- TLS material -----------------------------------------------------------------------------


def tls_material(directory: Path) -> tuple[str, str, str]:
    """Make a throwaway CA and a certificate for 127.0.0.1/localhost signed by it, in
    ``directory``: ``(ca_path, cert_path, key_path)``, PEM files. Uses the ``cryptography``
    package, else the ``openssl`` command; RuntimeError with neither."""
    ca, cert, key = (str(directory / n) for n in ("ca.pem", "server.pem", "server.key"))
    try:
        import cryptography  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:
            raise RuntimeError(
                "making a test certificate needs the cryptography package or the openssl command"
            ) from None
        _openssl_material(directory, ca, cert, key)
    else:
        _cryptography_material(ca, cert, key)
    return ca, cert, key


def _cryptography_material(ca_path: str, cert_path: str, key_path: str) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "replicate contract test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    Path(ca_path).write_bytes(ca_cert.public_bytes(pem))
    Path(cert_path).write_bytes(cert.public_bytes(pem))
    Path(key_path).write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _openssl_material(directory: Path, ca: str, cert: str, key: str) -> None:
    ca_key = str(directory / "ca.key")
    csr = str(directory / "server.csr")
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
    )

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=replicate contract test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip
    run("req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run(
        "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", str(ext),
    )  # fmt: skip


# --- the suites -------------------------------------------------------------------------------


def _timeout(connect: float = 5.0, read: float = 10.0) -> Timeout:
    return Timeout(connect=connect, read=read)


def _echo(exchange: Exchange) -> None:
    """Answer with what arrived: the method, target and body, and the request headers."""
    headers = [("X-Echo-Method", exchange.method), ("X-Echo-Target", exchange.target)]
    exchange.respond(200, exchange.body, headers)


class _Contract:
    """The tests, written once; the two suites below say how a transport is sent through."""

    #: Set False for a transport that takes no proxy settings: the proxy tests are skipped.
    supports_proxy = True

    def make_transport(self, config: ClientConfig) -> Any:
        """Return the transport under test, built from ``config`` (override this)."""
        raise NotImplementedError("a transport contract class must define make_transport(config)")

    # --- what each suite provides -------------------------------------------------------------

    def _start(self) -> None: ...

    def _stop(self) -> None: ...

    def _make(self, config: ClientConfig) -> Any:
        raise NotImplementedError

    def send(self, transport: Any, request: Request, **kw: Any) -> Response:
        """``transport.send(...)``, its response readable with :meth:`read`/:meth:`chunks`."""
        raise NotImplementedError

    def read(self, response: Response) -> bytes:
        raise NotImplementedError

    def chunks(self, response: Response) -> Iterator[bytes]:
        raise NotImplementedError

    def close_response(self, response: Response) -> None:
        raise NotImplementedError

    def close_transport(self, transport: Any) -> None:
        raise NotImplementedError

    def concurrently(self, transport: Any, requests: list[Request]) -> list[Response]:
        raise NotImplementedError

    # --- set-up -------------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _contract(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
        for name in list(os.environ):
            if name.lower() in _PROXY_VARS:
                monkeypatch.delenv(name)
        self.monkeypatch = monkeypatch
        self.tmp_path = tmp_path
        self._servers: list[LoopbackServer] = []
        self._transports: list[Any] = []
        self._held: list[socket.socket] = []
        self._start()
        try:
            yield
        finally:
            for transport in self._transports:
                try:
                    self.close_transport(transport)
                except Exception:
                    pass
            for server in self._servers:
                server.close()
            for sock in self._held:
                _close_quietly(sock)
            self._stop()

    def server(
        self, handler: Handler = _ok, *, tls: ssl.SSLContext | None = None
    ) -> LoopbackServer:
        server = LoopbackServer(handler, tls=tls)
        self._servers.append(server)
        return server

    def transport(self, **config: Any) -> Any:
        """A transport made from a ClientConfig with these settings, closed after the test."""
        made = self._make(ClientConfig(**config))
        self._transports.append(made)
        return made

    def get(self, transport: Any, url: str, **kw: Any) -> Response:
        kw.setdefault("timeout", _timeout())
        return self.send(transport, Request("GET", url), **kw)

    # --- one exchange, as given -----------------------------------------------------------------

    def test_get_returns_status_headers_and_body(self) -> None:
        def answer(exchange: Exchange) -> None:
            exchange.respond(201, b"hello", [("Content-Type", "text/plain")])

        server = self.server(answer)
        response = self.get(self.transport(), server.url + "/thing?a=1&b=%20")
        assert response.status_code == 201
        assert response.content == b"hello", "with stream=False the body is read"
        assert response.headers["content-type"] == "text/plain"
        assert response.http_version == "HTTP/1.1"
        assert server.requests[0].target == "/thing?a=1&b=%20", "the URL is sent as given"

    def test_method_headers_and_body_are_sent_as_given(self) -> None:
        server = self.server(_echo)
        request = Request(
            "POST",
            server.url + "/echo",
            headers={"X-Custom-Header": "value 1", "Content-Type": "application/json"},
            content=b'{"a": 1}',
        )
        response = self.send(self.transport(), request, timeout=_timeout())
        seen = server.requests[0]
        assert (seen.method, seen.body) == ("POST", b'{"a": 1}')
        assert seen.header("x-custom-header") == "value 1"
        assert seen.header("content-type") == "application/json"
        assert seen.header("host") == f"127.0.0.1:{server.port}"
        assert response.content == b'{"a": 1}'

    def test_the_query_method_with_a_body(self) -> None:
        server = self.server(_echo)
        request = Request(
            "QUERY",
            server.url + "/search",
            headers={"Content-Type": "application/json"},
            content=b'{"q": "cats"}',
        )
        response = self.send(self.transport(), request, timeout=_timeout())
        assert response.headers["x-echo-method"] == "QUERY"
        assert server.requests[0].body == b'{"q": "cats"}'
        assert response.content == b'{"q": "cats"}'

    def test_a_head_response_has_no_body_and_the_connection_stays_usable(self) -> None:
        def answer(exchange: Exchange) -> None:
            exchange.respond(200, b"0123456789")  # the body is left out for a HEAD

        server = self.server(answer)
        transport = self.transport()
        response = self.send(transport, Request("HEAD", server.url + "/h"), timeout=_timeout())
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-length"] == "10"
        assert self.get(transport, server.url + "/h").content == b"0123456789"

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_redirects_are_returned_not_followed(self, status: int) -> None:
        def answer(exchange: Exchange) -> None:
            exchange.respond(status, b"moved", [("Location", "/elsewhere")])

        server = self.server(answer)
        request = Request("POST", server.url + "/from", content=b"{}")
        response = self.send(self.transport(), request, timeout=_timeout())
        assert response.status_code == status
        assert response.headers["location"] == "/elsewhere"
        assert [e.path for e in server.requests] == ["/from"], "no redirect was followed"

    def test_errors_are_returned_not_retried(self) -> None:
        def answer(exchange: Exchange) -> None:
            exchange.respond(503, b"busy", [("Retry-After", "1")])

        server = self.server(answer)
        request = Request("GET", server.url + "/busy")
        response = self.send(self.transport(), request, timeout=_timeout())
        assert response.status_code == 503 and response.content == b"busy"
        assert len(server.requests) == 1, "a transport never retries"

    # --- headers ------------------------------------------------------------------------------

    def test_response_headers_are_case_insensitive_and_repeated_ones_are_comma_joined(
        self,
    ) -> None:
        def answer(exchange: Exchange) -> None:
            headers = [("X-Mixed-Case", "v"), ("X-Multi", "a"), ("X-Multi", "b")]
            exchange.respond(200, b"", headers)

        server = self.server(answer)
        response = self.get(self.transport(), server.url + "/")
        headers = response.headers
        assert headers["x-mixed-case"] == headers["X-MIXED-CASE"] == "v"
        assert headers.get("X-Mixed-Case") == "v" and "x-mixed-case" in headers
        assert headers["x-multi"] == "a, b", "repeated headers merge as 'a, b', in order"
        assert headers.get("X-MULTI") == "a, b"

    # --- bodies -------------------------------------------------------------------------------

    def test_an_iterable_request_body_is_streamed(self) -> None:
        server = self.server(_echo)
        parts = [b"part %d;" % i for i in range(50)]
        request = Request("POST", server.url + "/up", content=(p for p in parts))
        response = self.send(self.transport(), request, timeout=_timeout())
        assert server.requests[0].body == b"".join(parts)
        assert response.status_code == 200

    def test_an_iterable_body_with_a_content_length_is_sent_with_that_length(self) -> None:
        server = self.server(_echo)
        parts = [b"x" * 1000] * 10
        request = Request(
            "PUT",
            server.url + "/up",
            headers={"Content-Length": "10000"},
            content=iter(parts),
        )
        self.send(self.transport(), request, timeout=_timeout())
        seen = server.requests[0]
        assert seen.header("content-length") == "10000"
        assert seen.header("transfer-encoding") is None
        assert seen.body == b"x" * 10000

    @pytest.mark.parametrize("kind", ["BytesIO", "file"])
    def test_a_file_request_body_is_sent(self, kind: str) -> None:
        data = os.urandom(300_000)
        path = self.tmp_path / "upload.bin"
        path.write_bytes(data)
        server = self.server(_echo)
        transport = self.transport()
        with path.open("rb") if kind == "file" else io.BytesIO(data) as body:
            request = Request("POST", server.url + "/up", content=body)
            self.send(transport, request, timeout=_timeout())
        assert server.requests[0].body == data

    def test_large_bodies_both_ways(self) -> None:
        data = os.urandom(4 * 1024 * 1024)

        def answer(exchange: Exchange) -> None:
            if exchange.method == "GET":
                exchange.respond(200, data)
            else:
                exchange.respond(200, hashlib.sha256(exchange.body).hexdigest().encode())

        server = self.server(answer)
        transport = self.transport()
        digest = hashlib.sha256(data).hexdigest().encode()
        up = self.send(transport, Request("POST", server.url, content=data), timeout=_timeout())
        assert up.content == digest
        parts = [data[i : i + 65536] for i in range(0, len(data), 65536)]
        up = self.send(transport, Request("POST", server.url, content=parts), timeout=_timeout())
        assert up.content == digest
        assert self.get(transport, server.url).content == data
        streamed = self.get(transport, server.url, stream=True)
        assert self.read(streamed) == data

    def test_a_streamed_response_arrives_as_it_is_sent(self) -> None:
        go_on = threading.Event()

        def answer(exchange: Exchange) -> None:
            exchange.start(200, [("Transfer-Encoding", "chunked")])
            exchange.chunk(b"first part;")
            go_on.wait(_GUARD)
            exchange.chunk(b"second part")
            exchange.chunk(b"")

        server = self.server(answer)
        try:
            response = self.get(self.transport(), server.url, stream=True)
            chunks = self.chunks(response)
            first = b""
            while len(first) < len(b"first part;"):
                first += next(chunks)
            assert first == b"first part;", "each chunk is handed on as it arrives"
            go_on.set()
            assert b"".join(chunks) == b"second part"
        finally:
            go_on.set()

    def test_a_streamed_response_closed_early_leaves_the_transport_usable(self) -> None:
        def answer(exchange: Exchange) -> None:
            if exchange.path == "/big":
                exchange.respond(200, b"z" * (2 * 1024 * 1024))
            else:
                _ok(exchange)

        server = self.server(answer)
        transport = self.transport()
        for _ in range(3):
            response = self.get(transport, server.url + "/big", stream=True)
            next(self.chunks(response))
            self.close_response(response)
        assert self.get(transport, server.url + "/small").content == b"/small"

    @pytest.mark.parametrize("stream", [False, True], ids=["read", "streamed"])
    def test_content_encoding_is_decoded_by_the_transport(self, stream: bool) -> None:
        body = b'{"items": [' + b",".join(b"%d" % i for i in range(2000)) + b"]}"

        def answer(exchange: Exchange) -> None:
            exchange.respond(200, gzip.compress(body), [("Content-Encoding", "gzip")])

        server = self.server(answer)
        response = self.get(self.transport(), server.url, stream=stream)
        assert self.read(response) == body

    @pytest.mark.parametrize("stream", [False, True], ids=["read", "streamed"])
    def test_a_body_shorter_than_its_content_length_is_an_error(self, stream: bool) -> None:
        def answer(exchange: Exchange) -> None:
            exchange.start(200, [("Content-Length", "100")])
            exchange.write(b"0123456789")
            exchange.close()

        server = self.server(answer)
        with pytest.raises(APIConnectionError) as info:
            response = self.get(self.transport(), server.url, stream=stream)
            self.read(response)  # the streamed body fails here
        assert not isinstance(info.value, APITimeoutError)
        assert info.value.request_sent is True

    # --- timeouts and errors ----------------------------------------------------------------------

    def test_a_connect_timeout_is_an_api_timeout_error_never_sent(self) -> None:
        port, held = _unaccepting_port()
        self._held += held
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            self.get(self.transport(), f"http://127.0.0.1:{port}/", timeout=_timeout(connect=0.3))
        assert info.value.request_sent is False
        assert time.monotonic() - started < 5, "the connect timeout is applied"

    def test_a_refused_connection_is_an_api_connection_error_never_sent(self) -> None:
        port = refused_port()
        request = Request("POST", f"http://127.0.0.1:{port}/predictions", content=b"{}")
        with pytest.raises(APIConnectionError) as info:
            self.send(self.transport(), request, timeout=_timeout())
        assert not isinstance(info.value, APITimeoutError)
        assert info.value.request_sent is False
        assert info.value.request is request
        assert info.value.__cause__ is not None, "the library's exception is chained"

    def test_a_read_timeout_is_an_api_timeout_error_sent(self) -> None:
        release = threading.Event()

        def stall(exchange: Exchange) -> None:
            release.wait(_GUARD)

        server = self.server(stall)
        started = time.monotonic()
        try:
            with pytest.raises(APITimeoutError) as info:
                self.get(self.transport(), server.url, timeout=_timeout(read=0.3))
        finally:
            release.set()
        assert info.value.request_sent is True
        assert time.monotonic() - started < 5, "the read timeout is applied"

    def test_a_streamed_body_that_stalls_times_out_while_read(self) -> None:
        release = threading.Event()

        def stall(exchange: Exchange) -> None:
            exchange.start(200, [("Content-Length", "10")])
            exchange.write(b"01")
            release.wait(_GUARD)

        server = self.server(stall)
        try:
            response = self.get(
                self.transport(), server.url, stream=True, timeout=_timeout(read=0.3)
            )
            with pytest.raises(APITimeoutError) as info:
                self.read(response)
        finally:
            release.set()
        assert info.value.request_sent is True

    def test_a_connection_closed_before_the_answer_is_an_error_sent(self) -> None:
        server = self.server(lambda exchange: exchange.close())
        request = Request("POST", server.url + "/predictions", content=b"{}")
        with pytest.raises(APIConnectionError) as info:
            self.send(self.transport(), request, timeout=_timeout())
        assert not isinstance(info.value, APITimeoutError)
        assert info.value.request_sent is True, "the server may have acted on it"
        assert len(server.requests) == 1

    @pytest.mark.parametrize("how", ["fin", "rst"])
    def test_a_keep_alive_connection_closed_while_idle_is_never_a_silent_resend(
        self, how: str
    ) -> None:
        def answer(exchange: Exchange) -> None:
            _ok(exchange)  # kept alive: no Connection: close
            time.sleep(0.05)
            exchange.close() if how == "fin" else exchange.reset()

        server = self.server(answer)
        transport = self.transport()
        assert self.get(transport, server.url + "/first").status_code == 200
        time.sleep(0.3)  # the server has closed the pooled connection by now
        request = Request("POST", server.url + "/create", content=b"{}")
        try:
            response = self.send(transport, request, timeout=_timeout())
        except APIConnectionError as exc:
            # Allowed only as "never sent": the core may then resend the POST.
            assert exc.request_sent is False, "a stale pooled connection must be reported unsent"
            assert [e.path for e in server.requests] == ["/first"]
        else:
            assert response.status_code == 200 and response.content == b"/create"
            assert [e.path for e in server.requests] == ["/first", "/create"]

    # --- proxies ------------------------------------------------------------------------------

    def _proxy(self) -> LoopbackServer:
        if not self.supports_proxy:
            pytest.skip("this transport takes no proxy settings (supports_proxy = False)")

        def answer(exchange: Exchange) -> None:
            exchange.respond(200, b"via proxy: " + exchange.target.encode())

        return self.server(answer)

    def test_http_proxy_from_the_environment(self) -> None:
        proxy, target = self._proxy(), self.server()
        self.monkeypatch.setenv("HTTP_PROXY", proxy.url)
        response = self.get(self.transport(), target.url + "/p?x=1")
        assert response.content == f"via proxy: {target.url}/p?x=1".encode()
        assert target.requests == []

    def test_no_proxy_from_the_environment_bypasses_the_proxy(self) -> None:
        proxy, target = self._proxy(), self.server()
        self.monkeypatch.setenv("HTTP_PROXY", proxy.url)
        self.monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        response = self.get(self.transport(), target.url + "/direct")
        assert response.content == b"/direct"
        assert proxy.requests == []

    def test_an_explicit_proxy(self) -> None:
        proxy, target = self._proxy(), self.server()
        response = self.get(self.transport(proxy=proxy.url), target.url + "/p")
        assert response.content == f"via proxy: {target.url}/p".encode()
        assert target.requests == []

    # --- TLS ----------------------------------------------------------------------------------

    def _tls_server(self) -> tuple[LoopbackServer, str]:
        try:
            ca, cert, key = tls_material(self.tmp_path)
        except RuntimeError as exc:
            pytest.skip(str(exc))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return self.server(tls=context), ca

    @pytest.mark.parametrize("kind", ["ca-bundle-path", "ssl-context"])
    def test_tls_verified_with_a_ca_bundle_path_or_an_ssl_context(self, kind: str) -> None:
        server, ca = self._tls_server()
        verify = ca if kind == "ca-bundle-path" else ssl.create_default_context(cafile=ca)
        response = self.get(self.transport(verify=verify), server.url + "/secure")
        assert response.content == b"/secure"

    def test_tls_verify_false_accepts_any_certificate(self) -> None:
        server, _ = self._tls_server()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a transport may warn about it (urllib3 does)
            assert self.get(self.transport(verify=False), server.url + "/x").content == b"/x"

    def test_tls_default_verification_rejects_an_unknown_ca_before_sending(self) -> None:
        server, _ = self._tls_server()
        request = Request("POST", server.url + "/predictions", content=b"{}")
        with pytest.raises(APIConnectionError) as info:
            self.send(self.transport(), request, timeout=_timeout())
        assert info.value.request_sent is False
        assert server.requests == []

    # --- lifecycle ----------------------------------------------------------------------------

    def test_send_after_close_raises_and_sends_nothing(self) -> None:
        server = self.server()
        transport = self.transport()
        assert self.get(transport, server.url + "/a").status_code == 200
        self.close_transport(transport)
        with pytest.raises(ReplicateError) as info:
            self.get(transport, server.url + "/b")
        if isinstance(info.value, APIConnectionError):
            assert info.value.request_sent is False
        assert [e.path for e in server.requests] == ["/a"]
        self.close_transport(transport)  # closing twice is harmless

    def test_concurrent_use(self) -> None:
        lock = threading.Lock()
        state = {"in_flight": 0, "most": 0}

        def answer(exchange: Exchange) -> None:
            with lock:
                state["in_flight"] += 1
                state["most"] = max(state["most"], state["in_flight"])
            time.sleep(0.02)
            with lock:
                state["in_flight"] -= 1
            _ok(exchange)

        server = self.server(answer)
        requests = [Request("GET", f"{server.url}/r{i}") for i in range(64)]
        responses = self.concurrently(self.transport(), requests)
        assert [r.content for r in responses] == [f"/r{i}".encode() for i in range(64)]
        assert state["most"] > 1, "requests from several threads or tasks run at once"

    def test_pickling_refuses_with_type_error_or_gives_a_working_transport(self) -> None:
        server = self.server()
        transport = self.transport()
        try:
            data = pickle.dumps(transport)
        except TypeError:
            return  # refusing is allowed: a client pickles its settings, never its transport
        copy = self._unpickle(data)
        self._transports.append(copy)
        assert self.get(copy, server.url + "/copy").content == b"/copy"

    def _unpickle(self, data: bytes) -> Any:
        return pickle.loads(data)


class SyncTransportContract(_Contract):
    """The contract suite for a :class:`replicate.SyncTransport`: subclass it as ``Test...``
    and define ``make_transport(config)``."""

    def _make(self, config: ClientConfig) -> Any:
        return self.make_transport(config)

    def send(self, transport: Any, request: Request, **kw: Any) -> Response:
        kw.setdefault("timeout", _timeout())
        response: Response = transport.send(request, **kw)
        assert isinstance(response, Response), "send returns a replicate.Response"
        if kw.get("stream"):
            assert isinstance(response._stream, SyncByteStream), "stream=True gives a stream"
        return response

    def read(self, response: Response) -> bytes:
        return response.read()

    def chunks(self, response: Response) -> Iterator[bytes]:
        while True:
            chunk = response.next_chunk()
            if not chunk:
                return
            yield chunk

    def close_response(self, response: Response) -> None:
        response.close()

    def close_transport(self, transport: Any) -> None:
        transport.close()

    def concurrently(self, transport: Any, requests: list[Request]) -> list[Response]:
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(lambda r: self.send(transport, r), requests))


class AsyncTransportContract(_Contract):
    """The contract suite for a :class:`replicate.AsyncTransport`: subclass it as ``Test...``
    and define ``make_transport(config)`` (plain or ``async def``), which is called inside the
    test's event loop. The loop runs in a thread of its own; the tests drive it from outside,
    so no pytest plugin is needed."""

    def _start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_GUARD)
        self.loop.close()

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run ``make()`` in the test's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(_GUARD * 2)

    def _make(self, config: ClientConfig) -> Any:
        async def make() -> Any:
            made = self.make_transport(config)
            return await made if inspect.isawaitable(made) else made

        return self.run(make)

    async def _send(self, transport: Any, request: Request, **kw: Any) -> Response:
        kw.setdefault("timeout", _timeout())
        assert inspect.iscoroutinefunction(transport.send), "send is an async def"
        response = await transport.send(request, **kw)
        assert isinstance(response, Response), "send returns a replicate.Response"
        if kw.get("stream"):
            assert isinstance(response._stream, AsyncByteStream), "stream=True gives a stream"
        return response

    def send(self, transport: Any, request: Request, **kw: Any) -> Response:
        return self.run(lambda: self._send(transport, request, **kw))  # type: ignore[no-any-return]

    def read(self, response: Response) -> bytes:
        return self.run(response.aread)  # type: ignore[no-any-return]

    def chunks(self, response: Response) -> Iterator[bytes]:
        while True:
            chunk = self.run(response.anext_chunk)
            if not chunk:
                return
            yield chunk

    def close_response(self, response: Response) -> None:
        self.run(response.aclose)

    def close_transport(self, transport: Any) -> None:
        self.run(transport.aclose)

    def concurrently(self, transport: Any, requests: list[Request]) -> list[Response]:
        async def many() -> list[Response]:
            limit = asyncio.Semaphore(16)

            async def one(request: Request) -> Response:
                async with limit:
                    return await self._send(transport, request)

            return list(await asyncio.gather(*(one(r) for r in requests)))

        return self.run(many)  # type: ignore[no-any-return]

    def _unpickle(self, data: bytes) -> Any:
        async def load() -> Any:
            return pickle.loads(data)

        return self.run(load)

    def test_cancellation_propagates(self) -> None:
        release = threading.Event()

        def stall(exchange: Exchange) -> None:
            release.wait(_GUARD)

        server = self.server(stall)
        transport = self.transport()

        async def cancel() -> float:
            task = asyncio.ensure_future(self._send(transport, Request("GET", server.url)))
            await asyncio.sleep(0.1)
            task.cancel()
            started = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - started

        try:
            assert self.run(cancel) < 2, "a canceled send stops waiting at once"
        finally:
            release.set()
