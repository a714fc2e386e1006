"""The engine end to end through ``Emulator.handle``: routing, auth, the prediction life cycle,
sync mode, Cancel-After, cancel, SSE, trainings, pagination, failures and restarts."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.pages import decode_cursor, encode_cursor, paginate
from replicate_emulator.predictors import Input, sleep
from replicate_emulator.routes_predictions import parse_cancel_after, parse_prefer
from replicate_emulator.runner import RESTART_ERROR
from replicate_emulator.wire import EmuRequest, EmuResponse, HTTPError

ORIGIN = "https://api.replicate.com"
AUTH = [("Authorization", "Bearer r8_test")]


def boom(text: str = "x") -> str:
    raise ValueError(f"bad input {text}")


def waits(seconds: float = Input(default=5.0)) -> str:
    sleep(seconds)
    return "woke"


def numbers(count: int = 3) -> Iterator[dict[str, int]]:
    for n in range(count):
        yield {"n": n}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    models = [("acme/boom", boom), ("acme/waits", waits), ("acme/numbers", numbers)]
    with Emulator(models=models, entry_points=False, min_cancel_after=0.05) as e:
        yield e


def call(
    emu: Emulator,
    method: str,
    target: str,
    body: Any = None,
    headers: list[tuple[str, str]] | None = None,
    origin: str = ORIGIN,
) -> EmuResponse:
    raw = msgspec.json.encode(body) if body is not None else b""
    hdrs = AUTH + (headers or [])
    return emu.handle(EmuRequest.from_target(method, target, hdrs, raw, origin))


def js(resp: EmuResponse) -> Any:
    assert isinstance(resp.body, bytes)
    return msgspec.json.decode(resp.body)


def run(emu: Emulator, model: str, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    resp = call(emu, "POST", f"/v1/models/{model}/predictions", {"input": inputs}, **kw)
    assert resp.status == 201, resp.body
    return js(resp)  # type: ignore[no-any-return]


def wait_done(emu: Emulator, pid: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = js(call(emu, "GET", f"/v1/predictions/{pid}"))
        if doc["status"] in ("succeeded", "failed", "canceled", "aborted"):
            return doc  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, doc
        time.sleep(0.01)


def test_create_without_prefer_is_starting_then_succeeds(emu: Emulator) -> None:
    doc = run(emu, "replicate/hello-world", {"text": "bob"})
    assert doc["status"] == "starting"
    assert doc["urls"]["get"] == f"{ORIGIN}/v1/predictions/{doc['id']}"
    assert doc["urls"]["cancel"].endswith("/cancel")
    # Every prediction has a stream URL, a model without iterator output too (as the API's).
    assert doc["urls"]["stream"] == f"{ORIGIN}/v1/predictions/{doc['id']}/stream"
    assert len(doc["id"]) == 26
    done = wait_done(emu, doc["id"])
    assert done["status"] == "succeeded"
    assert done["output"] == "hello bob"
    assert done["error"] is None
    assert done["started_at"] and done["completed_at"].endswith("Z")
    assert done["metrics"]["predict_time"] >= 0
    assert done["metrics"]["total_time"] >= done["metrics"]["predict_time"]
    assert emu.inputs("replicate/hello-world") == [{"text": "bob"}]
    assert [p["id"] for p in emu.predictions()] == [doc["id"]]


def test_prefer_wait_returns_the_finished_prediction(emu: Emulator) -> None:
    resp = call(
        emu,
        "POST",
        "/v1/predictions",
        {"version": "replicate/hello-world", "input": {}},
        [("Prefer", "wait=5")],
    )
    assert resp.status == 201
    assert resp.header("Preference-Applied") == "wait=5"
    doc = js(resp)
    assert doc["status"] == "succeeded" and doc["output"] == "hello world"


def test_prefer_wait_times_out_with_the_current_state(emu: Emulator) -> None:
    resp = call(
        emu,
        "POST",
        "/v1/models/acme/waits/predictions",
        {"input": {"seconds": 3}},
        [("Prefer", "wait=1")],
    )
    doc = js(resp)
    assert resp.status == 202  # created, without all of its output yet
    assert doc["status"] in ("starting", "processing")
    call(emu, "POST", f"/v1/predictions/{doc['id']}/cancel")


@pytest.mark.parametrize("value", ["wait=0", "wait=61", "wait=abc"])
def test_bad_prefer_is_400(emu: Emulator, value: str) -> None:
    resp = call(
        emu,
        "POST",
        "/v1/models/replicate/hello-world/predictions",
        {"input": {}},
        [("Prefer", value)],
    )
    assert resp.status == 400
    assert "Prefer" in js(resp)["detail"]
    assert emu.predictions() == []


def test_parsers() -> None:
    assert parse_prefer(None) is None
    assert parse_prefer("wait") == 60
    assert parse_prefer("respond-async, wait=7") == 7
    assert parse_cancel_after("1h30m45s", 5) == 5445
    assert parse_cancel_after("90", 5) == 90
    assert parse_cancel_after("500ms", 0.1) == 0.5
    with pytest.raises(HTTPError):
        parse_cancel_after("3s", 5)
    with pytest.raises(HTTPError):
        parse_cancel_after("5x", 5)


def test_version_forms_and_unknown_versions(emu: Emulator) -> None:
    hello = emu.registry.get("replicate/hello-world")
    assert hello is not None
    for version in (hello.version_id, f"replicate/hello-world:{hello.version_id}"):
        resp = call(emu, "POST", "/v1/predictions", {"version": version, "input": {}})
        assert resp.status == 201
        assert js(resp)["version"] == hello.version_id
    resp = call(emu, "POST", "/v1/predictions", {"version": "0" * 64, "input": {}})
    assert resp.status == 422
    assert "version" in js(resp)["detail"]
    resp = call(emu, "POST", "/v1/models/nobody/nothing/predictions", {"input": {}})
    assert resp.status == 404


def test_invalid_input_is_422_naming_the_field(emu: Emulator) -> None:
    resp = call(
        emu, "POST", "/v1/models/replicate/stream-tokens/predictions", {"input": {"max_tokens": 0}}
    )
    assert resp.status == 422
    assert resp.header("Content-Type") == "application/problem+json"
    assert "max_tokens" in js(resp)["detail"]


def test_streaming_output_is_progressive_and_sse_replays(emu: Emulator) -> None:
    doc = run(emu, "replicate/stream-tokens", {"prompt": "hi", "max_tokens": 4, "delay": 0.05})
    stream_url = doc["urls"]["stream"]
    assert stream_url == f"{ORIGIN}/v1/predictions/{doc['id']}/stream"
    seen_partial = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = js(call(emu, "GET", f"/v1/predictions/{doc['id']}"))
        if now["status"] == "processing" and now["output"] and len(now["output"]) < 4:
            seen_partial = True
        if now["status"] == "succeeded":
            break
        time.sleep(0.01)
    assert seen_partial
    resp = call(emu, "GET", f"/v1/predictions/{doc['id']}/stream")
    assert resp.header("Content-Type") == "text/event-stream"
    assert not isinstance(resp.body, bytes)
    text = b"".join(resp.body).decode()
    events = _events(text)
    assert [e["event"] for e in events] == ["output"] * 4 + ["done"]
    assert "".join(e["data"] for e in events[:4]) == "You said: hi. the"
    assert events[-1]["data"] == "{}"
    # resume after the second event
    resp = call(
        emu,
        "GET",
        f"/v1/predictions/{doc['id']}/stream",
        headers=[("Last-Event-ID", events[1]["id"])],
    )
    assert not isinstance(resp.body, bytes)
    again = _events(b"".join(resp.body).decode())
    assert [e["id"] for e in again] == [e["id"] for e in events[2:]]


def test_sse_follows_a_running_prediction(emu: Emulator) -> None:
    doc = run(emu, "replicate/stream-tokens", {"max_tokens": 3, "delay": 0.05})
    resp = call(emu, "GET", f"/v1/predictions/{doc['id']}/stream")
    assert not isinstance(resp.body, bytes)
    events = _events(b"".join(resp.body).decode())
    assert [e["event"] for e in events] == ["output", "output", "output", "done"]


def test_non_string_stream_items_are_json(emu: Emulator) -> None:
    doc = run(emu, "acme/numbers", {"count": 2}, headers=[("Prefer", "wait")])
    assert doc["output"] == [{"n": 0}, {"n": 1}]
    resp = call(emu, "GET", f"/v1/predictions/{doc['id']}/stream")
    assert not isinstance(resp.body, bytes)
    events = _events(b"".join(resp.body).decode())
    assert [msgspec.json.decode(e["data"]) for e in events[:2]] == [{"n": 0}, {"n": 1}]


def _events(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n\n"):
        event: dict[str, str] = {}
        data = []
        for line in block.split("\n"):
            if line.startswith("data: "):
                data.append(line[6:])
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("id: "):
                event["id"] = line[4:]
        if "event" in event:
            event["data"] = "\n".join(data)
            out.append(event)
    return out


def test_failure_sets_error_and_logs(emu: Emulator) -> None:
    doc = run(emu, "acme/boom", {"text": "q"}, headers=[("Prefer", "wait")])
    assert doc["status"] == "failed"
    assert doc["error"] == "bad input q"
    assert "ValueError: bad input q" in doc["logs"]
    resp = call(emu, "GET", f"/v1/predictions/{doc['id']}/stream")
    assert not isinstance(resp.body, bytes)
    events = _events(b"".join(resp.body).decode())
    assert events[-2]["event"] == "error"
    assert msgspec.json.decode(events[-2]["data"]) == {"detail": "bad input q"}
    assert msgspec.json.decode(events[-1]["data"]) == {"reason": "error"}


def test_cancel_a_running_prediction(emu: Emulator) -> None:
    doc = run(emu, "replicate/slow-progress", {"steps": 200, "seconds_per_step": 0.02})
    deadline = time.monotonic() + 10
    while js(call(emu, "GET", f"/v1/predictions/{doc['id']}"))["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    resp = call(emu, "POST", f"/v1/predictions/{doc['id']}/cancel")
    assert resp.status == 200
    assert js(resp)["status"] == "canceled"
    assert emu.wait_idle(5)
    final = js(call(emu, "GET", f"/v1/predictions/{doc['id']}"))
    assert final["status"] == "canceled"
    assert "200/200" not in final["logs"]
    resp = call(emu, "GET", f"/v1/predictions/{doc['id']}/stream")
    assert not isinstance(resp.body, bytes)
    events = _events(b"".join(resp.body).decode())
    assert msgspec.json.decode(events[-1]["data"]) == {"reason": "canceled"}
    # canceling a finished prediction changes nothing
    assert js(call(emu, "POST", f"/v1/predictions/{doc['id']}/cancel"))["status"] == "canceled"
    assert call(emu, "POST", "/v1/predictions/nope/cancel").status == 404


def test_cancel_after_cancels_running_and_aborts_queued() -> None:
    with Emulator(
        models=[("acme/waits", waits)], entry_points=False, min_cancel_after=0.05, workers=1
    ) as emu:
        first = run(emu, "acme/waits", {"seconds": 5}, headers=[("Cancel-After", "300ms")])
        assert first["deadline"].endswith("Z")
        second = run(emu, "acme/waits", {"seconds": 5}, headers=[("Cancel-After", "100ms")])
        assert wait_done(emu, second["id"])["status"] == "aborted"
        assert wait_done(emu, first["id"])["status"] == "canceled"
        bad = call(
            emu,
            "POST",
            "/v1/models/acme/waits/predictions",
            {"input": {}},
            [("Cancel-After", "soon")],
        )
        assert bad.status == 400


def test_file_output_data_url_and_large_file_url(emu: Emulator) -> None:
    doc = run(emu, "replicate/png-image", {"width": 8, "height": 8}, headers=[("Prefer", "wait")])
    assert doc["output"].startswith("data:image/png;base64,")
    png = base64.b64decode(doc["output"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    emu.blobs.inline_limit = 10
    doc = run(emu, "replicate/png-image", {"width": 8, "height": 8}, headers=[("Prefer", "wait")])
    url = doc["output"]
    assert url.startswith(f"{ORIGIN}/emulator/outputs/{doc['id']}/")
    path = url[len(ORIGIN) :]
    got = emu.handle(EmuRequest.from_target("GET", path, [], b"", ORIGIN))  # no token needed
    assert got.status == 200 and got.body == png


def test_list_predictions_newest_first(emu: Emulator) -> None:
    ids = [run(emu, "replicate/hello-world", {"text": str(i)})["id"] for i in range(3)]
    page = js(call(emu, "GET", "/v1/predictions"))
    assert [p["id"] for p in page["results"]] == ids[::-1]
    assert page["next"] is None and page["previous"] is None
    assert call(emu, "GET", "/v1/predictions?cursor=garbage").status == 400


def test_paginate_follows_next_and_previous() -> None:
    items = list(range(5))
    seen: list[int] = []
    target: str | None = "/v1/predictions?created_after=2020-01-01"
    pages_seen = []
    while target:
        req = EmuRequest.from_target("GET", target, AUTH, b"", ORIGIN)
        page = paginate(req, items, page_size=2)
        pages_seen.append(page)
        seen += page["results"]
        nxt = page["next"]
        if nxt:
            assert nxt.startswith(f"{ORIGIN}/v1/predictions?created_after=2020-01-01&cursor=")
        target = nxt[len(ORIGIN) :] if nxt else None
    assert seen == items
    assert [len(p["results"]) for p in pages_seen] == [2, 2, 1]
    assert pages_seen[0]["previous"] is None
    back = pages_seen[2]["previous"]
    req = EmuRequest.from_target("GET", back[len(ORIGIN) :], AUTH, b"", ORIGIN)
    assert paginate(req, items, page_size=2)["results"] == [2, 3]


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(300)) == 300
    with pytest.raises(HTTPError):
        decode_cursor(encode_cursor(3)[:-1] + "A")


def test_routing_errors_and_auth(emu: Emulator) -> None:
    resp = call(emu, "GET", "/v1/nothing/here")
    assert resp.status == 404 and js(resp)["status"] == 404
    resp = call(emu, "DELETE", "/v1/predictions/abc")
    assert resp.status == 405
    assert "GET" in (resp.header("Allow") or "")
    anon = emu.handle(EmuRequest.from_target("GET", "/v1/predictions", [], b"", ORIGIN))
    assert anon.status == 401
    assert js(anon) == {
        "title": "Unauthenticated",
        "detail": "You did not pass an authentication token",
        "status": 401,
    }
    assert call(emu, "GET", "/v1/predictions/unknown").status == 404
    assert call(emu, "GET", "/v1/predictions/").status in (200, 404)


def test_invalid_token_when_tokens_are_configured() -> None:
    with Emulator(entry_points=False, tokens=["r8_good"]) as emu:
        bad = emu.handle(EmuRequest.from_target("GET", "/v1/predictions", AUTH, b"", ORIGIN))
        assert bad.status == 401
        assert js(bad)["detail"] == "You did not pass a valid authentication token"
        good = [("Authorization", "Bearer r8_good")]
        ok = emu.handle(EmuRequest.from_target("GET", "/v1/predictions", good, b"", ORIGIN))
        assert ok.status == 200


def test_handler_bug_is_a_500_problem(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaput")

    monkeypatch.setattr(emu.state, "list", broken)
    resp = call(emu, "GET", "/v1/predictions")
    assert resp.status == 500
    assert "kaput" in js(resp)["detail"]
    assert "RuntimeError: kaput" in emu.errors[-1]


def test_urls_follow_the_request_origin(emu: Emulator) -> None:
    doc = run(emu, "replicate/hello-world", {}, headers=[("Prefer", "wait")])
    other = "http://127.0.0.1:8787"
    got = js(call(emu, "GET", f"/v1/predictions/{doc['id']}", origin=other))
    assert got["urls"]["get"] == f"{other}/v1/predictions/{doc['id']}"


def test_trainings(emu: Emulator) -> None:
    created = js(
        call(
            emu,
            "POST",
            "/v1/models",
            {"owner": "emulator", "name": "tuned", "visibility": "private", "hardware": "cpu"},
        )
    )
    assert created["name"] == "tuned"
    hello = emu.registry.get("replicate/hello-world")
    assert hello is not None
    base = f"/v1/models/replicate/hello-world/versions/{hello.version_id}/trainings"
    bad = call(emu, "POST", base, {"input": {}, "destination": "<invalid>"})
    assert bad.status == 404
    assert js(bad)["detail"] == "The specified training destination does not exist"
    resp = call(emu, "POST", base, {"input": {"steps": 1}, "destination": "emulator/tuned"})
    assert resp.status == 201
    training = js(resp)
    assert training["status"] == "starting"
    assert training["urls"]["get"] == f"{ORIGIN}/v1/trainings/{training['id']}"
    assert emu.wait_idle(10)
    done = js(call(emu, "GET", f"/v1/trainings/{training['id']}"))
    assert done["status"] == "succeeded", done
    new_version = done["output"]["version"]
    assert done["output"]["weights"].startswith(ORIGIN)
    assert emu.catalog.version(new_version) is not None
    pred = js(
        call(
            emu,
            "POST",
            "/v1/predictions",
            {"version": f"emulator/tuned:{new_version}", "input": {"text": "t"}},
            [("Prefer", "wait")],
        )
    )
    assert pred["output"] == "hello t"
    listed = js(call(emu, "GET", "/v1/trainings"))
    assert [t["id"] for t in listed["results"]] == [training["id"]]
    assert js(call(emu, "POST", f"/v1/trainings/{training['id']}/cancel"))["status"] == "succeeded"
    assert call(emu, "GET", "/v1/trainings/nope").status == 404


def test_restart_marks_running_predictions_failed(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    emu = Emulator(models=[("acme/waits", waits)], entry_points=False, state=db)
    finished = run(emu, "replicate/hello-world", {}, headers=[("Prefer", "wait")])
    running = run(emu, "acme/waits", {"seconds": 30})
    emu.close()
    with Emulator(models=[("acme/waits", waits)], entry_points=False, state=db) as again:
        kept = js(call(again, "GET", f"/v1/predictions/{finished['id']}"))
        assert kept["status"] == "succeeded" and kept["output"] == "hello world"
        lost = js(call(again, "GET", f"/v1/predictions/{running['id']}"))
        assert lost["status"] == "failed"
        assert lost["error"] == RESTART_ERROR
        resp = call(again, "GET", f"/v1/predictions/{finished['id']}/stream")
        assert not isinstance(resp.body, bytes)
        events = _events(b"".join(resp.body).decode())
        assert [e["event"] for e in events] == ["output", "done"]


def test_webhooks_are_notified(emu: Emulator) -> None:
    calls: list[tuple[str, str]] = []
    emu.webhooks.notify = lambda doc, event: calls.append((doc["status"], event))  # type: ignore[method-assign]
    run(emu, "replicate/stream-tokens", {"max_tokens": 2, "delay": 0}, headers=[("Prefer", "wait")])
    assert calls[0] == ("processing", "start")
    assert ("processing", "output") in calls
    assert calls[-1] == ("succeeded", "completed")


def test_logs_from_the_predictor(emu: Emulator) -> None:
    doc = run(
        emu,
        "replicate/slow-progress",
        {"steps": 3, "seconds_per_step": 0},
        headers=[("Prefer", "wait")],
    )
    assert doc["status"] == "succeeded"
    assert "3/3" in doc["logs"]


def test_get_is_cheap(emu: Emulator) -> None:
    """``GET /v1/predictions/{id}`` answers cached bytes: far below encoding the doc per call
    plus the request's other work would suggest (a loose bound; the benchmark is stricter)."""
    doc = run(emu, "replicate/hello-world", {}, headers=[("Prefer", "wait")])
    req = EmuRequest.from_target("GET", f"/v1/predictions/{doc['id']}", AUTH, b"", ORIGIN)
    stored = {doc["id"]: doc}
    encode = msgspec.json.encode
    n = 3000

    def base() -> float:
        t = time.process_time()
        for _ in range(n):
            encode(stored[doc["id"]])
        return time.process_time() - t

    def handled() -> float:
        t = time.process_time()
        for _ in range(n):
            emu.handle(req)
        return time.process_time() - t

    assert min(handled() for _ in range(3)) <= 6 * min(base() for _ in range(3))


