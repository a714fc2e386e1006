"""Parity: ``Replicate`` and ``AsyncReplicate`` give the same results for the same scenarios.

Both clients are facades over one implementation (flows driven by ``drive_sync`` or
``drive_async``), so every scenario here is written once, against a :class:`Runner` that hides
the colour: ``runner.call(lambda c: c.predictions.get("p1"))`` calls it on a sync client, or
awaits it on an async one inside ``asyncio.run``; ``runner.collect(...)`` lists an iterator (or
an async iterator, awaiting the call first when it is awaitable); ``runner.raises(...)`` expects
an error. Each scenario returns what it observed (results, errors, what the loopback servers
saw) and runs under both ``runner`` params, asserting the same expected values; the last section
runs every scenario on both clients in one test and compares everything they observed.

The servers are on 127.0.0.1 only: ``tserver`` (conftest.py) is the API, a second threaded
server is another origin (a file host, a redirect target), ``ScriptServer`` (replicate.testing)
scripts the event streams and ``SlowServer`` (test_retries.py) answers too late.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from conftest import TOKEN, threaded_server
from pytest_httpserver import HTTPServer
from support import (
    VERSION_ID,
    FilesAPI,
    SlowServer,
    file_url,
    json_response,
    prediction,
    requests_to,
    sequence,
    three_pages,
)
from test_stream import DONE, PID, PRED_PATH, STREAM_PATH, event, sse
from test_stream import json_response as script_json
from test_stream import prediction as script_prediction
from werkzeug import Request as WRequest

import replicate
from replicate import AsyncFileOutput, FileOutput
from replicate.pagination import AsyncPage, SyncPage
from replicate.testing import ScriptServer, refused_port

MODES = ["sync", "async"]
CREATE_PATH = "/v1/models/acme/hello/predictions"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

#: What a scenario observed: plain values only, so both clients' observations compare with ==.
Observed = dict[str, Any]
Scenario = Callable[["Runner"], Observed]


# --- the runner ---------------------------------------------------------------------------------


async def _settle(value: Any) -> Any:
    """The value, awaited once if it is awaitable."""
    return await value if inspect.isawaitable(value) else value


class Runner:
    """One client colour (``"sync"`` or ``"async"``) and the loopback servers a scenario uses.

    ``call``, ``collect`` and ``raises`` take a function of the client; on the async client what
    it returns must be awaitable (or async-iterable), which each method awaits (or iterates) in
    ``asyncio.run``. ``then`` steps map the result inside the same event loop, awaited too, so
    ``runner.call(lambda c: c.run(...), lambda out: out.read())`` reads a file output on both.
    """

    def __init__(
        self,
        mode: str,
        *,
        api: HTTPServer,
        other: HTTPServer,
        retry_policy: replicate.DefaultRetryPolicy,
        cleanups: list[Callable[[], None]] | None = None,
        **options: Any,
    ) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.api = api
        self.other = other
        self.retry_policy = retry_policy
        self.cleanups: list[Callable[[], None]] = [] if cleanups is None else cleanups
        self.client = self._make_client(**options)

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    @property
    def file_output_type(self) -> type[FileOutput]:
        return AsyncFileOutput if self.is_async else FileOutput

    @property
    def page_type(self) -> type[Any]:
        return AsyncPage if self.is_async else SyncPage

    def _make_client(self, **options: Any) -> Any:
        if "auth" not in options:
            options.setdefault("bearer_token", TOKEN)
        options.setdefault("base_url", self.api.url_for("/v1"))
        options.setdefault("retry_policy", self.retry_policy)
        options.setdefault("timeout", 10)
        if self.is_async:
            client: Any = replicate.AsyncReplicate(**options)
            self.cleanups.append(lambda: asyncio.run(client.close()))
        else:
            client = replicate.Replicate(**options)
            self.cleanups.append(client.close)
        return client

    def configured(self, **options: Any) -> Runner:
        """A runner of the same colour and servers whose client is made with ``options``."""
        return Runner(
            self.mode,
            api=self.api,
            other=self.other,
            retry_policy=self.retry_policy,
            cleanups=self.cleanups,
            **options,
        )

    # --- calling the client -------------------------------------------------------------------

    def call(self, fn: Callable[[Any], Any], *then: Callable[[Any], Any]) -> Any:
        """``fn(client)``, then each ``then`` step on the result; awaited on the async client."""
        if not self.is_async:
            value = fn(self.client)
            for step in then:
                value = step(value)
            return value

        async def run() -> Any:
            first = fn(self.client)
            assert inspect.isawaitable(first), f"the async client returned {first!r}, no awaitable"
            value = await first
            for step in then:
                value = await _settle(step(value))
            return value

        return asyncio.run(run())

    def collect(self, fn: Callable[[Any], Any]) -> list[Any]:
        """Everything ``fn(client)`` iterates over: ``list(it)``, or ``[x async for x in it]``
        (the call awaited first when it is awaitable)."""
        if not self.is_async:
            return list(fn(self.client))

        async def run() -> list[Any]:
            it = await _settle(fn(self.client))
            assert hasattr(it, "__aiter__"), f"the async client returned {it!r}, no async iterator"
            return [item async for item in it]

        return asyncio.run(run())

    def raises(
        self, error: type[BaseException], fn: Callable[[Any], Any], *then: Callable[[Any], Any]
    ) -> Any:
        """The error ``call(fn, *then)`` raises, which must be an ``error``."""
        with pytest.raises(error) as info:
            self.call(fn, *then)
        return info.value

    def read(self, output: FileOutput) -> bytes:
        """A file output's bytes: ``out.read()``, or ``await out.read()``."""
        data: bytes = self.call(lambda _client: output.read())
        return data

    # --- more servers -------------------------------------------------------------------------

    def script(self) -> ScriptServer:
        """A new scripted server (``replicate.testing``'s), stopped when the test ends."""
        server = ScriptServer().start()
        self.cleanups.append(server.close)
        return server

    def slow(self, delay: float) -> SlowServer:
        """A server that answers after ``delay`` s (test_retries.py's), closed at the end."""
        server = SlowServer(delay=delay)
        self.cleanups.append(server.close)
        return server

    def close(self) -> None:
        while self.cleanups:
            self.cleanups.pop()()


