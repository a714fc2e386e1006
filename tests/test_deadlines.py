"""``timeout=`` bounds the whole call, the create included: creates that stall or never answer,
slow uploads, slow schema fetches and cancels, the sync-mode window and the Ctrl-C shield.

Each call runs with a timeout of 1-1.5 s against a loopback server that holds its answer far
longer (30 s); every held handler is released when its test ends. Timing bounds are generous
(shared, noisy machines) but far below what the server would take.
"""

from __future__ import annotations

import _thread
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID, json_response, prediction, requests_to
from werkzeug import Request, Response

import replicate
from replicate._deadline import DEADLINE_GRACE

#: How long a stalling handler holds its answer (far longer than any bound asserted here).
HELD = 30.0
#: Slack on the upper time bounds, for loaded 2-core machines (still far below ``HELD``).
SLACK = 3.0

CREATE = "/v1/models/acme/hello/predictions"


class _Held:
    """Handlers that record each request they get, then hold it until released (or 30 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen: list[Request] = []

    def handler(self, answer: Response | None = None) -> Any:
        def hold(request: Request) -> Response:
            self.seen.append(request)
            self.release.wait(HELD)
            return answer if answer is not None else json_response({"detail": "too late"}, 500)

        return hold


@pytest.fixture
def held() -> Iterator[_Held]:
    h = _Held()
    try:
        yield h
    finally:
        h.release.set()


class _SilentServer:
    """A raw TCP server that accepts connections and reads requests, but never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.request_lines: list[str] = []
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # No answer ever goes out, so each connection carries one request: record its first line.
        heads: dict[socket.socket, bytes | None] = {}
        while not self._stop.is_set():
            ready, _, _ = select.select([self.listener, *self._conns], [], [], 0.05)
            for sock in ready:
                if sock is self.listener:
                    conn, _ = self.listener.accept()
                    self._conns.append(conn)
                    heads[conn] = b""
                    continue
                data = sock.recv(65536)
                if not data:
                    self._conns.remove(sock)
                    sock.close()
                    continue
                head = heads.get(sock)
                if head is not None:
                    head += data
                    if b"\r\n" in head:
                        self.request_lines.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                        head = None
                    heads[sock] = head

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self.listener.close()


@pytest.fixture
def silent() -> Iterator[_SilentServer]:
    server = _SilentServer()
    try:
        yield server
    finally:
        server.close()


class _SlowServer:
    """A raw TCP server that is slow within every per-operation timeout: it reads a request
    2 KB at a time every 50 ms (``reading="slowly"``), or reads it whole and then sends a
    complete answer one byte every 100 ms (``reading="whole"``)."""

    def __init__(self, reading: str) -> None:
        self.reading = reading
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[int] = []  # bytes read, per connection
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        index = len(self.received)
        self.received.append(0)
        with conn:
            conn.settimeout(0.5)
            try:
                if self.reading == "slowly":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    while not self._stop.wait(0.05):
                        data = conn.recv(2048)
                        if not data:
                            return
                        self.received[index] += len(data)
                    return
                self.received[index] += len(conn.recv(65536))
                body = b'{"id": "p1", "status": "succeeded", "output": "done"}'
                answer = (
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    b"Preference-Applied: wait\r\nContent-Length: %d\r\n\r\n%s"
                ) % (len(body), body)
                for i in range(len(answer)):
                    if self._stop.wait(0.1):
                        return
                    conn.sendall(answer[i : i + 1])
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        self.listener.close()


@pytest.fixture
def slow_reader() -> Iterator[_SlowServer]:
    server = _SlowServer("slowly")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def trickler() -> Iterator[_SlowServer]:
    server = _SlowServer("whole")
    try:
        yield server
    finally:
        server.close()


def _client_of(port: int) -> replicate.Replicate:
    return replicate.Replicate(
        bearer_token=TOKEN,
        base_url=f"http://127.0.0.1:{port}/v1",
        retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005),
    )


