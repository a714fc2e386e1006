"""The in-process sync transport: the SDK's client answered by a real Emulator, no socket."""

from __future__ import annotations

import io
import pickle
import threading
import time

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.transport import PLACEHOLDER_TOKEN, EmulatorTransport, default_emulator

import replicate
from replicate import Request, Timeout

API = "https://api.replicate.com/v1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def emu():
    emulator = Emulator(rate_limits=False)
    yield emulator
    emulator.close()


@pytest.fixture
def client(emu):
    with replicate.Replicate(transport=EmulatorTransport(emu), base_url=API) as c:
        yield c


def _get(transport, path, **headers):
    return Request("GET", API + path, headers={"Authorization": "Bearer t", **headers})


def _finished(client, emu):
    """A succeeded hello-world prediction's id."""
    prediction = client.models.predictions.create(
        "replicate", "hello-world", input={"text": "x"}, wait=True
    )
    assert prediction.status == "succeeded"
    return prediction.id


def test_run_answers_in_process(client, emu):
    assert client.run("replicate/hello-world", input={"text": "x"}) == "hello x"
    (doc,) = emu.predictions()
    assert doc["status"] == "succeeded"
    assert doc["input"] == {"text": "x"}
    assert doc["urls"]["get"].startswith("https://api.replicate.com/v1/predictions/")


