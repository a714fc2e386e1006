"""User code a flow does not call itself: the auth provider as a flow step (``_drivers.Call``).

An ``async def`` auth provider is yielded to the driver; the sync driver refuses it with a clear
error and sends nothing. A plain provider is still called inline, in the same order (after the
preparers, before the body is rewound for sending), with the token only on the wire.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import replicate
from replicate import hookimpl
from replicate._drivers import Call, Flow, Send, drive_sync
from replicate._http import Request, Response

SECRET = "r8_VaultTokenDoNotLeak42"


class AsyncVault:
    """An auth provider written with ``async def``, as one fetching a token over an async client
    would be."""

    def __init__(self) -> None:
        self.calls = 0

    async def auth_headers(self, request: Request) -> dict[str, str]:
        self.calls += 1
        await asyncio.sleep(0)
        return {"Authorization": f"Bearer {SECRET}"}


class AsyncRefresh:
    """Plain ``auth_headers``, ``async def refresh``."""

    def __init__(self) -> None:
        self.refreshes = 0

    def auth_headers(self, request: Request) -> dict[str, str]:
        return {"Authorization": "Bearer r8_stale"}

    async def refresh(self, request: Request, response: Response) -> bool:
        self.refreshes += 1
        return True


class Refreshing:
    """A plain provider whose token is refreshed after a 401."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.token = "r8_stale"

    def auth_headers(self, request: Request) -> dict[str, str]:
        self.log.append("auth")
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self, request: Request, response: Response) -> bool:
        self.log.append("refresh")
        assert request.headers["authorization"] == f"Bearer {self.token}"  # the request as sent
        self.token = SECRET
        return True


class Recorder:
    """A plugin that records the preparer's turn and every event's request headers."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.seen: list[str] = []

    @hookimpl
    def replicate_prepare_request(self, request: Request) -> None:
        self.log.append("prepare")

    @hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        if event.request is not None:
            self.seen.append(repr(dict(event.request.headers)))


@pytest.fixture
def no_unawaited_warning() -> Iterator[None]:
    """Fail if a coroutine is left unawaited (the sync driver must close what it refuses)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [w for w in caught if "never awaited" in str(w.message)] == []


# --- an async provider on the sync client ----------------------------------------------------


def test_async_auth_headers_is_a_clear_error_and_nothing_is_sent(
    httpserver: HTTPServer, no_unawaited_warning: None
) -> None:
    httpserver.expect_request("/v1/a").respond_with_data("ok")
    vault = AsyncVault()
    client = replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=vault)
    with client, pytest.raises(TypeError, match="the auth provider is async") as info:
        client.get("/a")
    assert "AsyncVault.auth_headers" in str(info.value)
    assert "async client" in str(info.value)
    assert SECRET not in str(info.value)
    assert vault.calls == 0  # its coroutine was closed, never run
    assert httpserver.log == []


def test_async_refresh_is_a_clear_error_at_the_401_and_nothing_is_resent(
    httpserver: HTTPServer, no_unawaited_warning: None
) -> None:
    httpserver.expect_request("/v1/a").respond_with_json({"detail": "expired"}, 401)
    provider = AsyncRefresh()
    client = replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=provider)
    with client, pytest.raises(TypeError, match=r"is async \(AsyncRefresh\.refresh returned"):
        client.get("/a")
    assert provider.refreshes == 0  # its coroutine was closed, never run
    assert len(httpserver.log) == 1


def test_async_auth_headers_reach_the_wire_through_a_driver_that_awaits(
    httpserver: HTTPServer,
) -> None:
    """The flow is the same for either colour: a driver that awaits a Call's result (here a
    minimal one over the sync transport) sends the async provider's headers."""
    httpserver.expect_request("/v1/a").respond_with_data("ok")
    with replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=AsyncVault()) as client:
        core = client._core
        flow = core.send_flow(core.build("GET", "/a"))
        kinds: list[str] = []
        value: Any = None
        while True:
            try:
                action = flow.send(value)
            except StopIteration as stop:
                response = stop.value
                break
            kinds.append(type(action).__name__)
            if isinstance(action, Call):
                value = action.func(*action.args)
                if asyncio.iscoroutine(value):
                    value = asyncio.run(value)
            else:
                assert isinstance(action, Send)
                value = client.transport.send(
                    action.request, timeout=action.timeout, stream=action.stream
                )
    assert kinds == ["Call", "Send"]
    assert response.text == "ok"
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in response.request.headers


