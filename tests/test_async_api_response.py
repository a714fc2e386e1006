"""The async twins of the response wrappers (``AsyncAPIResponse``, ``AsyncBinaryAPIResponse``,
``AsyncResponseContextManager``), on responses built by hand over an async byte stream: the body
awaited or streamed with ``async for``, kept once read, spent once streamed, the connection
released on close, and downloads written atomically."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import msgspec
import pytest

import replicate
from replicate._cast import Deferred
from replicate._response import (
    APIResponse,
    AsyncAPIResponse,
    AsyncBinaryAPIResponse,
    AsyncResponseContextManager,
    StreamAlreadyConsumed,
)
from replicate.exceptions import ResponseNotRead

T = TypeVar("T")

BODY = b'{"id": "p1", "status": "succeeded"}'


class Tiny(msgspec.Struct):
    id: str
    status: str


class AsyncChunks:
    """A body that arrives in exactly these chunks (a transport's ``AsyncByteStream``); with
    ``fail_after`` it raises once that many chunks have gone, as a broken connection does."""

    def __init__(self, chunks: list[bytes], *, fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.sent = 0
        self.closed = 0  # how many times aclose() was awaited

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            if self.fail_after is not None and self.sent >= self.fail_after:
                raise replicate.APIConnectionError("connection reset", request=REQUEST)
            await asyncio.sleep(0)
            self.sent += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed += 1


def sync_chunks(chunks: list[bytes]) -> Any:
    """A sync stream (``SyncByteStream``) giving ``chunks``."""
    return SimpleNamespace(iter_bytes=lambda chunk_size=None: iter(chunks), close=lambda: None)


REQUEST = replicate.Request("GET", "https://api.replicate.com/v1/predictions/p1")


def streamed(
    stream: AsyncChunks,
    content_type: str = "application/json",
    cast: Any = None,
) -> AsyncAPIResponse[Any]:
    response = replicate.Response(
        200,
        headers=replicate.Headers({"Content-Type": content_type, "RateLimit-Remaining": "7"}),
        stream=stream,
        request=REQUEST,
        http_version="HTTP/2",
    )
    deferred = None if cast is None else Deferred(cast)
    return AsyncAPIResponse[Any](response, deferred=deferred)


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


async def collect(chunks: AsyncIterator[T]) -> list[T]:
    return [chunk async for chunk in chunks]


# --- the surface ------------------------------------------------------------------------------


def test_it_is_an_api_response_with_the_same_attributes_and_awaited_body_methods() -> None:
    stream = AsyncChunks([BODY])
    raw = streamed(stream, cast=Tiny)
    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert raw.headers["ratelimit-remaining"] == "7"
    assert raw.http_request is REQUEST
    assert (raw.url, raw.method) == (REQUEST.url, "GET")
    assert raw.http_version == "HTTP/2"
    assert raw.retries_taken == 0
    assert not raw.is_closed
    for name in ("parse", "read", "text", "json", "close"):
        assert inspect.iscoroutinefunction(getattr(raw, name)), name
    assert repr(raw).startswith("<AsyncAPIResponse [200] ")
    run(raw.close())
    assert stream.closed == 1 and raw.is_closed


def test_elapsed_ends_with_the_body() -> None:
    raw = streamed(AsyncChunks([b"a", b"b"]))
    raw.http_response._sent_at(time.perf_counter())
    with pytest.raises(RuntimeError, match="read or closed"):
        raw.elapsed  # noqa: B018 - still streaming
    assert run(raw.read()) == b"ab"
    assert raw.elapsed.total_seconds() >= 0


# --- the body read whole ----------------------------------------------------------------------


def test_parse_reads_the_body_once_and_keeps_each_result() -> None:
    stream = AsyncChunks([BODY[:5], BODY[5:]])
    raw = streamed(stream, cast=Tiny)

    async def main() -> None:
        parsed = await raw.parse()
        assert parsed == Tiny(id="p1", status="succeeded")
        assert raw.is_closed and stream.closed == 1
        assert repr(raw) == "<AsyncAPIResponse [200] Tiny>"
        assert await raw.parse() is parsed
        as_dict = await raw.parse(to=dict)
        assert as_dict == {"id": "p1", "status": "succeeded"}
        assert await raw.parse(to=dict) is as_dict  # kept per type
        assert await raw.parse(to=dict[str, Any]) == as_dict
        assert await raw.parse(to=str) == BODY.decode()
        assert await raw.parse(to=bytes) == BODY
        none_type: Any = type(None)
        assert await raw.parse(to=none_type) is None
        assert await raw.parse(to=replicate.Response) is raw.http_response
        with pytest.raises(replicate.APIResponseValidationError):
            await raw.parse(to=list[int])

    run(main())
    assert stream.sent == 2  # read from the stream once only


def test_parse_to_response_reads_nothing() -> None:
    stream = AsyncChunks([BODY])
    raw = streamed(stream, cast=Tiny)
    assert run(raw.parse(to=replicate.Response)) is raw.http_response
    assert stream.sent == 0 and not raw.is_closed
    assert run(raw.parse()) == Tiny(id="p1", status="succeeded")


def test_parse_without_a_decoder_is_none() -> None:
    raw = streamed(AsyncChunks([BODY]))
    assert run(raw.parse()) is None


def test_read_text_json_and_content() -> None:
    stream = AsyncChunks([b'{"a": "\xc3', b'\xa9"}'])
    raw = streamed(stream, content_type="application/json; charset=utf-8")
    with pytest.raises(ResponseNotRead, match=r"await response\.read\(\)"):
        raw.content  # noqa: B018 - nothing read yet, and content cannot wait for it

    async def main() -> None:
        assert await raw.read() == b'{"a": "\xc3\xa9"}'
        assert raw.content == b'{"a": "\xc3\xa9"}'
        assert await raw.text() == '{"a": "é"}'
        assert await raw.json() == {"a": "é"}
        # From memory now, in both colours.
        assert await collect(raw.iter_bytes(4)) == [b'{"a"', b': "\xc3', b'\xa9"}']
        assert "".join(await collect(raw.iter_text())) == '{"a": "é"}'
        assert await collect(raw.iter_lines()) == ['{"a": "é"}']
        await raw.close()  # nothing to release; still readable
        assert await raw.read() == b'{"a": "\xc3\xa9"}'

    run(main())
    assert stream.closed == 1 and raw.is_closed


def test_a_body_that_was_never_streamed_comes_from_memory() -> None:
    response = replicate.Response(200, headers=replicate.Headers(), content=b"abcdef")
    raw = AsyncAPIResponse[bytes](response, b"abcdef")

    async def main() -> None:
        assert raw.is_closed
        assert raw.content == b"abcdef"
        assert await raw.parse() == b"abcdef"
        assert await raw.read() == b"abcdef"
        assert await collect(raw.iter_bytes(4)) == [b"abcd", b"ef"]
        assert await collect(raw.iter_text(5)) == ["abcde", "f"]

    run(main())


def test_an_unknown_charset_decodes_as_utf8() -> None:
    raw = streamed(AsyncChunks(["é\n".encode()]), content_type="text/plain; charset=nonsense")
    assert run(collect(raw.iter_lines())) == ["é"]


def test_a_sync_stream_names_the_method_to_call() -> None:
    response = replicate.Response(200, headers=replicate.Headers(), stream=sync_chunks([b"x"]))
    raw = AsyncAPIResponse[Any](response)
    with pytest.raises(TypeError, match=r"read\(\)"):
        run(raw.read())


# --- the body streamed ------------------------------------------------------------------------


def test_iter_bytes_streams_and_then_the_body_is_spent() -> None:
    stream = AsyncChunks([b"ab", b"cd", b"e"])
    raw = streamed(stream, cast=bytes)

    async def main() -> None:
        chunks = raw.iter_bytes()
        assert not raw.is_closed
        assert await anext(chunks) == b"ab"
        assert not raw.is_closed  # part of the body is still on the connection
        assert [chunk async for chunk in chunks] == [b"cd", b"e"]
        assert raw.is_closed and stream.closed == 1
        with pytest.raises(StreamAlreadyConsumed):
            await raw.read()
        with pytest.raises(StreamAlreadyConsumed):
            await raw.parse()
        with pytest.raises(StreamAlreadyConsumed):
            await raw.text()
        with pytest.raises(StreamAlreadyConsumed):
            await raw.json()
        with pytest.raises(StreamAlreadyConsumed):
            raw.content  # noqa: B018
        with pytest.raises(StreamAlreadyConsumed):
            raw.iter_bytes()

    run(main())


#: Bodies as their chunks arrive, "|" between two chunks.
LINE_CASES = [
    b"one\r|\ntwo",  # "\r\n" split across chunks: one line break
    b"one\r|two\r|\r\n|three",
    b"one||\n|\n|two\n",
    b"\n\n",
    b"caf\xc3|\xa9\n\xe2\x9c|\x93 done",  # UTF-8 split inside characters
    b"no line ending anywhere",
    b"ends in a lone CR\r",
    b"",
]


@pytest.mark.parametrize("body", LINE_CASES)
def test_iter_lines_across_chunk_boundaries(body: bytes) -> None:
    chunks = body.split(b"|") if body else []
    expected = body.replace(b"|", b"").decode("utf-8").splitlines()
    stream = AsyncChunks(chunks)
    lines = run(collect(streamed(stream, content_type="text/plain").iter_lines()))
    assert lines == expected
    assert stream.closed == 1
    # The sync response splits the same chunks into the same lines.
    response = replicate.Response(200, headers=replicate.Headers(), stream=sync_chunks(chunks))
    assert list(APIResponse[Any](response).iter_lines()) == expected


def test_iter_text_decodes_characters_split_across_chunks() -> None:
    text = "héllo wörld ✓\r\nlast"
    data = text.encode()
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]
    raw = streamed(AsyncChunks(chunks), content_type="text/plain; charset=utf-8")
    pieces = run(collect(raw.iter_text()))
    assert "".join(pieces) == text
    assert all(pieces)  # no empty piece for a chunk that ended inside a character

    raw = streamed(AsyncChunks(chunks), content_type="text/plain; charset=utf-8")
    pieces = run(collect(raw.iter_text(4)))
    assert "".join(pieces) == text
    assert all(len(p) == 4 for p in pieces[:-1]) and 0 < len(pieces[-1]) <= 4


def test_iter_text_in_another_charset() -> None:
    raw = streamed(AsyncChunks([b"caf", b"\xe9"]), content_type="text/plain; charset=latin-1")
    assert "".join(run(collect(raw.iter_text()))) == "café"


def test_close_midway_releases_the_stream() -> None:
    stream = AsyncChunks([b"line 1\n", b"line 2\n", b"line 3\n"])
    raw = streamed(stream, content_type="text/plain")

    async def main() -> None:
        lines = raw.iter_lines()
        assert await anext(lines) == "line 1"
        assert stream.closed == 0 and not raw.is_closed
        await raw.close()
        assert stream.closed == 1 and raw.is_closed
        assert [line async for line in lines] == []  # nothing more comes
        with pytest.raises(StreamAlreadyConsumed):
            await raw.read()
        await raw.close()  # again: nothing to do

    run(main())
    assert stream.closed == 1 and stream.sent < 3


def test_close_before_reading_spends_the_body() -> None:
    stream = AsyncChunks([BODY])
    raw = streamed(stream, cast=Tiny)

    async def main() -> None:
        chunks = raw.iter_bytes()  # not started yet
        await raw.close()
        assert [chunk async for chunk in chunks] == []
        with pytest.raises(StreamAlreadyConsumed):
            await raw.parse()

    run(main())
    assert stream.closed == 1 and stream.sent == 0 and raw.is_closed


# --- AsyncBinaryAPIResponse -------------------------------------------------------------------


def binary(stream: AsyncChunks) -> AsyncBinaryAPIResponse:
    response = replicate.Response(
        200, headers=replicate.Headers({"Content-Type": "application/octet-stream"}), stream=stream
    )
    return AsyncBinaryAPIResponse(response)


def test_binary_response_reads_and_parses_to_bytes() -> None:
    raw = binary(AsyncChunks([b"\x00\x01", b"\x02"]))
    assert isinstance(raw, AsyncAPIResponse)
    assert run(raw.parse()) == b"\x00\x01\x02"
    assert raw.content == b"\x00\x01\x02"


def test_write_to_file(tmp_path: Path) -> None:
    body = bytes(range(256)) * 100
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    stream = AsyncChunks(chunks)
    target = tmp_path / "out.bin"
    run(binary(stream).write_to_file(target))
    assert target.read_bytes() == body
    assert os.listdir(tmp_path) == ["out.bin"]
    assert stream.closed == 1

    stream = AsyncChunks(chunks)
    run(binary(stream).stream_to_file(str(target), chunk_size=4096))
    assert target.read_bytes() == body


def test_write_to_file_broken_midway_leaves_no_file(tmp_path: Path) -> None:
    stream = AsyncChunks([b"a" * 100, b"b" * 100, b"c" * 100], fail_after=2)
    target = tmp_path / "out.bin"
    raw = binary(stream)
    with pytest.raises(replicate.APIConnectionError):
        run(raw.write_to_file(target))
    assert os.listdir(tmp_path) == []  # neither the file nor its temporary sibling
    assert stream.sent == 2 and stream.closed == 1 and raw.is_closed


def test_write_to_file_broken_midway_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"before")
    stream = AsyncChunks([b"a", b"b"], fail_after=1)
    with pytest.raises(replicate.APIConnectionError):
        run(binary(stream).write_to_file(target))
    assert target.read_bytes() == b"before"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_write_to_a_missing_folder_names_the_path_and_reads_nothing(tmp_path: Path) -> None:
    stream = AsyncChunks([b"a"])
    raw = binary(stream)
    target = tmp_path / "missing" / "out.bin"
    with pytest.raises(FileNotFoundError, match="does not exist") as caught:
        run(raw.write_to_file(target))
    assert caught.value.filename == str(target)
    assert stream.sent == 0 and not raw.is_closed  # as the sync one: the body is left unread
    run(raw.write_to_file(tmp_path / "out.bin"))  # so another path can be tried
    assert (tmp_path / "out.bin").read_bytes() == b"a"
    assert stream.closed == 1 and raw.is_closed


def test_write_after_streaming_is_refused(tmp_path: Path) -> None:
    raw = binary(AsyncChunks([b"a"]))
    assert run(collect(raw.iter_bytes())) == [b"a"]
    with pytest.raises(StreamAlreadyConsumed):
        run(raw.write_to_file(tmp_path / "out.bin"))
    assert os.listdir(tmp_path) == []


def test_binary_response_async_with_closes_it() -> None:
    stream = AsyncChunks([b"a", b"b"])

    async def main() -> AsyncBinaryAPIResponse:
        async with binary(stream) as raw:
            assert await anext(raw.iter_bytes()) == b"a"
        return raw

    raw = run(main())
    assert stream.closed == 1 and raw.is_closed


# --- AsyncResponseContextManager --------------------------------------------------------------


def opener(stream: AsyncChunks, calls: list[int]) -> Callable[[], Awaitable[AsyncAPIResponse[Any]]]:
    async def send() -> AsyncAPIResponse[Any]:
        calls.append(1)
        await asyncio.sleep(0)
        return streamed(stream, cast=Tiny)

    return send


def test_context_manager_sends_on_enter_and_closes_on_exit() -> None:
    stream, calls = AsyncChunks([BODY]), list[int]()
    manager = AsyncResponseContextManager(opener(stream, calls))
    assert repr(manager) == "<AsyncResponseContextManager unsent>"
    assert calls == []  # nothing sent before entering

    async def main() -> AsyncAPIResponse[Any]:
        async with manager as response:
            assert calls == [1]
            assert isinstance(response, AsyncAPIResponse)
            assert not response.is_closed and stream.closed == 0
        return response

    response = run(main())
    assert stream.closed == 1 and response.is_closed
    assert repr(manager) == "<AsyncResponseContextManager sent>"
    with pytest.raises(StreamAlreadyConsumed):
        run(response.read())


def test_context_manager_can_be_entered_once() -> None:
    stream, calls = AsyncChunks([BODY]), list[int]()
    manager = AsyncResponseContextManager(opener(stream, calls))

    async def main() -> None:
        async with manager as response:
            assert await response.parse() == Tiny(id="p1", status="succeeded")
        with pytest.raises(RuntimeError, match="once"):
            async with manager:
                pass  # pragma: no cover

    run(main())
    assert calls == [1]


def test_context_manager_closes_on_an_exception() -> None:
    stream, calls = AsyncChunks([b"a", b"b"]), list[int]()
    seen: list[AsyncAPIResponse[Any]] = []

    async def main() -> None:
        async with AsyncResponseContextManager(opener(stream, calls)) as response:
            seen.append(response)
            await anext(response.iter_bytes())
            raise KeyError("boom")

    with pytest.raises(KeyError):
        run(main())
    assert stream.closed == 1 and seen[0].is_closed
