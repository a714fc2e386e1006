"""The server's HTTP/1.1 on its own, apart from the engine: framing both ways, keep-alive, the
Host as the origin, HEAD and no-body statuses, stalls, and closing."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest
from replicate_emulator.server import serve
from replicate_emulator.wire import EmuRequest, EmuResponse, json_response


class Echo:
    """Answers with what it was sent; ``/stream`` with a produced stream; ``/empty`` 204."""

    def __init__(self) -> None:
        self.stall: float | None = None

    def handle(self, req: EmuRequest) -> EmuResponse:
        if req.path == "/stream":
            resp = EmuResponse(200, [("Content-Type", "text/event-stream")], self._events())
            resp.stall = self.stall
            return resp
        if req.path == "/empty":
            return EmuResponse(204)
        if req.path == "/boom":
            raise RuntimeError("a handler bug")
        return json_response(
            200,
            {
                "method": req.method,
                "path": req.path,
                "query": req.query,
                "body": req.body.decode(),
                "origin": req.origin,
                "headers": req.headers,
            },
        )

    def _events(self) -> Iterator[bytes]:
        for i in range(3):
            yield f"data: {i}\n\n".encode()


@pytest.fixture
def server():
    with serve(Echo(), port=0) as s:  # type: ignore[arg-type]
        yield s


def _conn(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=10)


def _json(response: http.client.HTTPResponse) -> dict:
    import json

    return json.loads(response.read())


def test_keep_alive_chunked_requests_and_the_host(server):
    conn = _conn(server)
    conn.request("POST", "/v1/a?q=1", body=b"plain", headers={"X-A": "1"})
    first = _json(conn.getresponse())
    sock = conn.sock
    conn.request("POST", "/v1/b", body=iter([b"chu", b"nked"]), encode_chunked=True)
    second = _json(conn.getresponse())
    conn.request("GET", "/v1/c", headers={"Host": "emu.test:99"})
    third = _json(conn.getresponse())
    assert conn.sock is sock
    assert first["body"] == "plain" and first["query"] == {"q": ["1"]}
    assert first["headers"]["x-a"] == "1"
    assert first["origin"] == server.url
    assert second["body"] == "chunked"
    assert third["origin"] == "http://emu.test:99"
    conn.close()


def test_expect_100_continue(server):
    conn = _conn(server)
    conn.putrequest("PUT", "/v1/x")
    conn.putheader("Content-Length", "2")
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    conn.send(b"ok")
    assert _json(conn.getresponse())["body"] == "ok"


def test_a_stream_is_chunked_and_pauses_when_stalled(server):
    server.emulator.stall = 0.3
    conn = _conn(server)
    conn.request("GET", "/stream")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read1() == b"data: 0\n\n"
    started = time.monotonic()
    assert response.read() == b"data: 1\n\ndata: 2\n\n"
    assert time.monotonic() - started >= 0.25
    conn.request("GET", "/v1/after")  # the connection is still usable
    assert _json(conn.getresponse())["path"] == "/v1/after"


def test_head_and_no_body_statuses(server):
    conn = _conn(server)
    conn.request("HEAD", "/v1/x")
    response = conn.getresponse()
    assert response.status == 200 and int(response.getheader("Content-Length")) > 0
    assert response.read() == b""
    conn.request("GET", "/empty")
    response = conn.getresponse()
    assert response.status == 204 and response.getheader("Content-Length") is None
    assert response.read() == b""
    conn.request("GET", "/v1/ok")
    assert conn.getresponse().status == 200


def test_a_handler_bug_is_a_500_problem(server):
    conn = _conn(server)
    conn.request("GET", "/boom")
    response = conn.getresponse()
    assert response.status == 500
    assert response.getheader("Content-Type") == "application/problem+json"
    assert "a handler bug" in _json(response)["detail"]


def test_a_malformed_chunked_body_is_a_400(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")


def test_close_ends_idle_connections_and_stops_listening():
    server = serve(Echo(), port=0)  # type: ignore[arg-type]
    conn = _conn(server)
    conn.request("GET", "/v1/x")
    conn.getresponse().read()
    started = time.monotonic()
    server.close()
    server.close()
    assert time.monotonic() - started < 2
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/v1/x")
        conn.getresponse()
