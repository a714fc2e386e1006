"""Bad answers from the server end with a clear error or within the configured bounds, never a
hang: a pagination ``next`` that loops, a ``Retry-After`` of hours, a redirect loop, an error
body of gigabytes, an SSE stream without ``done`` (closed, or open and silent).

Every server here is a real loopback one (``replicate.testing.servers.ScriptServer``). Time
bounds are far below what the bad answer would cost (hours, gigabytes) and far above what a
loaded 2-core machine needs.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import TOKEN

import replicate
from replicate._http import MAX_ERROR_BODY
from replicate._send import MAX_REDIRECTS
from replicate._stream import MAX_RECONNECTS
from replicate.testing.servers import (
    PREDICTION_ID,
    Handler,
    ScriptServer,
    json_response,
    prediction,
    raw_response,
    sse_event,
    stream_response,
)

PID = PREDICTION_ID
PRED_PATH = f"/v1/predictions/{PID}"
STREAM_PATH = f"/stream/{PID}"
#: Generous upper bound for any call here (the bad answers would cost hours).
BOUND = 30.0


@pytest.fixture
def server() -> Iterator[ScriptServer]:
    with ScriptServer() as s:
        yield s


@pytest.fixture
def sclient(server: ScriptServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[replicate.Replicate]:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    policy = replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=server.url("/v1"), retry_policy=policy, timeout=5
    ) as c:
        yield c


def paths(server: ScriptServer) -> list[str]:
    return [r.path for r in server.requests]


# --- pagination: a ``next`` back to a page already seen ----------------------------------------


def _page(server: ScriptServer, ids: list[str], next_path: str | None) -> Any:
    items = [{"id": i, "status": "succeeded", "input": {}, "urls": {}} for i in ids]
    return json_response({"results": items, "next": next_path and server.url(next_path)})


@pytest.mark.parametrize("back_to", ["/v1/page2", "/v1/page3", "/v1/predictions"])
def test_a_pagination_loop_raises_after_every_new_item(
    server: ScriptServer, sclient: replicate.Replicate, back_to: str
) -> None:
    """Itself, an earlier ``next`` page, or the first page: each URL is fetched at most twice
    (the first page's own URL is not a ``next``), and the error names the loop."""
    server.route("/v1/predictions", _page(server, ["a", "b"], "/v1/page2"))
    server.route("/v1/page2", _page(server, ["c"], "/v1/page3"))
    server.route("/v1/page3", _page(server, ["d"], back_to))
    seen: list[str] = []
    with pytest.raises(replicate.APIResponseValidationError, match="pagination loops") as info:
        for p in sclient.predictions.list():
            seen.append(p.id)
    assert seen[:4] == ["a", "b", "c", "d"]
    assert len(server.requests) <= 5
    for path in set(paths(server)):
        assert paths(server).count(path) <= 2
    assert info.value.status_code == 200


def test_a_pagination_loop_ends_iter_pages_too(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route("/v1/predictions", _page(server, ["a"], "/v1/page2"))
    server.route("/v1/page2", _page(server, ["b"], "/v1/page2"))
    first = sclient.predictions.list()
    pages: list[list[str]] = []
    with pytest.raises(replicate.APIResponseValidationError, match="already fetched"):
        for page in first.iter_pages():
            pages.append([p.id for p in page.results])
    assert pages == [["a"], ["b"]]
    assert paths(server) == ["/v1/predictions", "/v1/page2"]


def test_a_pagination_loop_on_the_async_client(server: ScriptServer) -> None:
    server.route("/v1/predictions", _page(server, ["a"], "/v1/page2"))
    server.route("/v1/page2", _page(server, ["b"], "/v1/page2"))

    async def main() -> list[str]:
        ids: list[str] = []
        async with replicate.AsyncReplicate(bearer_token=TOKEN, base_url=server.url("/v1")) as c:
            with pytest.raises(replicate.APIResponseValidationError, match="pagination loops"):
                async for p in c.predictions.list():
                    ids.append(p.id)
        return ids

    assert asyncio.run(asyncio.wait_for(main(), BOUND)) == ["a", "b"]
    assert paths(server) == ["/v1/predictions", "/v1/page2"]


def test_a_long_list_without_a_loop_is_followed_to_its_end(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    """The loop check tells pages apart by their whole URL: cursors in the query differ."""
    count = 30
    for n in range(count):
        nxt = f"/v1/p{n + 1}" if n + 1 < count else None
        server.route("/v1/predictions" if n == 0 else f"/v1/p{n}", _page(server, [str(n)], nxt))
    assert [p.id for p in sclient.predictions.list()] == [str(n) for n in range(count)]


# --- Retry-After of hours ----------------------------------------------------------------------


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    "header",
    [("Retry-After", "7200"), ("Retry-After", "inf"), ("retry-after-ms", "36000000"), "date"],
)
def test_a_retry_after_of_hours_gives_up_at_once(
    server: ScriptServer, sclient: replicate.Replicate, header: Any
) -> None:
    if header == "date":
        header = ("Retry-After", _http_date(3 * 3600))
    server.route(
        "/v1/account",
        raw_response(
            b'{"detail": "slow down"}', 429, [("Content-Type", "application/json"), header]
        ),
    )
    started = time.monotonic()
    with pytest.raises(replicate.RateLimitError, match="slow down"):
        sclient.account.get()
    assert time.monotonic() - started < BOUND
    assert paths(server) == ["/v1/account"]  # never retried


def test_a_retry_after_within_the_cap_is_honoured(server: ScriptServer) -> None:
    """The cap is ``DefaultRetryPolicy(max_retry_after=)`` (60 s by default): a shorter wait is
    slept, then the request is sent again."""
    server.route(
        "/v1/account",
        raw_response(b"{}", 429, [("Content-Type", "application/json"), ("Retry-After", "0.2")]),
        json_response({"type": "user", "username": "u", "name": "U"}),
    )
    policy = replicate.DefaultRetryPolicy(max_retry_after=0.5)
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=server.url("/v1"), retry_policy=policy
    ) as c:
        started = time.monotonic()
        assert c.account.get().username == "u"
        assert time.monotonic() - started >= 0.2
    assert len(server.requests) == 2


# --- redirect loops ----------------------------------------------------------------------------


def _redirect(to: str, status: int = 302) -> Any:
    return raw_response(b"", status, [("Location", to)])


@pytest.mark.parametrize("shape", ["self", "pair"])
def test_a_redirect_loop_raises_after_a_bounded_number_of_hops(
    server: ScriptServer, sclient: replicate.Replicate, shape: str
) -> None:
    server.route("/v1/account", _redirect("/v1/account" if shape == "self" else "/v1/elsewhere"))
    server.route("/v1/elsewhere", _redirect("/v1/account", 307))
    with pytest.raises(replicate.APIError, match="too many redirects"):
        sclient.account.get()
    assert len(server.requests) == MAX_REDIRECTS + 1


def test_a_redirect_loop_on_the_async_client(server: ScriptServer) -> None:
    server.route("/v1/account", _redirect("/v1/account", 308))

    async def main() -> None:
        async with replicate.AsyncReplicate(bearer_token=TOKEN, base_url=server.url("/v1")) as c:
            with pytest.raises(replicate.APIError, match="too many redirects"):
                await c.account.get()

    asyncio.run(asyncio.wait_for(main(), BOUND))
    assert len(server.requests) == MAX_REDIRECTS + 1


# --- an error body of gigabytes ----------------------------------------------------------------

GIGABYTES = 4 << 30


class Giant:
    """A responder announcing a 4 GiB body and writing it (64 KiB at a time) until the client
    goes away: ``written`` counts what got out, ``gone`` is set once it stopped."""

    def __init__(self, status: int = 500, content_type: str = "text/html") -> None:
        self.status = status
        self.content_type = content_type
        self.written = 0
        self.gone = threading.Event()

    def __call__(self, h: Handler) -> None:
        chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"
        h.close_connection = True
        try:
            h.send_response(self.status)
            h.send_header("Content-Type", self.content_type)
            h.send_header("Content-Length", str(GIGABYTES))
            h.end_headers()
            while self.written < GIGABYTES and not h.server.stop.is_set():
                h.wfile.write(chunk)
                self.written += len(chunk)
        except OSError:
            pass
        finally:
            self.gone.set()

    def check(self) -> None:
        """The client closed the connection having taken a bounded prefix (the kernel's socket
        buffers hold some megabytes beyond what it read)."""
        assert self.gone.wait(BOUND), "the client never closed the connection"
        assert self.written < 256 << 20, f"{self.written} bytes sent before the client left"


def _check_bounded(error: replicate.APIStatusError | replicate.APIError) -> None:
    response = getattr(error, "response", None)
    assert response is not None
    assert 0 < len(response.content) <= MAX_ERROR_BODY
    assert len(str(error)) < 4096  # the message quotes a snippet, never the body


def _plugins(transport: str) -> list[object]:
    """The plugin module of a transport (none for the built-in urllib3)."""
    return [] if transport == "urllib3" else [pytest.importorskip(f"replicate_{transport}")]


@pytest.mark.parametrize("transport", ["urllib3", "requests", "httpx"])
def test_a_gigabyte_error_body_is_read_only_in_part(server: ScriptServer, transport: str) -> None:
    plugins = _plugins(transport)
    giant = Giant(500)
    server.route("/v1/account", giant)
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=server.url("/v1"),
        transport=transport,
        plugins=plugins,
        max_retries=0,
    ) as c:
        started = time.monotonic()
        with pytest.raises(replicate.InternalServerError) as info:
            c.account.get()
        assert time.monotonic() - started < BOUND
        _check_bounded(info.value)
        giant.check()
        # The client still works: the cut connection was not pooled again.
        server.route("/v1/account", json_response({"type": "user", "username": "u", "name": "U"}))
        assert c.account.get().username == "u"