def _timed_timeout_error(call: Any) -> tuple[replicate.PredictionTimeoutError, float]:
    started = time.monotonic()
    with pytest.raises(replicate.PredictionTimeoutError) as info:
        call()
    return info.value, time.monotonic() - started


def _assert_unknown_id(error: replicate.PredictionTimeoutError) -> None:
    message = str(error)
    assert error.prediction_id is None
    assert not isinstance(error, replicate.APITimeoutError)  # generic retry code must not resend
    assert "may have been created" in message
    assert "id is unknown" in message
    assert "not sent again" in message
    assert "client.predictions.list(created_after=" in message
    assert "client.predictions.cancel(id)" in message
    assert isinstance(error.__cause__, replicate.APITimeoutError)


# --- the create --------------------------------------------------------------------------------


def test_a_stalled_create_ends_at_the_deadline_plus_the_grace(
    tclient: replicate.Replicate, tserver: HTTPServer, held: _Held
) -> None:
    tserver.expect_request(CREATE, method="POST").respond_with_handler(held.handler())
    timeout = 1.5
    error, elapsed = _timed_timeout_error(
        lambda: tclient.run("acme/hello", input={}, timeout=timeout)
    )
    # the read was cut at the deadline plus the grace: not before, and not 30 s later
    assert timeout + DEADLINE_GRACE - 0.15 < elapsed < timeout + DEADLINE_GRACE + SLACK, elapsed
    _assert_unknown_id(error)
    assert f"POST {CREATE.removeprefix('/v1')}" in str(error)
    assert len(held.seen) == 1  # never sent again
    assert held.seen[0].headers["Prefer"] == "wait=1"  # the window fits in the time left


def test_a_create_that_never_answers_ends_at_the_deadline_plus_the_grace(
    silent: _SilentServer,
) -> None:
    client = replicate.Replicate(bearer_token=TOKEN, base_url=f"http://127.0.0.1:{silent.port}/v1")
    with client:
        error, elapsed = _timed_timeout_error(lambda: client.run("acme/hello", input={}, timeout=1))
    assert 1 + DEADLINE_GRACE - 0.15 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    _assert_unknown_id(error)
    assert silent.request_lines == [f"POST {CREATE} HTTP/1.1"]


@pytest.mark.parametrize("call", ["use", "stream"])
def test_use_and_stream_bound_a_stalled_create_too(
    tclient: replicate.Replicate, tserver: HTTPServer, held: _Held, call: str
) -> None:
    tserver.expect_request("/v1/models/acme/hello").respond_with_json(
        {"owner": "acme", "name": "hello", "latest_version": None}
    )
    tserver.expect_request(CREATE, method="POST").respond_with_handler(held.handler())
    if call == "use":
        function = tclient.use("acme/hello", timeout=1)
        error, elapsed = _timed_timeout_error(lambda: function(prompt="hi"))
    else:
        error, elapsed = _timed_timeout_error(
            lambda: list(tclient.stream("acme/hello", input={}, timeout=1))
        )
    assert 1 + DEADLINE_GRACE - 0.15 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    _assert_unknown_id(error)
    assert len(held.seen) == 1


def test_a_create_refused_before_it_was_sent_keeps_its_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # nothing listens on the port now: every connection is refused, nothing can be created
    with (
        replicate.Replicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{port}/v1",
            retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005),
        ) as client,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        client.run("acme/hello", input={}, timeout=1)
    assert info.value.request_sent is False
    assert not isinstance(info.value, replicate.PredictionTimeoutError)


def test_a_create_whose_connect_hangs_past_the_deadline_created_nothing() -> None:
    # A listening socket whose accept queue is full: connects to it hang without an answer.
    with socket.socket() as server, socket.socket() as filler:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        filler.connect(("127.0.0.1", port))
        with replicate.Replicate(
            bearer_token=TOKEN,
            base_url=f"http://127.0.0.1:{port}/v1",
            retry_policy=replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005),
        ) as client:
            started = time.monotonic()
            with pytest.raises(replicate.PredictionTimeoutError) as info:
                client.run("acme/hello", input={}, timeout=1)
            took = time.monotonic() - started
    assert 1 <= took < 1 + DEADLINE_GRACE + SLACK, took
    assert "no prediction was created" in str(info.value)
    assert info.value.prediction_id is None
    assert isinstance(info.value.__cause__, replicate.APITimeoutError)