def seen(server: HTTPServer) -> list[tuple[str, str]]:
    """(method, path) of every request the server saw, in order."""
    return [(req.method, req.path) for req, _ in server.log]


def auth_of(server: HTTPServer) -> list[str | None]:
    """The Authorization header of every request the server saw, in order."""
    return [req.headers.get("Authorization") for req, _ in server.log]


def error_shape(err: BaseException, *, port: int | None = None) -> Observed:
    """What both clients' errors are compared on (a varying port written as ``{port}``)."""
    message = str(err)
    if port is not None:
        message = message.replace(str(port), "{port}")
    shape: Observed = {"type": type(err).__name__, "message": message}
    status = getattr(err, "status_code", None)
    if status is not None:
        shape["status_code"] = status
    return shape


@pytest.fixture(scope="session")
def _other_origin() -> Iterator[HTTPServer]:
    yield from threaded_server()


@pytest.fixture
def other_origin(_other_origin: HTTPServer) -> HTTPServer:
    """Another origin on 127.0.0.1 (another port than the API's ``tserver``)."""
    _other_origin.clear()
    return _other_origin


@pytest.fixture
def make_runner(
    tserver: HTTPServer,
    other_origin: HTTPServer,
    fast_retries: replicate.DefaultRetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str], Runner]]:
    """Make a runner of a colour, with the servers cleared and the runners before closed."""
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    made: list[Runner] = []

    def make(mode: str) -> Runner:
        for old in made:
            old.close()
        tserver.clear()
        other_origin.clear()
        runner = Runner(mode, api=tserver, other=other_origin, retry_policy=fast_retries)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture(params=MODES)
def runner(request: pytest.FixtureRequest, make_runner: Callable[[str], Runner]) -> Runner:
    return make_runner(request.param)


#: Every scenario by name, for the comparison at the end.
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def subset(observed: Observed, *keys: str) -> Observed:
    """The observed values of ``keys`` only (to compare with the expected ones)."""
    return {key: observed.get(key, "<missing>") for key in keys}


# --- retries ------------------------------------------------------------------------------------


