"""Webhook deliveries to a real HTTP server on 127.0.0.1, checked with the SDK's validator."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from replicate_emulator.state import MemoryState, open_state
from replicate_emulator.webhooks import Webhooks, new_secret, sign

import replicate.webhooks

#: The team's reference data: REPLICATE_REFERENCE_DIR (absolute, as CI sets it), else
#: ../shared/reference beside the checkout, as the core's tests find it.
REFERENCE = Path(
    os.environ.get("REPLICATE_REFERENCE_DIR")
    or Path(__file__).resolve().parents[3].parent / "shared/reference"
)
VECTOR = REFERENCE / "v1-cassettes/fixtures/webhook-signature-vector.json"


class Receiver:
    """A webhook endpoint: records each request; answers with the statuses queued in
    ``script`` (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver.arrived.notify_all()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"{receiver.url}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < n and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooks() -> Iterator[Webhooks]:
    w = Webhooks(retry_delays=(0.05, 0.05), throttle=0.3)
    yield w
    w.close()


def prediction(url: str, **extra: Any) -> dict[str, Any]:
    doc = {
        "id": "p1",
        "model": "replicate/hello-world",
        "version": "a" * 64,
        "input": {"text": "world"},
        "output": None,
        "status": "starting",
        "webhook": url,
    }
    doc.update(extra)
    return doc


def test_signed_delivery_passes_the_sdk_validator(receiver: Receiver, hooks: Webhooks) -> None:
    doc = prediction(receiver.url + "/hook", status="succeeded", output="hello world")
    hooks.notify(doc, "completed")
    assert hooks.wait_delivered(5)
    [got] = receiver.wait_for(1)
    assert got["path"] == "/hook"
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"]
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert replicate.webhooks.validate(
        headers=got["headers"], body=got["body"], secret=hooks.secret
    )
    assert json.loads(got["body"]) == doc
    # A different secret, or a changed body, fails.
    with pytest.raises(replicate.webhooks.WebhookVerificationError):
        replicate.webhooks.validate(headers=got["headers"], body=got["body"], secret=new_secret())
    with pytest.raises(replicate.webhooks.WebhookVerificationError):
        replicate.webhooks.validate(
            headers=got["headers"], body=got["body"] + b" ", secret=hooks.secret
        )
    [delivery] = hooks.sent
    assert delivery.ok and delivery.status == 200 and delivery.attempt == 1
    assert delivery.event == "completed" and delivery.payload == doc
    assert delivery.webhook_id == headers["webhook-id"] and delivery.url == receiver.url + "/hook"


def test_sign_matches_the_published_vector() -> None:
    if not VECTOR.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the webhook signature test vector is missing: {VECTOR}")
        pytest.skip(f"reference data missing ({VECTOR}); set REPLICATE_REFERENCE_DIR")
    vector = json.loads(VECTOR.read_text())
    headers = {k.lower(): v for k, v in vector["headers"].items()}
    signature = sign(
        vector["secret_key"],
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        vector["body"].encode(),
    )
    assert signature == headers["webhook-signature"]


def test_default_filter_is_output_and_completed(receiver: Receiver, hooks: Webhooks) -> None:
    doc = prediction(receiver.url)
    for event in ("start", "logs", "output", "completed"):
        hooks.notify(doc, event)
    assert hooks.wait_delivered(5)
    assert [d.event for d in hooks.sent] == ["output", "completed"]


def test_explicit_filter(receiver: Receiver, hooks: Webhooks) -> None:
    doc = prediction(receiver.url, webhook_events_filter=["start", "completed"])
    for event in ("start", "logs", "output", "completed"):
        hooks.notify(doc, event)
    assert hooks.wait_delivered(5)
    assert [d.event for d in hooks.sent] == ["start", "completed"]
    assert len(receiver.wait_for(2)) == 2


def test_no_webhook_no_delivery(hooks: Webhooks) -> None:
    hooks.notify({"id": "p1", "status": "succeeded"}, "completed")
    hooks.notify({"id": "p1", "webhook": None}, "completed")
    assert hooks.wait_delivered(1)
    assert hooks.sent == []


def test_output_and_logs_are_throttled_newest_state_follows(
    receiver: Receiver, hooks: Webhooks
) -> None:
    filt = ["output", "logs"]
    for n in range(5):
        hooks.notify(
            prediction(receiver.url, output=[str(n)], webhook_events_filter=filt), "output"
        )
    assert hooks.wait_delivered(5)
    outputs = [d.payload["output"] for d in hooks.sent]
    # The first change goes at once; the others came within the window, so only the newest
    # of them is delivered, once the window has passed.
    assert outputs == [["0"], ["4"]]
    got = receiver.wait_for(2)
    times = [d.timestamp for d in hooks.sent]
    assert len(got) == 2 and times[1] >= times[0]


def test_throttle_window_respected(receiver: Receiver) -> None:
    hooks = Webhooks(throttle=0.4)
    try:
        doc = prediction(receiver.url, webhook_events_filter=["logs"])
        start = time.monotonic()
        hooks.notify(doc, "logs")
        hooks.notify({**doc, "logs": "more"}, "logs")
        assert hooks.wait_delivered(5)
        assert time.monotonic() - start >= 0.35
        assert [d.payload.get("logs") for d in hooks.sent] == [None, "more"]
    finally:
        hooks.close()


def test_completed_supersedes_a_throttled_change(receiver: Receiver, hooks: Webhooks) -> None:
    doc = prediction(receiver.url, webhook_events_filter=["output", "completed"])
    hooks.notify({**doc, "output": ["a"]}, "output")
    hooks.notify({**doc, "output": ["a", "b"]}, "output")  # throttled
    hooks.notify({**doc, "output": ["a", "b"], "status": "succeeded"}, "completed")
    assert hooks.wait_delivered(5)
    assert [(d.event, d.payload["status"]) for d in hooks.sent] == [
        ("output", "starting"),
        ("completed", "succeeded"),
    ]


def test_start_and_completed_are_never_throttled(receiver: Receiver, hooks: Webhooks) -> None:
    doc = prediction(receiver.url, webhook_events_filter=["start", "output", "completed"])
    hooks.notify(doc, "start")
    hooks.notify(doc, "output")
    hooks.notify({**doc, "status": "succeeded"}, "completed")
    assert hooks.wait_delivered(5)
    assert [d.event for d in hooks.sent] == ["start", "output", "completed"]


def test_throttle_is_per_prediction(receiver: Receiver, hooks: Webhooks) -> None:
    hooks.notify(prediction(receiver.url, id="p1"), "output")
    hooks.notify(prediction(receiver.url, id="p2"), "output")
    hooks.wait_delivered(5)
    assert sorted(d.payload["id"] for d in hooks.sent) == ["p1", "p2"]
    assert all(d.attempt == 1 for d in hooks.sent)


def test_failed_attempts_are_retried_with_the_same_id(receiver: Receiver, hooks: Webhooks) -> None:
    receiver.script = [500, 503]
    hooks.notify(prediction(receiver.url, status="succeeded"), "completed")
    assert hooks.wait_delivered(5)
    assert [(d.attempt, d.status, d.ok) for d in hooks.sent] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    got = receiver.wait_for(3)
    ids = {{k.lower(): v for k, v in r["headers"].items()}["webhook-id"] for r in got}
    assert len(ids) == 1
    for r in got:  # each attempt is signed for its own timestamp
        assert replicate.webhooks.validate(
            headers=r["headers"], body=r["body"], secret=hooks.secret
        )
    assert hooks.deliveries("p1", event="completed") == hooks.sent
    assert hooks.deliveries("other") == []


def test_retries_stop_after_the_last_delay(receiver: Receiver, hooks: Webhooks) -> None:
    receiver.script = [500] * 10
    hooks.notify(prediction(receiver.url), "completed")
    assert hooks.wait_delivered(5)
    assert [d.attempt for d in hooks.sent] == [1, 2, 3]
    assert len(receiver.wait_for(3)) == 3 and not any(d.ok for d in hooks.sent)


def test_redirects_are_not_followed(receiver: Receiver, hooks: Webhooks) -> None:
    receiver.script = [302]
    hooks.notify(prediction(receiver.url + "/hook"), "completed")
    assert hooks.wait_delivered(5)
    assert [(d.status, d.url) for d in hooks.sent] == [
        (302, receiver.url + "/hook"),
        (200, receiver.url + "/hook"),
    ]
    assert [r["path"] for r in receiver.wait_for(2)] == ["/hook", "/hook"]


def test_unreachable_receiver_records_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hooks = Webhooks(retry_delays=(0.01,))
    try:
        hooks.notify(prediction(f"http://127.0.0.1:{port}/"), "completed")
        assert hooks.wait_delivered(5)
        assert [d.attempt for d in hooks.sent] == [1, 2]
        assert all(d.status is None and d.error for d in hooks.sent)
    finally:
        hooks.close()


def test_not_an_http_url_is_not_retried() -> None:
    hooks = Webhooks(retry_delays=(0.01,))
    try:
        hooks.notify(prediction("ftp://example.invalid/x"), "completed")
        assert hooks.wait_delivered(5)
        [delivery] = hooks.sent
        assert delivery.error and delivery.status is None
    finally:
        hooks.close()


def test_slow_receiver_does_not_block_notify(receiver: Receiver) -> None:
    hooks = Webhooks(timeout=0.2, retry_delays=())
    try:
        start = time.monotonic()
        for n in range(20):
            hooks.notify(prediction(receiver.url, id=f"p{n}"), "completed")
        assert time.monotonic() - start < 0.5
        assert hooks.wait_delivered(10)
        assert len(hooks.sent) == 20
    finally:
        hooks.close()


def test_wait_delivered_times_out_while_retries_are_pending(receiver: Receiver) -> None:
    receiver.script = [500]
    hooks = Webhooks(retry_delays=(5.0,))
    try:
        hooks.notify(prediction(receiver.url), "completed")
        assert not hooks.wait_delivered(0.5)
        assert [d.status for d in hooks.sent] == [500]
    finally:
        hooks.close()
    # Closed: later changes are not delivered.
    hooks.notify(prediction(receiver.url), "completed")
    assert hooks.wait_delivered(0.2)
    assert len(hooks.sent) == 1


def test_close_stops_the_worker(receiver: Receiver) -> None:
    hooks = Webhooks()
    hooks.notify(prediction(receiver.url), "completed")
    assert hooks.wait_delivered(5)
    thread = hooks._thread
    assert thread is not None and thread.is_alive()
    hooks.close()
    assert not thread.is_alive()


def test_secret_given_kept_or_made(tmp_path: Path) -> None:
    given = new_secret()
    assert Webhooks(secret=given).secret == given
    with pytest.raises(ValueError):
        Webhooks(secret="whsec_!!!")
    state = MemoryState()
    made = Webhooks(state=state).secret
    assert made.startswith("whsec_") and Webhooks(state=state).secret == made
    assert Webhooks().secret != Webhooks().secret
    # Kept across a restart of a state file.
    path = tmp_path / "state.db"
    first = open_state(path)
    secret = Webhooks(state=first).secret
    first.close()
    again = open_state(path)
    assert Webhooks(state=again).secret == secret
    again.close()


def test_internal_fields_are_not_sent(receiver: Receiver, hooks: Webhooks) -> None:
    hooks.notify({**prediction(receiver.url), "_token": "secret"}, "completed")
    [got] = receiver.wait_for(1)
    assert "_token" not in json.loads(got["body"])
