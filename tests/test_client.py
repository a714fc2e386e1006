"""The Replicate client: construction, validation, copies, lifecycle, default client, pickling."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import last_request

import replicate
from replicate import _client, _default
from replicate._http import Request

ENV_TOKEN = "r8_EnvironmentTokenAlsoSecret987"


def ok(server: HTTPServer, path: str = "/v1/ping") -> None:
    server.expect_request(path).respond_with_json({"ok": True})


# --- construction and environment ------------------------------------------------------------


def test_client_alias() -> None:
    assert replicate.Client is replicate.Replicate


def test_defaults_without_environment() -> None:
    c = replicate.Replicate()
    try:
        assert c.base_url == "https://api.replicate.com/v1"
        assert c.max_retries == 2
        assert c.timeout == replicate.Timeout()
        assert c.bearer_token is None
        assert c.default_query == {}
        assert not c.is_closed()
    finally:
        c.close()


def test_environment_token_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", "https://example.test/api/")
    with replicate.Replicate() as c:
        assert c.base_url == "https://example.test/api"
        assert c.bearer_token == ENV_TOKEN


def test_explicit_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", "https://example.test/api")
    with replicate.Replicate(bearer_token=TOKEN, base_url="http://other.test/v9") as c:
        assert c.base_url == "http://other.test/v9"
        assert c.bearer_token == TOKEN


def test_environment_token_is_sent(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", httpserver.url_for("/v1"))
    ok(httpserver)
    with replicate.Replicate() as c:
        assert c.get("/ping").json() == {"ok": True}
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {ENV_TOKEN}"


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"bearer_token": 123}, TypeError, "bearer_token"),
        ({"bearer_token": b"r8_bytes"}, TypeError, "bearer_token"),
        ({"base_url": "api.replicate.com/v1"}, ValueError, "base_url"),
        ({"base_url": "ftp://api.replicate.com/v1"}, ValueError, "base_url"),
        ({"base_url": "https://"}, ValueError, "base_url"),
        ({"base_url": 42}, TypeError, "base_url"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"timeout": [1, 2]}, TypeError, "timeout"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": True}, TypeError, "max_retries"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"default_headers": {"X-Count": 1}}, TypeError, "default_headers"),
        ({"default_headers": {"X-Bad": "a\r\nInjected: 1"}}, ValueError, "default_headers"),
        ({"default_headers": [("X-A", "b")]}, TypeError, "default_headers"),
        ({"verify": "/definitely/not/a/ca-bundle.pem"}, ValueError, "verify"),
        ({"verify": 3}, TypeError, "verify"),
        ({"transport": object()}, TypeError, "transport"),
        ({"transport": "no-such-transport"}, ValueError, "transport"),
        ({"plugins": "plugin"}, TypeError, "plugins"),
        ({"plugins": 5}, TypeError, "plugins"),
        ({"plugins": None}, TypeError, "plugins"),
    ],
)
def test_bad_arguments_name_the_argument(
    kwargs: dict[str, Any], exc: type[Exception], name: str
) -> None:
    with pytest.raises(exc, match=name):
        replicate.Replicate(**kwargs)


def test_verify_accepts_existing_path_and_bool(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not really a cert")
    for verify in (str(bundle), bundle, True):
        with replicate.Replicate(verify=verify) as c:
            assert c.config.verify in (str(bundle), True)


def test_timeout_number_and_object() -> None:
    with replicate.Replicate(timeout=7) as c:
        assert (c.timeout.connect, c.timeout.read) == (7.0, 7.0)
    with replicate.Replicate(timeout=replicate.Timeout(connect=1.5, read=30)) as c:
        assert (c.timeout.connect, c.timeout.read) == (1.5, 30.0)
    with replicate.Replicate(timeout=None) as c:
        assert (c.timeout.connect, c.timeout.read) == (None, None)


def test_client_timeout_reaches_the_transport(httpserver: HTTPServer) -> None:
    seen: list[replicate.Timeout] = []

    class Recording:
        def __init__(self) -> None:
            self.inner = replicate.Replicate().transport

        def send(
            self, request: Request, *, timeout: replicate.Timeout, stream: bool = False
        ) -> replicate.Response:
            seen.append(timeout)
            return self.inner.send(request, timeout=timeout, stream=stream)

        def close(self) -> None:
            self.inner.close()

    ok(httpserver)
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        timeout=replicate.Timeout(connect=2, read=3),
        transport=Recording(),
    ) as c:
        c.get("/ping")
        c.get("/ping", timeout=9)
    assert seen == [replicate.Timeout(connect=2, read=3), replicate.Timeout(9)]


# --- lifecycle -------------------------------------------------------------------------------


def test_context_manager_closes(httpserver: HTTPServer) -> None:
    ok(httpserver)
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/v1")) as c:
        assert c.get("/ping").status_code == 200
    assert c.is_closed()
    with pytest.raises(replicate.ReplicateError, match="closed"):
        c.get("/ping")
    c.close()  # closing twice is harmless
    assert len(httpserver.log) == 1


def test_close_closes_the_transport_it_owns() -> None:
    closed: list[bool] = []

    class T:
        def send(self, request: Request, **kw: Any) -> replicate.Response:
            raise AssertionError("not used")

        def close(self) -> None:
            closed.append(True)

    c = replicate.Replicate(transport=T())
    c.close()
    c.close()
    assert closed == [True]


# --- with_options ----------------------------------------------------------------------------


def test_with_options_overrides_and_shares_transport(client: replicate.Replicate) -> None:
    c2 = client.with_options(timeout=3, max_retries=5)
    assert c2 is not client
    assert c2.transport is client.transport
    assert (c2.timeout.connect, c2.timeout.read) == (3.0, 3.0)
    assert c2.max_retries == 5
    assert client.max_retries == 2
    assert client.timeout == replicate.Timeout()
    assert c2.base_url == client.base_url
    assert client.copy is not None  # alias exists
    c3 = client.copy(timeout=replicate.Timeout(connect=1, read=2))
    assert c3.timeout == replicate.Timeout(connect=1, read=2)


def test_with_options_validates() -> None:
    with replicate.Replicate() as c:
        with pytest.raises(ValueError, match="max_retries"):
            c.with_options(max_retries=-3)
        with pytest.raises(ValueError, match="base_url"):
            c.with_options(base_url="nope")
        with pytest.raises(TypeError, match="bearer_token"):
            c.with_options(bearer_token=5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="default_headers"):
            c.with_options(default_headers={"A": "1"}, set_default_headers={"B": "2"})


def test_with_options_default_headers_merge_vs_replace(httpserver: HTTPServer) -> None:
    ok(httpserver)
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        default_headers={"X-A": "1", "X-Shared": "parent"},
    ) as c:
        merged = c.with_options(default_headers={"X-B": "2", "X-Shared": "child"})
        replaced = c.with_options(set_default_headers={"X-B": "2"})

        merged.get("/ping")
        h = last_request(httpserver).headers
        assert (h.get("X-A"), h.get("X-B"), h.get("X-Shared")) == ("1", "2", "child")

        replaced.get("/ping")
        h = last_request(httpserver).headers
        assert (h.get("X-A"), h.get("X-B"), h.get("X-Shared")) == (None, "2", None)
        assert h["Authorization"] == f"Bearer {TOKEN}"
        assert h["User-Agent"].startswith("replicate-python/")

        c.get("/ping")
        h = last_request(httpserver).headers
        assert (h.get("X-A"), h.get("X-B"), h.get("X-Shared")) == ("1", None, "parent")
        assert merged.default_headers["X-Shared"] == "child"
        assert "X-A" not in replaced.default_headers


def test_with_options_base_url_and_token(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver_ipv4.expect_request("/v2/ping").respond_with_json({"other": True})
    ok(httpserver)
    other = client.with_options(base_url=httpserver_ipv4.url_for("/v2"), bearer_token="r8_other")
    assert other.get("/ping").json() == {"other": True}
    assert last_request(httpserver_ipv4).headers["Authorization"] == "Bearer r8_other"
    client.get("/ping")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"
    assert client.bearer_token == TOKEN
    assert other.bearer_token == "r8_other"


def test_with_options_keeps_token_and_retry_policy(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/ping").respond_with_data("busy", status=503)
    ok(httpserver)
    policy = replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.002)
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), retry_policy=policy
    ) as c:
        c2 = c.with_options(max_retries=1)
        assert c2.get("/ping").status_code == 200
    assert len(httpserver.log) == 2
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r, _ in httpserver.log)


def test_closing_a_copy_leaves_the_parent_working(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    ok(httpserver)
    copy = client.with_options(max_retries=0)
    assert copy.get("/ping").status_code == 200
    copy.close()
    assert copy.is_closed()
    with pytest.raises(replicate.ReplicateError):
        copy.get("/ping")
    assert not client.is_closed()
    assert client.get("/ping").json() == {"ok": True}
    assert len(httpserver.log) == 2


# --- headers ---------------------------------------------------------------------------------


def test_user_agent_names_sdk_version(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    ok(httpserver)
    client.get("/ping")
    ua = last_request(httpserver).headers["User-Agent"]
    assert ua.startswith(f"replicate-python/{replicate.__version__}")
    assert replicate.__version__ and replicate.__version__[0].isdigit()


# --- default client --------------------------------------------------------------------------


def test_default_client_is_lazy_and_uses_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _default._clients
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    c = replicate.default_client()
    assert isinstance(c, replicate.Replicate)
    assert c is replicate.default_client()
    assert c.bearer_token == ENV_TOKEN


def test_default_client_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = _client.Replicate

    class Slow(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            built.append(self)
            time.sleep(0.02)  # widen the race window
            super().__init__(**kwargs)

    monkeypatch.setattr(_client, "Replicate", Slow)
    barrier = threading.Barrier(16)
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        c = replicate.default_client()
        with lock:
            results.append(c)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16
    assert len(built) == 1
    assert all(r is built[0] for r in results)


def test_import_without_token_does_no_network(tmp_path: Path) -> None:
    code = (
        "import socket, sys\n"
        "def boom(*a, **k):\n"
        "    raise AssertionError('network used')\n"
        "socket.socket.connect = boom\n"
        "socket.create_connection = boom\n"
        "socket.getaddrinfo = boom\n"
        "import replicate\n"
        "assert 'urllib3' not in sys.modules, 'urllib3 imported eagerly'\n"
        "c = replicate.Replicate()\n"
        "assert c.bearer_token is None\n"
        "c.close()\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    env["REPLICATE_PLUGINS"] = ""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# --- pickling and secrets ----------------------------------------------------------------------


def test_pickle_drops_token_and_resolves_from_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(httpserver)
    c = replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), max_retries=1, timeout=4
    )
    data = pickle.dumps(c)
    c.close()
    assert TOKEN.encode() not in data
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    c2 = pickle.loads(data)
    try:
        assert c2.base_url == httpserver.url_for("/v1")
        assert c2.max_retries == 1
        assert c2.timeout == replicate.Timeout(4)
        assert c2.get("/ping").json() == {"ok": True}
    finally:
        c2.close()
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {ENV_TOKEN}"


def test_pickle_of_a_copy_drops_its_token(client: replicate.Replicate) -> None:
    data = pickle.dumps(client.with_options(bearer_token="r8_copyTokenSecret"))
    assert b"r8_copyTokenSecret" not in data
    assert TOKEN.encode() not in data


def test_pickle_keeps_a_given_retry_policy() -> None:
    policy = replicate.DefaultRetryPolicy(max_retry_after=5, initial_backoff=0.01)
    c = replicate.Replicate(bearer_token=TOKEN, retry_policy=policy)
    copy = pickle.loads(pickle.dumps(c.with_options(timeout=3)))
    try:
        kept = copy._core.sender.retry_policy
        assert isinstance(kept, replicate.DefaultRetryPolicy) and kept is not policy
        assert (kept.max_retry_after, kept.initial_backoff) == (5, 0.01)
        assert 0 <= kept.backoff(3) <= 0.08  # its generator made again in the new process
    finally:
        c.close()
        copy.close()


def test_unpickled_client_without_token_fails_at_request(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    c2 = pickle.loads(pickle.dumps(client))
    try:
        with pytest.raises(replicate.MissingTokenError):
            c2.get("/ping")
    finally:
        c2.close()
    assert httpserver.log == []


def test_reprs_never_show_the_token(
    httpserver: HTTPServer, client: replicate.Replicate, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/secret").respond_with_json({"detail": "bad token"}, status=401)
    with pytest.raises(replicate.AuthenticationError) as info:
        client.get("/secret", headers={"X-Api-Key": TOKEN})
    err = info.value
    req = client._core.build("GET", "/x", headers={"Authorization": f"Bearer {TOKEN}"})
    headers = replicate.Headers({"Authorization": f"Bearer {TOKEN}", "X-Other": "visible"})
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    env_client = replicate.Replicate()
    objects: list[object] = [
        client,
        env_client,
        client.config,
        client._core.sender.auth,
        env_client._core.sender.auth,
        client._core,
        client._core.token,
        req,
        req.headers,
        headers,
        err,
        err.request,
        err.response,
    ]
    for obj in objects:
        assert TOKEN not in repr(obj), obj
        assert TOKEN not in str(obj), obj
    assert "visible" in repr(headers)
    assert TOKEN not in str(err.args)
    env_client.close()


def test_copies_of_a_closed_client_refuse_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/ping").respond_with_json({})
    parent = replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/v1"))
    copy = parent.with_options(timeout=5)
    copy.get("/ping")
    parent.close()
    with pytest.raises(replicate.ReplicateError, match="closed"):
        copy.get("/ping")
    assert len(httpserver.log) == 1


def test_transport_object_needs_send_and_close() -> None:
    class SendOnly:
        def send(self, request: object, **kwargs: object) -> None:
            raise AssertionError

    with pytest.raises(TypeError, match="transport"):
        replicate.Replicate(bearer_token=TOKEN, transport=SendOnly())  # type: ignore[arg-type]