# --- before the create: uploads and the schema ------------------------------------------------


def test_a_slow_upload_ends_at_the_deadline_and_creates_nothing(
    tclient: replicate.Replicate, tserver: HTTPServer, held: _Held
) -> None:
    tserver.expect_request("/v1/files", method="POST").respond_with_handler(held.handler())
    tserver.expect_request(CREATE, method="POST").respond_with_response(
        json_response(prediction(tserver, status="succeeded", output="x"), 201)
    )
    error, elapsed = _timed_timeout_error(
        lambda: tclient.run("acme/hello", input={"image": b"\x89PNG" + b"\0" * 64}, timeout=1)
    )
    assert 1 - 0.1 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    assert error.prediction_id is None
    assert "uploading the input files" in str(error)
    assert "no prediction was created" in str(error)
    assert len(held.seen) == 1
    assert requests_to(tserver, "POST", CREATE) == []


def test_an_upload_read_slowly_ends_at_the_deadline(
    slow_reader: _SlowServer, tmp_path: Path
) -> None:
    """Each send of the multipart body stays within its timeout; the deadline ends the whole."""
    image = tmp_path / "big.bin"
    image.write_bytes(b"\0" * 3_000_000)
    with _client_of(slow_reader.port) as client:
        error, elapsed = _timed_timeout_error(
            lambda: client.run("acme/hello", input={"image": image}, timeout=1)
        )
    assert 1 - 0.1 < elapsed < 1 + SLACK, elapsed  # the upload is not under the grace
    assert "uploading the input files" in str(error)
    assert "no prediction was created" in str(error)
    assert 0 < slow_reader.received[0] < 3_000_000  # cut mid-body
    assert len(slow_reader.received) == 1  # never sent again


def test_a_create_answered_a_byte_at_a_time_ends_at_the_deadline_plus_the_grace(
    trickler: _SlowServer,
) -> None:
    with _client_of(trickler.port) as client:
        error, elapsed = _timed_timeout_error(lambda: client.run("acme/hello", input={}, timeout=1))
    assert 1 + DEADLINE_GRACE - 0.1 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    _assert_unknown_id(error)
    assert len(trickler.received) == 1  # one create, never sent again


def test_a_finished_exchange_keeps_its_pooled_connection_past_the_deadline(
    tclient: replicate.Replicate, tserver: HTTPServer
) -> None:
    """The deadline's watch lets go of a connection before it is pooled again: a later request
    on the same connection, after the deadline has passed, is not cut."""
    tserver.expect_request(CREATE, method="POST").respond_with_response(
        json_response(prediction(tserver, status="succeeded", output="x"), 201)
    )
    tserver.expect_request("/v1/predictions/p1").respond_with_json(prediction(tserver))
    assert tclient.run("acme/hello", input={}, timeout=0.3) == "x"
    time.sleep(0.3 + DEADLINE_GRACE + 0.2)  # every timer of that call has fired
    assert tclient.predictions.get(prediction_id="p1").id == "p1"
    assert tclient.predictions.get(prediction_id="p1").id == "p1"


def test_a_slow_schema_fetch_ends_at_the_deadline_and_creates_nothing(
    tclient: replicate.Replicate, tserver: HTTPServer, held: _Held
) -> None:
    tserver.expect_request(f"/v1/models/acme/hello/versions/{VERSION_ID}").respond_with_handler(
        held.handler()
    )
    error, elapsed = _timed_timeout_error(
        lambda: tclient.run(f"acme/hello:{VERSION_ID}", input={}, timeout=1)
    )
    assert 1 - 0.1 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    assert "fetching the model's schema" in str(error)
    assert "no prediction was created" in str(error)
    assert len(held.seen) == 1
    assert requests_to(tserver, "POST", "/v1/predictions") == []


