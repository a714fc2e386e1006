"""The httpx transports, loaded through the plugin's installed entry point, against loopback
servers: through ``Replicate(transport="httpx")`` and ``AsyncReplicate(transport="httpx")``,
v2's ``http_client=``, and the transports' own ``send``.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import pickle
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from _httpx_servers import ISOLATION, RawServer, raw_servers, read_request
from pytest_httpserver import HTTPServer
from replicate_httpx import AsyncHttpxTransport, HttpxTransport
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate import Request, Timeout
from replicate import _plugins as plugins_module
from replicate.testing import isolated_environment, run_in_threads

PREDICTION = {"id": "p1", "status": "succeeded", "output": "hello"}
Start = Callable[[Callable[[socket.socket], None]], RawServer]


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with isolated_environment(**ISOLATION):
        yield


@pytest.fixture
def raw_server() -> Iterator[Start]:
    yield from raw_servers()


@pytest.fixture
def api(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    yield httpserver
    httpserver.clear()


def client(base: str, **kwargs: Any) -> replicate.Replicate:
    kwargs.setdefault("transport", "httpx")
    return replicate.Replicate(bearer_token="r8_test", base_url=base, **kwargs)


def aclient(base: str, **kwargs: Any) -> replicate.AsyncReplicate:
    kwargs.setdefault("transport", "httpx")
    return replicate.AsyncReplicate(bearer_token="r8_test", base_url=base, **kwargs)


def echo(request: WRequest) -> WResponse:
    """The request as JSON: its method, body and the headers that say how it was framed."""
    return WResponse(
        json.dumps(
            {
                "method": request.method,
                "body": request.get_data().decode(),
                "length": request.headers.get("Content-Length"),
                "chunked": request.headers.get("Transfer-Encoding"),
                "authorization": request.headers.get("Authorization"),
                "x-mine": request.headers.get("X-Mine"),
                "x-extra": request.headers.get("X-Extra"),
            }
        ),
        content_type="application/json",
    )


# --- choosing the transport -------------------------------------------------------------------


def test_sync_get_through_the_registered_name(api: HTTPServer) -> None:
    with client(api.url_for("/v1")) as c:
        assert isinstance(c.transport, HttpxTransport)
        prediction = c.predictions.get("p1")
        assert prediction.id == "p1"
        assert prediction.output == "hello"
        raw = c.with_raw_response.predictions.get("p1")
        # werkzeug answers HTTP/1.0 unless told otherwise (the SDK's own tests tell it to).
        assert raw.http_version in ("HTTP/1.0", "HTTP/1.1")
        assert raw.headers["content-type"] == "application/json"
    request, _ = api.log[0]
    assert request.headers["Authorization"] == "Bearer r8_test"
    assert request.headers["User-Agent"].startswith("replicate-python/")


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
def test_the_http_version_is_the_servers(raw_server: Start, version: str) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            f"{version} 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
        )

    server = raw_server(handler)
    transport = HttpxTransport()
    response = transport.send(Request("GET", server.url("/x")), timeout=Timeout(5))
    assert (response.http_version, response.content) == (version, b"ok")
    transport.close()


def test_async_get_through_the_registered_name(api: HTTPServer) -> None:
    async def main() -> None:
        async with aclient(api.url_for("/v1")) as c:
            # The native async transport, awaited on the loop: not a sync one in threads.
            assert isinstance(c.transport, AsyncHttpxTransport)
            prediction = await c.predictions.get("p1")
            assert prediction.id == "p1"
            results = await asyncio.gather(*(c.predictions.get("p1") for _ in range(10)))
            assert {p.id for p in results} == {"p1"}

    asyncio.run(main())


def test_replicate_transport_env_picks_httpx(
    api: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_TRANSPORT", "httpx")
    with client(api.url_for("/v1"), transport=None) as c:
        assert isinstance(c.transport, HttpxTransport)
        assert c.predictions.get("p1").id == "p1"

    async def main() -> None:
        async with aclient(api.url_for("/v1"), transport=None) as c:
            assert isinstance(c.transport, AsyncHttpxTransport)
            assert (await c.predictions.get("p1")).id == "p1"

    asyncio.run(main())


def test_one_name_carries_both_colours() -> None:
    # The entry point names a small module whose factories import replicate_httpx when called.
    import _replicate_httpx_plugin as entry_module

    from replicate import builtin

    entry = plugins_module.Plugins(builtin=builtin).transports["httpx"]
    assert entry.sync and entry.async_
    assert entry.plugin == "httpx"
    assert entry.factory_for(async_=False) is entry_module._sync_factory
    assert entry.factory_for(async_=True) is entry_module._async_factory


def test_a_name_twice_in_one_colour_is_still_an_error() -> None:
    class Twice:
        @replicate.hookimpl
        def replicate_register_transports(self, register: Callable[..., None]) -> None:
            register("mine", HttpxTransport, sync=True)
            register("mine", HttpxTransport, sync=True)

    with pytest.raises(replicate.exceptions.PluginError, match="registered twice"):
        replicate.Replicate(bearer_token="t", plugins=[Twice()])


def test_one_name_per_colour_in_either_order(api: HTTPServer) -> None:
    """The core lets one plugin register a name once per colour, the async one first too."""

    class Both:
        @replicate.hookimpl
        def replicate_register_transports(self, register: Callable[..., None]) -> None:
            register("both", lambda config: AsyncHttpxTransport(), sync=False, async_=True)
            register("both", lambda config: HttpxTransport(), sync=True)

    with client(api.url_for("/v1"), transport="both", plugins=[Both()]) as c:
        assert isinstance(c.transport, HttpxTransport)
        assert c.predictions.get("p1").id == "p1"

    async def main() -> None:
        async with aclient(api.url_for("/v1"), transport="both", plugins=[Both()]) as c:
            assert isinstance(c.transport, AsyncHttpxTransport)
            assert (await c.predictions.get("p1")).id == "p1"

    asyncio.run(main())


def test_the_transport_object_can_be_passed(api: HTTPServer) -> None:
    with client(api.url_for("/v1"), transport=HttpxTransport()) as c:
        assert c.predictions.get("p1").id == "p1"

    async def main() -> None:
        async with aclient(api.url_for("/v1"), transport=AsyncHttpxTransport()) as c:
            assert (await c.predictions.get("p1")).id == "p1"

    asyncio.run(main())


# --- http_client= (v2's keyword) ----------------------------------------------------------------


def test_http_client_sync(api: HTTPServer) -> None:
    api.expect_request("/v1/echo", method="POST").respond_with_handler(echo)
    mine = httpx.Client(headers={"X-Mine": "yes"}, follow_redirects=True)
    with client(api.url_for("/v1"), transport=None, http_client=mine) as c:
        transport = c.transport
        assert isinstance(transport, HttpxTransport)
        assert transport.client is mine
        assert c.predictions.get("p1").id == "p1"
        seen = c.post("/echo", content=b"hi").json()
    # The client's own headers apply; the SDK's auth header is sent as given.
    assert seen["x-mine"] == "yes"
    assert seen["authorization"] == "Bearer r8_test"
    assert not mine.is_closed  # the user's client stays open: it is theirs to close
    assert mine.get(api.url_for("/v1/predictions/p1")).json() == PREDICTION
    mine.close()


def test_http_client_async(api: HTTPServer) -> None:
    async def main() -> None:
        mine = httpx.AsyncClient()
        async with aclient(api.url_for("/v1"), transport=None, http_client=mine) as c:
            assert isinstance(c.transport, AsyncHttpxTransport)
            assert c.transport.client is mine
            assert (await c.predictions.get("p1")).id == "p1"
        assert not mine.is_closed
        await mine.aclose()

    asyncio.run(main())


def test_http_client_with_transport_httpx_is_the_same(api: HTTPServer) -> None:
    mine = httpx.Client()
    with client(api.url_for("/v1"), transport="httpx", http_client=mine) as c:
        assert c.transport.client is mine  # type: ignore[attr-defined]
    mine.close()


def test_http_client_of_the_wrong_colour() -> None:
    sync_client, async_client = httpx.Client(), httpx.AsyncClient()
    with pytest.raises(TypeError, match=r"takes an httpx\.Client.*AsyncReplicate"):
        replicate.Replicate(bearer_token="t", http_client=async_client)
    with pytest.raises(TypeError, match=r"takes an httpx\.AsyncClient.*use it with replicate"):
        replicate.AsyncReplicate(bearer_token="t", http_client=sync_client)
    with pytest.raises(TypeError, match=r"takes an httpx\.Client, not dict"):
        replicate.Replicate(bearer_token="t", http_client={})
    sync_client.close()


def test_http_client_with_another_transport() -> None:
    with pytest.raises(ValueError, match="not both"):
        replicate.Replicate(bearer_token="t", transport="urllib3", http_client=httpx.Client())


def test_http_client_without_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "")
    plugins_module.reset()
    with pytest.raises(ValueError, match=r"replicate-httpx.*installed transports: urllib3"):
        replicate.Replicate(bearer_token="t", http_client=httpx.Client())
    with pytest.raises(ValueError, match="replicate-httpx"):
        replicate.AsyncReplicate(bearer_token="t", http_client=httpx.AsyncClient())


def test_own_client_options_cannot_be_mixed_with_client() -> None:
    with pytest.raises(ValueError, match="proxy"):
        HttpxTransport(client=httpx.Client(), proxy="http://127.0.0.1:1")
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        HttpxTransport(client=httpx.AsyncClient())  # type: ignore[arg-type]


# --- one exchange per send --------------------------------------------------------------------


def test_no_redirect_is_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/from").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/to")}
    )
    transport = HttpxTransport()
    response = transport.send(Request("GET", httpserver.url_for("/from")), timeout=Timeout(5))
    assert response.status_code == 302
    assert response.headers["location"].endswith("/to")
    transport.close()

    async def main() -> None:
        transport = AsyncHttpxTransport()
        response = await transport.send(
            Request("GET", httpserver.url_for("/from")), timeout=Timeout(5)
        )
        assert response.status_code == 302
        await transport.aclose()

    asyncio.run(main())
    assert len(httpserver.log) == 2


def test_a_5xx_is_returned_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/boom").respond_with_data("no", status=503)
    transport = HttpxTransport()
    response = transport.send(Request("GET", httpserver.url_for("/boom")), timeout=Timeout(5))
    assert (response.status_code, response.content) == (503, b"no")
    assert len(httpserver.log) == 1
    transport.close()


def test_repeated_response_headers_are_merged(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/h").respond_with_response(
        WResponse("x", headers=[("X-Many", "a"), ("X-Many", "b")])
    )
    transport = HttpxTransport()
    response = transport.send(Request("GET", httpserver.url_for("/h")), timeout=Timeout(5))
    assert response.headers["x-many"] == "a, b"
    assert response.headers["X-MANY"] == "a, b"
    transport.close()


# --- bodies -----------------------------------------------------------------------------------


def _bodies() -> list[tuple[str, Callable[[], Any], bool]]:
    """(name, a fresh body, whether it is sent chunked)."""
    return [
        ("bytes", lambda: b"hello world", False),
        ("file", lambda: io.BytesIO(b"hello world"), True),
        ("generator", lambda: (part for part in [b"hello", b" ", b"world"]), True),
        ("list", lambda: [b"hello", b" world"], True),
    ]


@pytest.mark.parametrize(("kind", "make", "chunked"), _bodies(), ids=[b[0] for b in _bodies()])
def test_request_bodies_sync(
    httpserver: HTTPServer, kind: str, make: Callable[[], Any], chunked: bool
) -> None:
    httpserver.expect_request("/v1/echo", method="POST").respond_with_handler(echo)
    with client(httpserver.url_for("/v1")) as c:
        seen = c.post("/echo", content=make()).json()
    assert seen["body"] == "hello world"
    assert (seen["chunked"] == "chunked") is chunked


@pytest.mark.parametrize(("kind", "make", "chunked"), _bodies(), ids=[b[0] for b in _bodies()])
def test_request_bodies_async(
    httpserver: HTTPServer, kind: str, make: Callable[[], Any], chunked: bool
) -> None:
    httpserver.expect_request("/v1/echo", method="POST").respond_with_handler(echo)

    async def main() -> dict[str, Any]:
        async with aclient(httpserver.url_for("/v1")) as c:
            return (await c.post("/echo", content=make())).json()  # type: ignore[no-any-return]

    seen = asyncio.run(main())
    assert seen["body"] == "hello world"
    assert (seen["chunked"] == "chunked") is chunked


def test_a_content_length_given_is_kept_for_a_file(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/echo", method="POST").respond_with_handler(echo)
    with client(httpserver.url_for("/v1")) as c:
        seen = c.post(
            "/echo", content=io.BytesIO(b"hello world"), headers={"Content-Length": "11"}
        ).json()
    assert (seen["body"], seen["length"], seen["chunked"]) == ("hello world", "11", None)


def test_the_query_method_with_a_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/echo", method="QUERY").respond_with_handler(echo)
    with client(httpserver.url_for("/v1")) as c:
        seen = c.query("/echo", content=b"q").json()
    assert (seen["method"], seen["body"]) == ("QUERY", "q")


def test_content_encoding_is_decoded(httpserver: HTTPServer) -> None:
    body = json.dumps(PREDICTION).encode()
    httpserver.expect_request("/v1/predictions/p1").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    with client(httpserver.url_for("/v1")) as c:
        assert c.predictions.get("p1").id == "p1"
        with c.get("/predictions/p1", stream=True) as response:
            assert b"".join(response.iter_bytes()) == body

    async def main() -> None:
        async with aclient(httpserver.url_for("/v1")) as c:
            assert (await c.predictions.get("p1")).id == "p1"
            response = await c.get("/predictions/p1", stream=True)
            assert b"".join([chunk async for chunk in response.aiter_bytes()]) == body

    asyncio.run(main())


# --- streaming --------------------------------------------------------------------------------


def _slow_chunks(gate: threading.Event) -> Callable[[WRequest], WResponse]:
    def handler(request: WRequest) -> WResponse:
        def body() -> Iterator[bytes]:
            yield b"first\n"
            gate.wait(5)
            yield b"second\n"

        return WResponse(body(), content_type="text/plain")

    return handler


def test_a_streamed_body_is_handed_back_unread_sync(httpserver: HTTPServer) -> None:
    gate = threading.Event()
    httpserver.expect_request("/v1/stream").respond_with_handler(_slow_chunks(gate))
    with client(httpserver.url_for("/v1")) as c:
        response = c.get("/stream", stream=True)  # returns before the body is over
        assert isinstance(response._stream, replicate.SyncByteStream)
        with pytest.raises(replicate.ResponseNotRead):
            response.content  # noqa: B018
        assert response.next_chunk() == b"first\n"
        gate.set()
        assert response.next_chunk() == b"second\n"
        assert response.next_chunk() == b""
        response.close()


def test_a_streamed_body_is_handed_back_unread_async(httpserver: HTTPServer) -> None:
    gate = threading.Event()
    httpserver.expect_request("/v1/stream").respond_with_handler(_slow_chunks(gate))

    async def main() -> None:
        async with aclient(httpserver.url_for("/v1")) as c:
            response = await c.get("/stream", stream=True)
            assert isinstance(response._stream, replicate.AsyncByteStream)
            assert await response.anext_chunk() == b"first\n"
            gate.set()
            assert await response.anext_chunk() == b"second\n"
            assert await response.anext_chunk() == b""
            await response.aclose()

    asyncio.run(main())


def test_a_large_body_streamed_in_chunks(httpserver: HTTPServer) -> None:
    blob = bytes(range(256)) * 40_000  # 10 MB
    httpserver.expect_request("/v1/big").respond_with_data(blob)
    transport = HttpxTransport()
    response = transport.send(
        Request("GET", httpserver.url_for("/v1/big")), timeout=Timeout(10), stream=True
    )
    chunks = list(response.iter_bytes(65536))
    assert b"".join(chunks) == blob
    assert max(len(c) for c in chunks) <= 65536
    transport.close()


def test_closing_a_stream_early_releases_it(httpserver: HTTPServer) -> None:
    gate = threading.Event()
    httpserver.expect_request("/v1/stream").respond_with_handler(_slow_chunks(gate))
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    with client(httpserver.url_for("/v1")) as c:
        response = c.get("/stream", stream=True)
        assert response.next_chunk() == b"first\n"
        response.close()
        gate.set()
        assert c.predictions.get("p1").id == "p1"


def test_a_body_cut_short_is_an_error(raw_server: Start) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    server = raw_server(handler)
    transport = HttpxTransport()
    with pytest.raises(replicate.APIConnectionError) as info:
        transport.send(Request("GET", server.url("/x")), timeout=Timeout(5))
    assert info.value.request_sent is True
    response = transport.send(Request("GET", server.url("/x")), timeout=Timeout(5), stream=True)
    with pytest.raises(replicate.APIConnectionError, match="broke while reading the body"):
        response.read()
    transport.close()


# --- errors -----------------------------------------------------------------------------------


def _refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/v1"


def test_connection_refused_is_never_sent() -> None:
    url = _refused_url()
    with client(url, max_retries=0) as c, pytest.raises(replicate.APIConnectionError) as info:
        c.predictions.get("p1")
    err = info.value
    assert err.request_sent is False
    assert not isinstance(err, replicate.APITimeoutError)
    assert isinstance(err.__cause__, httpx.ConnectError)

    async def main() -> None:
        async with aclient(url, max_retries=0) as c:
            with pytest.raises(replicate.APIConnectionError) as info:
                await c.predictions.get("p1")
            assert info.value.request_sent is False

    asyncio.run(main())


def test_a_connection_dropped_after_the_request_may_have_been_seen(raw_server: Start) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)  # and hang up without answering

    server = raw_server(handler)
    with client(server.url(), max_retries=0) as c, pytest.raises(replicate.APIConnectionError) as e:
        c.post("/predictions", json={"version": "v"})
    assert e.value.request_sent is True
    assert isinstance(e.value.__cause__, httpx.RemoteProtocolError)

    async def main() -> None:
        async with aclient(server.url(), max_retries=0) as c:
            with pytest.raises(replicate.APIConnectionError) as info:
                await c.post("/predictions", json={"version": "v"})
            assert info.value.request_sent is True

    asyncio.run(main())


def _silent(conn: socket.socket) -> None:
    read_request(conn)
    time.sleep(3)


def test_read_timeout(raw_server: Start) -> None:
    server = raw_server(_silent)
    with client(server.url(), max_retries=0, timeout=Timeout(connect=5, read=0.3)) as c:
        started = time.monotonic()
        with pytest.raises(replicate.APITimeoutError) as info:
            c.predictions.get("p1")
        assert time.monotonic() - started < 2
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)

    async def main() -> None:
        async with aclient(server.url(), max_retries=0, timeout=Timeout(read=0.3)) as c:
            with pytest.raises(replicate.APITimeoutError) as info:
                await c.predictions.get("p1")
            assert info.value.request_sent is True

    asyncio.run(main())


def test_a_streamed_read_timeout(raw_server: Start) -> None:
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        time.sleep(3)

    server = raw_server(handler)
    transport = HttpxTransport()
    response = transport.send(
        Request("GET", server.url("/x")), timeout=Timeout(connect=5, read=0.3), stream=True
    )
    with pytest.raises(replicate.APITimeoutError, match="reading the body"):
        response.read()
    transport.close()


def test_pool_timeout_is_never_sent(raw_server: Start) -> None:
    """A user's client with one connection, held by a streamed response: the next request
    waits for the pool, times out, and was surely never sent."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        time.sleep(3)

    server = raw_server(handler)
    mine = httpx.Client(limits=httpx.Limits(max_connections=1))
    transport = HttpxTransport(client=mine)
    held = transport.send(Request("GET", server.url("/a")), timeout=Timeout(5), stream=True)
    with pytest.raises(replicate.APITimeoutError) as info:
        transport.send(Request("POST", server.url("/b")), timeout=Timeout(connect=0.2, read=5))
    assert info.value.request_sent is False
    assert isinstance(info.value.__cause__, httpx.PoolTimeout)
    held.close()
    mine.close()


