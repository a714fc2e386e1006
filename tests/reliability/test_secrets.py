"""The API token goes only where it belongs, and never shows anywhere else.

- Sent: to the API's origin only. Two loopback servers (different ports: different origins)
  record every request's Authorization: a redirect to the other one, an output file there and a
  stream URL there get no credentials; the allowlist (``auth_hosts``) admits HTTPS on port 443
  only.
- Shown: never in a repr, str, log line at any level (the ``replicate`` logger, urllib3's, and
  ``REPLICATE_LOG=debug`` in a child process), exception message or default traceback (401,
  500, timeouts, refused connections), OpenTelemetry attribute, or pickle of anything the SDK
  returns or accepts. A per-client plugin object is pickled with its client as it is: a secret
  it holds travels too unless the plugin leaves it out (``__getstate__``), as the README says.
- TLS: verification is on by default; ``verify=False`` is the only way off, and a client warns
  once, however many requests it sends (no InsecureRequestWarning per request), on every
  transport.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import ssl
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import TOKEN

import replicate
from replicate._auth import AuthScope
from replicate.testing.servers import (
    PREDICTION_ID,
    ScriptServer,
    created_prediction,
    hang,
    json_response,
    prediction,
    raw_response,
    refused_port,
    sse_event,
    stream_response,
)
from replicate.transports.urllib3_transport import Urllib3Transport

PID = PREDICTION_ID
PRED_PATH = f"/v1/predictions/{PID}"
SECRET = TOKEN.encode()
ACCOUNT = {"type": "user", "username": "u", "name": "U", "github_url": None}


@pytest.fixture
def api() -> Iterator[ScriptServer]:
    with ScriptServer() as s:
        yield s


@pytest.fixture
def other() -> Iterator[ScriptServer]:
    """A second origin: another loopback port."""
    with ScriptServer() as s:
        yield s


class FileHost:
    """A per-client plugin naming ``server`` a file host: its URLs in outputs are files (which
    does not make it a host that gets the token)."""

    def __init__(self, server: ScriptServer) -> None:
        self.host = f"127.0.0.1:{server.server_address[1]}"

    @replicate.hookimpl
    def replicate_register_file_hosts(self, register: Callable[[str], None]) -> None:
        register(self.host)


@pytest.fixture
def client(
    api: ScriptServer, other: ScriptServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[replicate.Replicate]:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")
    policy = replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.002)
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=api.url("/v1"),
        retry_policy=policy,
        timeout=5,
        plugins=[FileHost(other)],
    ) as c:
        yield c


def authorizations(server: ScriptServer) -> list[str | None]:
    return [r.headers.get("authorization") for r in server.requests]


def assert_clean(text: str | bytes, what: str = "") -> None:
    needle = SECRET if isinstance(text, bytes) else TOKEN
    assert needle not in text, f"the token appears in {what or 'the text'}"
    # Nor its distinctive tail (a redaction that kept part of it).
    tail = needle[-12:]
    assert tail not in text, f"part of the token appears in {what or 'the text'}"


# --- where the token is sent -------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_carries_no_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate, status: int
) -> None:
    api.route("/v1/account", raw_response(b"", status, [("Location", other.url("/v1/account"))]))
    other.route("/v1/account", json_response(ACCOUNT))
    assert client.account.get().username == "u"
    assert authorizations(api) == [f"Bearer {TOKEN}"]
    assert authorizations(other) == [None]


def test_a_redirect_back_to_the_api_after_another_origin_stays_without_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate
) -> None:
    """Once a redirect left the origin, no later hop gets credentials, even back home."""
    api.route(
        "/v1/account",
        raw_response(b"", 302, [("Location", other.url("/bounce"))]),
        json_response(ACCOUNT),
    )
    other.route("/bounce", raw_response(b"", 302, [("Location", api.url("/v1/account"))]))
    client.account.get()
    assert authorizations(api) == [f"Bearer {TOKEN}", None]
    assert authorizations(other) == [None]


def test_credentials_in_default_headers_do_not_follow_a_redirect_either(
    api: ScriptServer, other: ScriptServer
) -> None:
    api.route("/v1/account", raw_response(b"", 307, [("Location", other.url("/v1/account"))]))
    other.route("/v1/account", json_response(ACCOUNT))
    with replicate.Replicate(
        base_url=api.url("/v1"), default_headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        c.account.get()
    assert authorizations(api) == [f"Bearer {TOKEN}"]
    assert authorizations(other) == [None]


def test_an_output_file_on_another_host_is_downloaded_without_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate
) -> None:
    files = [other.url("/out/a.png"), other.url("/out/b.png")]
    api.route("/v1/models/acme/hello/predictions", created_prediction(api, output=files))
    other.route("/out/a.png", raw_response(b"PNG-a", headers=[("Content-Type", "image/png")]))
    other.route("/out/b.png", raw_response(b"PNG-b", headers=[("Content-Type", "image/png")]))
    output = client.run("acme/hello", input={"prompt": "hi"})
    assert [o.read() for o in output] == [b"PNG-a", b"PNG-b"]
    assert [b"".join(o) for o in output] == [b"PNG-a", b"PNG-b"]
    assert authorizations(api) == [f"Bearer {TOKEN}"]
    assert authorizations(other) == [None, None, None, None]


def test_an_output_file_on_another_host_on_the_async_client(
    api: ScriptServer, other: ScriptServer
) -> None:
    api.route(
        "/v1/models/acme/hello/predictions", created_prediction(api, output=other.url("/o.txt"))
    )
    other.route("/o.txt", raw_response(b"text", headers=[("Content-Type", "text/plain")]))

    async def main() -> bytes:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url=api.url("/v1"), plugins=[FileHost(other)]
        ) as c:
            output = await c.run("acme/hello", input={"prompt": "hi"})
            return await output.read()  # type: ignore[no-any-return]

    assert asyncio.run(asyncio.wait_for(main(), 30)) == b"text"
    assert authorizations(other) == [None]


def test_a_stream_url_on_a_host_off_the_allowlist_gets_no_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate
) -> None:
    stream = other.url(f"/stream/{PID}")
    urls = {"get": api.url(PRED_PATH), "cancel": api.url(PRED_PATH + "/cancel"), "stream": stream}
    api.route(PRED_PATH, json_response(prediction(api, status="processing", urls=urls)))
    other.route(
        f"/stream/{PID}",
        stream_response(sse_event("output", "hi", "1:0"), sse_event("done", "{}", "1:1")),
    )
    assert [str(e) for e in client.predictions.stream(PID)] == ["hi"]
    assert authorizations(api) == [f"Bearer {TOKEN}"]
    assert authorizations(other) == [None]


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.replicate.com/v1/predictions", True),
        ("https://streaming-api.svc.us.c.replicate.net/v1/streams/abc", True),
        ("https://stream.replicate.com/v1/files/abc", True),
        ("http://stream.replicate.com/v1/files/abc", False),  # not HTTPS
        ("https://stream.replicate.com:8443/v1/files/abc", False),  # not the default port
        ("https://replicate.delivery/pbxt/abc/out.png", False),  # file delivery: no token
        ("https://replicate.com.evil.example/x", False),
        ("https://evilreplicate.com/x", False),
        ("https://api.replicate.com@evil.example/x", False),
        ("ftp://api.replicate.com/x", False),
    ],
)
def test_the_allowlist_admits_https_on_443_under_its_domains_only(url: str, allowed: bool) -> None:
    assert AuthScope("https://api.replicate.com/v1").allows(url) is allowed


def test_an_allowlisted_name_on_another_port_or_scheme_gets_no_token(
    api: ScriptServer, other: ScriptServer
) -> None:
    """``auth_hosts`` names hosts for HTTPS on port 443: a loopback port is not admitted."""
    api.route("/v1/account", raw_response(b"", 302, [("Location", other.url("/v1/account"))]))
    other.route("/v1/account", json_response(ACCOUNT))
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=api.url("/v1"), auth_hosts=["127.0.0.1"]
    ) as c:
        c.account.get()
    assert authorizations(other) == [None]


# --- where the token is never shown ------------------------------------------------------------


def _errors(api: ScriptServer, client: replicate.Replicate) -> Iterator[BaseException]:
    """Errors from a 401, a 500, a read timeout and a refused connection, each raised for real."""
    api.route("/v1/account", json_response({"detail": "Invalid token."}, 401))
    with pytest.raises(replicate.AuthenticationError) as e401:
        client.account.get()
    yield e401.value
    api.route("/v1/account", raw_response(b"<h1>oops</h1>", 500, [("Content-Type", "text/html")]))
    with pytest.raises(replicate.InternalServerError) as e500:
        client.with_options(max_retries=0).account.get()
    yield e500.value
    api.route("/v1/account", hang)
    with pytest.raises(replicate.APITimeoutError) as etime:
        client.with_options(timeout=replicate.Timeout(connect=5, read=0.2), max_retries=0).get(
            "/account"
        )
    yield etime.value
    with (
        replicate.Replicate(
            bearer_token=TOKEN, base_url=f"http://127.0.0.1:{refused_port()}/v1", max_retries=0
        ) as gone,
        pytest.raises(replicate.APIConnectionError) as erefused,
    ):
        gone.account.get()
    yield erefused.value


def test_errors_never_show_the_token(
    api: ScriptServer, client: replicate.Replicate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, urllib3's
    count = 0
    for error in _errors(api, client):
        count += 1
        name = type(error).__name__
        text = "".join(traceback.format_exception(error))
        assert_clean(text, f"the traceback of {name}")
        assert_clean(str(error), f"str({name})")
        assert_clean(repr(error), f"repr({name})")
        request = getattr(error, "request", None)
        if request is not None:
            assert "authorization" not in request.headers, name
            assert_clean(repr(request), f"{name}.request")
        response = getattr(error, "response", None)
        if response is not None:
            assert_clean(repr(response), f"{name}.response")
            assert_clean(repr(dict(response.request.headers)), f"{name}.response.request")
        assert_clean(pickle.dumps(error), f"the pickle of {name}")
        cause: BaseException | None = error.__cause__
        while cause is not None:
            assert_clean(repr(cause), f"the cause of {name}")
            cause = cause.__cause__
    assert count == 4
    assert caplog.records
    for record in caplog.records:
        assert_clean(record.getMessage(), f"the log line {record.getMessage()!r}")
        assert_clean(repr(record.args), "a log record's arguments")


def test_debug_logs_never_show_the_token(
    api: ScriptServer,
    other: ScriptServer,
    client: replicate.Replicate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Requests, retries, redirects, a 401 refusal and a download, logged at DEBUG."""
    caplog.set_level(logging.DEBUG)
    api.route(
        "/v1/account",
        raw_response(b"{}", 503, [("Content-Type", "application/json")]),
        raw_response(b"", 302, [("Location", other.url("/v1/account"))]),
    )
    other.route("/v1/account", json_response(ACCOUNT))
    client.account.get()
    api.route("/v1/models/acme/hello/predictions", created_prediction(api, output=other.url("/f")))
    other.route("/f", raw_response(b"data", headers=[("Content-Type", "text/plain")]))
    assert client.run("acme/hello", input={"prompt": "hi"}).read() == b"data"
    assert any("replicate" in r.name for r in caplog.records)
    for record in caplog.records:
        assert_clean(record.getMessage(), f"the log line {record.getMessage()!r}")


