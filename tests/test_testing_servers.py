"""``replicate.testing``'s helpers for plugin authors: the scripted loopback server, the isolated
environment and the thread race."""

from __future__ import annotations

import os
import threading

import pytest

import replicate
from replicate.testing import (
    PREDICTION_ID,
    ScriptServer,
    isolated_environment,
    json_response,
    prediction,
    refused_port,
    run_in_threads,
    sse_event,
    stream_response,
)


def test_script_server_answers_routes_in_turn_and_records_requests() -> None:
    with ScriptServer() as server:
        server.route("/v1/x", json_response({"n": 1}), json_response({"n": 2}, status=201))
        with replicate.Replicate(bearer_token="t", base_url=server.url("/v1"), max_retries=0) as c:
            assert [c.get("/x").json() for _ in range(3)] == [{"n": 1}, {"n": 2}, {"n": 2}]
            r = c.post("/x?q=1", json={"a": 1})
            assert r.status_code == 201
            with pytest.raises(replicate.NotFoundError):
                c.get("/nowhere")
    method, path, headers, body = server.requests[3]
    assert (method, path, body) == ("POST", "/v1/x", b'{"a":1}')
    assert headers["authorization"] == "Bearer t"
    assert len(server.hits("/v1/x")) == 4 and server.hits("/v1/nowhere")


def test_script_server_streams_events() -> None:
    with ScriptServer() as server:
        pid = PREDICTION_ID
        server.route(f"/v1/predictions/{pid}", json_response(prediction(server, "processing")))
        done = sse_event("done", "{}")
        server.route(f"/stream/{pid}", stream_response(sse_event("output", "a\nb", "1"), done))
        with replicate.Replicate(bearer_token="t", base_url=server.url("/v1")) as c:
            events = [(e.event, e.data, e.id) for e in c.predictions.stream(pid)]
    assert events == [("output", "a\nb", "1")]
    assert sse_event("x", "y", crlf=True) == b"event: x\r\ndata: y\r\n\r\n"


def test_refused_port_refuses() -> None:
    with (
        replicate.Replicate(
            bearer_token="t", base_url=f"http://127.0.0.1:{refused_port()}/v1", max_retries=0
        ) as c,
        pytest.raises(replicate.APIConnectionError),
    ):
        c.get("/x")


def test_isolated_environment_clears_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_x")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:1")
    monkeypatch.setenv("SSL_CERT_FILE", "/nowhere")
    monkeypatch.delenv("REPLICATE_PLUGINS", raising=False)
    with isolated_environment("my-plugin", clear=("SSL_CERT_",), REPLICATE_POLL_INTERVAL="0.01"):
        assert "REPLICATE_API_TOKEN" not in os.environ and "HTTPS_PROXY" not in os.environ
        assert "SSL_CERT_FILE" not in os.environ
        assert os.environ["REPLICATE_PLUGINS"] == "my-plugin"
        assert os.environ["REPLICATE_POLL_INTERVAL"] == "0.01"
    assert os.environ["REPLICATE_API_TOKEN"] == "r8_x"
    assert os.environ["HTTPS_PROXY"] == "http://proxy:1"
    assert os.environ["SSL_CERT_FILE"] == "/nowhere"
    assert "REPLICATE_PLUGINS" not in os.environ


def test_run_in_threads_runs_together_and_raises_the_first_error() -> None:
    seen: set[int] = set()
    run_in_threads(lambda: seen.add(threading.get_ident()), 4, together=True)
    assert len(seen) == 4

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_in_threads(fail, 3)
