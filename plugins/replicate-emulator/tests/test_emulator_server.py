"""The emulator served on loopback: the SDK's default (urllib3) transport against it, and the
HTTP details (keep-alive, chunked bodies both ways, Host, faults on the socket) checked with
http.client."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.server import Server, serve

import replicate

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def emu():
    emulator = Emulator(rate_limits=False)
    yield emulator
    emulator.close()


@pytest.fixture
def server(emu):
    with serve(emu, port=0) as s:
        yield s


@pytest.fixture
def client(server):
    with replicate.Replicate(base_url=server.base_url, bearer_token="t") as c:
        yield c


def _conn(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=10)


def _hello(conn: http.client.HTTPConnection, text: str = "x") -> dict:
    conn.request(
        "POST",
        "/v1/models/replicate/hello-world/predictions",
        body=json.dumps({"input": {"text": text}}),
        headers={**AUTH, "Content-Type": "application/json", "Prefer": "wait"},
    )
    response = conn.getresponse()
    assert response.status == 201
    return json.loads(response.read())


def test_the_url_and_a_free_port(server):
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.base_url == server.url + "/v1"
    assert server.port != 0


def test_the_sdk_over_http(client, server, emu):
    assert client.run("replicate/hello-world", input={"text": "net"}) == "hello net"
    (doc,) = emu.predictions()
    assert doc["urls"]["get"].startswith(server.base_url + "/predictions/")
    tokens = "".join(
        str(e)
        for e in client.stream(
            "replicate/stream-tokens", input={"prompt": "net", "max_tokens": 4, "delay": 0}
        )
    )
    assert tokens == "You said: net. the"
    image = client.run("replicate/png-image", input={"width": 512, "height": 512, "seed": 2})
    assert image.url.startswith(server.url + "/")
    assert image.read().startswith(b"\x89PNG")


def test_the_async_sdk_over_http(server):
    async def main():
        async with replicate.AsyncReplicate(base_url=server.base_url, bearer_token="t") as c:
            return await c.run("replicate/hello-world", input={"text": "anet"})

    assert asyncio.run(main()) == "hello anet"


def test_keep_alive_and_the_host_header(server):
    conn = _conn(server)
    first = _hello(conn)
    sock = conn.sock
    second = _hello(conn, "y")
    assert conn.sock is sock  # the same connection, kept alive
    assert second["output"] == "hello y"
    assert first["urls"]["get"].startswith(f"http://127.0.0.1:{server.port}/v1/")
    conn.request("GET", f"/v1/predictions/{first['id']}", headers={**AUTH, "Host": "emu.test:1"})
    doc = json.loads(conn.getresponse().read())
    assert doc["urls"]["get"] == f"http://emu.test:1/v1/predictions/{first['id']}"
    conn.close()


def test_a_chunked_request_body(server, emu):
    conn = _conn(server)
    body = json.dumps({"input": {"text": "chunks"}}).encode()
    conn.request(
        "POST",
        "/v1/models/replicate/hello-world/predictions",
        body=iter([body[:4], body[4:]]),
        headers={**AUTH, "Content-Type": "application/json", "Prefer": "wait"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 201
    assert json.loads(response.read())["output"] == "hello chunks"
    conn.close()


def test_problems_and_unknown_routes(server):
    conn = _conn(server)
    conn.request("GET", "/v1/predictions")
    response = conn.getresponse()
    assert response.status == 401
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(response.read())["detail"] == "You did not pass an authentication token"
    conn.request("GET", "/v1/nothing-here", headers=AUTH)
    response = conn.getresponse()
    assert response.status == 404
    response.read()
    conn.request("PUT", "/v1/predictions", headers=AUTH)
    response = conn.getresponse()
    assert response.status in (404, 405)
    response.read()
    conn.close()


def test_an_sse_stream_is_chunked_as_produced(server):
    conn = _conn(server)
    conn.request(
        "POST",
        "/v1/models/replicate/stream-tokens/predictions",
        body=json.dumps({"input": {"prompt": "s", "max_tokens": 5, "delay": 0.05}, "stream": True}),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    doc = json.loads(conn.getresponse().read())
    stream_path = doc["urls"]["stream"].split(str(server.port), 1)[1]
    conn.request("GET", stream_path, headers={**AUTH, "Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    first = response.read1()
    assert first.startswith((b"retry:", b"id:", b"event:"))
    rest = response.read()
    assert (first + rest).count(b"event: output") == 5
    assert b"event: done" in rest
    conn.close()


def _prediction_get(server, pid):
    conn = _conn(server)
    conn.request("GET", f"/v1/predictions/{pid}", headers=AUTH)
    return conn


def test_drop_before_closes_without_an_answer(server, emu):
    pid = _hello(_conn(server))["id"]
    emu.faults.add(route="GET /v1/predictions/{id}", drop="before", times=1)
    conn = _prediction_get(server, pid)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()


@pytest.mark.parametrize("fault", [{"truncate": 12}, {"drop": "mid"}])
def test_a_body_cut_short_of_its_length(server, emu, fault):
    pid = _hello(_conn(server))["id"]
    emu.faults.add(route="GET /v1/predictions/{id}", times=1, **fault)
    response = _prediction_get(server, pid).getresponse()
    announced = int(response.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as info:
        response.read()
    assert len(info.value.partial) < announced
    if "truncate" in fault:
        assert len(info.value.partial) == 12


def test_the_sdk_sees_a_truncated_body_as_a_connection_error(server, emu):
    pid = _hello(_conn(server))["id"]
    emu.faults.add(route="GET /v1/predictions/{id}", truncate=5)
    with (
        replicate.Replicate(base_url=server.base_url, bearer_token="t", max_retries=0) as c,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        c.predictions.get(pid)
    assert info.value.request_sent is True


def test_a_stalled_stream_pauses(server, emu):
    emu.faults.add(route="GET /v1/predictions/{id}/stream", stall_sse=0.4)
    conn = _conn(server)
    conn.request(
        "POST",
        "/v1/models/replicate/stream-tokens/predictions",
        body=json.dumps({"input": {"prompt": "s", "max_tokens": 3, "delay": 0}, "stream": True}),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    doc = json.loads(conn.getresponse().read())
    conn.request("GET", doc["urls"]["stream"].split(str(server.port), 1)[1], headers=AUTH)
    response = conn.getresponse()
    response.read1()
    started = time.monotonic()
    rest = response.read()
    assert time.monotonic() - started >= 0.35
    assert b"event: done" in rest
    conn.close()


def test_close_ends_open_connections(emu):
    server = serve(emu, port=0)
    conn = _conn(server)
    _hello(conn)
    server.close()
    server.close()
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()
    with pytest.raises((http.client.HTTPException, OSError)):
        _hello(conn)


def test_a_server_of_its_own_emulator():
    with serve(port=0) as server:
        with replicate.Replicate(base_url=server.base_url, bearer_token="t") as c:
            assert c.run("replicate/hello-world", input={}) == "hello world"
        assert len(server.emulator.predictions()) == 1


def test_a_busy_port_is_an_os_error(server, emu):
    with pytest.raises(OSError):
        serve(emu, port=server.port)
