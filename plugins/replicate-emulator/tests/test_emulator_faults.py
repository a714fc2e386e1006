"""Fault rules: which requests they hit, what they do, and that seeded ones repeat exactly."""

from __future__ import annotations

import time

import msgspec
import pytest
from replicate_emulator.faults import FaultRule, Faults
from replicate_emulator.wire import EmuRequest, EmuResponse


def request(method: str = "POST", path: str = "/v1/predictions") -> EmuRequest:
    return EmuRequest.from_target(method, path, [("Authorization", "Bearer t")], b"", "https://x")


def ok() -> EmuResponse:
    return EmuResponse(200, [("Content-Type", "application/json")], b'{"ok": true}')


def outcomes(faults: Faults, n: int, key: str = "POST /v1/predictions") -> list[int | None]:
    found = []
    for _ in range(n):
        resp = faults.before(request(), key)
        found.append(None if resp is None else resp.status)
    return found


def test_no_rules_no_effect() -> None:
    faults = Faults()
    resp = ok()
    assert faults.before(request(), "POST /v1/predictions") is None
    assert faults.after(request(), "POST /v1/predictions", resp) is resp
    assert resp.drop is None and resp.truncate is None and resp.stall is None


@pytest.mark.parametrize(
    ("route", "hit"),
    [
        ("*", True),
        ("POST /v1/predictions/{id}/cancel", True),
        ("/v1/predictions/{id}/cancel", True),
        ("* /v1/predictions/*", True),
        ("POST /v1/predictions/abc/cancel", True),
        ("post /v1/predictions/*/cancel", True),
        ("GET /v1/predictions/{id}/cancel", False),
        ("POST /v1/predictions", False),
        ("/v1/models/*", False),
    ],
)
def test_route_matching(route: str, hit: bool) -> None:
    faults = Faults([{"route": route, "status": 503}])
    req = request("POST", "/v1/predictions/abc/cancel")
    resp = faults.before(req, "POST /v1/predictions/{id}/cancel")
    assert (resp is not None) is hit
    if hit:
        assert resp is not None and resp.status == 503
        doc = msgspec.json.decode(resp.body)  # type: ignore[arg-type]
        assert doc["status"] == 503 and doc["detail"]


def test_status_with_times_answers_that_many_then_stops() -> None:
    faults = Faults()
    rule = faults.add(route="POST /v1/predictions", status=502, times=2)
    assert outcomes(faults, 4) == [502, 502, None, None]
    assert rule.fired == 2 and rule.exhausted
    assert outcomes(faults, 1, key="GET /v1/predictions") == [None]


def test_status_list_picks_among_codes() -> None:
    faults = Faults([{"status": [500, 503], "seed": 7}])
    seen = set(outcomes(faults, 40))
    assert seen == {500, 503}


def test_seeded_error_rate_repeats_exactly() -> None:
    def run(seed: int) -> list[int | None]:
        return outcomes(Faults([{"error_rate": 0.5, "status": 500}], seed=seed), 60)

    first = run(42)
    assert first == run(42)
    errors = first.count(500)
    assert 15 <= errors <= 45  # about half
    assert first != run(43)


def test_rule_seed_wins_over_faults_seed() -> None:
    a = outcomes(Faults([{"probability": 0.3, "status": 500, "seed": "x"}], seed=1), 50)
    b = outcomes(Faults([{"probability": 0.3, "status": 500, "seed": "x"}], seed=2), 50)
    assert a == b
    assert 0 < a.count(500) < 50


def test_probability_and_times_combined() -> None:
    faults = Faults([{"probability": 0.5, "status": 500, "times": 3}], seed=5)
    found = outcomes(faults, 100)
    assert found.count(500) == 3
    assert faults.rules[0].fired == 3


def test_burst_429() -> None:
    faults = Faults([{"route": "POST /v1/predictions", "burst_429": 3}])
    found = []
    for _ in range(5):
        resp = faults.before(request(), "POST /v1/predictions")
        found.append(resp)
    assert [r.status if r else None for r in found] == [429, 429, 429, None, None]
    first = found[0]
    assert first is not None and first.header("Retry-After") == "1"
    assert "throttled" in msgspec.json.decode(first.body)["detail"]  # type: ignore[arg-type]


def test_latency_delays_the_request() -> None:
    faults = Faults([{"route": "GET /v1/models", "latency": 0.15}])
    start = time.monotonic()
    assert faults.before(request("GET", "/v1/models"), "GET /v1/models") is None
    assert time.monotonic() - start >= 0.15
    start = time.monotonic()
    faults.before(request(), "POST /v1/predictions")
    assert time.monotonic() - start < 0.1


