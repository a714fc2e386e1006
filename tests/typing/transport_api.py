"""Checked by mypy in the test command (scripts/test.sh), never run: a transport as its author
writes it meets the protocol of its colour, and not the other.

Each ``# type: ignore[...]`` marks a line that must be a type error; with ``warn_unused_ignores``
a line that stops being one fails the check. The other lines must type-check cleanly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import replicate
from replicate import (
    AsyncByteStream,
    AsyncTransport,
    Request,
    Response,
    SyncByteStream,
    SyncTransport,
    Timeout,
)


class Body:
    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield b"body"

    def close(self) -> None:
        pass


class AsyncBody:
    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        yield b"body"

    async def aclose(self) -> None:
        pass


class Transport:
    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        return Response(200, headers={}, stream=Body())

    def close(self) -> None:
        pass


class AsyncTransportImpl:
    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        return Response(200, headers={}, stream=AsyncBody())

    async def aclose(self) -> None:
        pass


def protocols() -> None:
    stream: SyncByteStream = Body()
    astream: AsyncByteStream = AsyncBody()
    transport: SyncTransport = Transport()
    atransport: AsyncTransport = AsyncTransportImpl()
    wrong_stream: SyncByteStream = AsyncBody()  # type: ignore[assignment]
    wrong_astream: AsyncByteStream = Body()  # type: ignore[assignment]
    wrong: SyncTransport = AsyncTransportImpl()  # type: ignore[assignment]
    awrong: AsyncTransport = Transport()  # type: ignore[assignment]
    replicate.Replicate(transport=transport)
    print(stream, astream, atransport, wrong_stream, wrong_astream, wrong, awrong)


async def reading(response: Response) -> None:
    body: bytes = await response.aread()
    chunks: list[bytes] = [chunk async for chunk in response.aiter_bytes()]
    piece: bytes = await response.anext_chunk()
    await response.aclose()
    async with response:
        pass
    body = response.read()
    print(body, chunks, piece)