def test_the_transport_name_needs_no_token(monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    with replicate.Replicate(transport="emulator") as c:
        prediction = c.models.predictions.create("replicate", "hello-world", input={"text": "n"})
    ids = [doc["id"] for doc in default_emulator().predictions()]
    assert prediction.id in ids
    assert default_emulator() is default_emulator()


def test_the_placeholder_token_is_sent_without_one(monkeypatch, emu):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    seen = []
    handle = emu.handle
    transport = EmulatorTransport(emu)
    # The real emulator answers; its handle is wrapped to see the header it was given.
    transport._handle = lambda req: seen.append(req.headers.get("authorization")) or handle(req)
    with replicate.Replicate(transport=transport, base_url=API) as c:
        c.predictions.list()
    assert seen == [f"Bearer {PLACEHOLDER_TOKEN}"]


def test_get_and_list_round_trip(client, emu):
    pid = _finished(client, emu)
    got = client.predictions.get(pid)
    assert got.id == pid and got.output == "hello x"
    assert [p.id for p in client.predictions.list()] == [pid]


def test_an_unknown_prediction_is_a_404(client):
    with pytest.raises(replicate.NotFoundError):
        client.predictions.get("nope")


def test_a_missing_token_is_a_401(emu):
    transport = EmulatorTransport(emu)
    response = transport.send(Request("GET", API + "/predictions"), timeout=Timeout())
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthenticated"
    assert response.headers["CONTENT-TYPE"] == "application/problem+json"


def test_streamed_tokens(client):
    events = list(
        client.stream(
            "replicate/stream-tokens", input={"prompt": "hi", "max_tokens": 5, "delay": 0}
        )
    )
    text = "".join(str(e) for e in events)
    assert text == "You said: hi. the quick"


def test_a_file_output_small_and_large(client):
    small = client.run("replicate/png-image", input={"width": 8, "height": 8})
    assert isinstance(small, replicate.FileOutput)
    assert small.read().startswith(PNG_SIGNATURE)
    # Seeded noise does not compress: far above the inline limit, so served from a URL on the
    # request's origin and downloaded through this same transport.
    large = client.run("replicate/png-image", input={"width": 512, "height": 512, "seed": 1})
    assert isinstance(large, replicate.FileOutput)
    assert large.url.startswith("https://api.replicate.com/")
    data = large.read()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 512 * 512


def test_request_bodies_of_every_kind(emu):
    transport = EmulatorTransport(emu)
    body = b'{"input": {"text": "body"}}'
    url = API + "/models/replicate/hello-world/predictions"
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    for content in (body, io.BytesIO(body), iter([body[:5], body[5:]]), [body[:3], body[3:]]):
        response = transport.send(
            Request("POST", url, headers=headers, content=content), timeout=Timeout()
        )
        assert response.status_code == 201, response.content
    assert [doc["input"] for doc in emu.predictions()] == [{"text": "body"}] * 4


def test_a_streamed_response_is_read_on_demand(client, emu):
    pid = _finished(client, emu)
    transport = EmulatorTransport(emu)
    response = transport.send(
        _get(transport, f"/predictions/{pid}"), timeout=Timeout(), stream=True
    )
    with pytest.raises(replicate.ResponseNotRead):
        response.content  # noqa: B018
    with pytest.raises(TypeError):
        response.aiter_bytes()  # a sync stream only
    assert b"".join(response.iter_bytes(3)).startswith(b"{")


def test_drop_before_never_reached_the_api(client, emu):
    pid = _finished(client, emu)
    emu.faults.add(route="GET /v1/predictions/{id}", drop="before")
    transport = EmulatorTransport(emu)
    with pytest.raises(replicate.APIConnectionError) as info:
        transport.send(_get(transport, f"/predictions/{pid}"), timeout=Timeout())
    assert info.value.request_sent is False
    assert not isinstance(info.value, replicate.APITimeoutError)


@pytest.mark.parametrize("fault", [{"drop": "mid"}, {"truncate": 10}])
def test_a_broken_body_is_an_error_sent(client, emu, fault):
    pid = _finished(client, emu)
    transport = EmulatorTransport(emu)
    whole = transport.send(_get(transport, f"/predictions/{pid}"), timeout=Timeout()).content
    emu.faults.add(route="GET /v1/predictions/{id}", **fault)
    with pytest.raises(replicate.APIConnectionError) as info:
        transport.send(_get(transport, f"/predictions/{pid}"), timeout=Timeout())
    assert info.value.request_sent is True
    # Streamed, the part before the break arrives, then the error.
    response = transport.send(
        _get(transport, f"/predictions/{pid}"), timeout=Timeout(), stream=True
    )
    received = b""
    with pytest.raises(replicate.APIConnectionError) as info:
        for chunk in response.iter_bytes():
            received += chunk
    assert info.value.request_sent is True
    assert 0 < len(received) < len(whole)
    assert whole.startswith(received)
    if "truncate" in fault:
        assert len(received) == 10


def test_a_client_retries_a_dropped_get(client, emu):
    pid = _finished(client, emu)
    emu.faults.add(route="GET /v1/predictions/{id}", drop="mid", times=1)
    assert client.predictions.get(pid).id == pid


def test_a_stalled_stream_times_out_or_resumes(client, emu):
    emu.faults.add(route="GET /v1/predictions/{id}/stream", stall_sse=0.3)
    prediction = client.models.predictions.create(
        "replicate",
        "stream-tokens",
        input={"prompt": "p", "max_tokens": 3, "delay": 0},
        stream=True,
    )
    transport = EmulatorTransport(emu)
    url = prediction.urls.stream
    request = Request(
        "GET", url, headers={"Authorization": "Bearer t", "Accept": "text/event-stream"}
    )
    response = transport.send(request, timeout=Timeout(read=0.05), stream=True)
    started = time.monotonic()
    with pytest.raises(replicate.APITimeoutError) as info:
        list(response.iter_bytes())
    assert info.value.request_sent is True
    assert time.monotonic() - started < 0.25
    response = transport.send(request, timeout=Timeout(read=5), stream=True)
    started = time.monotonic()
    body = b"".join(response.iter_bytes())
    assert time.monotonic() - started >= 0.3
    assert b"event: done" in body


def test_a_deadline_passed_before_sending(emu):
    transport = EmulatorTransport(emu)
    request = _get(transport, "/predictions")
    with pytest.raises(replicate.APITimeoutError) as info:
        transport.send(request, timeout=Timeout(deadline=time.monotonic() - 1))
    assert info.value.request_sent is False


def test_send_after_close_raises_and_handles_nothing(emu):
    transport = EmulatorTransport(emu)
    transport.close()
    transport.close()
    request = Request(
        "POST",
        API + "/models/replicate/hello-world/predictions",
        headers={"Authorization": "Bearer t"},
        content=b'{"input": {}}',
    )
    with pytest.raises(replicate.ReplicateError):
        transport.send(request, timeout=Timeout())
    assert emu.predictions() == []
    assert transport.closed


def test_closing_never_closes_the_emulator(emu):
    with replicate.Replicate(transport=EmulatorTransport(emu), base_url=API) as c:
        c.predictions.list()
    with replicate.Replicate(transport=EmulatorTransport(emu), base_url=API) as c:
        assert list(c.predictions.list()) == []


def test_pickling_is_refused(emu):
    with pytest.raises(TypeError):
        pickle.dumps(EmulatorTransport(emu))


def test_concurrent_use(client, emu):
    pid = _finished(client, emu)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert client.predictions.get(pid).id == pid
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_another_base_url_is_the_origin_of_answers(emu):
    with replicate.Replicate(
        transport=EmulatorTransport(emu), base_url="http://emulated.test:9/v1"
    ) as c:
        prediction = c.models.predictions.create("replicate", "hello-world", input={})
    assert prediction.urls.get.startswith("http://emulated.test:9/v1/predictions/")


def test_an_error_status_is_returned_not_raised(emu):
    emu.faults.add(route="GET /v1/predictions", status=503, times=1)
    transport = EmulatorTransport(emu)
    response = transport.send(_get(transport, "/predictions"), timeout=Timeout())
    assert response.status_code == 503
    assert response.json()["status"] == 503
    assert transport.send(_get(transport, "/predictions"), timeout=Timeout()).status_code == 200