def test_deployment_predictions(emu: Emulator) -> None:
    hello = emu.registry.get("replicate/hello-world")
    assert hello is not None
    created = call(
        emu,
        "POST",
        "/v1/deployments",
        {
            "name": "greeter",
            "model": "replicate/hello-world",
            "version": hello.version_id,
            "hardware": "cpu",
            "min_instances": 0,
            "max_instances": 1,
        },
    )
    assert created.status in (200, 201), created.body
    owner = js(created)["owner"]
    resp = call(
        emu,
        "POST",
        f"/v1/deployments/{owner}/greeter/predictions",
        {"input": {"text": "dep"}},
        [("Prefer", "wait")],
    )
    assert resp.status == 201
    doc = js(resp)
    assert doc["output"] == "hello dep"
    assert doc["deployment"] == f"{owner}/greeter"
    missing = call(emu, "POST", "/v1/deployments/nobody/none/predictions", {"input": {}})
    assert missing.status == 404


def test_per_model_start_delay_keeps_predictions_starting() -> None:
    delays = {"replicate/hello-world": 0.3}
    with Emulator(entry_points=False, start_delay=delays) as emu:
        slow = run(emu, "replicate/hello-world", {})
        time.sleep(0.1)
        assert js(call(emu, "GET", f"/v1/predictions/{slow['id']}"))["status"] == "starting"
        fast = run(emu, "replicate/stream-tokens", {"max_tokens": 1}, headers=[("Prefer", "wait")])
        assert fast["status"] == "succeeded"
        assert wait_done(emu, slow["id"])["status"] == "succeeded"


def test_more_predictions_than_workers_queue_and_all_finish() -> None:
    with Emulator(entry_points=False, workers=2) as emu:
        ids = [
            run(emu, "replicate/slow-progress", {"steps": 2, "seconds_per_step": 0.02})["id"]
            for _ in range(8)
        ]
        statuses = {js(call(emu, "GET", f"/v1/predictions/{i}"))["status"] for i in ids}
        assert "starting" in statuses  # two workers: the rest wait their turn
        assert emu.wait_idle(10)
        assert {wait_done(emu, i)["status"] for i in ids} == {"succeeded"}
