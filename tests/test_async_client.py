"""``AsyncReplicate`` end to end against loopback servers: cancellation, event loops, async auth
and callbacks, streaming, file outputs, lists, raw and streamed responses, schema resolution,
the event loop never blocked, the client's life cycle and the raw HTTP verbs.

Every test drives the client with ``asyncio.run`` (no pytest-asyncio); :func:`arun` bounds each
with a generous timeout, so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import inspect
import json
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import support
import urllib3
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID, ShortServer, json_response, prediction, requests_to, sequence
from werkzeug import Request, Response

import replicate
from replicate import _default
from replicate._http import Request as SDKRequest
from replicate._http import Timeout
from replicate._use import AsyncFunction, AsyncRun
from replicate.pagination import AsyncPage, AsyncPaginator
from replicate.types import Prediction

T = TypeVar("T")

CREATE_MODEL = "/v1/models/acme/hello/predictions"
CREATE_VERSION = "/v1/predictions"
POLL = "/v1/predictions/p1"
CANCEL = "/v1/predictions/p1/cancel"
STREAM = "/stream/p1"
MODEL = "/v1/models/acme/hello"

SCHEMA: dict[str, Any] = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {
                "type": "object",
                "required": ["prompt"],
                "properties": {"prompt": {"type": "string"}},
            },
            "Output": {"type": "string"},
        }
    },
}

STREAMING_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.2",
    "components": {
        "schemas": {
            "Input": {"type": "object", "properties": {"prompt": {"type": "string"}}},
            "Output": {
                "type": "array",
                "items": {"type": "string"},
                "x-cog-array-type": "iterator",
            },
        }
    },
}

SSE_BODY = (
    "event: output\nid: 1:0\ndata: Hel\n\n"
    "event: logs\nid: 1:1\ndata: step\n\n"
    "event: output\nid: 1:2\ndata: lo\n\n"
    "event: done\nid: 1:3\ndata: {}\n\n"
)


# --- helpers ------------------------------------------------------------------------------------


def arun(coro: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
    """Run a test's coroutine in a new event loop, failing (not hanging) after ``timeout``."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the loop until ``predicate()`` holds (AssertionError after ``timeout``)."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


class Held:
    """A handler that answers ``answer(request)`` only after holding the request for ``hold``
    seconds (or until :meth:`release`); it says when a request arrived and when it was answered,
    so a test can order what the server saw, and :meth:`drain` waits until no request is held
    (so a late answer never lands in the next test's log of the session-wide server)."""

    def __init__(self, answer: Callable[[Request], Response], hold: float) -> None:
        self.answer = answer
        self.hold = hold
        self.entered = threading.Event()
        self.answered_at: list[float] = []
        self._released = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._routes: list[tuple[str, str]] = []

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self._busy += 1
            self._idle.clear()
            self._routes.append((request.method, request.path))
        try:
            self.entered.set()
            self._released.wait(self.hold)
            response = self.answer(request)
            self.answered_at.append(time.monotonic())
            return response
        finally:
            with self._lock:
                self._busy -= 1
                if not self._busy:
                    self._idle.set()

    def release(self) -> None:
        self._released.set()

    def drain(self, server: HTTPServer) -> None:
        self.release()
        assert self._idle.wait(support.WAIT), "a held request never ended"
        routes = set(self._routes)
        support.wait_until(  # the server thread has written each answer and logged it
            lambda: sum((r.method, r.path) in routes for r, _ in server.log) >= len(self._routes),
            what="the held requests in the server's log",
        )


class Stamps:
    """Wraps a handler, recording when each request reached it."""

    def __init__(self, answer: Callable[[Request], Response]) -> None:
        self.answer = answer
        self.at: list[float] = []

    def __call__(self, request: Request) -> Response:
        self.at.append(time.monotonic())
        return self.answer(request)


