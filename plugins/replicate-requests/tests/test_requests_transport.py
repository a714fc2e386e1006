"""The requests transport (the ``replicate-requests`` plugin) through
``replicate.Replicate(transport="requests")``, against a scripted loopback server."""

from __future__ import annotations

import json
import ssl
import threading
import time
from pathlib import Path

import pytest
import requests
import trustme
from replicate_requests import RequestsTransport

import replicate
from replicate import Request, Timeout
from replicate.testing import PREDICTION_ID as PID
from replicate.testing import ScriptServer, run_in_threads
from replicate.testing import servers as script
from replicate.testing.fixtures import script_server_fixture

TOKEN = "r8_test_token"


#: Each test: its own loopback server, in an environment where only this plugin loads.
server = script_server_fixture("requests", REPLICATE_POLL_INTERVAL="0.01")


def client(server: ScriptServer, **kwargs: object) -> replicate.Replicate:
    kwargs.setdefault("transport", "requests")
    return replicate.Replicate(bearer_token=TOKEN, base_url=server.url("/v1"), **kwargs)  # type: ignore[arg-type]


def test_registered_by_name_and_from_config(server: ScriptServer) -> None:
    with client(server) as c:
        assert isinstance(c.transport, RequestsTransport)
        assert c.transport.owns_session
    with pytest.raises(ValueError, match="nope"):
        replicate.Replicate(bearer_token=TOKEN, transport="nope")


def test_get_sends_exactly_the_core_headers(server: ScriptServer) -> None:
    server.route(f"/v1/predictions/{PID}", script.json_response(script.prediction(server)))
    with client(server) as c:
        p = c.predictions.get(prediction_id=PID)
        assert (p.id, p.status) == (PID, "succeeded")
        r = c.get(f"/predictions/{PID}")
        assert r.http_version == "HTTP/1.1"
        assert r.json()["id"] == PID
    _, _, headers, _ = server.requests[0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"].startswith("replicate-python/")
    assert "python-requests" not in json.dumps(headers)
    assert "cookie" not in headers


def test_repeated_headers_merge_and_cookies_are_not_kept(server: ScriptServer) -> None:
    server.route(
        "/v1/x",
        script.raw_response(
            b"{}",
            headers=[
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=1"),
                ("X-Many", "1"),
                ("x-many", "2"),
            ],
        ),
    )
    with client(server) as c:
        r = c.get("/x")
        assert r.headers["X-MANY"] == "1, 2"
        c.get("/x")
    assert "cookie" not in server.requests[1][2]


def test_run_in_sync_mode(server: ScriptServer) -> None:
    server.route(
        "/v1/models/acme/hello/predictions", script.created_prediction(server, output="hello Alice")
    )
    with client(server) as c:
        assert c.run("acme/hello", input={"text": "Alice"}) == "hello Alice"
    method, _, headers, body = server.requests[0]
    assert method == "POST"
    assert headers["prefer"].startswith("wait")
    assert json.loads(body)["input"] == {"text": "Alice"}


def test_request_bodies_bytes_file_and_iterables(server: ScriptServer, tmp_path: Path) -> None:
    server.route("/v1/up", script.json_response({}))
    path = tmp_path / "f.bin"
    path.write_bytes(b"from a file")
    with client(server, max_retries=0) as c:
        c.post("/up", content=b"bytes")
        with path.open("rb") as f:
            c.post("/up", content=f)
        c.post("/up", content=[b"a ", b"list"])
        c.post("/up", content=iter([b"an ", b"iterator"]))
        c.post("/up", content=iter([b"sized"]), headers={"Content-Length": "5"})
    bodies = [body for _, _, _, body in server.requests]
    assert bodies == [b"bytes", b"from a file", b"a list", b"an iterator", b"sized"]
    assert server.requests[3][2].get("transfer-encoding") == "chunked"
    assert "transfer-encoding" not in server.requests[4][2]


def test_stream_sse_events_arrive_as_sent(server: ScriptServer) -> None:
    gate = threading.Event()
    sent = [script.sse_event("output", "Hello", "1:0"), script.sse_event("output", " world", "1:1")]

    def respond(h):  # type: ignore[no-untyped-def]
        script.stream_response(sent[0])(_Partial(h, gate, sent[1:]))

    server.route(
        "/v1/models/acme/hello/predictions",
        script.json_response(script.prediction(server, status="starting"), 201),
    )
    server.route(f"/stream/{PID}", respond)
    got = []
    with client(server, timeout=5) as c:
        for ev in c.stream("acme/hello", input={"prompt": "hi"}):
            got.append(str(ev))
            gate.set()  # the first event came before the server sent the rest
    assert got == ["Hello", " world"]
    assert server.requests[-1][2]["accept"] == "text/event-stream"


class _Partial:
    """Wraps a handler so that ``chunks`` writes its first piece, then waits for the client to
    have read it before writing the rest and the end."""

    def __init__(self, h, gate, rest) -> None:  # type: ignore[no-untyped-def]
        self._h, self._gate, self._rest = h, gate, rest
        self.server = h.server

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._h, name)

    @property
    def wfile(self):  # type: ignore[no-untyped-def]
        return _GatedFile(self._h.wfile, self._gate, self._rest)