def test_latencies_of_rules_add_up() -> None:
    slept: list[float] = []
    faults = Faults([{"latency": 0.5}, {"latency": 0.25}], sleep=slept.append)
    faults.before(request(), "POST /v1/predictions")
    assert slept == [0.75]


def test_drop_before_answers_without_routing() -> None:
    faults = Faults([{"drop": "before", "times": 1}])
    resp = faults.before(request(), "POST /v1/predictions")
    assert resp is not None and resp.drop == "before"
    assert faults.before(request(), "POST /v1/predictions") is None


def test_after_sets_drop_mid_truncate_and_stall() -> None:
    faults = Faults(
        [
            {"route": "GET /v1/predictions/{id}", "drop": "mid"},
            {"route": "GET /v1/models", "truncate": 5},
            {"route": "GET /v1/predictions/{id}/stream", "stall_sse": 2.0},
        ]
    )
    req = request("GET", "/v1/predictions/p1")
    assert faults.before(req, "GET /v1/predictions/{id}") is None
    assert faults.after(req, "GET /v1/predictions/{id}", ok()).drop == "mid"

    req = request("GET", "/v1/models")
    assert faults.before(req, "GET /v1/models") is None
    resp = faults.after(req, "GET /v1/models", ok())
    assert resp.truncate == 5 and resp.drop is None

    req = request("GET", "/v1/predictions/p1/stream")
    faults.before(req, "GET /v1/predictions/{id}/stream")
    stream = EmuResponse(200, [("Content-Type", "text/event-stream")], iter([b"a", b"b"]))
    assert faults.after(req, "GET /v1/predictions/{id}/stream", stream).stall == 2.0


def test_stall_only_applies_to_streams() -> None:
    faults = Faults([{"stall_sse": 1.0}])
    req = request("GET", "/v1/models")
    faults.before(req, "GET /v1/models")
    assert faults.after(req, "GET /v1/models", ok()).stall is None


def test_after_without_before_decides_itself() -> None:
    faults = Faults([{"truncate": 3, "times": 1}])
    req = request("GET", "/v1/models")
    assert faults.after(req, "GET /v1/models", ok()).truncate == 3
    assert faults.after(request("GET", "/v1/models"), "GET /v1/models", ok()).truncate is None


def test_times_counts_a_request_once_across_before_and_after() -> None:
    faults = Faults([{"truncate": 3, "times": 2}])
    for _ in range(2):
        req = request("GET", "/v1/models")
        faults.before(req, "GET /v1/models")
        assert faults.after(req, "GET /v1/models", ok()).truncate == 3
    req = request("GET", "/v1/models")
    faults.before(req, "GET /v1/models")
    assert faults.after(req, "GET /v1/models", ok()).truncate is None


def test_admin_routes_are_never_faulted() -> None:
    faults = Faults([{"drop": "before"}, {"truncate": 1}])
    req = request("DELETE", "/emulator/faults")
    assert faults.before(req, "DELETE /emulator/faults") is None
    assert faults.after(req, "DELETE /emulator/faults", ok()).truncate is None
    # Other emulator routes (output files) can be faulted.
    req = request("GET", "/emulator/outputs/p1/out.png")
    resp = faults.before(req, "GET /emulator/outputs/{prediction_id}/{name}")
    assert resp is not None and resp.drop == "before"


def test_add_clear_and_json() -> None:
    faults = Faults(seed=3)
    rule = faults.add({"route": "GET /v1/models", "status": 500, "times": 1})
    faults.add(FaultRule(latency=0.0, truncate=4))
    assert len(faults.rules) == 2
    doc = faults.as_json()
    assert doc["seed"] == 3
    assert doc["rules"][0]["route"] == "GET /v1/models"
    assert doc["rules"][0]["status"] == 500 and doc["rules"][0]["fired"] == 0
    assert msgspec.json.decode(msgspec.json.encode(doc)) == doc
    faults.before(request("GET", "/v1/models"), "GET /v1/models")
    assert rule.fired == 1 and faults.as_json()["rules"][0]["fired"] == 1
    faults.clear()
    assert faults.rules == [] and faults.as_json()["rules"] == []