@pytest.mark.parametrize("transport", ["urllib3", "httpx", "aiohttp"])
def test_a_gigabyte_error_body_on_the_async_client(server: ScriptServer, transport: str) -> None:
    plugins = _plugins(transport)
    giant = Giant(404)
    server.route("/v1/account", giant)

    async def main() -> replicate.APIStatusError:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url=server.url("/v1"), transport=transport, plugins=plugins
        ) as c:
            with pytest.raises(replicate.NotFoundError) as info:
                await c.account.get()
        return info.value

    _check_bounded(asyncio.run(asyncio.wait_for(main(), BOUND)))
    giant.check()


@pytest.mark.parametrize("status", [500, 200])
def test_a_gigabyte_answer_on_a_stream_url_is_read_only_in_part(
    server: ScriptServer, sclient: replicate.Replicate, status: int
) -> None:
    """A streamed request (the SSE stream): an error status, or a 200 that is not an event
    stream (an HTML page), reads a bounded prefix for the error's message."""
    giant = Giant(status)
    server.route(PRED_PATH, json_response(prediction(server, status="processing")))
    server.route(STREAM_PATH, giant)
    expected = replicate.APIStatusError if status == 500 else replicate.APIResponseValidationError
    with pytest.raises(expected) as info:
        list(sclient.with_options(max_retries=0).predictions.stream(PID))
    _check_bounded(info.value)
    giant.check()