def test_replicate_log_debug_never_shows_the_token(api: ScriptServer) -> None:
    """``REPLICATE_LOG=debug`` in a process of its own: what reaches stderr."""
    api.route("/v1/account", json_response({"detail": "nope"}, 401))
    api.route("/v1/predictions", json_response({"results": [], "next": None}))
    code = (
        "import replicate, sys\n"
        "c = replicate.Replicate(max_retries=1)\n"
        "print(repr(c), c.predictions.list())\n"
        "try:\n"
        "    c.account.get()\n"
        "except replicate.APIError as e:\n"
        "    print(e)\n"
        "    raise\n"
    )
    env = {
        **os.environ,
        "REPLICATE_LOG": "debug",
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": api.url("/v1"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr  # the 401, raised with its traceback
    assert "AuthenticationError" in done.stderr
    assert "GET" in done.stderr  # the debug lines are there
    assert_clean(done.stdout, "stdout")
    assert_clean(done.stderr, "stderr (debug logs and the traceback)")


def test_reprs_and_strs_never_show_the_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate
) -> None:
    api.route("/v1/predictions", json_response({"results": [prediction(api)], "next": None}))
    api.route(
        "/v1/models/acme/hello/predictions", created_prediction(api, output=other.url("/f.png"))
    )
    page = client.predictions.list()
    output = client.run("acme/hello", input={"prompt": "hi"})
    raw = client.with_raw_response.predictions.list()
    things: list[Any] = [
        client,
        client.with_options(timeout=3),
        client._core.sender.auth,
        page,
        page.results[0],
        output,
        raw,
        raw.http_response,
        raw.http_request,
        replicate.AsyncReplicate(bearer_token=TOKEN),
        replicate.Replicate(default_headers={"Authorization": f"Bearer {TOKEN}"}),
    ]
    for thing in things:
        assert_clean(repr(thing), f"repr of {type(thing).__name__}")
        assert_clean(str(thing), f"str of {type(thing).__name__}")
    assert "authorization" not in raw.http_request.headers


