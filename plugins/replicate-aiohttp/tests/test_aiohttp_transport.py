"""The aiohttp transport (the ``replicate-aiohttp`` plugin) through
``replicate.AsyncReplicate(transport="aiohttp")``, against a scripted loopback server. Each test
runs its own event loop (``asyncio.run``)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from replicate_aiohttp import AiohttpTransport

import replicate
from replicate import Request, Timeout
from replicate.testing import PREDICTION_ID as PID
from replicate.testing import ScriptServer
from replicate.testing import servers as script
from replicate.testing.fixtures import script_server_fixture

TOKEN = "r8_test_token"


#: Each test: its own loopback server, in an environment where only this plugin loads.
server = script_server_fixture("aiohttp", REPLICATE_POLL_INTERVAL="0.01")


def client(server: ScriptServer, **kwargs: Any) -> replicate.AsyncReplicate:
    kwargs.setdefault("transport", "aiohttp")
    return replicate.AsyncReplicate(bearer_token=TOKEN, base_url=server.url("/v1"), **kwargs)


def test_registered_as_async_only(server: ScriptServer) -> None:
    async def main() -> None:
        async with client(server) as c:
            assert isinstance(c.transport, AiohttpTransport)
            assert c.transport.owns_session and c.transport.session is None  # made lazily

    asyncio.run(main())
    with pytest.raises(ValueError, match="async-only"):
        replicate.Replicate(bearer_token=TOKEN, transport="aiohttp")


def test_get_and_raw_response(server: ScriptServer) -> None:
    server.route(f"/v1/predictions/{PID}", script.json_response(script.prediction(server)))

    async def main() -> None:
        async with client(server) as c:
            p = await c.predictions.get(prediction_id=PID)
            assert (p.id, p.status) == (PID, "succeeded")
            r = await c.get(f"/predictions/{PID}")
            assert r.http_version == "HTTP/1.1" and r.json()["id"] == PID
            session = c.transport.session
            assert isinstance(session, aiohttp.ClientSession)
        assert session.closed  # closed with the client

    asyncio.run(main())
    _, _, headers, _ = server.requests[0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"].startswith("replicate-python/")
    assert "aiohttp" not in json.dumps(headers)


def test_run_in_sync_mode(server: ScriptServer) -> None:
    server.route(
        "/v1/models/acme/hello/predictions", script.created_prediction(server, output="hello Alice")
    )

    async def main() -> Any:
        async with client(server) as c:
            return await c.run("acme/hello", input={"text": "Alice"})

    assert asyncio.run(main()) == "hello Alice"
    method, _, headers, body = server.requests[0]
    assert method == "POST" and headers["prefer"].startswith("wait")
    assert json.loads(body)["input"] == {"text": "Alice"}


def test_stream_sse_events_arrive_as_sent(server: ScriptServer) -> None:
    server.route(
        "/v1/models/acme/hello/predictions",
        script.json_response(script.prediction(server, status="starting"), 201),
    )
    server.route(
        f"/stream/{PID}",
        script.stream_response(
            script.sse_event("output", "Hello", "1:0"),
            script.sse_event("output", " world", "1:1"),
            script.sse_event("done", "{}", "1:2"),
            pause=0.2,
        ),
    )

    async def main() -> list[tuple[str, float]]:
        got = []
        async with client(server, timeout=5) as c:
            start = time.monotonic()
            async for ev in c.stream("acme/hello", input={"prompt": "hi"}):
                got.append((str(ev), time.monotonic() - start))
        return got

    got = asyncio.run(main())
    assert [text for text, _ in got] == ["Hello", " world"]
    assert got[0][1] < got[1][1] - 0.1  # the first event came before the second was sent
    assert server.requests[-1][2]["accept"] == "text/event-stream"


def test_request_bodies(server: ScriptServer) -> None:
    server.route("/v1/up", script.json_response({}))

    async def main() -> None:
        async with client(server, max_retries=0) as c:
            await c.post("/up", content=b"bytes")
            await c.post("/up", content=[b"a ", b"list"])
            await c.post("/up", content=iter([b"an ", b"iterator"]))

    asyncio.run(main())
    assert [b for _, _, _, b in server.requests] == [b"bytes", b"a list", b"an iterator"]


def test_errors(server: ScriptServer) -> None:
    server.route("/v1/slow", script.hang)
    server.route("/v1/short", script.raw_response(b'{"a": 1', length=100))

    async def main() -> None:
        bad = replicate.AsyncReplicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{script.refused_port()}/v1",
            transport="aiohttp",
            max_retries=0,
        )
        async with bad:
            with pytest.raises(replicate.APIConnectionError) as info:
                await bad.get("/x")
            assert info.value.request_sent is False
        async with client(server, max_retries=0, timeout=Timeout(connect=2, read=0.2)) as c:
            start = time.monotonic()
            with pytest.raises(replicate.APITimeoutError) as timed_out:
                await c.get("/slow")
            assert timed_out.value.request_sent is True
            assert time.monotonic() - start < 3
            with pytest.raises(replicate.APIConnectionError) as short:
                await c.get("/short")
            assert short.value.request_sent is True

    asyncio.run(main())


def test_deadline_ends_a_slow_body(server: ScriptServer) -> None:
    server.route(
        "/v1/drip", script.stream_response(*[b"x"] * 50, pause=0.1, content_type="text/plain")
    )

    async def main() -> None:
        transport = AiohttpTransport()
        try:
            start = time.monotonic()
            with pytest.raises(replicate.APITimeoutError):
                await transport.send(
                    Request("GET", server.url("/v1/drip")),
                    timeout=Timeout(5, deadline=time.monotonic() + 0.5),
                )
            assert time.monotonic() - start < 2
        finally:
            await transport.aclose()

    asyncio.run(main())


def test_users_session_is_used_and_not_closed(server: ScriptServer) -> None:
    server.route("/v1/x", script.json_response({"ok": True}))

    async def main() -> None:
        session = aiohttp.ClientSession(headers={"X-Corp": "kept"})
        transport = AiohttpTransport(session=session)
        async with client(server, transport=transport) as c:
            assert (await c.get("/x")).json() == {"ok": True}
        assert not session.closed
        async with session.get(server.url("/v1/x")) as r:
            assert (await r.json()) == {"ok": True}
        await session.close()
        with pytest.raises(TypeError, match="session's own settings"):
            AiohttpTransport(session=session, verify=False)

    asyncio.run(main())
    assert server.requests[0][2]["x-corp"] == "kept"


def test_closed_client_refuses_to_send(server: ScriptServer) -> None:
    server.route("/v1/x", script.json_response({}))

    async def main() -> None:
        c = client(server)
        await c.get("/x")
        await c.close()
        with pytest.raises(replicate.ReplicateError, match="closed"):
            await c.get("/x")

    asyncio.run(main())


def test_the_client_belongs_to_its_event_loop(server: ScriptServer) -> None:
    server.route("/v1/x", script.json_response({}))
    c = client(server)

    async def use() -> None:
        await c.get("/x")

    asyncio.run(use())
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(use())


def test_100_concurrent_gets(server: ScriptServer) -> None:
    server.route(
        f"/v1/predictions/{PID}", script.json_response(script.prediction(server), delay=0.02)
    )

    async def main() -> None:
        async with client(server) as c:
            results = await asyncio.gather(
                *(c.predictions.get(prediction_id=PID) for _ in range(100))
            )
            assert all(p.id == PID for p in results)

    asyncio.run(main())
    assert len(server.requests) == 100


def test_cancellation_closes_nothing_it_should_not(server: ScriptServer) -> None:
    server.route("/v1/slow", script.hang)
    server.route("/v1/x", script.json_response({"ok": 1}))

    async def main() -> None:
        async with client(server) as c:
            task = asyncio.create_task(c.get("/slow"))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await c.get("/x")).json() == {"ok": 1}

    asyncio.run(main())


def test_env_proxy(server: ScriptServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route("/v1/x", script.json_response({"via": "proxy"}))
    monkeypatch.setenv("HTTP_PROXY", server.url())

    async def main() -> None:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url="http://api.example.test/v1", transport="aiohttp"
        ) as c:
            assert (await c.get("/x")).json() == {"via": "proxy"}

    asyncio.run(main())
    assert server.requests[-1][2]["host"] == "api.example.test"


def test_sync_body_iterable_is_read_in_the_loop_thread(server: ScriptServer) -> None:
    server.route("/v1/up", script.json_response({}))
    threads = set()

    def body() -> Iterator[bytes]:
        for piece in (b"a", b"b"):
            threads.add(threading.get_ident())
            yield piece

    async def main() -> None:
        async with client(server, max_retries=0) as c:
            await c.post("/up", content=body())

    asyncio.run(main())
    assert threads == {threading.get_ident()}
    assert server.requests[0][3] == b"ab"