@scenario
def retry_503_then_200(r: Runner) -> Observed:
    r.api.expect_oneshot_request("/v1/predictions/p1").respond_with_data("busy", status=503)
    r.api.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(r.api, status="succeeded", output="ok")
    )
    raw = r.call(lambda c: c.with_raw_response.predictions.get("p1"))
    parsed = r.call(lambda _c: raw.parse())
    requests = seen(r.api)
    r.api.clear_log()
    plain = r.call(lambda c: c.predictions.get("p1"))
    return {
        "status_code": raw.status_code,
        "retries_taken": raw.retries_taken,
        "output": parsed.output,
        "requests": requests,
        "parsed": parsed.to_dict(),
        "plain": plain.to_dict(),
    }


def test_retry_503_then_200(runner: Runner) -> None:
    observed = retry_503_then_200(runner)
    assert subset(observed, "status_code", "retries_taken", "output") == {
        "status_code": 200,
        "retries_taken": 1,
        "output": "ok",
    }
    assert observed["requests"] == [("GET", "/v1/predictions/p1")] * 2
    assert observed["plain"] == observed["parsed"]


@scenario
def create_not_retried_after_read_timeout(r: Runner) -> Observed:
    slow = r.slow(delay=0.5)
    client = r.configured(base_url=slow.url + "/v1", timeout=replicate.Timeout(connect=1, read=0.2))
    err = client.raises(
        replicate.APITimeoutError,
        lambda c: c.predictions.create(version=VERSION_ID, input={"text": "x"}),
    )
    return {
        "error": error_shape(err, port=slow.server.server_address[1]),
        "request_sent": err.request_sent,
        "cause": type(err.__cause__).__name__,
        "requests": [(method, path) for method, path, _ in slow.requests],
    }


def test_create_not_retried_after_read_timeout(runner: Runner) -> None:
    observed = create_not_retried_after_read_timeout(runner)
    assert observed["error"]["type"] == "APITimeoutError"
    assert observed["request_sent"] is True
    assert observed["cause"] == "ReadTimeoutError"
    assert observed["requests"] == [("POST", "/v1/predictions")]


# --- redirects ----------------------------------------------------------------------------------


@scenario
def redirect_307_to_another_path(r: Runner) -> Observed:
    r.api.expect_request("/v1/predictions/old").respond_with_data(
        "", status=307, headers={"Location": "/v1/predictions/p1"}
    )
    r.api.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(r.api, status="succeeded")
    )
    got = r.call(lambda c: c.predictions.get("old"))
    return {"id": got.id, "requests": seen(r.api), "auth": auth_of(r.api)}


def test_redirect_307_to_another_path(runner: Runner) -> None:
    assert redirect_307_to_another_path(runner) == {
        "id": "p1",
        "requests": [("GET", "/v1/predictions/old"), ("GET", "/v1/predictions/p1")],
        "auth": [f"Bearer {TOKEN}"] * 2,
    }


@scenario
def redirect_307_keeps_method_and_body(r: Runner) -> Observed:
    r.api.expect_request("/v1/predictions", method="POST").respond_with_data(
        "", status=307, headers={"Location": "/v1/elsewhere/predictions"}
    )
    r.api.expect_request("/v1/elsewhere/predictions", method="POST").respond_with_response(
        json_response(prediction(r.api), 201)
    )
    got = r.call(lambda c: c.predictions.create(version=VERSION_ID, input={"text": "Alice"}))
    return {
        "id": got.id,
        "requests": seen(r.api),
        "bodies": [json.loads(req.get_data()) for req, _ in r.api.log],
    }


def test_redirect_307_keeps_method_and_body(runner: Runner) -> None:
    body = {"version": VERSION_ID, "input": {"text": "Alice"}}
    assert redirect_307_keeps_method_and_body(runner) == {
        "id": "p1",
        "requests": [("POST", "/v1/predictions"), ("POST", "/v1/elsewhere/predictions")],
        "bodies": [body, body],
    }