# --- OpenTelemetry -----------------------------------------------------------------------------


def test_opentelemetry_attributes_never_show_the_token(
    api: ScriptServer, other: ScriptServer
) -> None:
    otel = pytest.importorskip("replicate_opentelemetry")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    observer = otel.OpenTelemetryObserver(
        tracer_provider=tracer, meter_provider=MeterProvider(metric_readers=[reader])
    )
    api.route("/v1/account", json_response({"detail": "bad"}, 401))
    api.route(
        "/v1/models/acme/hello/predictions", created_prediction(api, output=other.url("/f.png"))
    )
    other.route("/f.png", raw_response(b"PNG", headers=[("Content-Type", "image/png")]))
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=api.url("/v1"), plugins=[observer, FileHost(other)]
    ) as c:
        with pytest.raises(replicate.AuthenticationError):
            c.account.get()
        assert c.run("acme/hello", input={"prompt": "hi"}).read() == b"PNG"
        # A token in a URL's query (a signed link) is redacted too.
        other.route("/signed", json_response({}))
        c.get(other.url(f"/signed?token={TOKEN}&sig={TOKEN}"))
    spans = exporter.get_finished_spans()
    assert len(spans) >= 4
    for span in spans:
        assert_clean(repr(dict(span.attributes or {})), f"the attributes of span {span.name}")
        assert_clean(span.name, "a span name")
        for event in span.events:
            assert_clean(repr(dict(event.attributes or {})), f"an event of span {span.name}")
        assert_clean(repr(span.status.description), "a span status")
    data = reader.get_metrics_data()
    assert_clean(data.to_json() if data else "", "the metrics")