# --- after the create: the cancel ---------------------------------------------------------------


def test_a_slow_cancel_ends_by_the_deadline_plus_the_grace(
    tclient: replicate.Replicate,
    tserver: HTTPServer,
    held: _Held,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    tserver.expect_request(CREATE, method="POST").respond_with_response(
        json_response(prediction(tserver, status="starting"), 201)
    )
    tserver.expect_request("/v1/predictions/p1").respond_with_json(
        prediction(tserver, status="processing")
    )
    tserver.expect_request("/v1/predictions/p1/cancel", method="POST").respond_with_handler(
        held.handler()
    )
    error, elapsed = _timed_timeout_error(
        lambda: tclient.run("acme/hello", input={}, wait=False, timeout=1)
    )
    # the cancel (10 s read timeout, one retry, on its own) was cut at the deadline plus grace
    assert 1 + DEADLINE_GRACE - 0.15 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    assert error.prediction_id == "p1"
    assert len(held.seen) == 1  # not retried past the deadline


# --- the sync-mode window and the Ctrl-C shield -------------------------------------------------


def test_the_sync_mode_window_is_cut_to_whole_seconds_of_the_time_left(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(CREATE, method="POST").respond_with_response(
        json_response(
            prediction(httpserver, status="succeeded", output="ok"),
            201,
            {"Preference-Applied": "wait"},
        )
    )
    calls: list[tuple[dict[str, Any], str | None]] = [
        ({"timeout": 2.5}, "wait=2"),
        ({"timeout": 30, "wait": 5}, "wait=5"),
        ({"timeout": 1.5, "prefer": "wait=30"}, "wait=1"),
        ({"timeout": 1.5, "prefer": "wait, respond-async"}, "wait=1, respond-async"),
        ({"timeout": 0.5}, None),  # less than a second left: no window at all
        ({"timeout": 0.5, "prefer": "wait=3, respond-async"}, "respond-async"),
        ({"timeout": 120}, "wait=60"),
    ]
    for options, _ in calls:
        assert client.run("acme/hello", input={}, **options) == "ok"
    assert [r.headers.get("Prefer") for r, _ in httpserver.log] == [want for _, want in calls]


def test_the_ctrl_c_shield_of_a_create_gives_up_at_the_deadline_plus_the_grace(
    tclient: replicate.Replicate, tserver: HTTPServer, held: _Held
) -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    tserver.expect_request(CREATE, method="POST").respond_with_handler(held.handler())
    timer = threading.Timer(0.2, _thread.interrupt_main)
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            tclient.run("acme/hello", input={}, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
    # the interrupt was held while the create could still be answered, and no longer
    assert 1 + DEADLINE_GRACE - 0.15 < elapsed < 1 + DEADLINE_GRACE + SLACK, elapsed
    assert len(held.seen) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_request_timeouts_carry_the_exchange_deadline() -> None:
    import pickle

    from replicate._deadline import Deadline

    deadline = Deadline(10)
    assert deadline.at is not None
    base = replicate.Timeout(connect=5, read=60)
    clipped = deadline.clip(base)
    assert clipped.deadline == deadline.at
    assert clipped.connect == 5 and clipped.read is not None and 9 < clipped.read <= 10
    graced = deadline.graced().clip(base)
    assert graced.deadline == deadline.at + DEADLINE_GRACE
    assert graced.read is not None and 10 < graced.read <= 10 + DEADLINE_GRACE
    near = Deadline(0.5)
    # The create's connect ends by the deadline itself: one not sent by then creates nothing.
    graced_near = near.graced().clip(base)
    assert graced_near.connect is not None and graced_near.connect <= 0.5
    assert graced_near.read is not None and graced_near.read > 0.5
    assert base.deadline is None and Deadline(None).clip(base) is base
    # A monotonic reading means nothing in another process: a pickle leaves it out.
    again = pickle.loads(pickle.dumps(clipped))
    assert again.deadline is None and (again.connect, again.read) == (clipped.connect, clipped.read)