@scenario
def redirect_to_another_origin_drops_the_token(r: Runner) -> Observed:
    target = r.other.url_for("/landing")
    r.api.expect_request("/v1/files/abc").respond_with_data(
        "", status=307, headers={"Location": target}
    )
    r.other.expect_request("/landing").respond_with_data("landed")
    response = r.call(lambda c: c.get("/files/abc", headers={"Cookie": "session=1"}))
    landed: WRequest = r.other.log[0][0]
    return {
        "text": response.text,
        "final_url_is_target": response.request.url == target,
        "api_auth": auth_of(r.api),
        "other_auth": auth_of(r.other),
        "other_cookie": landed.headers.get("Cookie"),
    }


def test_redirect_to_another_origin_drops_the_token(runner: Runner) -> None:
    assert redirect_to_another_origin_drops_the_token(runner) == {
        "text": "landed",
        "final_url_is_target": True,
        "api_auth": [f"Bearer {TOKEN}"],
        "other_auth": [None],
        "other_cookie": None,
    }


# --- auth refresh -------------------------------------------------------------------------------


class RefreshingAuth:
    """An auth provider whose token the API may reject; ``refresh()`` moves to the next one."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.current = self.tokens.pop(0)
        self.refreshes = 0

    def auth_headers(self, request: replicate.Request) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current}"}

    def refresh(self, request: replicate.Request, response: replicate.Response) -> bool:
        self.refreshes += 1
        self.current = self.tokens.pop(0)
        return True


@scenario
def auth_refresh_after_401(r: Runner) -> Observed:
    provider = RefreshingAuth("r8_stale", "r8_fresh", "r8_never")
    client = r.configured(auth=provider)
    r.api.expect_oneshot_request("/v1/predictions/p1").respond_with_json(
        {"detail": "token expired"}, status=401
    )
    r.api.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(r.api, status="succeeded", output="ok")
    )
    got = client.call(lambda c: c.predictions.get("p1"))
    sent = auth_of(r.api)
    refreshes = provider.refreshes
    r.api.clear()
    r.api.expect_request("/v1/predictions/p1").respond_with_json({"detail": "nope"}, status=401)
    err = client.raises(replicate.AuthenticationError, lambda c: c.predictions.get("p1"))
    return {
        "output": got.output,
        "sent": sent,
        "refreshes": refreshes,
        "then": {
            "error": error_shape(err),
            "sent": auth_of(r.api),
            "refreshes": provider.refreshes,
        },
    }


def test_auth_refresh_after_401(runner: Runner) -> None:
    observed = auth_refresh_after_401(runner)
    assert subset(observed, "output", "sent", "refreshes") == {
        "output": "ok",
        "sent": ["Bearer r8_stale", "Bearer r8_fresh"],
        "refreshes": 1,
    }
    # A 401 after the refresh is the caller's: refreshed once per call, never in a loop.
    then = observed["then"]
    assert then["error"]["type"] == "AuthenticationError"
    assert then["sent"] == ["Bearer r8_fresh", "Bearer r8_never"]
    assert then["refreshes"] == 2


# --- pagination ---------------------------------------------------------------------------------


@scenario
def pagination_three_pages(r: Runner) -> Observed:
    three_pages(r.api)
    every = r.collect(lambda c: c.predictions.list())
    cursors = [req.args.get("cursor") for req, _ in r.api.log]
    r.api.clear_log()
    first = r.call(lambda c: c.predictions.list())
    second = r.call(lambda _c: first.get_next_page())
    third = r.call(lambda _c: second.get_next_page())
    pages = r.collect(lambda _c: first.iter_pages())
    rest = r.collect(lambda _c: second)  # a page iterates on across the pages after it
    return {
        "all": [p.id for p in every],
        "cursors": cursors,
        "page_type_ok": all(type(p) is r.page_type for p in (first, second, third, *pages)),
        "first": [p.id for p in first.results],
        "second": [p.id for p in second.results],
        "third": [p.id for p in third.results],
        "has_next": [first.has_next_page(), second.has_next_page(), third.has_next_page()],
        "pages": [[p.id for p in page.results] for page in pages],
        "rest": [p.id for p in rest],
    }


def test_pagination_three_pages(runner: Runner) -> None:
    ids = [f"{page}-{i}" for page in "012" for i in range(3)]
    assert pagination_three_pages(runner) == {
        "all": ids,
        "cursors": [None, "1", "2"],
        "page_type_ok": True,
        "first": ids[:3],
        "second": ids[3:6],
        "third": ids[6:],
        "has_next": [True, True, False],
        "pages": [ids[:3], ids[3:6], ids[6:]],
        "rest": ids[3:],
    }


# --- run life cycles ----------------------------------------------------------------------------


@scenario
def run_sync_mode_201_complete(r: Runner) -> Observed:
    done = prediction(r.api, status="succeeded", output="hello Alice")
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(done, 201, {"Preference-Applied": "wait=60"})
    )
    output = r.call(lambda c: c.run("acme/hello", input={"text": "Alice"}))
    sent: WRequest = r.api.log[0][0]
    return {
        "output": output,
        "requests": seen(r.api),
        "prefer": sent.headers.get("Prefer"),
        "body": json.loads(sent.get_data()),
    }


def test_run_sync_mode_201_complete(runner: Runner) -> None:
    assert run_sync_mode_201_complete(runner) == {
        "output": "hello Alice",
        "requests": [("POST", CREATE_PATH)],
        "prefer": "wait",
        "body": {"input": {"text": "Alice"}},
    }


@scenario
def run_201_starting_then_polls(r: Runner) -> Observed:
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(prediction(r.api, status="starting"), 201)
    )
    r.api.expect_request("/v1/predictions/p1").respond_with_handler(
        sequence(
            prediction(r.api, status="processing", logs="step 1"),
            prediction(r.api, status="succeeded", output=["hi", "!"], logs="step 1\nstep 2"),
        )
    )
    updates: list[replicate.types.Prediction] = []
    output = r.call(lambda c: c.run("acme/hello", input={}, on_update=updates.append))
    return {
        "output": output,
        "updates": [(u.status, u.logs) for u in updates],
        "requests": seen(r.api),
    }


def test_run_201_starting_then_polls(runner: Runner) -> None:
    assert run_201_starting_then_polls(runner) == {
        "output": ["hi", "!"],
        "updates": [
            ("starting", ""),
            ("processing", "step 1"),
            ("succeeded", "step 1\nstep 2"),
        ],
        "requests": [("POST", CREATE_PATH)] + [("GET", "/v1/predictions/p1")] * 2,
    }


def run_ends(r: Runner, status: str, error: type[replicate.ModelError]) -> Observed:
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(prediction(r.api, status="starting"), 201)
    )
    final = prediction(r.api, status=status, error="boom" if status == "failed" else None)
    final["logs"] = "some logs"
    r.api.expect_request("/v1/predictions/p1").respond_with_json(final)
    err = r.raises(error, lambda c: c.run("acme/hello", input={}))
    return {
        "error": error_shape(err),
        "is_model_error": isinstance(err, replicate.ModelError),
        "prediction": (err.prediction.id, err.prediction.status, err.prediction.logs),
        "requests": seen(r.api),
    }


@scenario
def run_failed(r: Runner) -> Observed:
    return run_ends(r, "failed", replicate.ModelError)


@scenario
def run_canceled(r: Runner) -> Observed:
    return run_ends(r, "canceled", replicate.PredictionCanceledError)


@pytest.mark.parametrize(
    ("status", "error"),
    [("failed", "ModelError"), ("canceled", "PredictionCanceledError")],
)
def test_run_ends_in_failure(runner: Runner, status: str, error: str) -> None:
    observed = (run_failed if status == "failed" else run_canceled)(runner)
    assert observed["error"]["type"] == error
    assert observed["is_model_error"] is True
    assert observed["prediction"] == ("p1", status, "some logs")
    assert observed["requests"] == [("POST", CREATE_PATH), ("GET", "/v1/predictions/p1")]
    if status == "failed":
        assert "boom" in observed["error"]["message"]


@scenario
def run_wait_false_polls(r: Runner) -> Observed:
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(prediction(r.api), 201)
    )
    r.api.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(r.api, status="succeeded", output="ok")
    )
    output = r.call(lambda c: c.run("acme/hello", input={}, wait=False))
    return {
        "output": output,
        "prefer": r.api.log[0][0].headers.get("Prefer"),
        "requests": seen(r.api),
    }


def test_run_wait_false_polls(runner: Runner) -> None:
    assert run_wait_false_polls(runner) == {
        "output": "ok",
        "prefer": None,
        "requests": [("POST", CREATE_PATH), ("GET", "/v1/predictions/p1")],
    }


@scenario
def run_timeout_cancels(r: Runner) -> Observed:
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(prediction(r.api, status="starting"), 201)
    )
    r.api.expect_request("/v1/predictions/p1", method="GET").respond_with_json(
        prediction(r.api, status="processing")
    )
    r.api.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(r.api, status="canceled")
    )
    err = r.raises(
        replicate.PredictionTimeoutError, lambda c: c.run("acme/hello", input={}, timeout=0.3)
    )
    return {
        "error": error_shape(err),
        "prediction_id": err.prediction_id,
        "is_api_timeout": isinstance(err, replicate.APITimeoutError),
        "cancels": len(requests_to(r.api, "POST", "/v1/predictions/p1/cancel")),
        "create_prefer": r.api.log[0][0].headers.get("Prefer"),
    }


def test_run_timeout_cancels(runner: Runner) -> None:
    observed = run_timeout_cancels(runner)
    assert observed["error"]["type"] == "PredictionTimeoutError"
    message = observed["error"]["message"]
    assert message.startswith("prediction p1 did not finish within timeout=0.3 s"), message
    assert message.endswith("; it was canceled"), message
    assert subset(observed, "prediction_id", "is_api_timeout", "cancels") == {
        "prediction_id": "p1",
        "is_api_timeout": False,
        "cancels": 1,
    }
    # The sync-mode window was cut to the time left: under 1 s, no window at all.
    assert observed["create_prefer"] is None


# --- stream resume ------------------------------------------------------------------------------


def stream_dropped(r: Runner, *, replay: bool) -> Observed:
    server = r.script()
    server.route(PRED_PATH, script_json(script_prediction(server)))
    e0, e1, e2, e3 = (event("output", text, f"1690212292:{i}") for i, text in enumerate("abcd"))
    first = sse(b"retry: 10\n\n", e0, e1, e2[:20], end="cut")
    again = sse(*([e0, e1, e2, e3, DONE] if replay else [e2, e3, DONE]))
    server.route(STREAM_PATH, first, again)
    events = r.configured(base_url=server.url("/v1")).collect(lambda c: c.predictions.stream(PID))
    hits = server.hits(STREAM_PATH)
    return {
        "events": [(e.event, e.data, e.id) for e in events],
        "output": "".join(str(e) for e in events),
        "stream_requests": len(hits),
        "last_event_ids": [h.get("last-event-id") for h in hits],
        "accept": [h.get("accept") for h in hits],
    }


@scenario
def stream_resumes_where_the_server_resumes(r: Runner) -> Observed:
    return stream_dropped(r, replay=False)


@scenario
def stream_resumes_where_the_server_replays(r: Runner) -> Observed:
    return stream_dropped(r, replay=True)


@pytest.mark.parametrize("replay", [False, True], ids=["server-resumes", "server-replays"])
def test_stream_resumes_with_last_event_id(runner: Runner, replay: bool) -> None:
    observed = stream_dropped(runner, replay=replay)
    assert observed == {
        "events": [("output", text, f"1690212292:{i}") for i, text in enumerate("abcd")],
        "output": "abcd",  # nothing repeated, nothing lost
        "stream_requests": 2,
        "last_event_ids": [None, "1690212292:1"],
        "accept": ["text/event-stream"] * 2,
    }


# --- uploads ------------------------------------------------------------------------------------


@scenario
def run_uploads_file_inputs_first(r: Runner) -> Observed:
    files = FilesAPI()
    r.api.expect_request("/v1/files", method="POST").respond_with_handler(files)
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(
        json_response(prediction(r.api, status="succeeded", output="seen"), 201)
    )
    data = b"\x89PNG parity bytes"
    output = r.call(
        lambda c: c.run(
            "acme/hello",
            input={"image": data, "doc": io.BytesIO(b"a document"), "prompt": "hi"},
        )
    )
    creates = [req for req, _ in r.api.log if req.path == CREATE_PATH]
    return {
        "output": output,
        "requests": sorted(seen(r.api)[:-1]) + seen(r.api)[-1:],
        "uploaded": files.data(),
        "types": sorted(u["content_type"] for u in files.uploads),
        "upload_auth": [
            req.headers.get("Authorization") for req, _ in r.api.log if req.path == "/v1/files"
        ],
        "input": [json.loads(req.get_data())["input"] for req in creates],
    }


def test_run_uploads_file_inputs_first(runner: Runner) -> None:
    data = b"\x89PNG parity bytes"
    assert run_uploads_file_inputs_first(runner) == {
        "output": "seen",
        # both uploads (concurrently, in either order), then the create
        "requests": [("POST", "/v1/files")] * 2 + [("POST", CREATE_PATH)],
        "uploaded": sorted([data, b"a document"]),
        "types": ["application/octet-stream"] * 2,
        "upload_auth": [f"Bearer {TOKEN}"] * 2,
        "input": [{"image": file_url(data), "doc": file_url(b"a document"), "prompt": "hi"}],
    }


# --- downloads ----------------------------------------------------------------------------------


class FileHost:
    """A client plugin naming a loopback host:port as a file host (outputs there are files)."""

    def __init__(self, host: str) -> None:
        self.host = host

    @replicate.hookimpl
    def replicate_register_file_hosts(self, register: Callable[[str], None]) -> None:
        register(self.host)


@scenario
def run_output_files_download(r: Runner) -> Observed:
    r.other.expect_request("/pbxt/abc/out-0.png").respond_with_data(PNG, content_type="image/png")
    r.api.expect_request("/v1/files/f1/download").respond_with_data(b"file body")
    delivery_url = r.other.url_for("/pbxt/abc/out-0.png")
    files_url = r.api.url_for("/v1/files/f1/download")
    done = prediction(r.api, status="succeeded", output=[delivery_url, files_url, "plain text"])
    r.api.expect_request(CREATE_PATH, method="POST").respond_with_response(json_response(done, 201))
    client = r.configured(plugins=[FileHost(f"127.0.0.1:{r.other.port}")])
    outputs = client.call(lambda c: c.run("acme/hello", input={}))
    files = [o for o in outputs if isinstance(o, FileOutput)]
    # read() in the same event loop as the run, then again later, then iterated in chunks
    first_read = client.call(lambda c: c.run("acme/hello", input={}), lambda out: out[0].read())
    reads = [client.read(f) for f in files]
    chunks = client.collect(lambda _c: files[0])
    return {
        # "file": this client's colour of file output (AsyncFileOutput on the async client)
        "kinds": [
            "file" if type(o) is client.file_output_type else type(o).__name__ for o in outputs
        ],
        "str_is_url": [str(f) == f.url for f in files],
        "first_read": first_read,
        "reads": reads,
        "chunks": b"".join(chunks),
        "delivery_auth": auth_of(r.other),
        "files_api_auth": [
            req.headers.get("Authorization")
            for req, _ in r.api.log
            if req.path == "/v1/files/f1/download"
        ],
    }


def test_run_output_files_download(runner: Runner) -> None:
    assert run_output_files_download(runner) == {
        "kinds": ["file", "file", "str"],
        "str_is_url": [True, True],
        "first_read": PNG,
        "reads": [PNG, b"file body"],
        "chunks": PNG,
        "delivery_auth": [None, None, None],  # a file host never gets the token
        "files_api_auth": [f"Bearer {TOKEN}"],  # the API's own files do
    }


# --- cancel -------------------------------------------------------------------------------------


@scenario
def predictions_cancel(r: Runner) -> Observed:
    r.api.expect_oneshot_request("/v1/predictions/p1/cancel", method="POST").respond_with_data(
        "busy", status=503
    )
    r.api.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_json(
        prediction(r.api, status="canceled")
    )
    got = r.call(lambda c: c.predictions.cancel("p1"))
    return {
        "id": got.id,
        "status": got.status,
        "requests": seen(r.api),
        "prediction": msgspec.to_builtins(got),
    }


def test_predictions_cancel(runner: Runner) -> None:
    observed = predictions_cancel(runner)
    assert subset(observed, "id", "status", "requests") == {
        "id": "p1",
        "status": "canceled",
        # canceling twice is harmless, so a 503 is retried even though it is a POST
        "requests": [("POST", "/v1/predictions/p1/cancel")] * 2,
    }


# --- errors -------------------------------------------------------------------------------------


@scenario
def error_404(r: Runner) -> Observed:
    r.api.expect_request("/v1/predictions/nope").respond_with_json(
        {"title": "Not found", "detail": "no such prediction", "status": 404}, status=404
    )
    err = r.raises(replicate.NotFoundError, lambda c: c.predictions.get("nope"))
    return {"error": error_shape(err), "detail": err.detail, "requests": len(r.api.log)}


def test_error_404(runner: Runner) -> None:
    observed = error_404(runner)
    assert observed["error"]["type"] == "NotFoundError"
    assert observed["error"]["status_code"] == 404
    assert observed["detail"] == "no such prediction"
    assert observed["requests"] == 1


@scenario
def error_422(r: Runner) -> Observed:
    problem = {
        "type": "about:blank",
        "title": "Invalid input",
        "detail": "prompt is required",
        "status": 422,
        "invalid_fields": [{"field": "prompt"}],
    }
    r.api.expect_request("/v1/predictions", method="POST").respond_with_data(
        json.dumps(problem), status=422, content_type="application/problem+json"
    )
    err = r.raises(
        replicate.UnprocessableEntityError,
        lambda c: c.predictions.create(version=VERSION_ID, input={}),
    )
    return {
        "error": error_shape(err),
        "title": err.title,
        "detail": err.detail,
        "body": err.body,
        "requests": len(r.api.log),
    }


def test_error_422(runner: Runner) -> None:
    observed = error_422(runner)
    assert observed["error"]["type"] == "UnprocessableEntityError"
    message = observed["error"]["message"]
    for part in ("POST", "/v1/predictions", "422", "prompt is required"):
        assert part in message, (part, message)
    assert subset(observed, "title", "detail", "requests") == {
        "title": "Invalid input",
        "detail": "prompt is required",
        "requests": 1,
    }
    assert observed["body"]["invalid_fields"] == [{"field": "prompt"}]


@scenario
def error_500_after_retries(r: Runner) -> Observed:
    r.api.expect_request("/v1/predictions/p1").respond_with_json(
        {"detail": "internal error"}, status=500
    )
    err = r.raises(replicate.InternalServerError, lambda c: c.predictions.get("p1"))
    return {
        "error": error_shape(err),
        "retries_taken": err.response.retries_taken,
        "requests": seen(r.api),
    }


def test_error_500_after_retries(runner: Runner) -> None:
    observed = error_500_after_retries(runner)
    assert observed["error"]["type"] == "InternalServerError"
    assert observed["error"]["status_code"] == 500
    assert observed["retries_taken"] == 2  # the default max_retries, all used
    assert observed["requests"] == [("GET", "/v1/predictions/p1")] * 3


@scenario
def error_connection_refused(r: Runner) -> Observed:
    port = refused_port()
    client = r.configured(base_url=f"http://127.0.0.1:{port}/v1")
    err = client.raises(replicate.APIConnectionError, lambda c: c.predictions.get("p1"))
    return {
        "error": error_shape(err, port=port),
        "is_timeout": isinstance(err, replicate.APITimeoutError),
        "request_sent": err.request_sent,
        "cause": type(err.__cause__).__name__,
        "method": err.request.method if err.request is not None else None,
    }


def test_error_connection_refused(runner: Runner) -> None:
    observed = error_connection_refused(runner)
    assert observed["error"]["type"] == "APIConnectionError"
    assert subset(observed, "is_timeout", "request_sent", "cause", "method") == {
        "is_timeout": False,
        "request_sent": False,
        "cause": "NewConnectionError",
        "method": "GET",
    }


# --- both clients, compared -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_sync_and_async_observe_the_same(name: str, make_runner: Callable[[str], Runner]) -> None:
    """Each scenario run on both clients in turn: everything observed is equal (results,
    error types and messages, what the servers saw)."""
    observed = {mode: SCENARIOS[name](make_runner(mode)) for mode in MODES}
    assert observed["async"] == observed["sync"]