class _GatedFile:
    def __init__(self, f, gate, rest) -> None:  # type: ignore[no-untyped-def]
        self._f, self._gate, self._rest = f, gate, rest

    def write(self, data: bytes) -> None:
        if data == b"0\r\n\r\n":
            assert self._gate.wait(5), "the client did not see the first event in time"
            for piece in [*self._rest, script.sse_event("done", "{}", "1:2")]:
                self._f.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def test_streamed_body_chunks_and_close(server: ScriptServer) -> None:
    server.route(
        "/v1/s", script.stream_response(b"one", b"two", pause=0.05, content_type="text/plain")
    )
    transport = RequestsTransport()
    try:
        r = transport.send(Request("GET", server.url("/v1/s")), timeout=Timeout(5), stream=True)
        assert isinstance(r._stream, replicate.SyncByteStream)
        assert list(r.iter_bytes()) == [b"one", b"two"]
        r2 = transport.send(Request("GET", server.url("/v1/s")), timeout=Timeout(5), stream=True)
        r2.close()
    finally:
        transport.close()


def test_gzip_is_decoded(server: ScriptServer) -> None:
    import gzip

    body = gzip.compress(b'{"hello": "world"}')
    server.route(
        "/v1/z",
        script.raw_response(
            body, headers=[("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
        ),
    )
    with client(server) as c:
        assert c.get("/z").json() == {"hello": "world"}
        with c.with_streaming_response.get("/z") as r:
            assert b"".join(r.iter_bytes()) == b'{"hello": "world"}'


def test_no_redirects_followed(server: ScriptServer) -> None:
    server.route(
        "/v1/moved", script.raw_response(b"", 302, [("Location", server.url("/v1/there"))])
    )
    transport = RequestsTransport()
    try:
        r = transport.send(Request("GET", server.url("/v1/moved")), timeout=Timeout(5))
        assert r.status_code == 302
    finally:
        transport.close()
    assert [p for _, p, _, _ in server.requests] == ["/v1/moved"]


def test_connection_refused_is_never_sent() -> None:
    c = replicate.Replicate(
        bearer_token=TOKEN,
        base_url=f"http://127.0.0.1:{script.refused_port()}/v1",
        transport="requests",
        max_retries=0,
    )
    with c, pytest.raises(replicate.APIConnectionError) as info:
        c.get("/x")
    assert info.value.request_sent is False
    assert not isinstance(info.value, replicate.APITimeoutError)


def test_read_timeout(server: ScriptServer) -> None:
    server.route("/v1/slow", script.hang)
    with client(server, max_retries=0, timeout=Timeout(connect=2, read=0.2)) as c:
        start = time.monotonic()
        with pytest.raises(replicate.APITimeoutError) as info:
            c.get("/slow")
    assert info.value.request_sent is True
    assert time.monotonic() - start < 3


def test_short_body_raises(server: ScriptServer) -> None:
    server.route("/v1/short", script.raw_response(b'{"a": 1', length=100))
    with client(server, max_retries=0) as c, pytest.raises(replicate.APIConnectionError) as info:
        c.get("/short")
    assert info.value.request_sent is True


def test_broken_stream_raises(server: ScriptServer) -> None:
    server.route("/v1/cut", script.stream_response(b"part", end="cut", content_type="text/plain"))
    transport = RequestsTransport()
    try:
        r = transport.send(Request("GET", server.url("/v1/cut")), timeout=Timeout(5), stream=True)
        with pytest.raises(replicate.APIConnectionError):
            r.read()
    finally:
        transport.close()


def test_deadline_ends_a_slow_body(server: ScriptServer) -> None:
    server.route(
        "/v1/drip", script.stream_response(*[b"x"] * 50, pause=0.1, content_type="text/plain")
    )
    transport = RequestsTransport()
    try:
        start = time.monotonic()
        with pytest.raises(replicate.APITimeoutError):
            transport.send(
                Request("GET", server.url("/v1/drip")),
                timeout=Timeout(5, deadline=time.monotonic() + 0.5),
            )
        assert time.monotonic() - start < 2
        with pytest.raises(replicate.APITimeoutError) as info:
            transport.send(
                Request("GET", server.url("/v1/drip")),
                timeout=Timeout(5, deadline=time.monotonic() - 1),
            )
        assert info.value.request_sent is False
    finally:
        transport.close()


def test_users_session_is_used_and_not_closed(server: ScriptServer) -> None:
    server.route("/v1/x", script.json_response({"ok": True}))
    session = requests.Session()
    session.headers["X-Corp"] = "kept"
    seen = []

    class Adapter(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(request.url)
            return super().send(request, **kwargs)

    session.mount("http://", Adapter())
    session.auth = lambda r: (r.headers.__setitem__("X-Signed", "yes"), r)[1]
    transport = RequestsTransport(session=session)
    with client(server, transport=transport) as c:
        assert c.get("/x").json() == {"ok": True}
    assert seen == [server.url("/v1/x")]
    headers = server.requests[0][2]
    assert headers["x-corp"] == "kept" and headers["x-signed"] == "yes"
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert not transport.owns_session
    # closed client, open session: the session still works for its owner
    assert session.get(server.url("/v1/x")).json() == {"ok": True}
    session.close()
    with pytest.raises(TypeError, match="session's own settings"):
        RequestsTransport(session=session, verify=False)


def test_closed_transport_refuses_to_send(server: ScriptServer) -> None:
    server.route("/v1/x", script.json_response({}))
    c = client(server)
    c.close()
    with pytest.raises(replicate.ReplicateError, match="closed"):
        c.get("/x")


def test_concurrent_use_from_threads(server: ScriptServer) -> None:
    server.route(f"/v1/predictions/{PID}", script.json_response(script.prediction(server)))
    with client(server) as c:

        def work() -> None:
            for _ in range(10):
                assert c.predictions.get(prediction_id=PID).id == PID

        run_in_threads(work, 8)
    assert len(server.requests) == 80


def test_proxy_from_config_and_environment(
    server: ScriptServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/v1/x", script.json_response({"via": "proxy"}))
    c = replicate.Replicate(
        bearer_token=TOKEN,
        base_url="http://api.example.test/v1",
        transport="requests",
        proxy=server.url(),
        max_retries=0,
    )
    with c:
        assert c.get("/x").json() == {"via": "proxy"}
    assert server.requests[-1][2]["host"] == "api.example.test"
    monkeypatch.setenv("HTTP_PROXY", server.url())
    with replicate.Replicate(
        bearer_token=TOKEN, base_url="http://api.example.test/v1", transport="requests"
    ) as c:
        assert c.get("/x").json() == {"via": "proxy"}
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    with (
        replicate.Replicate(
            bearer_token=TOKEN,
            base_url="http://api.example.test/v1",
            transport="requests",
            max_retries=0,
        ) as c,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        c.get("/x")  # straight to a host that does not resolve
    assert info.value.request_sent is False


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with ScriptServer(ssl_context=ctx) as server:
        server.route("/v1/x", script.json_response({"tls": True}))
        yield ca, server, bundle


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_tls_verify_settings(tls) -> None:  # type: ignore[no-untyped-def]
    ca, server, bundle = tls
    base = f"https://127.0.0.1:{server.server_address[1]}/v1"
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    for verify in (str(bundle), bundle, ctx, False):
        with replicate.Replicate(
            bearer_token=TOKEN, base_url=base, transport="requests", verify=verify
        ) as c:
            assert c.get("/x").json() == {"tls": True}
    with (
        replicate.Replicate(
            bearer_token=TOKEN, base_url=base, transport="requests", max_retries=0
        ) as c,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        c.get("/x")  # the system CAs don't know the test CA
    assert info.value.request_sent is False
    assert "TLS" in str(info.value)


def test_second_server_is_independent() -> None:
    # two clients, two servers, one process: nothing shared between sessions
    with ScriptServer() as a, ScriptServer() as b:
        a.route("/v1/x", script.json_response({"s": "a"}))
        b.route("/v1/x", script.json_response({"s": "b"}))
        with client(a) as ca, client(b) as cb:
            assert ca.get("/x").json() == {"s": "a"}
            assert cb.get("/x").json() == {"s": "b"}
