"""Retries over real HTTP: which failures are sent again, how often and after how long.

The rule under test: nothing that may have reached the server as a create (POST/PATCH) is sent
twice, unless the server said it did not act on it (429) or the request never left the client.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
import urllib3
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import SlowServer, fast_retry_policy, make_client

import replicate
from replicate import Event, Headers, Request, Response, Timeout
from replicate._retry import RETRY_STATUSES, parse_retry_after
from replicate.testing import refused_port

IDEMPOTENT = ["GET", "PUT", "DELETE", "QUERY"]
NOT_IDEMPOTENT = ["POST", "PATCH"]


# --- helpers ----------------------------------------------------------------------------------


class Recorder:
    """A client plugin that keeps every event the client reports."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @replicate.hookimpl
    def replicate_observe(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it: connecting is refused at once."""
    return refused_port()


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer(delay=0.5)
    yield server
    server.close()


def response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status, headers=Headers(headers or {}), content=b"")


# --- network errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT"])
def test_refused_connection_is_retried_for_any_method(closed_port: int, method: str) -> None:
    recorder = Recorder()
    with (
        make_client(f"http://127.0.0.1:{closed_port}/v1", plugins=[recorder]) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.request(method, "/predictions", json={"input": {}})
    err = info.value
    assert not isinstance(err, replicate.APITimeoutError)
    assert err.request_sent is False
    assert isinstance(err.__cause__, urllib3.exceptions.NewConnectionError)
    assert err.request is not None and err.request.method == method
    assert len(recorder.kinds(Event.REQUEST)) == 3  # max_retries=2 by default
    assert [e.attempt for e in recorder.kinds(Event.RETRY)] == [0, 1]
    assert len(recorder.kinds(Event.ERROR)) == 3


def test_refused_connection_respects_max_retries(closed_port: int) -> None:
    recorder = Recorder()
    with make_client(
        f"http://127.0.0.1:{closed_port}/v1", plugins=[recorder], max_retries=5
    ) as client:
        with pytest.raises(replicate.APIConnectionError):
            client.post("/predictions", json={})
        assert len(recorder.kinds(Event.REQUEST)) == 6
        recorder.events.clear()
        with pytest.raises(replicate.APIConnectionError):
            client.post("/predictions", json={}, max_retries=0)
        assert len(recorder.kinds(Event.REQUEST)) == 1


def test_read_timeout_on_post_is_not_retried(slow_server: SlowServer) -> None:
    timeout = Timeout(connect=1, read=0.2)
    with (
        make_client(slow_server.url + "/v1", timeout=timeout) as client,
        pytest.raises(replicate.APITimeoutError) as info,
    ):
        client.post("/predictions", json={"input": {}})
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, urllib3.exceptions.ReadTimeoutError)
    assert [r[:2] for r in slow_server.requests] == [("POST", "/v1/predictions")]


def test_read_timeout_on_get_is_retried(slow_server: SlowServer) -> None:
    timeout = Timeout(connect=1, read=0.2)
    with (
        make_client(slow_server.url + "/v1", timeout=timeout, max_retries=1) as client,
        pytest.raises(replicate.APITimeoutError) as info,
    ):
        client.get("/predictions/abc")
    assert info.value.request_sent is True
    assert [r[:2] for r in slow_server.requests] == [("GET", "/v1/predictions/abc")] * 2


def test_read_timeout_on_post_with_idempotent_true_is_retried(slow_server: SlowServer) -> None:
    timeout = Timeout(connect=1, read=0.2)
    with (
        make_client(slow_server.url + "/v1", timeout=timeout, max_retries=1) as client,
        pytest.raises(replicate.APITimeoutError),
    ):
        client.post("/things", json={}, idempotent=True)
    assert len(slow_server.requests) == 2


# --- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES - {429}))
@pytest.mark.parametrize("method", IDEMPOTENT)
def test_retryable_status_is_retried_for_idempotent_methods(
    httpserver: HTTPServer, client: replicate.Replicate, method: str, status: int
) -> None:
    httpserver.expect_request("/v1/thing", method=method).respond_with_data("oops", status=status)
    with pytest.raises(replicate.APIStatusError) as info:
        client.request(method, "/thing")
    assert info.value.status_code == status
    if status >= 500:
        assert isinstance(info.value, replicate.InternalServerError)
    assert len(httpserver.log) == 3
    assert all(req.method == method for req, _ in httpserver.log)


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES - {429}))
@pytest.mark.parametrize("method", NOT_IDEMPOTENT)
def test_retryable_status_is_not_retried_for_post_and_patch(
    httpserver: HTTPServer, client: replicate.Replicate, method: str, status: int
) -> None:
    httpserver.expect_request("/v1/predictions", method=method).respond_with_data(
        "oops", status=status
    )
    with pytest.raises(replicate.APIStatusError) as info:
        client.request(method, "/predictions", json={"input": {}})
    assert info.value.status_code == status
    assert len(httpserver.log) == 1


def test_idempotent_true_opts_a_post_into_retries(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things", method="POST").respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.post("/things", json={}, idempotent=True)
    assert len(httpserver.log) == 3


def test_idempotent_false_opts_a_put_out_of_retries(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things", method="PUT").respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.put("/things", json={}, idempotent=False)
    assert len(httpserver.log) == 1


def test_a_retry_that_succeeds_returns_the_response(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_oneshot_request("/v1/thing").respond_with_data("", status=502)
    httpserver.expect_oneshot_request("/v1/thing").respond_with_data("", status=503)
    httpserver.expect_request("/v1/thing").respond_with_json({"ok": True})
    resp = client.get("/thing")
    assert resp.status_code == 200 and resp.json() == {"ok": True}
    assert len(httpserver.log) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_not_retried(
    httpserver: HTTPServer, client: replicate.Replicate, status: int
) -> None:
    httpserver.expect_request("/v1/thing").respond_with_data("no", status=status)
    with pytest.raises(replicate.APIStatusError):
        client.get("/thing")
    assert len(httpserver.log) == 1


# --- 429 and Retry-After ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET"])
def test_429_is_retried_for_every_method(
    httpserver: HTTPServer, client: replicate.Replicate, method: str
) -> None:
    httpserver.expect_request("/v1/predictions").respond_with_data("slow down", status=429)
    with pytest.raises(replicate.RateLimitError):
        client.request(method, "/predictions", json={})
    assert len(httpserver.log) == 3


def test_429_with_retry_after_zero_then_success(httpserver: HTTPServer) -> None:
    recorder = Recorder()
    httpserver.expect_oneshot_request("/v1/predictions").respond_with_data(
        "", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_request("/v1/predictions").respond_with_json({"id": "p1"})
    with make_client(httpserver.url_for("/v1"), plugins=[recorder]) as client:
        resp = client.post("/predictions", json={"input": {}})
    assert resp.json() == {"id": "p1"}
    assert len(httpserver.log) == 2
    assert [e.delay for e in recorder.kinds(Event.RETRY)] == [0.0]


def test_retry_after_ms_is_honoured_end_to_end(httpserver: HTTPServer) -> None:
    recorder = Recorder()
    httpserver.expect_oneshot_request("/v1/predictions").respond_with_data(
        "", status=429, headers={"retry-after-ms": "150"}
    )
    httpserver.expect_request("/v1/predictions").respond_with_json({"id": "p1"})
    with make_client(httpserver.url_for("/v1"), plugins=[recorder]) as client:
        start = time.monotonic()
        client.post("/predictions", json={})
        elapsed = time.monotonic() - start
    assert [e.delay for e in recorder.kinds(Event.RETRY)] == [0.15]
    assert elapsed >= 0.14
    assert len(httpserver.log) == 2


def test_retry_after_seconds_is_honoured_end_to_end(httpserver: HTTPServer) -> None:
    recorder = Recorder()
    sleeps: list[float] = []
    httpserver.expect_oneshot_request("/v1/thing").respond_with_data(
        "", status=503, headers={"Retry-After": "1"}
    )
    httpserver.expect_request("/v1/thing").respond_with_json({})
    with make_client(httpserver.url_for("/v1"), plugins=[recorder]) as client:
        # Run the flow with a recording sleep so the test doesn't wait the full second.
        flow = client._core.send_flow(client._core.build("GET", "/thing"))
        resp = replicate._drivers.drive_sync(flow, client.transport, sleep=sleeps.append)
    assert resp.status_code == 200
    assert sleeps == [1.0]
    assert [e.delay for e in recorder.kinds(Event.RETRY)] == [1.0]


def test_retry_after_http_date_in_the_past_retries_at_once(httpserver: HTTPServer) -> None:
    past = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)
    recorder = Recorder()
    httpserver.expect_oneshot_request("/v1/predictions").respond_with_data(
        "", status=429, headers={"Retry-After": past}
    )
    httpserver.expect_request("/v1/predictions").respond_with_json({"id": "p1"})
    with make_client(httpserver.url_for("/v1"), plugins=[recorder]) as client:
        client.post("/predictions", json={})
    assert [e.delay for e in recorder.kinds(Event.RETRY)] == [0.0]


def test_retry_after_above_the_cap_gives_up_at_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/predictions").respond_with_data(
        '{"detail": "slow down"}',
        status=429,
        headers={"Retry-After": "3600"},
        content_type="application/json",
    )
    with make_client(httpserver.url_for("/v1")) as client:
        start = time.monotonic()
        with pytest.raises(replicate.RateLimitError) as info:
            client.post("/predictions", json={})
    assert time.monotonic() - start < 10  # not the hour it was told to wait
    assert info.value.detail == "slow down"
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": " 2.5 "}, 2.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "0"}, 0.0),
        ({"retry-after-ms": "100", "Retry-After": "9"}, 0.1),  # ms wins
        ({"retry-after-ms": "junk", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "-5", "Retry-After": "9"}, 9.0),
        ({"retry-after-ms": "nan"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(Headers(headers)) == expected


def test_parse_retry_after_http_date_in_the_future() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    delay = parse_retry_after(Headers({"Retry-After": when}))
    assert delay is not None and 28 <= delay <= 30.5


# --- the default policy as a unit -------------------------------------------------------------


def delay_for(
    method: str = "GET",
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    error: BaseException | None = None,
    attempt: int = 0,
    max_retries: int = 2,
    idempotent: bool | None = None,
    policy: replicate.DefaultRetryPolicy | None = None,
) -> float | None:
    policy = policy or fast_retry_policy()
    request = Request(method, "https://api.replicate.com/v1/x", idempotent=idempotent)
    resp = response(status, headers) if status is not None else None
    return policy.retry_delay(
        attempt=attempt, max_retries=max_retries, request=request, response=resp, error=error
    )


def test_policy_status_rules() -> None:
    for status in (408, 500, 502, 503, 504):
        assert delay_for("GET", status=status) is not None
        assert delay_for("QUERY", status=status) is not None
        assert delay_for("POST", status=status) is None
        assert delay_for("PATCH", status=status) is None
        assert delay_for("POST", status=status, idempotent=True) is not None
    assert delay_for("POST", status=429) is not None
    for status in (400, 401, 404, 409, 422, 501):
        assert delay_for("GET", status=status) is None
    assert delay_for("GET", status=404, headers={"Retry-After": "1"}) is None


def test_policy_gives_up_after_max_retries() -> None:
    assert delay_for("GET", status=503, attempt=1, max_retries=2) is not None
    assert delay_for("GET", status=503, attempt=2, max_retries=2) is None
    assert delay_for("GET", status=503, attempt=0, max_retries=0) is None
    unsent = replicate.APIConnectionError("refused", request_sent=False)
    assert delay_for("POST", error=unsent, attempt=2, max_retries=2) is None


def test_policy_network_error_rules() -> None:
    unsent = replicate.APIConnectionError("refused", request_sent=False)
    sent = replicate.APIConnectionError("reset", request_sent=True)
    timed_out = replicate.APITimeoutError("read timeout", request_sent=True)
    assert delay_for("POST", error=unsent) is not None
    assert delay_for("POST", error=sent) is None
    assert delay_for("POST", error=timed_out) is None
    assert delay_for("GET", error=sent) is not None
    assert delay_for("GET", error=timed_out) is not None
    # An error that doesn't say whether the request left counts as sent.
    assert delay_for("POST", error=OSError("?")) is None
    assert delay_for("GET", error=OSError("?")) is not None
    # Neither a response nor an error: nothing to retry.
    assert delay_for("GET") is None


def test_policy_retry_after_cap() -> None:
    policy = replicate.DefaultRetryPolicy(max_retry_after=60)
    assert delay_for("GET", status=503, headers={"Retry-After": "60"}, policy=policy) == 60
    assert delay_for("GET", status=503, headers={"Retry-After": "61"}, policy=policy) is None
    assert delay_for("POST", status=429, headers={"Retry-After": "3600"}, policy=policy) is None
    assert delay_for("POST", status=429, headers={"Retry-After": "1"}, policy=policy) == 1.0
    # Retry-After replaces the backoff (it may be longer than max_backoff).
    fast = fast_retry_policy()
    assert delay_for("POST", status=429, headers={"Retry-After": "2"}, policy=fast) == 2.0


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = replicate.DefaultRetryPolicy(
        initial_backoff=0.5, max_backoff=8.0, rng=random.Random(1234)
    )
    twin = random.Random(1234)
    for attempt in range(8):
        cap = min(8.0, 0.5 * 2**attempt)
        delay = policy.backoff(attempt)
        assert 0.0 <= delay <= cap
        assert delay == twin.uniform(0.0, cap)
    # The same through retry_delay (no Retry-After): a seeded rng gives reproducible delays.
    a = replicate.DefaultRetryPolicy(rng=random.Random(7))
    b = replicate.DefaultRetryPolicy(rng=random.Random(7))
    for attempt in range(4):
        da = delay_for("GET", status=503, attempt=attempt, max_retries=9, policy=a)
        db = delay_for("GET", status=503, attempt=attempt, max_retries=9, policy=b)
        assert da == db
        assert da is not None and 0 <= da <= min(8.0, 0.5 * 2**attempt)


def test_backoff_jitter_spreads_over_the_whole_window() -> None:
    policy = replicate.DefaultRetryPolicy(
        initial_backoff=1.0, max_backoff=4.0, rng=random.Random(0)
    )
    samples = [policy.backoff(5) for _ in range(2000)]  # window capped at 4.0
    assert max(samples) <= 4.0
    assert min(samples) < 0.2 and max(samples) > 3.8
    assert 1.8 < sum(samples) / len(samples) < 2.2
    first = [policy.backoff(0) for _ in range(500)]
    assert max(first) <= 1.0


# --- max_retries: per client, per call, with_options ------------------------------------------


def test_max_retries_per_client_per_call_and_with_options(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/thing").respond_with_data("", status=503)
    with make_client(httpserver.url_for("/v1"), max_retries=4) as client:
        with pytest.raises(replicate.InternalServerError):
            client.get("/thing")
        assert len(httpserver.log) == 5

        httpserver.clear_log()
        with pytest.raises(replicate.InternalServerError):
            client.get("/thing", max_retries=0)
        assert len(httpserver.log) == 1

        httpserver.clear_log()
        with pytest.raises(replicate.InternalServerError):
            client.get("/thing", max_retries=1)
        assert len(httpserver.log) == 2

        copy = client.with_options(max_retries=0)
        assert copy.max_retries == 0 and client.max_retries == 4
        httpserver.clear_log()
        with pytest.raises(replicate.InternalServerError):
            copy.get("/thing")
        assert len(httpserver.log) == 1

        httpserver.clear_log()
        with pytest.raises(replicate.InternalServerError):
            client.get("/thing")  # the original keeps its own setting
        assert len(httpserver.log) == 5

        with pytest.raises(ValueError):
            client.get("/thing", max_retries=-1)


def test_default_max_retries_is_two(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    assert client.max_retries == 2
    httpserver.expect_request("/v1/thing").respond_with_data("", status=500)
    with pytest.raises(replicate.InternalServerError):
        client.get("/thing")
    assert len(httpserver.log) == 3


# --- bodies on retry (each body kind against each resend cause: test_resend.py) -----------------


def test_one_shot_iterator_body_is_not_retried_even_when_refused(closed_port: int) -> None:
    recorder = Recorder()
    with (
        make_client(f"http://127.0.0.1:{closed_port}/v1", plugins=[recorder]) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.put("/files/x", content=iter([b"abc", b"def"]))
    assert info.value.request_sent is False
    assert len(recorder.kinds(Event.REQUEST)) == 1
    assert recorder.kinds(Event.RETRY) == []


# --- custom retry policies --------------------------------------------------------------------


class ScriptedPolicy:
    """A RetryPolicy that records how it is consulted and answers from a script."""

    def __init__(self, answers: list[float | None]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def retry_delay(
        self,
        *,
        attempt: int,
        max_retries: int,
        request: Request,
        response: Response | None = None,
        error: BaseException | None = None,
    ) -> float | None:
        self.calls.append(
            {
                "attempt": attempt,
                "max_retries": max_retries,
                "request": request,
                "response": response,
                "error": error,
            }
        )
        return self.answers.pop(0) if self.answers else None


def test_custom_policy_is_consulted_with_the_response(httpserver: HTTPServer) -> None:
    assert isinstance(ScriptedPolicy([]), replicate.RetryPolicy)
    policy = ScriptedPolicy([0.0])
    httpserver.expect_request("/v1/thing").respond_with_data("", status=503)
    with (
        make_client(httpserver.url_for("/v1"), retry_policy=policy, max_retries=7) as client,
        pytest.raises(replicate.InternalServerError),
    ):
        client.get("/thing")
    assert len(httpserver.log) == 2
    assert [c["attempt"] for c in policy.calls] == [0, 1]
    for call in policy.calls:
        assert call["max_retries"] == 7
        assert call["error"] is None
        assert call["response"].status_code == 503
        assert call["request"].method == "GET"
        assert call["request"].url == httpserver.url_for("/v1/thing")
        # the policy sees the request as prepared, without the credentials the transport got
        assert "authorization" not in call["request"].headers


def test_custom_policy_is_consulted_with_the_error(closed_port: int) -> None:
    policy = ScriptedPolicy([0.0, 0.0])
    with (
        make_client(f"http://127.0.0.1:{closed_port}/v1", retry_policy=policy) as client,
        pytest.raises(replicate.APIConnectionError),
    ):
        client.post("/predictions", json={})
    # max_retries=2: the policy is asked after attempts 0 and 1; after the last one the core
    # gives up without asking, so no policy can retry past max_retries.
    assert [c["attempt"] for c in policy.calls] == [0, 1]
    for call in policy.calls:
        assert call["response"] is None
        assert isinstance(call["error"], replicate.APIConnectionError)
        assert call["error"].request_sent is False
        assert call["request"].method == "POST"


def test_custom_policy_decides_even_for_a_post(httpserver: HTTPServer) -> None:
    policy = ScriptedPolicy([0.0])
    httpserver.expect_oneshot_request("/v1/predictions").respond_with_data("", status=500)
    httpserver.expect_request("/v1/predictions").respond_with_json({"id": "p"})
    with make_client(httpserver.url_for("/v1"), retry_policy=policy) as client:
        assert client.post("/predictions", json={}).json() == {"id": "p"}
    assert len(httpserver.log) == 2
    assert len(policy.calls) == 1


def test_custom_policy_sees_non_retryable_statuses_too(httpserver: HTTPServer) -> None:
    policy = ScriptedPolicy([])
    httpserver.expect_request("/v1/thing").respond_with_data("", status=404)
    with (
        make_client(httpserver.url_for("/v1"), retry_policy=policy) as client,
        pytest.raises(replicate.NotFoundError),
    ):
        client.get("/thing")
    assert [c["response"].status_code for c in policy.calls] == [404]


def test_custom_policy_is_not_consulted_on_success(httpserver: HTTPServer) -> None:
    policy = ScriptedPolicy([])
    httpserver.expect_request("/v1/thing").respond_with_json({})
    with make_client(httpserver.url_for("/v1"), retry_policy=policy) as client:
        client.get("/thing")
    assert policy.calls == []


def test_retry_policy_without_retry_delay_is_rejected() -> None:
    with pytest.raises(TypeError):
        replicate.Replicate(bearer_token=TOKEN, retry_policy=object())  # type: ignore[arg-type]


# --- sync mode: Prefer: wait extends the read timeout -----------------------------------------


def test_prefer_wait_extends_the_read_timeout(slow_server: SlowServer) -> None:
    timeout = Timeout(connect=1, read=0.2)
    with make_client(slow_server.url + "/v1", timeout=timeout, max_retries=0) as client:
        resp = client.post("/predictions", json={}, headers={"Prefer": "wait=1"})
        assert resp.json() == {"ok": True}
        with pytest.raises(replicate.APITimeoutError):
            client.post("/predictions", json={})
    assert len(slow_server.requests) == 2


class TimeoutSpy:
    """A transport that records the timeout each attempt gets and answers 200."""

    def __init__(self) -> None:
        self.timeouts: list[Timeout] = []

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        self.timeouts.append(timeout)
        return Response(200, headers=Headers({}), content=b"{}", request=request)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("prefer", "client_read", "expected_read"),
    [
        (None, 0.2, 0.2),
        ("wait=5", 0.2, 15.0),
        ("wait", 0.2, 70.0),
        ("respond-async, wait=3", 0.2, 13.0),
        ("WAIT = 2", 0.2, 12.0),
        ("wait=junk", 0.2, 70.0),
        ("respond-async", 0.2, 0.2),
        ("wait=5", 100.0, 100.0),
        ("wait=5", None, None),
    ],
)
def test_prefer_wait_timeout_seen_by_the_transport(
    prefer: str | None, client_read: float | None, expected_read: float | None
) -> None:
    spy = TimeoutSpy()
    client = replicate.Replicate(
        bearer_token=TOKEN,
        base_url="http://127.0.0.1:9/v1",
        transport=spy,
        timeout=Timeout(connect=1.5, read=client_read),
    )
    client.post("/predictions", json={}, headers={"Prefer": prefer} if prefer else None)
    assert spy.timeouts == [Timeout(connect=1.5, read=expected_read)]


def test_core_enforces_max_retries_whatever_the_policy_says(httpserver: HTTPServer) -> None:
    class AlwaysRetry:
        def retry_delay(self, **kwargs: object) -> float:
            return 0.0

    httpserver.expect_request("/v1/thing").respond_with_data("", status=503)
    with (
        make_client(httpserver.url_for("/v1"), retry_policy=AlwaysRetry(), max_retries=3) as c,
        pytest.raises(replicate.InternalServerError),
    ):
        c.get("/thing")
    assert len(httpserver.log) == 4