@pytest.mark.parametrize(
    ("exc", "sent", "timed_out"),
    [
        (httpx.ConnectTimeout("slow"), False, True),
        (httpx.ConnectError("refused"), False, False),
        (httpx.PoolTimeout("busy"), False, True),
        (httpx.ReadTimeout("slow"), True, True),
        (httpx.WriteTimeout("slow"), True, True),
        (httpx.ReadError("reset"), True, False),
        (httpx.WriteError("reset"), True, False),
        (httpx.RemoteProtocolError("bad"), True, False),
        (httpx.LocalProtocolError("bad"), True, False),
        (httpx.ProxyError("no"), True, False),
        (httpx.DecodingError("gzip"), True, False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_error_mapping(exc: Exception, sent: bool, timed_out: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    mine = httpx.Client(transport=httpx.MockTransport(handler))
    transport = HttpxTransport(client=mine)
    with pytest.raises(replicate.APIConnectionError) as info:
        transport.send(Request("POST", "http://example.invalid/v1/x"), timeout=Timeout(1))
    assert info.value.request_sent is sent
    assert isinstance(info.value, replicate.APITimeoutError) is timed_out
    assert info.value.__cause__ is exc
    assert "example.invalid" in str(info.value)


def test_programming_errors_propagate() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise ZeroDivisionError

    transport = HttpxTransport(client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(ZeroDivisionError):
        transport.send(Request("GET", "http://example.invalid/"), timeout=Timeout(1))


def test_cancellation_propagates(raw_server: Start) -> None:
    server = raw_server(_silent)

    async def main() -> None:
        transport = AsyncHttpxTransport()
        task = asyncio.ensure_future(
            transport.send(Request("GET", server.url("/x")), timeout=Timeout(5))
        )
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await transport.aclose()

    asyncio.run(main())


# --- deadlines --------------------------------------------------------------------------------


def _trickle(conn: socket.socket) -> None:
    """Headers at once, then a byte every 0.1 s for 5 s: within any read timeout, never done."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
    for _ in range(50):
        time.sleep(0.1)
        conn.sendall(b"x")


def test_deadline_ends_a_trickling_answer_sync(raw_server: Start) -> None:
    server = raw_server(_trickle)
    transport = HttpxTransport()
    started = time.monotonic()
    with pytest.raises(replicate.APITimeoutError, match="deadline") as info:
        transport.send(
            Request("GET", server.url("/x")),
            timeout=Timeout(connect=5, read=5, deadline=started + 0.5),
        )
    assert time.monotonic() - started < 1.5
    assert info.value.request_sent is True
    transport.close()


def test_deadline_ends_a_trickling_answer_async(raw_server: Start) -> None:
    server = raw_server(_trickle)

    async def main() -> None:
        transport = AsyncHttpxTransport()
        started = time.monotonic()
        with pytest.raises(replicate.APITimeoutError, match="deadline") as info:
            await transport.send(
                Request("GET", server.url("/x")),
                timeout=Timeout(connect=5, read=5, deadline=started + 0.5),
            )
        assert time.monotonic() - started < 1.0
        assert info.value.request_sent is True
        await transport.aclose()

    asyncio.run(main())


def test_deadline_cuts_the_timeouts(raw_server: Start) -> None:
    server = raw_server(_silent)
    transport = HttpxTransport()
    started = time.monotonic()
    with pytest.raises(replicate.APITimeoutError):
        transport.send(
            Request("GET", server.url("/x")),
            timeout=Timeout(connect=5, read=60, deadline=started + 0.4),
            stream=True,  # a stream is not bounded as a whole, but each wait is cut to fit
        )
    assert time.monotonic() - started < 1.5
    transport.close()


def test_a_deadline_already_past_sends_nothing(httpserver: HTTPServer) -> None:
    transport = HttpxTransport()
    with pytest.raises(replicate.APITimeoutError) as info:
        transport.send(
            Request("POST", httpserver.url_for("/x")),
            timeout=Timeout(deadline=time.monotonic() - 1),
        )
    assert info.value.request_sent is False
    assert httpserver.log == []
    transport.close()


def test_a_deadline_met_returns_the_answer(api: HTTPServer) -> None:
    transport = HttpxTransport()
    response = transport.send(
        Request("GET", api.url_for("/v1/predictions/p1")),
        timeout=Timeout(5, deadline=time.monotonic() + 5),
    )
    assert json.loads(response.content) == PREDICTION
    transport.close()

    async def main() -> None:
        transport = AsyncHttpxTransport()
        response = await transport.send(
            Request("GET", api.url_for("/v1/predictions/p1")),
            timeout=Timeout(5, deadline=time.monotonic() + 5),
        )
        assert json.loads(response.content) == PREDICTION
        await transport.aclose()

    asyncio.run(main())


def test_run_timeout_through_the_client(raw_server: Start) -> None:
    server = raw_server(_silent)
    with client(server.url(), max_retries=0) as c:
        started = time.monotonic()
        with pytest.raises((replicate.APITimeoutError, replicate.exceptions.ReplicateError)):
            c.run("owner/model:" + "a" * 64, input={}, timeout=0.5)
        assert time.monotonic() - started < 4


# --- TLS and proxies --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_tls_with_a_ca_bundle_path(tls_server: HTTPServer, ca_bundle: str) -> None:
    for verify in (ca_bundle, Path(ca_bundle)):
        with client(tls_server.url_for("/v1"), verify=verify) as c:
            assert c.predictions.get("p1").id == "p1"


def test_tls_with_an_ssl_context(tls_server: HTTPServer, ca: trustme.CA) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with client(tls_server.url_for("/v1"), verify=context) as c:
        assert c.predictions.get("p1").id == "p1"

    async def main() -> None:
        async with aclient(tls_server.url_for("/v1"), verify=context) as c:
            assert (await c.predictions.get("p1")).id == "p1"

    asyncio.run(main())


def test_tls_verify_false(tls_server: HTTPServer) -> None:
    with client(tls_server.url_for("/v1"), verify=False) as c:
        assert c.predictions.get("p1").id == "p1"


def test_tls_default_verification_rejects_an_unknown_ca(tls_server: HTTPServer) -> None:
    with (
        client(tls_server.url_for("/v1"), max_retries=0) as c,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        c.predictions.get("p1")
    err = info.value
    assert err.request_sent is False
    assert not isinstance(err, replicate.APITimeoutError)
    assert "certificate" in str(err).lower()


def test_an_explicit_proxy(httpserver: HTTPServer) -> None:
    # The "proxy" is a plain server: a request sent through a proxy names the target in
    # absolute form, and the target (nothing listens there) is never connected to.
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    target = _refused_url()
    with client(target, proxy=httpserver.url_for("/")) as c:
        assert c.predictions.get("p1").id == "p1"
    request, _ = httpserver.log[0]
    assert request.headers["Host"] == target.split("/")[2]


def test_proxies_from_the_environment_and_no_proxy(
    httpserver: HTTPServer, api: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = HTTPServer(host="127.0.0.1", port=0)
    proxy.start()
    try:
        proxy.expect_request("/v1/predictions/p1").respond_with_json({**PREDICTION, "id": "p2"})
        monkeypatch.setenv("HTTP_PROXY", proxy.url_for("/"))
        with client(api.url_for("/v1")) as c:
            assert c.predictions.get("p1").id == "p2"  # through the proxy
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        with client(api.url_for("/v1")) as c:
            assert c.predictions.get("p1").id == "p1"  # straight to the server
    finally:
        proxy.stop()


# --- lifecycle ----------------------------------------------------------------------------------


def test_close_closes_its_own_client_and_later_sends_fail(api: HTTPServer) -> None:
    c = client(api.url_for("/v1"))
    transport = c.transport
    assert isinstance(transport, HttpxTransport)
    copy = c.with_options(timeout=5)
    c.close()
    assert transport.client.is_closed
    with pytest.raises(replicate.exceptions.ReplicateError, match="closed"):
        copy.predictions.get("p1")


def test_async_close(api: HTTPServer) -> None:
    async def main() -> None:
        c = aclient(api.url_for("/v1"))
        transport = c.transport
        assert isinstance(transport, AsyncHttpxTransport)
        assert (await c.predictions.get("p1")).id == "p1"
        await c.close()
        assert transport.client.is_closed
        with pytest.raises(replicate.exceptions.ReplicateError, match="closed"):
            await transport.send(Request("GET", api.url_for("/v1/x")), timeout=Timeout(1))

    asyncio.run(main())


def test_pickling(api: HTTPServer) -> None:
    transport = pickle.loads(pickle.dumps(HttpxTransport(pool_maxsize=4, trust_env=False)))
    assert isinstance(transport, HttpxTransport)
    assert transport._options.pool_maxsize == 4
    transport.close()
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(HttpxTransport(client=httpx.Client()))
    with client(api.url_for("/v1")) as c:
        again = pickle.loads(pickle.dumps(c))
    assert isinstance(again.transport, HttpxTransport)
    again.close()


def test_concurrent_use_from_threads(api: HTTPServer) -> None:
    with client(api.url_for("/v1")) as c:

        def work() -> None:
            for _ in range(10):
                assert c.predictions.get("p1").id == "p1"

        run_in_threads(work, 8)
    assert len(api.log) == 80


def test_a_sync_transport_in_async_client_threads(api: HTTPServer) -> None:
    async def main() -> None:
        async with aclient(api.url_for("/v1"), transport=HttpxTransport()) as c:
            assert (await c.predictions.get("p1")).id == "p1"

    asyncio.run(main())


def test_http2_needs_h2(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_h2(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "h2":
            raise ImportError("no h2")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h2)
    with pytest.raises(ImportError, match=r"replicate-httpx\[http2\]"):
        HttpxTransport(http2=True)


# --- HTTP/2 -----------------------------------------------------------------------------------


def _h2_handler(ca: trustme.CA) -> Callable[[socket.socket], None]:
    """A minimal HTTP/2 server over TLS (ALPN "h2"), built on h2: every request gets the
    prediction."""
    import h2.config
    import h2.connection
    import h2.events

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(["h2"])
    body = json.dumps(PREDICTION).encode()

    def handler(conn: socket.socket) -> None:
        tls = context.wrap_socket(conn, server_side=True)
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        tls.sendall(h2conn.data_to_send())
        while True:
            data = tls.recv(65535)
            if not data:
                return
            for event in h2conn.receive_data(data):
                if isinstance(event, h2.events.StreamEnded):
                    h2conn.send_headers(
                        event.stream_id,
                        [
                            (":status", "200"),
                            ("content-type", "application/json"),
                            ("content-length", str(len(body))),
                        ],
                    )
                    h2conn.send_data(event.stream_id, body, end_stream=True)
            tls.sendall(h2conn.data_to_send())

    return handler


def test_http2(raw_server: Start, ca: trustme.CA, ca_bundle: str) -> None:
    pytest.importorskip("h2")
    server = raw_server(_h2_handler(ca))
    base = f"https://127.0.0.1:{server.port}/v1"
    transport = HttpxTransport(http2=True, verify=ca_bundle)
    with client(base, transport=transport) as c:
        assert c.predictions.get("p1").id == "p1"
        assert c.with_raw_response.predictions.get("p1").http_version == "HTTP/2"

    async def main() -> None:
        transport = AsyncHttpxTransport(http2=True, verify=ca_bundle)
        async with aclient(base, transport=transport) as c:
            results = await asyncio.gather(*(c.predictions.get("p1") for _ in range(5)))
            assert {p.id for p in results} == {"p1"}
            raw = await c.with_raw_response.predictions.get("p1")
            assert raw.http_version == "HTTP/2"

    asyncio.run(main())


def test_with_options_http_client_sync(api: HTTPServer) -> None:
    """v2's ``copy(http_client=)``: the copy sends through the given client, the original and
    the user's client are left as they were."""
    api.expect_request("/v1/echo", method="POST").respond_with_handler(echo)
    mine = httpx.Client(headers={"X-Mine": "copy"})
    with client(api.url_for("/v1"), transport="urllib3") as original:
        copy = original.with_options(http_client=mine, default_headers={"X-Extra": "1"})
        assert isinstance(copy.transport, HttpxTransport)
        assert copy.transport.client is mine
        seen = copy.post("/echo", content=b"hi").json()
        assert (seen["x-mine"], seen["x-extra"]) == ("copy", "1")
        assert seen["authorization"] == "Bearer r8_test"
        copy.close()
        assert not mine.is_closed
        # The original keeps its own transport, still open after the copy was closed.
        assert not isinstance(original.transport, HttpxTransport)
        assert original.predictions.get("p1").id == "p1"
    mine.close()


def test_with_options_http_client_async(api: HTTPServer) -> None:
    async def main() -> None:
        mine = httpx.AsyncClient()
        async with aclient(api.url_for("/v1"), transport="httpx") as original:
            copy = original.copy(http_client=mine)
            assert copy.transport.client is mine
            assert (await copy.predictions.get("p1")).id == "p1"
            await copy.close()
            assert not mine.is_closed
            assert (await original.predictions.get("p1")).id == "p1"
        await mine.aclose()

    asyncio.run(main())


def test_with_options_http_client_of_the_wrong_colour(api: HTTPServer) -> None:
    with (
        client(api.url_for("/v1"), transport="urllib3") as original,
        pytest.raises(TypeError, match=r"takes an httpx\.Client"),
    ):
        original.with_options(http_client=httpx.AsyncClient())
