"""The HTTP types in both colours, as a transport author uses them: a Response whose body is a
sync or an async byte stream, read only when asked, with the methods of its colour.

The streams and the transport here implement the public protocols (``replicate.SyncByteStream``,
``replicate.AsyncByteStream``, ``replicate.AsyncTransport``), as a transport plugin would.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import msgspec
import pytest

import replicate
from replicate import (
    AsyncByteStream,
    AsyncTransport,
    Headers,
    Request,
    Response,
    ResponseNotRead,
    SyncByteStream,
    SyncTransport,
    Timeout,
)
from replicate._cast import Deferred
from replicate._drivers import CloseResponse, Flow, ReadBody, drive_sync
from replicate._response import APIResponse, BinaryAPIResponse

T = TypeVar("T")

JSON = {"content-type": "application/json"}


class Chunks:
    """A sync body that arrives in these chunks; counts how often it was closed."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = 0
        self.sizes: list[int | None] = []

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.sizes.append(chunk_size)
        yield from self.chunks

    def close(self) -> None:
        self.closed += 1


class AsyncChunks:
    """An async body that arrives in these chunks, one event-loop turn apart."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = 0
        self.sizes: list[int | None] = []

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        self.sizes.append(chunk_size)
        for chunk in self.chunks:
            await asyncio.sleep(0)
            yield chunk

    async def aclose(self) -> None:
        self.closed += 1


class EchoTransport:
    """An AsyncTransport answering every request with its own URL as a JSON body."""

    def __init__(self) -> None:
        self.closed = False

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        await asyncio.sleep(0)
        body = msgspec.json.encode({"url": request.url})
        if stream:
            return Response(200, headers=JSON, stream=AsyncChunks(body[:5], body[5:]))
        return Response(200, headers=JSON, content=body, request=request)

    async def aclose(self) -> None:
        self.closed = True


def run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await make()

    return asyncio.run(main())


def sync_response(*chunks: bytes) -> tuple[Response, Chunks]:
    stream = Chunks(*chunks)
    return Response(200, headers=JSON, stream=stream), stream


def async_response(*chunks: bytes) -> tuple[Response, AsyncChunks]:
    stream = AsyncChunks(*chunks)
    return Response(200, headers=JSON, stream=stream), stream


# --- the protocols -----------------------------------------------------------------------------


def test_streams_and_transports_are_recognised_by_their_protocols() -> None:
    assert isinstance(Chunks(), SyncByteStream)
    assert not isinstance(Chunks(), AsyncByteStream)
    assert isinstance(AsyncChunks(), AsyncByteStream)
    assert not isinstance(AsyncChunks(), SyncByteStream)
    assert isinstance(EchoTransport(), AsyncTransport)
    assert not isinstance(EchoTransport(), SyncTransport)  # no close(): a sync client refuses it
    from replicate.transports.urllib3_transport import Urllib3Transport

    assert isinstance(Urllib3Transport(), SyncTransport)
    assert not isinstance(Urllib3Transport(), AsyncTransport)


def test_the_protocols_are_public_names() -> None:
    for name in ("AsyncTransport", "AsyncByteStream", "ResponseNotRead"):
        assert name in replicate.__all__
    assert replicate.exceptions.ResponseNotRead is ResponseNotRead
    assert issubclass(ResponseNotRead, replicate.ReplicateError)


def test_an_async_transport_sends_and_streams() -> None:
    transport = EchoTransport()
    request = Request("GET", "https://api.example/v1/x")

    async def exchange() -> tuple[Any, bytes]:
        whole = await transport.send(request, timeout=Timeout())
        streamed = await transport.send(request, timeout=Timeout(), stream=True)
        async with streamed:
            body = await streamed.aread()
        await transport.aclose()
        return whole.json(), body

    whole, body = run(exchange)
    assert whole == {"url": "https://api.example/v1/x"}
    assert msgspec.json.decode(body) == whole
    assert transport.closed


# --- an unread stream is never read behind the caller's back ------------------------------------


@pytest.mark.parametrize("make", [sync_response, async_response])
@pytest.mark.parametrize(
    "use",
    [
        lambda r: r.content,
        lambda r: r.text,
        lambda r: r.json(),
        lambda r: r.parse(dict),
        pickle.dumps,
    ],
    ids=["content", "text", "json", "parse", "pickle"],
)
def test_the_body_of_an_unread_stream_is_an_error(
    make: Callable[..., tuple[Response, Any]], use: Callable[[Response], Any]
) -> None:
    response, stream = make(b'{"a": 1}')
    with pytest.raises(ResponseNotRead) as info:
        use(response)
    hint = "response.read()" if make is sync_response else "await response.aread()"
    assert hint in str(info.value)
    assert not response.is_stream_consumed  # nothing was read or closed
    assert stream.closed == 0


def test_read_then_content() -> None:
    response, stream = sync_response(b'{"a": ', b"1}")
    assert response.read() == b'{"a": 1}'
    assert response.read() == b'{"a": 1}'  # kept: not read twice
    assert response.content == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert response.parse(dict) == {"a": 1}
    assert response.is_stream_consumed
    assert stream.closed == 1
    again = pickle.loads(pickle.dumps(response))
    assert again.content == b'{"a": 1}'


def test_aread_then_content() -> None:
    response, stream = async_response(b'{"a": ', b"1}")
    assert run(response.aread) == b'{"a": 1}'
    assert run(response.aread) == b'{"a": 1}'
    assert response.content == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert response.is_stream_consumed
    assert stream.closed == 1


def test_a_body_given_whole_reads_in_either_colour() -> None:
    response = Response(200, headers=JSON, content=b"abc")
    assert response.read() == b"abc"
    assert run(response.aread) == b"abc"
    assert list(response.iter_bytes()) == [b"abc"]

    async def chunks() -> list[bytes]:
        return [chunk async for chunk in response.aiter_bytes()]

    assert run(chunks) == [b"abc"]
    response.close()
    run(response.aclose)
    assert Response(204, headers={}).content == b""


# --- iterating ---------------------------------------------------------------------------------


def test_iter_bytes_streams_and_releases() -> None:
    response, stream = sync_response(b"ab", b"cd")
    assert list(response.iter_bytes(chunk_size=2)) == [b"ab", b"cd"]
    assert stream.sizes == [2]
    assert stream.closed == 1
    assert response.is_stream_consumed


def test_aiter_bytes_streams_and_releases() -> None:
    response, stream = async_response(b"ab", b"cd")

    async def chunks() -> list[bytes]:
        return [chunk async for chunk in response.aiter_bytes(chunk_size=2)]

    assert run(chunks) == [b"ab", b"cd"]
    assert stream.sizes == [2]
    assert stream.closed == 1
    assert response.is_stream_consumed


def test_next_chunk_in_both_colours() -> None:
    response, stream = sync_response(b"ab", b"cd")
    assert [response.next_chunk(), response.next_chunk(), response.next_chunk()] == [
        b"ab",
        b"cd",
        b"",
    ]
    assert stream.closed == 1

    aresponse, astream = async_response(b"ab", b"cd")

    async def pieces() -> list[bytes]:
        first = await aresponse.anext_chunk()
        await aresponse.aclose()  # abandoned after one chunk
        return [first, await aresponse.anext_chunk()]

    assert run(pieces) == [b"ab", b""]
    assert astream.closed == 1


# --- the wrong colour is a clear error ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "right"),
    [
        (lambda r: r.read(), "aread()"),
        (lambda r: r.iter_bytes(), "aiter_bytes()"),
        (lambda r: r.next_chunk(), "anext_chunk()"),
        (lambda r: r.close(), "aclose()"),
        (lambda r: r.__exit__(None, None, None), "aclose()"),
    ],
    ids=["read", "iter_bytes", "next_chunk", "close", "with"],
)
def test_sync_methods_on_an_async_stream(call: Callable[[Response], Any], right: str) -> None:
    response, stream = async_response(b"body")
    with pytest.raises(TypeError, match=r"an async stream \(AsyncByteStream\)") as info:
        call(response)
    assert f"use {right}" in str(info.value)
    # Nothing was consumed or closed: the right method still reads the whole body.
    assert not response.is_stream_consumed
    assert run(response.aread) == b"body"
    assert stream.closed == 1


@pytest.mark.parametrize(
    ("call", "right"),
    [
        (lambda r: r.aread(), "read()"),
        (lambda r: r.aclose(), "close()"),
        (lambda r: r.anext_chunk(), "next_chunk()"),
        (lambda r: r.__aexit__(None, None, None), "close()"),
        (lambda r: r.aiter_bytes().__anext__(), "iter_bytes()"),
    ],
    ids=["aread", "aclose", "anext_chunk", "async with", "aiter_bytes"],
)
def test_async_methods_on_a_sync_stream(
    call: Callable[[Response], Awaitable[Any]], right: str
) -> None:
    response, stream = sync_response(b"body")
    with pytest.raises(TypeError, match=r"a sync stream \(SyncByteStream\)") as info:
        run(lambda: call(response))
    assert f"use {right}" in str(info.value)
    assert not response.is_stream_consumed
    assert response.read() == b"body"
    assert stream.closed == 1


def test_a_stream_of_both_colours_reads_with_either() -> None:
    class Both(Chunks, AsyncChunks):
        pass

    response = Response(200, headers={}, stream=Both(b"x", b"y"))
    assert run(response.aread) == b"xy"
    response = Response(200, headers={}, stream=Both(b"x", b"y"))
    assert response.read() == b"xy"


# --- closing -----------------------------------------------------------------------------------


def test_close_is_idempotent() -> None:
    response, stream = sync_response(b"body")
    response.close()
    response.close()
    with response:
        pass
    assert stream.closed == 1
    assert response.is_stream_consumed
    assert response.content == b""  # closed unread: the body is gone
    run(response.aclose)  # nothing attached any more: either colour may close it


def test_aclose_is_idempotent() -> None:
    response, stream = async_response(b"body")

    async def close_twice() -> None:
        await response.aclose()
        await response.aclose()
        async with response:
            pass

    run(close_twice)
    assert stream.closed == 1
    assert response.is_stream_consumed
    response.close()


def test_close_after_read_does_nothing() -> None:
    response, stream = sync_response(b"body")
    response.read()
    response.close()
    assert stream.closed == 1
    assert response.content == b"body"


# --- the places that read a streamed body do it explicitly -------------------------------------


def test_the_sync_driver_performs_read_body() -> None:
    response, stream = sync_response(b"err", b"or")

    def flow() -> Flow[bytes]:
        body: bytes = yield ReadBody(response)
        yield CloseResponse(response)
        return body

    no_sends: Any = object()  # the flow sends nothing: the transport is never used
    assert drive_sync(flow(), no_sends) == b"error"
    assert stream.closed == 1
    assert response.content == b"error"


def test_a_streamed_api_response_reads_when_parsed() -> None:
    response, stream = sync_response(b'{"a": 1}')
    api = APIResponse(response, deferred=Deferred(dict))
    assert api.parse() == {"a": 1}
    assert api.parse(to=bytes) == b'{"a": 1}'
    assert stream.closed == 1

    other, _ = sync_response(b'{"a": 1}')
    assert APIResponse(other).parse(to=dict) == {"a": 1}

    download, _ = sync_response(b"bytes")
    assert BinaryAPIResponse(download).parse() == b"bytes"

    untouched, _ = sync_response(b"body")
    api = APIResponse(untouched)
    assert api.parse(to=Response) is untouched
    assert not untouched.is_stream_consumed


def test_a_status_error_needs_the_body_read_first() -> None:
    """send_flow yields ReadBody before it builds the error of a streamed response."""
    from replicate._decode import status_error

    response = Response(
        404,
        headers=Headers(JSON),
        stream=Chunks(b'{"detail": "gone"}'),
        request=Request("GET", "https://api.example/v1/x"),
    )
    with pytest.raises(ResponseNotRead):
        status_error(response)
    response.read()
    error = status_error(response)
    assert isinstance(error, replicate.NotFoundError)
    assert error.detail == "gone"