# --- an SSE stream without ``done`` ------------------------------------------------------------


def _events(*pairs: tuple[str, str]) -> list[bytes]:
    return [sse_event("output", data, eid) for eid, data in pairs]


def test_a_stream_that_closes_without_done_resumes_then_polls(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    """Each connection ends cleanly without ``done``: the stream is resumed with Last-Event-ID
    (at most ``MAX_RECONNECTS`` times in a row without news), then finished by polling; no
    output is lost or repeated."""
    server.route(
        PRED_PATH,
        json_response(prediction(server, status="processing")),
        json_response(prediction(server, status="succeeded", output=["a", "b", "c"])),
    )
    server.route(
        STREAM_PATH,
        stream_response(*_events(("1:0", "a"), ("1:1", "b"))),
        stream_response(*_events(("1:0", "a"), ("1:1", "b"))),  # a replay: nothing new
    )
    started = time.monotonic()
    out = [str(e) for e in sclient.predictions.stream(PID)]
    assert time.monotonic() - started < BOUND
    assert out == ["a", "b", "c"]
    streams = server.hits(STREAM_PATH)
    assert 2 <= len(streams) <= 1 + MAX_RECONNECTS + 1
    assert streams[1]["last-event-id"] == "1:1"


def test_a_stream_without_ids_that_closes_goes_to_polling(
    server: ScriptServer, sclient: replicate.Replicate
) -> None:
    server.route(
        PRED_PATH,
        json_response(prediction(server, status="processing")),
        json_response(prediction(server, status="succeeded", output="hello")),
    )
    server.route(STREAM_PATH, stream_response(sse_event("output", "hel")))
    assert "".join(str(e) for e in sclient.predictions.stream(PID)) == "hello"
    assert len(server.hits(STREAM_PATH)) == 1


@pytest.mark.parametrize("end", ["finish", "hang"])
def test_a_stream_without_done_on_a_prediction_that_never_ends_is_bounded_by_timeout(
    server: ScriptServer, sclient: replicate.Replicate, end: str
) -> None:
    """``stream(timeout=)`` bounds it all, reconnects and polling included, and a stream that
    stays open and silent (the client's read timeout here is 5 s); the prediction is canceled
    before PredictionTimeoutError is raised."""
    running = prediction(server, status="processing")
    server.route("/v1/models/acme/hello/predictions", json_response(running, 201))
    server.route(PRED_PATH, json_response(running))
    server.route(f"{PRED_PATH}/cancel", json_response(prediction(server, status="canceled")))
    server.route(STREAM_PATH, stream_response(*_events(("1:0", "a")), end=end))
    started = time.monotonic()
    out: list[str] = []
    with pytest.raises(replicate.PredictionTimeoutError):
        for event in sclient.stream("acme/hello", input={"prompt": "hi"}, timeout=1.0):
            out.append(str(event))
    assert time.monotonic() - started < BOUND
    assert out == ["a"]
    assert server.hits(f"{PRED_PATH}/cancel")


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_a_stream_that_stays_open_and_silent_is_bounded_by_the_read_timeout(
    server: ScriptServer, monkeypatch: pytest.MonkeyPatch, colour: str
) -> None:
    """No byte for longer than the read timeout: that read fails, the stream is resumed (the
    server is silent each time), then finished by polling."""
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    server.route(
        PRED_PATH,
        json_response(prediction(server, status="processing")),
        json_response(prediction(server, status="succeeded", output=["a", "b"])),
    )
    server.route(STREAM_PATH, stream_response(*_events(("1:0", "a")), end="hang"))
    timeout = replicate.Timeout(connect=5, read=0.3)
    started = time.monotonic()
    if colour == "sync":
        with replicate.Replicate(
            bearer_token=TOKEN, base_url=server.url("/v1"), timeout=timeout
        ) as c:
            out = [str(e) for e in c.predictions.stream(PID)]
    else:

        async def main() -> list[str]:
            async with replicate.AsyncReplicate(
                bearer_token=TOKEN, base_url=server.url("/v1"), timeout=timeout
            ) as c:
                return [str(e) async for e in await c.predictions.stream(PID)]

        out = asyncio.run(asyncio.wait_for(main(), BOUND))
    assert time.monotonic() - started < BOUND
    assert out == ["a", "b"]
    assert 2 <= len(server.hits(STREAM_PATH)) <= 1 + MAX_RECONNECTS