# --- a plain provider: unchanged --------------------------------------------------------------


def test_plain_provider_headers_and_refresh_in_order_token_only_on_the_wire(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_oneshot_request("/v1/a").respond_with_json({"detail": "expired"}, 401)
    httpserver.expect_request("/v1/a").respond_with_data("ok")
    log: list[str] = []
    recorder = Recorder(log)
    with replicate.Replicate(
        base_url=httpserver.url_for("/v1"), auth=Refreshing(log), plugins=[recorder]
    ) as client:
        response = client.get("/a")
    assert response.text == "ok"
    assert log == ["prepare", "auth", "refresh", "prepare", "auth"]
    sent = [r.headers["Authorization"] for r, _ in httpserver.log]
    assert sent == ["Bearer r8_stale", f"Bearer {SECRET}"]
    assert "authorization" not in response.request.headers
    assert recorder.seen and not any(SECRET in seen for seen in recorder.seen)


def test_plain_provider_error_propagates_unchanged_and_nothing_is_sent(
    httpserver: HTTPServer,
) -> None:
    class Broken:
        def auth_headers(self, request: Request) -> dict[str, str]:
            raise replicate.MissingTokenError()

    client = replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=Broken())
    with client, pytest.raises(replicate.MissingTokenError):
        client.get("/a")
    assert httpserver.log == []


def test_a_plain_provider_is_called_inline_an_async_one_is_a_step(
    httpserver: HTTPServer,
) -> None:
    """The hot path yields no extra action for a plain ``auth_headers`` (decided per client)."""
    for auth, inline in ((Refreshing([]), True), (AsyncVault(), False)):
        with replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=auth) as client:
            assert client._core.sender.auth_inline is inline
            flow = client._core.send_flow(client._core.build("GET", "/a"))
            first = next(flow)
            assert type(first) is (Send if inline else Call)
            flow.close()
    gc.collect()


# --- the sync driver's handling of Call ---------------------------------------------------------


def run_call(func: Any, *args: Any) -> Any:
    def flow() -> Flow[Any]:
        return (yield Call(func, args, "the test callback"))

    return drive_sync(flow(), transport=None)  # type: ignore[arg-type]


def test_call_returns_what_a_plain_function_returns() -> None:
    assert run_call(lambda a, b: {"sum": a + b}, 1, 2) == {"sum": 3}
    assert run_call(lambda: None) is None
    assert run_call(lambda: [1, 2]) == [1, 2]
    assert run_call(bool, 1) is True


def test_call_error_is_thrown_into_the_flow_at_its_yield() -> None:
    def boom() -> None:
        raise ValueError("from the callback")

    def flow() -> Flow[str]:
        try:
            yield Call(boom, (), "the test callback")
        except ValueError as exc:
            return f"caught {exc}"
        return "not raised"

    assert drive_sync(flow(), transport=None) == "caught from the callback"  # type: ignore[arg-type]


def test_call_with_an_awaitable_result_is_refused_and_the_coroutine_closed(
    no_unawaited_warning: None,
) -> None:
    ran: list[str] = []

    async def fetch() -> str:
        ran.append("ran")
        return "token"

    with pytest.raises(TypeError, match=r"the test callback is async \(.*fetch returned coroutine"):
        run_call(fetch)
    assert ran == []


def test_call_with_any_awaitable_result_is_refused() -> None:
    closed: list[bool] = []

    class Pending:
        def __await__(self) -> Iterator[None]:
            yield None

        def close(self) -> None:
            closed.append(True)

    with pytest.raises(TypeError, match="the test callback is async"):
        run_call(Pending)
    assert closed == [True]

    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()
        with pytest.raises(TypeError, match="returned Future"):
            run_call(lambda: future)
    finally:
        loop.close()