class Ticker:
    """``async with Ticker() as t:`` runs a task that sleeps 5 ms at a time and notes each gap
    between its wake-ups: ``t.worst`` is the longest time the event loop was kept from it."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._running = True
        self._task: asyncio.Future[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while self._running:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    @property
    def worst(self) -> float:
        return max(self.gaps, default=0.0)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.ensure_future(self._tick())
        await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._running = False
        assert self._task is not None
        await self._task


def answer_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return lambda request: json_response(body, status, headers)


def sse_response(body: str = SSE_BODY) -> Callable[[Request], Response]:
    return lambda request: Response(body, content_type="text/event-stream")


def streaming_prediction(server: HTTPServer, status: str = "starting") -> dict[str, Any]:
    created = prediction(server, status=status)
    created["urls"]["stream"] = server.url_for(STREAM)
    return created


def model_json(schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    return {
        "owner": "acme",
        "name": "hello",
        "latest_version": {"id": VERSION_ID, "openapi_schema": schema},
    }


def script_polling(
    server: HTTPServer,
    *,
    poll: Callable[[Request], Response] | None = None,
    cancel: Callable[[Request], Response] | None = None,
) -> None:
    """A prediction created as ``starting`` (201, the wait not applied: no Preference-Applied),
    then polled as ``processing`` for ever; the cancel answers ``canceled``. The model (for
    ``use()``) has a version, so a ``use()`` call creates on ``/v1/predictions``."""
    created = json_response(prediction(server, status="starting"), 201)
    server.expect_request(MODEL, method="GET").respond_with_json(model_json())
    server.expect_request(CREATE_MODEL, method="POST").respond_with_response(created)
    server.expect_request(CREATE_VERSION, method="POST").respond_with_response(created)
    server.expect_request(POLL, method="GET").respond_with_handler(
        poll or answer_json(prediction(server, status="processing"))
    )
    server.expect_request(CANCEL, method="POST").respond_with_handler(
        cancel or answer_json(prediction(server, status="canceled"))
    )


def script_finished(server: HTTPServer, output: Any) -> None:
    """A sync-mode create answered complete (201, Preference-Applied) with ``output``."""
    done = json_response(
        prediction(server, status="succeeded", output=output), 201, {"Preference-Applied": "wait"}
    )
    server.expect_request(CREATE_MODEL, method="POST").respond_with_response(done)


def script_stream(server: HTTPServer, body: Callable[[Request], Response]) -> None:
    """A prediction created (not in sync mode) with a stream URL answered by ``body``."""
    server.expect_request(CREATE_MODEL, method="POST").respond_with_response(
        json_response(streaming_prediction(server), 201)
    )
    server.expect_request(STREAM, method="GET").respond_with_handler(body)
    server.expect_request(POLL, method="GET").respond_with_json(
        prediction(server, status="succeeded", output=["Hel", "lo"])
    )
    server.expect_request(CANCEL, method="POST").respond_with_json(
        prediction(server, status="canceled")
    )


def events_of(events: list[replicate.ServerSentEvent]) -> list[tuple[str, str]]:
    return [(e.event, e.data) for e in events]


def new_client(server: HTTPServer, **kwargs: Any) -> replicate.AsyncReplicate:
    kwargs.setdefault("bearer_token", TOKEN)
    kwargs.setdefault(
        "retry_policy", replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)
    )
    return replicate.AsyncReplicate(base_url=server.url_for("/v1"), **kwargs)


@pytest.fixture
def aclient(tserver: HTTPServer) -> Iterator[replicate.AsyncReplicate]:
    """An async client (the default thread transport) on the threaded loopback server."""
    client = new_client(tserver)
    yield client
    asyncio.run(client.close())


# --- 1. cancelling the task cancels the prediction ----------------------------------------------


async def cancel_when(
    task: asyncio.Task[Any], ready: Callable[[], bool], settle: float = 0.0
) -> float:
    """Cancel ``task`` once ``ready()`` holds (and ``settle`` seconds more); return the time."""
    await wait_until(ready)
    if settle:
        await asyncio.sleep(settle)
    assert not task.done(), task
    task.cancel()
    return time.monotonic()


def test_cancelling_run_while_a_poll_is_in_flight_cancels_the_prediction(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    poll = Held(answer_json(prediction(tserver, status="processing")), hold=support.WAIT)
    cancel = Stamps(answer_json(prediction(tserver, status="canceled")))
    script_polling(tserver, poll=poll, cancel=cancel)

    async def main() -> None:
        task = asyncio.ensure_future(aclient.run("acme/hello", input={"prompt": "hi"}))
        await cancel_when(task, poll.entered.is_set)
        with pytest.raises(asyncio.CancelledError):
            await task
        # the cancel reached the server before the CancelledError did ...
        assert len(cancel.at) == 1
        # ... and the SDK did not wait for the poll it abandoned to be answered
        assert poll.answered_at == []

    try:
        arun(main())
    finally:
        poll.drain(tserver)
    assert len(requests_to(tserver, "POST", CANCEL)) == 1


def test_cancelling_run_between_polls_cancels_the_prediction(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "30")  # the task sleeps after the first poll
    script_polling(tserver)

    async def main() -> None:
        task = asyncio.ensure_future(aclient.run("acme/hello", input={"prompt": "hi"}))
        started = await cancel_when(
            task, lambda: bool(requests_to(tserver, "GET", POLL)), settle=0.1
        )
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(requests_to(tserver, "POST", CANCEL)) == 1
        assert time.monotonic() - started < 5  # the 30 s poll interval was not waited out

    arun(main())
    assert len(requests_to(tserver, "GET", POLL)) == 1


def test_cancelling_a_use_call_cancels_the_prediction(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    script_polling(tserver)

    async def main() -> None:
        hello = aclient.use("acme/hello")
        task = asyncio.ensure_future(hello(prompt="hi"))
        await cancel_when(task, lambda: bool(requests_to(tserver, "GET", POLL)))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(requests_to(tserver, "POST", CANCEL)) == 1

    arun(main())
    (created,) = requests_to(tserver, "POST", CREATE_VERSION)
    assert json.loads(created.data) == {"version": VERSION_ID, "input": {"prompt": "hi"}}


def test_cancelling_while_a_stream_waits_for_events_cancels_the_prediction_at_once(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    release = threading.Event()

    def slow_stream(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"event: output\nid: 1:0\ndata: a\n\n"
            release.wait(support.WAIT)  # the next event is far away: the task is canceled meanwhile
            yield b"event: done\ndata: {}\n\n"

        return Response(body(), content_type="text/event-stream")

    script_stream(tserver, slow_stream)
    seen: list[str] = []

    async def consume() -> None:
        async for event in aclient.stream("acme/hello", input={"prompt": "hi"}):
            seen.append(str(event))

    async def main() -> None:
        task = asyncio.ensure_future(consume())
        async with Ticker() as ticker:
            canceled = await cancel_when(task, lambda: bool(seen), settle=0.05)
            with pytest.raises(asyncio.CancelledError):
                await task
            took = time.monotonic() - canceled
        # the cancel reached the server before the CancelledError did, and at once: not
        # when the server next wrote to the stream
        assert len(requests_to(tserver, "POST", CANCEL)) == 1
        assert not release.is_set()
        # not when the server next writes (10 s away); the bounds leave room for a loaded machine
        assert took < 3, f"the cancellation took {took:.2f} s"
        assert ticker.worst < 1, f"the event loop was blocked for {ticker.worst:.2f} s"

    try:
        arun(main())
    finally:
        release.set()
    assert seen == ["a"]


def test_wait_for_timing_out_a_run_cancels_the_prediction_first(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    script_polling(tserver)

    async def main() -> None:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aclient.run("acme/hello", input={"prompt": "hi"}), 0.5)
        assert 0.45 <= time.monotonic() - started < 5
        assert len(requests_to(tserver, "POST", CANCEL)) == 1

    arun(main())
    assert requests_to(tserver, "GET", POLL)  # it was polling when the time ran out


# --- 2. a cancellation during a held sync-mode create -------------------------------------------


def _held_create(server: HTTPServer, hold: float) -> tuple[Held, Stamps]:
    create = Held(answer_json(prediction(server, status="processing"), 201), hold=hold)
    cancel = Stamps(answer_json(prediction(server, status="canceled")))
    server.expect_request(CREATE_MODEL, method="POST").respond_with_handler(create)
    server.expect_request(POLL, method="GET").respond_with_json(
        prediction(server, status="processing")
    )
    server.expect_request(CANCEL, method="POST").respond_with_handler(cancel)
    return create, cancel


def test_a_cancellation_during_a_sync_create_waits_for_the_id_then_cancels(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    create, cancel = _held_create(tserver, hold=1.0)

    async def main() -> None:
        started = time.monotonic()
        task = asyncio.ensure_future(aclient.run("acme/hello", input={"prompt": "hi"}))
        await cancel_when(task, create.entered.is_set, settle=0.1)
        with pytest.raises(asyncio.CancelledError):
            await task
        # it waited for the create's answer, then canceled the prediction it named
        assert len(create.answered_at) == 1
        assert time.monotonic() - started >= 0.9
        assert len(cancel.at) == 1 and cancel.at[0] >= create.answered_at[0]

    try:
        arun(main())
    finally:
        create.drain(tserver)
    (sent,) = requests_to(tserver, "POST", CREATE_MODEL)
    assert sent.headers["Prefer"] == "wait"
    assert requests_to(tserver, "GET", POLL) == []  # canceled, not waited on


def test_a_second_cancellation_during_a_sync_create_stops_at_once(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    create, cancel = _held_create(tserver, hold=support.WAIT)

    async def main() -> None:
        task = asyncio.ensure_future(aclient.run("acme/hello", input={"prompt": "hi"}))
        await cancel_when(task, create.entered.is_set, settle=0.1)
        await asyncio.sleep(0.1)
        assert not task.done()  # the first cancellation waits for the create's answer
        second = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - second < support.WAIT / 2  # the create is held for 10 s
        assert create.answered_at == []  # it did not wait for the answer

    try:
        arun(main())
    finally:
        create.drain(tserver)
    time.sleep(0.1)
    # the id never became known: nothing to cancel, and nothing was sent afterwards
    assert cancel.at == []
    assert len(requests_to(tserver, "POST", CREATE_MODEL)) == 1


# --- 3. event loops -----------------------------------------------------------------------------


def _serve_predictions(server: HTTPServer) -> None:
    server.expect_request(POLL, method="GET").respond_with_json(
        prediction(server, status="succeeded", output="ok")
    )
    server.expect_request("/v1/predictions", method="GET").respond_with_json(
        {"results": [prediction(server, pid="p1"), prediction(server, pid="p2")], "next": None}
    )


def test_one_client_serves_successive_event_loops(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    _serve_predictions(tserver)

    async def work() -> tuple[str, list[str]]:
        got = await aclient.predictions.get("p1")
        ids = [p.id async for p in aclient.predictions.list()]
        return got.output, ids

    assert arun(work()) == ("ok", ["p1", "p2"])
    assert arun(work()) == ("ok", ["p1", "p2"])  # a new loop; the first one is closed


def test_one_client_serves_two_loops_in_two_threads_at_once(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    both = threading.Barrier(2, timeout=5)

    def together(request: Request) -> Response:
        both.wait()  # answers only once both loops' requests are in flight
        return json_response(prediction(tserver, status="succeeded", output="ok"))

    tserver.expect_request(POLL, method="GET").respond_with_handler(together)

    async def work() -> Any:
        return (await aclient.predictions.get("p1")).output

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(arun, work(), 10.0) for _ in range(2)]
        assert [f.result(timeout=15) for f in futures] == ["ok", "ok"]
    assert len(requests_to(tserver, "GET", POLL)) == 2


class LoopTransport:
    """A native async transport (``async def send`` and ``aclose``): each exchange is made by
    a urllib3 pool in a worker thread (``asyncio.to_thread``); it notes the loop of each call."""

    name = "loop-test"

    def __init__(self) -> None:
        self.pool = urllib3.PoolManager()
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.closes = 0

    async def send(
        self, request: SDKRequest, *, timeout: Timeout, stream: bool = False
    ) -> replicate.Response:
        self.loops.append(asyncio.get_running_loop())
        return await asyncio.to_thread(self._exchange, request, timeout)

    def _exchange(self, request: SDKRequest, timeout: Timeout) -> replicate.Response:
        body = request.content
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # type: ignore[arg-type]
        answer = self.pool.request(
            request.method,
            request.url,
            body=body,
            headers=request.headers.to_dict(),
            timeout=urllib3.Timeout(connect=timeout.connect, read=timeout.read),
            retries=False,
            redirect=False,
        )
        return replicate.Response(
            answer.status, headers=answer.headers, content=answer.data, request=request
        )

    @property
    def closed(self) -> bool:
        return self.closes > 0

    async def aclose(self) -> None:
        self.closes += 1
        self.pool.clear()


def test_a_native_async_transport_refuses_a_second_event_loop(tserver: HTTPServer) -> None:
    _serve_predictions(tserver)
    script_stream(tserver, sse_response())
    transport = LoopTransport()
    client = new_client(tserver, transport=transport)
    assert client.transport is transport

    async def first() -> Any:
        return (await client.predictions.get("p1")).output

    assert arun(first()) == "ok"
    assert len(transport.loops) == 1
    sent = len(tserver.log)

    async def second() -> None:
        with pytest.raises(RuntimeError, match="event loop"):
            await client.predictions.get("p1")
        with pytest.raises(RuntimeError, match="event loop"):
            await client.run("acme/hello", input={})
        with pytest.raises(RuntimeError, match="event loop"):
            async for _ in client.stream("acme/hello", input={}):
                pass
        with pytest.raises(RuntimeError, match="event loop"):
            async for _ in client.predictions.list():
                pass

    arun(second(), timeout=5)  # a clear error, never a hang
    assert len(transport.loops) == 1 and len(tserver.log) == sent  # nothing sent from loop 2
    arun(client.close())
    assert transport.closed and client.is_closed()


# --- 4. async auth providers --------------------------------------------------------------------


class AsyncAuth:
    """An auth provider written with ``async def``: a token, renewed by ``refresh`` on a 401."""

    def __init__(self) -> None:
        self.token = "r8_first"
        self.refreshes = 0

    async def auth_headers(self, request: SDKRequest) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"Authorization": f"Bearer {self.token}"}

    async def refresh(self, request: SDKRequest, response: replicate.Response) -> bool:
        await asyncio.sleep(0)
        self.refreshes += 1
        self.token = "r8_second"
        return True


def _needs_second_token(server: HTTPServer) -> None:
    def answer(request: Request) -> Response:
        if request.headers.get("Authorization") != "Bearer r8_second":
            return json_response({"detail": "Invalid token"}, 401)
        return json_response(prediction(server, status="succeeded", output="ok"))

    server.expect_request(POLL, method="GET").respond_with_handler(answer)


def test_an_async_auth_provider_is_awaited_and_refreshed(tserver: HTTPServer) -> None:
    _needs_second_token(tserver)
    auth = AsyncAuth()

    async def main() -> Any:
        async with new_client(tserver, bearer_token=None, auth=auth) as client:
            return (await client.predictions.get("p1")).output

    assert arun(main()) == "ok"
    assert auth.refreshes == 1
    sent = [r.headers.get("Authorization") for r in requests_to(tserver, "GET", POLL)]
    assert sent == ["Bearer r8_first", "Bearer r8_second"]


def test_an_async_auth_provider_on_a_sync_client_is_a_type_error_naming_it(
    tserver: HTTPServer,
) -> None:
    _needs_second_token(tserver)
    client = replicate.Replicate(base_url=tserver.url_for("/v1"), auth=AsyncAuth())
    with client, pytest.raises(TypeError, match=r"auth provider.*AsyncAuth\.auth_headers"):
        client.predictions.get("p1")
    assert tserver.log == []  # refused before anything was sent


# --- 5. on_update callbacks ---------------------------------------------------------------------


def _three_states(server: HTTPServer) -> None:
    server.expect_request(CREATE_MODEL, method="POST").respond_with_response(
        json_response(prediction(server, status="starting"), 201)
    )
    server.expect_request(POLL, method="GET").respond_with_handler(
        sequence(
            prediction(server, status="processing"),
            prediction(server, status="succeeded", output="done"),
        )
    )
    server.expect_request(CANCEL, method="POST").respond_with_json(
        prediction(server, status="canceled")
    )


def test_an_async_on_update_is_awaited_with_each_new_state(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    _three_states(tserver)
    seen: list[str] = []

    async def on_update(p: Prediction) -> None:
        await asyncio.sleep(0.01)  # awaited: the run goes on only after this
        seen.append(p.status)

    async def main() -> Any:
        output = await aclient.run("acme/hello", input={"prompt": "hi"}, on_update=on_update)
        assert seen == ["starting", "processing", "succeeded"]  # all in, before run returned
        return output

    assert arun(main()) == "done"


def test_a_sync_on_update_works_on_the_async_client(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    _three_states(tserver)
    seen: list[Prediction] = []

    async def main() -> Any:
        return await aclient.run("acme/hello", input={"prompt": "hi"}, on_update=seen.append)

    assert arun(main()) == "done"
    assert [p.status for p in seen] == ["starting", "processing", "succeeded"]


def test_an_async_on_update_on_a_sync_client_is_a_type_error(
    tclient: replicate.Replicate, tserver: HTTPServer, fast_poll: None
) -> None:
    _three_states(tserver)

    async def on_update(p: Prediction) -> None:  # pragma: no cover - never run
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TypeError, match="on_update"):
            tclient.run("acme/hello", input={"prompt": "hi"}, on_update=on_update)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    # a callback that raises while the prediction runs cancels it, as any other failure does
    assert len(requests_to(tserver, "POST", CANCEL)) == 1


# --- 6. streaming, module-level functions, use() ------------------------------------------------


def test_stream_iterated_directly_and_after_await(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    script_stream(tserver, sse_response())

    async def main() -> tuple[list[Any], list[Any]]:
        direct = [e async for e in aclient.stream("acme/hello", input={"prompt": "hi"})]
        awaited = [e async for e in await aclient.stream("acme/hello", input={"prompt": "hi"})]
        return direct, awaited

    direct, awaited = arun(main())
    expected = [("output", "Hel"), ("logs", "step"), ("output", "lo")]
    assert events_of(direct) == expected and events_of(awaited) == expected
    assert "".join(str(e) for e in direct) == "Hello"
    creates = requests_to(tserver, "POST", CREATE_MODEL)
    assert len(creates) == 2 and all("Prefer" not in r.headers for r in creates)


def test_stream_checks_its_arguments_before_iterating(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    with pytest.raises(ValueError):
        aclient.stream("not a reference!", input={})
    assert tserver.log == []


def test_module_level_async_stream_and_async_run_use_the_default_async_client(
    tserver: HTTPServer,
) -> None:
    script_stream(tserver, sse_response())
    client = new_client(tserver)
    _default.set_default_client(client)
    try:
        assert replicate.default_async_client() is client

        async def streams() -> tuple[list[Any], list[Any]]:
            direct = [e async for e in replicate.async_stream("acme/hello", input={})]
            awaited = [e async for e in await replicate.async_stream("acme/hello", input={})]
            return direct, awaited

        direct, awaited = arun(streams())
        assert (
            events_of(direct)
            == events_of(awaited)
            == [
                ("output", "Hel"),
                ("logs", "step"),
                ("output", "lo"),
            ]
        )

        tserver.clear()
        script_finished(tserver, "hello")
        run = replicate.async_run("acme/hello", input={"prompt": "hi"})
        assert inspect.isawaitable(run)
        assert arun(run) == "hello"
        assert json.loads(requests_to(tserver, "POST", CREATE_MODEL)[0].data) == {
            "input": {"prompt": "hi"}
        }
    finally:
        _default.set_default_client(None)
        arun(client.close())


def test_module_level_use_async_is_an_async_function_on_the_default_async_client(
    tserver: HTTPServer,
) -> None:
    tserver.expect_request(MODEL, method="GET").respond_with_json(model_json())
    tserver.expect_request(CREATE_VERSION, method="POST").respond_with_response(
        json_response(
            prediction(tserver, status="succeeded", output="hi there"),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    client = new_client(tserver)
    _default.set_default_client(client)
    try:
        hello = replicate.use("acme/hello", use_async=True)
        assert isinstance(hello, AsyncFunction)

        async def main() -> Any:
            call = hello(prompt="hi")
            assert inspect.isawaitable(call)
            return await call

        assert arun(main()) == "hi there"
        (created,) = requests_to(tserver, "POST", CREATE_VERSION)
        assert json.loads(created.data) == {"version": VERSION_ID, "input": {"prompt": "hi"}}
    finally:
        _default.set_default_client(None)
        arun(client.close())


def test_a_streaming_use_function_gives_an_async_iterator_of_items(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    tserver.expect_request(MODEL, method="GET").respond_with_json(model_json(STREAMING_SCHEMA))
    tserver.expect_request(CREATE_VERSION, method="POST").respond_with_response(
        json_response(streaming_prediction(tserver), 201)
    )
    tserver.expect_request(STREAM, method="GET").respond_with_handler(sse_response())

    async def main() -> list[Any]:
        frames = aclient.use("acme/hello", streaming=True)
        assert isinstance(frames, AsyncFunction)
        items = await frames(prompt="hi")
        assert isinstance(items, AsyncIterator)
        return [item async for item in items]

    assert arun(main()) == ["Hel", "lo"]
    assert "Prefer" not in requests_to(tserver, "POST", CREATE_VERSION)[0].headers
    assert requests_to(tserver, "GET", POLL) == []  # the stream said when it was done


def test_use_create_gives_an_async_run(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, fast_poll: None
) -> None:
    tserver.expect_request(MODEL, method="GET").respond_with_json(model_json())
    tserver.expect_request(CREATE_VERSION, method="POST").respond_with_response(
        json_response(prediction(tserver, status="starting"), 201)
    )
    tserver.expect_request(POLL, method="GET").respond_with_handler(
        sequence(
            prediction(tserver, status="processing", logs="step 1"),
            prediction(tserver, status="succeeded", output="made", logs="step 1\nstep 2"),
        )
    )
    tserver.expect_request(CANCEL, method="POST").respond_with_json(
        prediction(tserver, status="processing")
    )

    async def main() -> None:
        hello = aclient.use("acme/hello")
        run = await hello.create(prompt="hi")
        assert isinstance(run, AsyncRun)
        assert run.id == "p1" and run.prediction.status == "starting"
        assert (await run.logs()) == "step 1"
        final = await run.wait()
        assert final.status == "succeeded" and run.prediction is final
        assert (await run.output()) == "made"
        assert (await run.cancel()).status == "processing"  # as the API answered it

    arun(main())
    (created,) = requests_to(tserver, "POST", CREATE_VERSION)
    assert "Prefer" not in created.headers  # create() returns at once
    assert len(requests_to(tserver, "POST", CANCEL)) == 1


# --- 7. file outputs ----------------------------------------------------------------------------

FILE_BODY = os.urandom(300_000)
DATA_URL = "data:text/plain;base64," + base64.b64encode(b"hello").decode()


def _serve_file(server: HTTPServer, path: str = "/files/out.bin") -> str:
    def answer(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for i in range(0, len(FILE_BODY), 64_000):
                yield FILE_BODY[i : i + 64_000]

        return Response(
            chunks(),
            headers={"Content-Length": str(len(FILE_BODY))},
            content_type="application/octet-stream",
        )

    server.expect_request(path, method="GET").respond_with_handler(answer)
    return server.url_for(path)


def test_run_outputs_are_async_file_outputs(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, tmp_path: Path
) -> None:
    url = _serve_file(tserver)
    script_finished(tserver, [url, DATA_URL])

    async def main() -> None:
        out, data = await aclient.run("acme/hello", input={"prompt": "hi"})
        assert isinstance(out, replicate.AsyncFileOutput)
        assert isinstance(data, replicate.AsyncFileOutput)
        assert out.url == str(out) == url
        assert await out.read() == FILE_BODY
        assert await out.aread() == FILE_BODY
        chunks = [chunk async for chunk in out]
        assert b"".join(chunks) == FILE_BODY
        assert out.content_type == "application/octet-stream"  # a download told it
        saved = await out.save(tmp_path / "copy.bin")
        assert saved == tmp_path / "copy.bin" and saved.read_bytes() == FILE_BODY
        into = await out.save(tmp_path)  # a folder: the URL's file name in it
        assert into == tmp_path / "out.bin" and into.read_bytes() == FILE_BODY
        assert await data.read() == b"hello"
        with pytest.raises(TypeError, match="async for"):
            iter(out)

    arun(main())
    assert len(requests_to(tserver, "GET", "/files/out.bin")) == 5


def test_data_url_outputs_need_no_server(tmp_path: Path) -> None:
    out = replicate.AsyncFileOutput(DATA_URL)

    async def main() -> None:
        assert await out.read() == b"hello"
        assert await out.aread() == b"hello"
        assert [chunk async for chunk in out] == [b"hello"]
        saved = await out.save(tmp_path / "hello.txt")
        assert saved.read_bytes() == b"hello"
        assert out.content_type == "text/plain"

    arun(main())
    assert out._client is None  # no client was ever needed


@pytest.fixture
def cut_server() -> Iterator[ShortServer]:
    server = ShortServer(declared=100_000, sent=b"x" * 1000)
    yield server
    server.close()


def test_a_short_download_raises_and_save_leaves_no_file(
    aclient: replicate.AsyncReplicate, cut_server: ShortServer, tmp_path: Path
) -> None:
    out = replicate.AsyncFileOutput(cut_server.url("/pbxt/cut.bin"), client=aclient)
    target = tmp_path / "cut.bin"

    async def main() -> None:
        with pytest.raises(replicate.APIConnectionError):
            await out.save(target)
        assert not target.exists() and list(tmp_path.iterdir()) == []
        target.write_bytes(b"previous")
        with pytest.raises(replicate.APIConnectionError):
            await out.save(target)
        assert target.read_bytes() == b"previous"  # left as it was
        assert list(tmp_path.iterdir()) == [target]
        with pytest.raises(replicate.APIConnectionError):
            await out.read()

    arun(main())
    assert len(cut_server.requests) >= 3


def test_cancelling_a_download_mid_body_stops_at_once(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, tmp_path: Path
) -> None:
    release, written = threading.Event(), threading.Event()

    def slow_file(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"x" * 1000
            written.set()  # werkzeug asks for more once the first chunk is written
            release.wait(support.WAIT)  # the rest is far away: the task is canceled meanwhile
            yield b"y" * 1000

        return Response(body(), headers={"Content-Length": "2000"})

    tserver.expect_request("/files/slow.bin", method="GET").respond_with_handler(slow_file)
    out = replicate.AsyncFileOutput(tserver.url_for("/files/slow.bin"), client=aclient)
    got: list[bytes] = []

    async def read() -> None:
        async for chunk in out:
            got.append(chunk)

    async def main() -> None:
        downloads: list[Callable[[], Awaitable[Any]]] = [
            read,
            lambda: out.save(tmp_path / "slow.bin"),
        ]
        for download in downloads:
            written.clear()
            task = asyncio.ensure_future(download())
            async with Ticker() as ticker:
                # the first bytes have been sent: the body is being read
                await wait_until(written.is_set)
                await asyncio.sleep(0.1)
                canceled = time.monotonic()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                took = time.monotonic() - canceled
            assert not release.is_set()
            # not when the server next writes (10 s away); room for a loaded machine
            assert took < 3, f"the cancellation took {took:.2f} s"
            assert ticker.worst < 1, f"the event loop was blocked for {ticker.worst:.2f} s"

    try:
        arun(main())
    finally:
        release.set()
    assert b"".join(got) == b"x" * 1000
    assert list(tmp_path.iterdir()) == []  # the canceled save left no file


# --- 8. lists, raw and streamed responses -------------------------------------------------------


def _two_pages(server: HTTPServer) -> None:
    # the page with a cursor first: a handler without a query string matches any query
    server.expect_request(
        "/v1/predictions", method="GET", query_string={"cursor": "c2"}
    ).respond_with_json({"results": [prediction(server, pid="p3")], "next": None})
    server.expect_request("/v1/predictions", method="GET").respond_with_json(
        {
            "results": [prediction(server, pid="p1"), prediction(server, pid="p2")],
            "next": server.url_for("/v1/predictions") + "?cursor=c2",
            "previous": None,
        }
    )


def test_a_list_awaited_is_an_async_page(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    _two_pages(tserver)

    async def main() -> None:
        listing = aclient.predictions.list()
        assert isinstance(listing, AsyncPaginator)
        page = await listing
        assert isinstance(page, replicate.AsyncPage) and isinstance(page, AsyncPage)
        assert [p.id for p in page.results] == ["p1", "p2"]
        assert all(isinstance(p, Prediction) for p in page.results)
        assert page.has_next_page()
        last = await page.get_next_page()
        assert isinstance(last, AsyncPage)
        assert [p.id for p in last.results] == ["p3"] and not last.has_next_page()
        with pytest.raises(RuntimeError):
            last.get_next_page()
        pages = [[p.id for p in each.results] async for each in page.iter_pages()]
        assert pages == [["p1", "p2"], ["p3"]]
        assert [p.id async for p in page] == ["p1", "p2", "p3"]

    arun(main())


def test_async_for_over_a_list_walks_every_page(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    _two_pages(tserver)

    async def main() -> list[str]:
        return [p.id async for p in aclient.predictions.list()]

    assert arun(main()) == ["p1", "p2", "p3"]
    gets = requests_to(tserver, "GET", "/v1/predictions")
    assert [r.args.get("cursor") for r in gets] == [None, "c2"]


def test_with_raw_response_gives_an_async_api_response(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    tserver.expect_request(POLL, method="GET").respond_with_response(
        json_response(prediction(tserver, status="succeeded"), 200, {"X-Request-Id": "r1"})
    )

    async def main() -> None:
        raw = await aclient.with_raw_response.predictions.get("p1")
        assert isinstance(raw, replicate.AsyncAPIResponse)
        assert raw.status_code == 200 and raw.headers["x-request-id"] == "r1"
        parsed = await raw.parse()
        assert isinstance(parsed, Prediction) and parsed.id == "p1"
        assert (await raw.json())["id"] == "p1"
        # the client it came from still returns plain values
        assert isinstance(await aclient.predictions.get("p1"), Prediction)

    arun(main())


DOWNLOAD_QUERY = {"expiry": "1708515345", "owner": "mattt", "signature": "zuo/gh+q=="}


def _download(client: replicate.AsyncReplicate) -> Any:
    return client.files.download("f1", expiry=1708515345, owner="mattt", signature="zuo/gh+q==")


def test_with_streaming_response_downloads_with_async_with(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer, tmp_path: Path
) -> None:
    tserver.expect_request(
        "/v1/files/f1/download", method="GET", query_string=DOWNLOAD_QUERY
    ).respond_with_handler(
        lambda request: Response(
            [FILE_BODY[:100_000], FILE_BODY[100_000:]],
            headers={"Content-Length": str(len(FILE_BODY))},
            content_type="application/octet-stream",
        )
    )
    tserver.expect_request(POLL, method="GET").respond_with_json(
        prediction(tserver, status="succeeded")
    )

    async def main() -> None:
        async with _download(aclient.with_streaming_response) as response:
            assert isinstance(response, replicate.AsyncAPIResponse)
            assert response.status_code == 200
            chunks = [chunk async for chunk in response.iter_bytes()]
        assert b"".join(chunks) == FILE_BODY
        assert response.is_closed

        async with _download(aclient.with_streaming_response) as response:
            assert await response.read() == FILE_BODY

        async with aclient.with_streaming_response.predictions.get("p1") as response:
            assert (await response.parse()).id == "p1"

        plain = await _download(aclient)
        await plain.write_to_file(tmp_path / "f1.bin")
        assert (tmp_path / "f1.bin").read_bytes() == FILE_BODY

    arun(main())
    assert len(requests_to(tserver, "GET", "/v1/files/f1/download")) == 3


# --- 9. a schema resolved once for concurrent first uses ----------------------------------------


def test_concurrent_first_runs_of_a_version_fetch_its_schema_once(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    version_path = f"/v1/models/acme/hello/versions/{VERSION_ID}"
    version = Held(
        answer_json({"id": VERSION_ID, "openapi_schema": SCHEMA, "cog_version": "0.9.0"}),
        hold=0.2,
    )
    tserver.expect_request(version_path, method="GET").respond_with_handler(version)
    tserver.expect_request(CREATE_VERSION, method="POST").respond_with_response(
        json_response(
            prediction(tserver, status="succeeded", output="ok"),
            201,
            {"Preference-Applied": "wait"},
        )
    )

    async def main() -> list[Any]:
        ref = f"acme/hello:{VERSION_ID}"
        return await asyncio.gather(
            *(aclient.run(ref, input={"prompt": f"n{i}"}) for i in range(20))
        )

    try:
        assert arun(main()) == ["ok"] * 20
    finally:
        version.drain(tserver)
    assert len(requests_to(tserver, "GET", version_path)) == 1
    creates = requests_to(tserver, "POST", CREATE_VERSION)
    assert len(creates) == 20
    assert sorted(json.loads(r.data)["input"]["prompt"] for r in creates) == sorted(
        f"n{i}" for i in range(20)
    )

    async def invalid() -> None:  # the schema fetched then checks every call's input
        with pytest.raises(ValueError, match="prompt"):
            await aclient.run(f"acme/hello:{VERSION_ID}", input={})

    arun(invalid())
    assert len(requests_to(tserver, "GET", version_path)) == 1


# --- 10. the event loop is never blocked --------------------------------------------------------


def test_the_event_loop_keeps_running_while_requests_wait_on_the_network(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    slow = Held(answer_json(prediction(tserver, status="processing")), hold=1.0)
    tserver.expect_request(POLL, method="GET").respond_with_handler(slow)

    async def main() -> tuple[list[Prediction], Ticker, float]:
        await aclient.predictions.get("p1")  # warm up: imports, the first worker threads
        async with Ticker() as ticker:
            started = time.perf_counter()
            got = await asyncio.gather(*(aclient.predictions.get("p1") for _ in range(50)))
            took = time.perf_counter() - started
        return got, ticker, took

    try:
        got, ticker, took = arun(main())
    finally:
        slow.drain(tserver)
    assert [p.id for p in got] == ["p1"] * 50
    assert len(ticker.gaps) > 10
    # A request waited on in the loop would block it for the whole 1 s hold; the bound leaves
    # room for a loaded machine (and 50 worker threads sharing the GIL).
    assert ticker.worst < 0.5, f"the event loop was blocked for {ticker.worst:.2f} s"
    assert took < 25  # concurrent: one after another would take 50 s
    assert len(requests_to(tserver, "GET", POLL)) == 51


# --- 11. life cycle -----------------------------------------------------------------------------


def test_async_with_closes_the_client_and_close_is_idempotent(tserver: HTTPServer) -> None:
    _serve_predictions(tserver)
    transport = LoopTransport()

    async def main() -> None:
        async with new_client(tserver) as client:  # the default thread transport
            assert not client.is_closed()
            assert (await client.predictions.get("p1")).id == "p1"
        assert client.is_closed()
        await client.close()
        await client.close()
        assert client.is_closed()

        async with new_client(tserver, transport=transport) as native:
            assert (await native.predictions.get("p1")).id == "p1"
            assert transport.closes == 0
        assert native.is_closed() and transport.closes == 1  # its pool was closed ...
        await native.close()
        assert transport.closes == 1  # ... once

    arun(main())
    assert replicate.AsyncClient is replicate.AsyncReplicate


def test_a_copy_shares_the_pool_and_closing_it_leaves_the_original_open(
    aclient: replicate.AsyncReplicate, tserver: HTTPServer
) -> None:
    _serve_predictions(tserver)
    transport = LoopTransport()

    async def main() -> None:
        copy = aclient.with_options(timeout=5.0, default_headers={"X-Copy": "1"})
        assert isinstance(copy, replicate.AsyncReplicate)
        assert copy.transport is aclient.transport
        assert (await copy.predictions.get("p1")).id == "p1"
        await copy.close()
        assert copy.is_closed() and not aclient.is_closed()
        assert (await aclient.predictions.get("p1")).id == "p1"  # the pool is still open

        original = new_client(tserver, transport=transport)
        copied = original.with_options(max_retries=0)
        assert copied.transport is transport
        await copied.close()
        assert transport.closes == 0  # the copy's pool is the original's
        assert (await original.predictions.get("p1")).id == "p1"
        await original.close()
        assert transport.closes == 1

    arun(main())
    sent = requests_to(tserver, "GET", POLL)
    assert [r.headers.get("X-Copy") for r in sent] == ["1", None, None]


# --- 12. raw HTTP verbs -------------------------------------------------------------------------


def test_raw_verbs_return_responses(aclient: replicate.AsyncReplicate, tserver: HTTPServer) -> None:
    tserver.expect_request(POLL, method="GET").respond_with_json(
        prediction(tserver, status="succeeded")
    )
    tserver.expect_request(CREATE_VERSION, method="POST").respond_with_response(
        json_response(prediction(tserver, status="starting"), 201)
    )

    async def main() -> None:
        got = await aclient.get("/predictions/p1")
        assert isinstance(got, replicate.Response)
        assert got.status_code == 200 and got.json()["id"] == "p1"
        posted = await aclient.post("/predictions", json={"version": VERSION_ID, "input": {}})
        assert isinstance(posted, replicate.Response)
        assert posted.status_code == 201 and posted.json()["status"] == "starting"
        asked = await aclient.request("GET", "/predictions/p1", params={"x": "1"})
        assert isinstance(asked, replicate.Response) and asked.json()["id"] == "p1"

    arun(main())
    (created,) = requests_to(tserver, "POST", CREATE_VERSION)
    assert json.loads(created.data) == {"version": VERSION_ID, "input": {}}
    assert created.headers["Authorization"] == f"Bearer {TOKEN}"
    assert requests_to(tserver, "GET", POLL)[-1].args.get("x") == "1"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, replicate.AuthenticationError),
        (404, replicate.NotFoundError),
        (422, replicate.UnprocessableEntityError),
    ],
)
def test_raw_verbs_raise_the_typed_errors(
    aclient: replicate.AsyncReplicate,
    tserver: HTTPServer,
    status: int,
    error: type[replicate.APIStatusError],
) -> None:
    tserver.expect_request("/v1/predictions/nope").respond_with_response(
        json_response({"detail": "no such thing"}, status)
    )

    async def main(call: Callable[[], Awaitable[Any]]) -> None:
        with pytest.raises(error) as info:
            await call()
        assert info.value.status_code == status
        assert "no such thing" in str(info.value)

    arun(main(lambda: aclient.get("/predictions/nope")))
    arun(main(lambda: aclient.post("/predictions/nope", json={})))
    arun(main(lambda: aclient.request("GET", "/predictions/nope")))
    if status == 404:
        arun(main(lambda: aclient.predictions.get("nope")))
