"""The transports' own job, apart from the engine: turning SDK requests into EmuRequests and
EmuResponses (with their fault directives) into Responses, for every body shape, both colours.

The answers come from a small handler of wire types, so that each directive can be set on a
bytes body and on a produced stream alike."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from replicate_emulator.server import serve
from replicate_emulator.transport import AsyncEmulatorTransport, EmulatorTransport
from replicate_emulator.wire import EmuRequest, EmuResponse, json_response

import replicate
from replicate import Request, Timeout

URL = "https://api.replicate.com/v1/things/abc?x=1&x=2&y="
DOC = {"id": "abc", "output": "hello " * 10}


class Answers:
    """Answers every path with DOC, ``.../stream`` with an SSE-like produced stream; the
    directives in ``faults`` are set on each answer."""

    def __init__(self) -> None:
        self.faults = SimpleNamespace(rules=[])
        self.directives: dict[str, object] = {}
        self.requests: list[EmuRequest] = []
        self.closed_streams = 0

    def handle(self, req: EmuRequest) -> EmuResponse:
        self.requests.append(req)
        if req.path.endswith("/stream"):
            resp = EmuResponse(200, [("Content-Type", "text/event-stream")], self._events())
        else:
            resp = json_response(200, DOC, [("X-Twice", "a"), ("x-twice", "b")])
        for name, value in self.directives.items():
            setattr(resp, name, value)
        return resp

    def _events(self) -> Iterator[bytes]:
        try:
            for i in range(3):
                yield f"event: output\ndata: {i}\n\n".encode()
            yield b"event: done\ndata: {}\n\n"
        finally:
            self.closed_streams += 1


WHOLE = json_response(200, DOC).body
EVENTS = b"".join(Answers()._events())


@pytest.fixture
def answers():
    return Answers()


def test_the_request_as_the_emulator_sees_it(answers):
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    request = Request("POST", URL, headers={"X-Mixed-Case": "v"}, content=io.BytesIO(b"body"))
    response = transport.send(request, timeout=Timeout())
    (seen,) = answers.requests
    assert (seen.method, seen.path, seen.origin) == (
        "POST",
        "/v1/things/abc",
        "https://api.replicate.com",
    )
    assert seen.query == {"x": ["1", "2"], "y": [""]}
    assert seen.headers == {"x-mixed-case": "v"}
    assert seen.body == b"body"
    assert response.content == WHOLE
    assert response.headers["X-TWICE"] == "a, b"
    assert response.request is request
    assert response.http_version == "HTTP/1.1"


@pytest.mark.parametrize("path", ["/v1/x", "/v1/x/stream"])
@pytest.mark.parametrize("stream", [False, True])
def test_bodies_whole(answers, path, stream):
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    response = transport.send(Request("GET", "http://h" + path), timeout=Timeout(), stream=stream)
    body = response.read() if stream else response.content
    assert body == (EVENTS if path.endswith("stream") else WHOLE)
    if path.endswith("stream"):
        assert answers.closed_streams == 1


@pytest.mark.parametrize("path", ["/v1/x", "/v1/x/stream"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("directive", [{"drop": "mid"}, {"truncate": 7}, {"drop": "before"}])
def test_directives_both_colours(answers, path, stream, directive):
    answers.directives = directive
    sync = EmulatorTransport(answers)  # type: ignore[arg-type]
    full = EVENTS if path.endswith("stream") else WHOLE

    def sync_read() -> bytes:
        response = sync.send(Request("GET", "http://h" + path), timeout=Timeout(), stream=stream)
        return response.read() if stream else response.content

    async def async_read() -> bytes:
        transport = AsyncEmulatorTransport(answers)  # type: ignore[arg-type]
        try:
            response = await transport.send(
                Request("GET", "http://h" + path), timeout=Timeout(), stream=stream
            )
            return await response.aread() if stream else response.content
        finally:
            await transport.aclose()

    for read in (sync_read, lambda: asyncio.run(async_read())):
        with pytest.raises(replicate.APIConnectionError) as info:
            read()
        assert not isinstance(info.value, replicate.APITimeoutError)
        assert info.value.request_sent is (directive.get("drop") != "before")
        assert "emulator fault" in str(info.value)
    assert full  # the answer had a body to cut


def test_the_part_before_a_break_arrives(answers):
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    for directive, expected in (
        ({"truncate": 7}, WHOLE[:7]),
        ({"drop": "mid"}, WHOLE[: len(WHOLE) // 2]),
    ):
        answers.directives = directive
        response = transport.send(Request("GET", "http://h/v1/x"), timeout=Timeout(), stream=True)
        received = b""
        with pytest.raises(replicate.APIConnectionError):
            for chunk in response.iter_bytes():
                received += chunk
        assert received == expected
    answers.directives = {"drop": "mid"}
    response = transport.send(
        Request("GET", "http://h/v1/x/stream"), timeout=Timeout(), stream=True
    )
    received = b""
    with pytest.raises(replicate.APIConnectionError):
        for chunk in response.iter_bytes():
            received += chunk
    assert received == b"event: output\ndata: 0\n\n"
    assert answers.closed_streams == 1


def test_a_truncate_beyond_the_body_cuts_nothing(answers):
    answers.directives = {"truncate": len(WHOLE)}
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    assert transport.send(Request("GET", "http://h/v1/x"), timeout=Timeout()).content == WHOLE


def test_a_stall_pauses_a_stream_or_times_it_out(answers):
    answers.directives = {"stall": 0.3}
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    started = time.monotonic()
    body = transport.send(Request("GET", "http://h/v1/x/stream"), timeout=Timeout(read=5)).content
    assert body == EVENTS and time.monotonic() - started >= 0.3
    started = time.monotonic()
    with pytest.raises(replicate.APITimeoutError) as info:
        transport.send(Request("GET", "http://h/v1/x/stream"), timeout=Timeout(read=0.05))
    assert info.value.request_sent is True
    assert time.monotonic() - started < 0.25
    # A bytes body is not produced as it is read: nothing to pause.
    started = time.monotonic()
    assert transport.send(Request("GET", "http://h/v1/x"), timeout=Timeout(read=0.05)).content
    assert time.monotonic() - started < 0.25

    async def async_stalled() -> None:
        at = AsyncEmulatorTransport(answers)  # type: ignore[arg-type]
        with pytest.raises(replicate.APITimeoutError):
            await at.send(Request("GET", "http://h/v1/x/stream"), timeout=Timeout(read=0.05))
        await at.aclose()

    asyncio.run(async_stalled())


def test_an_async_stream_closed_unread_closes_the_produced_body(answers):
    async def main() -> None:
        transport = AsyncEmulatorTransport(answers)  # type: ignore[arg-type]
        response = await transport.send(
            Request("GET", "http://h/v1/x/stream"), timeout=Timeout(), stream=True
        )
        with pytest.raises(TypeError):
            response.iter_bytes()  # an async stream only
        assert await response.anext_chunk() == b"event: output\ndata: 0\n\n"
        await response.aclose()
        await transport.aclose()

    asyncio.run(main())
    assert answers.closed_streams == 1


def test_a_sync_stream_closed_unread_closes_the_produced_body(answers):
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    response = transport.send(
        Request("GET", "http://h/v1/x/stream"), timeout=Timeout(), stream=True
    )
    assert response.next_chunk().startswith(b"event: output")
    response.close()
    assert answers.closed_streams == 1


def test_a_body_must_be_bytes(answers):
    transport = EmulatorTransport(answers)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        transport.send(Request("POST", "http://h/v1/x", content="text"), timeout=Timeout())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        transport.send(
            Request("POST", "http://h/v1/x", content=io.StringIO("t")), timeout=Timeout()
        )  # type: ignore[arg-type]


def test_the_server_carries_out_the_same_directives(answers):
    import http.client

    with serve(answers, port=0) as server:  # type: ignore[arg-type]
        for path, full in (("/v1/x", WHOLE), ("/v1/x/stream", EVENTS)):
            for directive in ({}, {"drop": "mid"}, {"truncate": 7}, {"drop": "before"}):
                answers.directives = directive
                conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
                conn.request("GET", path)
                if directive.get("drop") == "before":
                    with pytest.raises(http.client.RemoteDisconnected):
                        conn.getresponse()
                    continue
                response = conn.getresponse()
                if not directive:
                    assert response.read() == full
                    continue
                with pytest.raises(http.client.IncompleteRead) as info:
                    response.read()
                partial = info.value.partial
                assert full.startswith(partial) and len(partial) < len(full)
                if "truncate" in directive:
                    assert len(partial) == 7
                conn.close()
        # Each stream that was started was closed (the dropped one never started).
        assert answers.closed_streams == 3