def test_from_option_shapes() -> None:
    assert Faults.from_option(None).rules == []
    same = Faults()
    assert Faults.from_option(same) is same
    assert len(Faults.from_option([{"status": 500}, FaultRule(drop="mid")]).rules) == 2
    assert Faults.from_option({"status": 503}).rules[0].status == 503
    built = Faults.from_option('{"seed": 9, "rules": [{"route": "*", "latency": 0.1}]}')
    assert built.seed == 9 and built.rules[0].latency == 0.1
    assert Faults.from_option(FaultRule(status=500)).rules[0].status == 500
    with pytest.raises(ValueError, match="unknown"):
        Faults.from_option({"rules": [], "bogus": 1})
    with pytest.raises(TypeError):
        Faults.from_option(42)


@pytest.mark.parametrize(
    "doc",
    [
        {"nope": 1},
        {"drop": "sideways"},
        {"error_rate": 2},
        {"probability": -0.1},
        {"latency": -1},
        {"status": 200},
        {"status": []},
        {"times": -1},
        {"truncate": True},
        {"route": ""},
        {"retry_after": -1},
        {"cut_body": -1},
        {"sse_retry": 1.5},
        {"redirect": "localhost"},
        {"redirect": "http://x", "redirect_status": 200},
        {"body": 5},
    ],
)
def test_invalid_rules_are_refused(doc: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Faults([doc])


def test_add_takes_a_rule_or_keywords_not_both() -> None:
    with pytest.raises(TypeError):
        Faults().add({"status": 500}, latency=1.0)


def test_burst_429_says_retry_after_in_seconds_or_as_a_date() -> None:
    from email.utils import parsedate_to_datetime

    seconds = Faults([{"burst_429": 1, "retry_after": 0.25}]).before(request(), "k")
    assert seconds is not None and seconds.header("Retry-After") == "0.25"
    assert Faults([{"burst_429": 1}]).before(request(), "k").header("Retry-After") == "1"  # type: ignore[union-attr]
    dated = Faults([{"burst_429": 1, "retry_after": 30, "retry_after_date": True}])
    resp = dated.before(request(), "k")
    assert resp is not None and resp.status == 429
    when = parsedate_to_datetime(resp.header("Retry-After") or "").timestamp()
    assert 25 < when - time.time() <= 30


def test_an_error_page_of_its_own() -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    resp = Faults([{"status": 502, "body": html}]).before(request(), "k")
    assert resp is not None and resp.status == 502 and resp.body == html.encode()
    assert (resp.header("Content-Type") or "").startswith("text/html")
    typed = Faults([{"status": 503, "body": "down", "content_type": "text/plain"}])
    assert typed.before(request(), "k").header("Content-Type") == "text/plain"  # type: ignore[union-attr]


def test_redirect_to_another_origin_keeps_path_and_query() -> None:
    faults = Faults([{"redirect": "http://localhost:9/", "times": 1}])
    req = EmuRequest.from_target("GET", "/v1/predictions?cursor=a%20b", [], b"", "https://x")
    resp = faults.before(req, "GET /v1/predictions")
    assert resp is not None and resp.status == 307
    assert resp.header("Location") == "http://localhost:9/v1/predictions?cursor=a+b"
    assert faults.before(req, "GET /v1/predictions") is None


def test_cut_body_keeps_the_start_of_the_answer_as_all_of_it() -> None:
    faults = Faults([{"cut_body": 5, "times": 1}])
    req = request("GET", "/v1/models")
    resp = faults.after(req, "GET /v1/models", ok())
    assert resp.body == b'{"ok"' and resp.truncate is None and resp.drop is None
    assert faults.after(req, "GET /v1/models", ok()).body == b'{"ok": true}'


def test_sse_retry_rewrites_the_streams_retry_lines() -> None:
    faults = Faults([{"sse_retry": 10}])
    stream = EmuResponse(200, [], iter([b"retry: 1000\n\n", b"event: output\ndata: x\n\n"]))
    req = request("GET", "/v1/predictions/p/stream")
    resp = faults.after(req, "GET /v1/predictions/{id}/stream", stream)
    assert b"".join(resp.body) == b"retry: 10\n\nevent: output\ndata: x\n\n"  # type: ignore[arg-type]


def test_a_rule_with_no_effect_counts_the_requests_it_matches() -> None:
    faults = Faults()
    counter = faults.add(route="POST /v1/predictions")
    faults.add(route="POST /v1/predictions", status=503, times=1)
    assert outcomes(faults, 3) == [503, None, None]
    assert counter.fired == 3