# --- pickles -----------------------------------------------------------------------------------


def _assert_pickle_clean(thing: Any) -> None:
    """Pickled, no token; or refused outright (a TypeError naming why), never leaking."""
    name = type(thing).__name__
    try:
        data = pickle.dumps(thing)
    except (TypeError, pickle.PicklingError, AttributeError) as exc:
        assert_clean(str(exc), f"the pickling error of {name}")
        return
    assert_clean(data, f"the pickle of {name}")
    copy = pickle.loads(data)
    assert_clean(repr(copy), f"the unpickled {name}")


def test_pickles_never_carry_the_token(
    api: ScriptServer, other: ScriptServer, client: replicate.Replicate
) -> None:
    api.route("/v1/predictions", json_response({"results": [prediction(api)], "next": None}))
    api.route(
        "/v1/models/acme/hello/predictions", created_prediction(api, output=[other.url("/f.png")])
    )
    api.route(
        "/v1/models/acme/hello",
        json_response(
            {
                "owner": "acme",
                "name": "hello",
                "latest_version": {"id": "v1", "openapi_schema": {}},
            }
        ),
    )
    api.route("/v1/account", json_response({"detail": "Invalid token."}, 401))
    other.route("/f.png", raw_response(b"PNG", headers=[("Content-Type", "image/png")]))
    page = client.predictions.list()
    output = client.run("acme/hello", input={"prompt": "hi"})
    raw = client.with_raw_response.predictions.list()
    with pytest.raises(replicate.AuthenticationError) as refused:
        client.account.get()
    with pytest.raises(replicate.webhooks.WebhookVerificationError) as tampered:
        replicate.webhooks.validate(
            headers={"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
            body=b"{}",
            secret="whsec_" + "A" * 32,
            tolerance=None,
        )
    hello = client.use("acme/hello")
    api.route("/v1/webhooks/default/secret", json_response({"key": "whsec_" + "B" * 32}))
    signing = client.webhooks.default.secret.get()
    static = replicate.Replicate(default_headers={"Authorization": f"Bearer {TOKEN}"})
    things: list[Any] = [
        client,
        client.with_options(timeout=3),
        replicate.Replicate(bearer_token=TOKEN, transport=Urllib3Transport()),
        replicate.Replicate(default_headers={"Authorization": f"Bearer {TOKEN}"}),
        replicate.AsyncReplicate(bearer_token=TOKEN, base_url=api.url("/v1")),
        page,
        page.results[0],
        output,
        output[0],
        raw,
        raw.http_response,
        raw.http_request,
        refused.value,
        refused.value.response,
        tampered.value,
        hello,
        signing,
        replicate.Timeout(5),
        replicate.TokenAuth(TOKEN),
        static._core.sender.auth,
        static._core.config,
        client._core.config,
    ]
    for thing in things:
        _assert_pickle_clean(thing)


def test_an_unpickled_client_resolves_its_own_token(
    api: ScriptServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.route("/v1/account", json_response(ACCOUNT))
    with replicate.Replicate(bearer_token=TOKEN, base_url=api.url("/v1")) as c:
        data = pickle.dumps(c)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_other")
    copy = pickle.loads(data)
    with copy:
        copy.account.get()
    assert authorizations(api) == ["Bearer r8_other"]


class _SecretPlugin:
    """A per-client auth plugin holding a credential of its own."""

    def __init__(self, token: str) -> None:
        self.token = token

    @replicate.hookimpl
    def replicate_auth_provider(self, config: Any) -> Any:
        return replicate.TokenAuth(self.token)


class _CarefulPlugin(_SecretPlugin):
    """The same, leaving its secret out of pickles, as the README advises."""

    def __getstate__(self) -> dict[str, Any]:
        return {"token": None}


def test_a_per_client_plugin_is_pickled_as_it_is_documented() -> None:
    """``plugins=[obj]`` objects go into the client's pickle as they are (the README says so):
    one that holds a secret keeps it out with ``__getstate__``."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "per-client plugins" in readme.lower() and "__getstate__" in readme
    plain = replicate.Replicate(plugins=[_SecretPlugin(TOKEN)])
    assert SECRET in pickle.dumps(plain)
    careful = replicate.Replicate(plugins=[_CarefulPlugin(TOKEN)])
    assert_clean(pickle.dumps(careful), "the pickle of a careful plugin's client")


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(ca: trustme.CA) -> Iterator[ScriptServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with ScriptServer(ssl_context=context) as server:
        server.route("/v1/account", json_response(ACCOUNT))
        yield server


SYNC_TRANSPORTS = ["urllib3", "requests", "httpx"]
ASYNC_TRANSPORTS = ["urllib3", "httpx", "aiohttp"]


def _plugin(name: str) -> list[object]:
    """The transport plugin module for ``name`` (none for the built-in urllib3)."""
    if name == "urllib3":
        return []
    return [pytest.importorskip(f"replicate_{name}")]


@pytest.mark.parametrize("name", SYNC_TRANSPORTS)
def test_tls_is_verified_by_default(tls: ScriptServer, name: str) -> None:
    with (
        replicate.Replicate(
            bearer_token=TOKEN, base_url=tls.url("/v1"), transport=name, plugins=_plugin(name)
        ) as c,
        pytest.raises(replicate.APIConnectionError) as info,
    ):
        c.account.get()
    assert info.value.request_sent is False
    assert tls.requests == []  # nothing was sent to the unverified server
    assert_clean("".join(traceback.format_exception(info.value)), "the TLS error")


def _insecure_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "verification is turned off" in r.getMessage()]


@pytest.mark.parametrize("name", SYNC_TRANSPORTS)
def test_verify_false_warns_once_per_client_not_per_request(
    tls: ScriptServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    plugins = _plugin(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # two clients: one warning each
            with replicate.Replicate(
                bearer_token=TOKEN,
                base_url=tls.url("/v1"),
                transport=name,
                plugins=plugins,
                verify=False,
            ) as c:
                for _ in range(5):
                    assert c.account.get().username == "u"
                copy = c.with_options(timeout=10)  # a copy shares the client's warning
                assert copy.account.get().username == "u"
    assert len(tls.requests) == 12
    assert [str(w.message) for w in caught] == []
    assert len(_insecure_warnings(caplog)) == 2


@pytest.mark.parametrize("name", ASYNC_TRANSPORTS)
def test_verify_false_warns_once_per_async_client(
    tls: ScriptServer, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    plugins = _plugin(name)

    async def main() -> None:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN,
            base_url=tls.url("/v1"),
            transport=name,
            plugins=plugins,
            verify=False,
        ) as c:
            for _ in range(4):
                assert (await c.account.get()).username == "u"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(asyncio.wait_for(main(), 60))
    assert len(tls.requests) == 4
    assert [str(w.message) for w in caught] == []
    assert len(_insecure_warnings(caplog)) == 1


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_an_unverified_urllib3_transport_given_to_a_client_warns_once(
    tls: ScriptServer, caplog: pytest.LogCaptureFixture, colour: str
) -> None:
    async def async_calls() -> None:
        async with replicate.AsyncReplicate(
            bearer_token=TOKEN, base_url=tls.url("/v1"), transport=Urllib3Transport(verify=False)
        ) as c:
            for _ in range(3):
                await c.account.get()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if colour == "async":
            asyncio.run(asyncio.wait_for(async_calls(), 60))
        else:
            with replicate.Replicate(
                bearer_token=TOKEN,
                base_url=tls.url("/v1"),
                transport=Urllib3Transport(verify=False),
            ) as c:
                for _ in range(3):
                    c.account.get()
    assert len(tls.requests) == 3
    assert [str(w.message) for w in caught] == []
    assert len(_insecure_warnings(caplog)) == 1


def test_verify_true_or_a_ca_bundle_does_not_warn(
    tls: ScriptServer, ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with replicate.Replicate(bearer_token=TOKEN, base_url=tls.url("/v1"), verify=str(bundle)) as c:
        assert c.account.get().username == "u"
    assert _insecure_warnings(caplog) == []
    assert authorizations(tls) == [f"Bearer {TOKEN}"]
