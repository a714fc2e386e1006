"""replicate.testing: MockTransport and AsyncMockTransport, the public connection_error, and a
plugin's transport factory checked when the client is built."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from typing import Any

import pytest
from conftest import TOKEN

import replicate
from replicate import Request, Response
from replicate.testing import AsyncMockTransport, MockTransport

PREDICTION = {"id": "p1", "status": "succeeded", "input": {}, "output": "hi"}


def answer_json(request: Request) -> Response:
    return Response(
        200, headers={"Content-Type": "application/json"}, content=json.dumps(PREDICTION).encode()
    )


# --- MockTransport ----------------------------------------------------------------------------


def test_a_client_answered_by_a_handler() -> None:
    mock = MockTransport(answer_json)
    with replicate.Replicate(bearer_token=TOKEN, transport=mock) as client:
        prediction = client.predictions.get("p1")
        assert prediction.id == "p1" and prediction.output == "hi"
        assert repr(client).endswith("transport='mock'>")
    (sent,) = mock.requests
    assert sent.method == "GET"
    assert sent.url == "https://api.replicate.com/v1/predictions/p1"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert mock.closed  # the client owned it


def test_the_handler_sees_the_body_as_bytes_whatever_was_sent() -> None:
    bodies: list[Any] = []

    def handler(request: Request) -> Response:
        bodies.append(request.content)
        return Response(204, headers={})

    mock = MockTransport(handler)
    with replicate.Replicate(bearer_token=TOKEN, transport=mock) as client:
        client.post("/things", json={"a": 1})
        client.post("/things", content=io.BytesIO(b"from a file"))
        client.post("/things", content=iter([b"one, ", b"two"]))
        client.get("/things")
    assert bodies == [b'{"a":1}', b"from a file", b"one, two", None]
    assert [r.content for r in mock.requests] == bodies


def test_stream_true_gives_a_streamed_body() -> None:
    def handler(request: Request) -> Response:
        return Response(200, headers={"content-type": "text/plain"}, content=b"0123456789")

    mock = MockTransport(handler)
    response = mock.send(
        Request("GET", "https://x.test/"), timeout=replicate.Timeout(), stream=True
    )
    assert isinstance(response._stream, replicate.SyncByteStream)
    with pytest.raises(replicate.ResponseNotRead):
        response.content  # noqa: B018
    assert list(response.iter_bytes(4)) == [b"0123", b"4567", b"89"]
    with replicate.Replicate(bearer_token=TOKEN, transport=mock) as client:
        with client.get("/file", stream=True) as streamed:
            assert streamed.read() == b"0123456789"
        assert client.get("/file").content == b"0123456789"


def test_a_handler_stream_is_read_when_not_streaming() -> None:
    class Chunks:
        closed = False

        def iter_bytes(self, chunk_size: int | None = None) -> Any:
            yield from (b"ab", b"cd")

        def close(self) -> None:
            Chunks.closed = True

    mock = MockTransport(lambda request: Response(200, headers={}, stream=Chunks()))
    response = mock.send(Request("GET", "https://x.test/"), timeout=replicate.Timeout())
    assert response.content == b"abcd" and Chunks.closed


def test_headers_from_a_plain_dict_are_case_insensitive() -> None:
    mock = MockTransport(lambda request: Response(200, headers={"X-Thing": "1"}))
    response = mock.send(Request("GET", "https://x.test/"), timeout=replicate.Timeout())
    assert response.headers["x-thing"] == "1"
    assert response.request is not None and response.request.url == "https://x.test/"


def test_a_handler_raising_acts_out_a_network_failure() -> None:
    def handler(request: Request) -> Response:
        raise replicate.connection_error("no route", request, sent=False)

    mock = MockTransport(handler)
    client = replicate.Replicate(
        bearer_token=TOKEN,
        transport=mock,
        retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.002),
    )
    with client, pytest.raises(replicate.APIConnectionError) as info:
        client.post("/predictions", json={})
    assert info.value.request_sent is False
    assert len(mock.requests) == 3  # never sent: even a POST is retried


def test_a_closed_mock_refuses_to_send() -> None:
    mock = MockTransport(answer_json)
    mock.close()
    with pytest.raises(replicate.ReplicateError, match="closed"):
        mock.send(Request("GET", "https://x.test/"), timeout=replicate.Timeout())


def test_a_handler_must_return_a_response() -> None:
    mock = MockTransport(lambda request: {"status": 200})  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match=r"must return a replicate\.Response"):
        mock.send(Request("GET", "https://x.test/"), timeout=replicate.Timeout())
    with pytest.raises(TypeError, match="handler"):
        MockTransport("not a function")  # type: ignore[arg-type]


# --- AsyncMockTransport -----------------------------------------------------------------------


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_an_async_client_answered_by_a_handler(colour: str) -> None:
    async def async_answer(request: Request) -> Response:
        await asyncio.sleep(0)
        return answer_json(request)

    mock = AsyncMockTransport(answer_json if colour == "sync" else async_answer)
    client = replicate.AsyncReplicate(bearer_token=TOKEN, transport=mock)
    assert client.transport is mock

    async def get() -> Any:
        return await client.predictions.get("p1")

    # Not tied to an event loop: one asyncio.run() after another.
    assert asyncio.run(get()).id == "p1"
    assert asyncio.run(get()).output == "hi"

    async def stream_and_close() -> bytes:
        async with await client.get("/file", stream=True) as response:
            assert isinstance(response._stream, replicate.AsyncByteStream)
            data = b"".join([chunk async for chunk in response.aiter_bytes()])
        await client.close()
        return data

    assert asyncio.run(stream_and_close()) == json.dumps(PREDICTION).encode()
    assert len(mock.requests) == 3 and mock.closed


def test_a_closed_async_mock_refuses_to_send() -> None:
    mock = AsyncMockTransport(answer_json)

    async def main() -> None:
        await mock.aclose()
        await mock.send(Request("GET", "https://x.test/"), timeout=replicate.Timeout())

    with pytest.raises(replicate.ReplicateError, match="closed"):
        asyncio.run(main())


def test_importing_replicate_testing_imports_neither_pytest_nor_a_transport() -> None:
    code = (
        "import sys, replicate.testing\n"
        "assert 'pytest' not in sys.modules, 'pytest'\n"
        "assert 'urllib3' not in sys.modules, 'urllib3'\n"
        "assert 'replicate.testing.contract' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_connection_error_is_public() -> None:
    from replicate._http import connection_error

    assert replicate.connection_error is connection_error
    assert "connection_error" in replicate.__all__
    request = Request("GET", "https://x.test/")
    error = replicate.connection_error("slow", request, sent=True, timeout=True)
    assert type(error) is replicate.APITimeoutError
    assert error.request is request and error.request_sent is True


# --- a plugin's transport factory is checked at once --------------------------------------------


def plugin_with(factory: Any, **kinds: bool) -> object:
    class Plugin:
        @replicate.hookimpl
        def replicate_register_transports(self, register: Any) -> None:
            register("broken", factory, **kinds)

    return Plugin()


class SyncThing:
    def send(self, request: Any, *, timeout: Any, stream: bool = False) -> Any:
        raise AssertionError

    def close(self) -> None:
        pass


class AsyncThing:
    async def send(self, request: Any, *, timeout: Any, stream: bool = False) -> Any:
        raise AssertionError

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(
    ("client_class", "made", "kinds"),
    [
        (replicate.Replicate, None, {}),
        (replicate.Replicate, object(), {}),
        (replicate.Replicate, AsyncThing(), {}),
        (replicate.AsyncReplicate, None, {}),
        (replicate.AsyncReplicate, AsyncThing(), {}),
        (replicate.AsyncReplicate, None, {"sync": False, "async_": True}),
        (replicate.AsyncReplicate, SyncThing(), {"sync": False, "async_": True}),
    ],
    ids=[
        "sync-none",
        "sync-object",
        "sync-gets-async",
        "async-none",
        "async-sync-entry-gets-async",
        "async-entry-none",
        "async-entry-gets-sync",
    ],
)
def test_a_factory_returning_no_transport_fails_when_the_client_is_built(
    client_class: Any, made: Any, kinds: dict[str, bool]
) -> None:
    plugin = plugin_with(lambda config: made, **kinds)
    with pytest.raises(replicate.PluginError) as info:
        client_class(bearer_token=TOKEN, transport="broken", plugins=[plugin])
    message = str(info.value)
    assert "transport 'broken'" in message and "client-plugin-0" in message, message
    assert type(made).__name__ in message


def test_good_factories_still_work() -> None:
    sync_plugin = plugin_with(lambda config: SyncThing())
    with replicate.Replicate(bearer_token=TOKEN, transport="broken", plugins=[sync_plugin]) as c:
        assert isinstance(c.transport, SyncThing)
    async_plugin = plugin_with(lambda config: AsyncThing(), sync=False, async_=True)
    client = replicate.AsyncReplicate(
        bearer_token=TOKEN, transport="broken", plugins=[async_plugin]
    )
    assert isinstance(client.transport, AsyncThing)


def test_an_async_transport_object_is_refused_by_the_sync_client() -> None:
    class Both(AsyncThing):
        def close(self) -> None:
            pass

    with pytest.raises(TypeError, match="AsyncReplicate"):
        replicate.Replicate(bearer_token=TOKEN, transport=Both())  # type: ignore[arg-type]
