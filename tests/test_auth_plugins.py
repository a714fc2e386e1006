"""Auth plugins and the auth hook as a plugin author meets them: choosing an installed plugin by
name (``auth="name"``, ``REPLICATE_AUTH``), the checks on what a hook returns, ``Authorization``
set elsewhere (default headers, prepare hooks), and the body a provider signs
(``replicate.auth.body_bytes``/``body_digest``), verified by a loopback gateway over the bytes it
received. The README's gateway-signing example is run here as written.

Installed plugins are real distributions written into a temporary folder on ``sys.path`` (as in
``test_plugins.py``), found by ``importlib.metadata`` as a pip-installed plugin is.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import pickle
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from support import ROOT, Dists, installed_dists
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate.auth import abody_bytes, abody_digest, body_bytes, body_digest, iter_body

SECRET = b"gateway-shared-secret"


# --- installed plugins ------------------------------------------------------------------------


@pytest.fixture
def dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dists]:
    yield from installed_dists(tmp_path, monkeypatch, prefix="rpa_", only_added=True)


def token_plugin(token: str, *, passes: bool = False) -> str:
    """A plugin answering ``Bearer <token>`` (or passing unless chosen, with ``passes``); it
    records the ``chosen`` it was asked with in ``CHOSEN``."""
    return f"""
        from replicate import hookimpl

        CHOSEN = []

        class Auth:
            def auth_headers(self, request):
                return {{"Authorization": "Bearer {token}"}}

        @hookimpl
        def replicate_auth_provider(config, chosen):
            CHOSEN.append(chosen)
            if {passes!r}:
                return None
            return Auth()
        """


HEADER_PLUGIN = """
    from replicate import hookimpl

    @hookimpl
    def replicate_prepare_request(request):
        request.headers["X-Traced"] = "1"
    """


def echo(server: HTTPServer) -> None:
    def handler(request: WRequest) -> WResponse:
        body = _dumps({"authorization": request.headers.get("Authorization")})
        return WResponse(body, content_type="application/json")

    server.expect_request(re.compile("/v1/.*")).respond_with_handler(handler)


def sent_auth(client: Any) -> str | None:
    if isinstance(client, replicate.AsyncReplicate):

        async def get() -> Any:
            async with client:
                return (await client.get("echo")).json()

        return asyncio.run(get())["authorization"]  # type: ignore[no-any-return]
    with client:
        return client.get("echo").json()["authorization"]  # type: ignore[no-any-return]


CLIENTS = [replicate.Replicate, replicate.AsyncReplicate]


# --- choosing an installed auth plugin by name ------------------------------------------------


@pytest.fixture
def two_auth_plugins(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> Dists:
    dists.add("gateway", token_plugin("from-gateway"))
    dists.add("vault", token_plugin("from-vault"))
    dists.add("tracing", HEADER_PLUGIN)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "from-env")
    return dists


@pytest.mark.parametrize("cls", CLIENTS)
@pytest.mark.parametrize("name", ["gateway", "vault"])
def test_auth_names_an_installed_plugin(
    httpserver: HTTPServer, two_auth_plugins: Dists, cls: Any, name: str
) -> None:
    # Two installed plugins answer: naming one is no clash, and only that one is asked.
    echo(httpserver)
    client = cls(base_url=httpserver.url_for("/v1"), auth=name)
    assert sent_auth(client) == f"Bearer from-{name}"
    other = "vault" if name == "gateway" else "gateway"
    assert sys.modules[f"rpa_{name}"].CHOSEN == [True]
    assert sys.modules[f"rpa_{other}"].CHOSEN == []


def test_unnamed_plugins_are_asked_with_chosen_false(httpserver: HTTPServer, dists: Dists) -> None:
    dists.add("gateway", token_plugin("from-gateway"))
    echo(httpserver)
    assert sent_auth(replicate.Replicate(base_url=httpserver.url_for("/v1"))) == (
        "Bearer from-gateway"
    )
    assert sys.modules["rpa_gateway"].CHOSEN == [False]


@pytest.mark.parametrize("cls", CLIENTS)
def test_auth_name_unknown_lists_the_auth_plugins(two_auth_plugins: Dists, cls: Any) -> None:
    with pytest.raises(ValueError) as info:
        cls(auth="gatewy")
    message = str(info.value)
    assert isinstance(info.value, replicate.PluginError)  # both, as REPLICATE_AUTH's is
    assert "auth='gatewy' names no loaded plugin" in message
    assert "'gateway', 'vault'" in message
    assert "tracing" not in message  # not an auth plugin


def test_auth_name_of_a_plugin_not_allowed_says_so(
    two_auth_plugins: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "vault")
    with pytest.raises(ValueError, match=r"'gateway' is not allowed by REPLICATE_PLUGINS.*'vault'"):
        replicate.Replicate(auth="gateway")


def test_auth_name_of_a_plugin_without_the_hook(two_auth_plugins: Dists) -> None:
    with pytest.raises(replicate.PluginError, match=r"'tracing' does not implement"):
        replicate.Replicate(auth="tracing")


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_named_plugin_that_passes_says_it_passed(
    dists: Dists, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    dists.add("gateway", token_plugin("x", passes=True))
    dists.add("vault", token_plugin("from-vault"))
    kwargs: dict[str, Any] = {}
    if how == "argument":
        kwargs["auth"] = "gateway"
    else:
        monkeypatch.setenv("REPLICATE_AUTH", "gateway")
    with pytest.raises(replicate.PluginError) as info:
        replicate.Replicate(**kwargs)
    message = str(info.value)
    assert "'gateway' passed" in message and "returned None" in message
    assert "does not implement" not in message
    assert message.startswith("auth='gateway'" if how == "argument" else "REPLICATE_AUTH=")


def test_replicate_auth_unknown_is_a_plugin_error_and_a_value_error(
    two_auth_plugins: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_AUTH", "nope")
    with pytest.raises(replicate.PluginError, match=r"REPLICATE_AUTH='nope'.*'gateway', 'vault'"):
        replicate.Replicate()
    with pytest.raises(ValueError, match=r"REPLICATE_AUTH='nope'"):
        replicate.AsyncReplicate()


def test_auth_name_is_blank(two_auth_plugins: Dists) -> None:
    with pytest.raises(ValueError, match="name of an auth plugin"):
        replicate.Replicate(auth=" ")


def test_a_client_with_a_named_plugin_pickles_as_that_choice(
    httpserver: HTTPServer, two_auth_plugins: Dists
) -> None:
    echo(httpserver)
    client = replicate.Replicate(base_url=httpserver.url_for("/v1"), auth="vault")
    copy = pickle.loads(pickle.dumps(client))
    client.close()
    assert sent_auth(copy) == "Bearer from-vault"  # not a clash of the two installed plugins
    copy2 = copy.with_options(timeout=5)
    assert copy2._core.auth_name == "vault"


# --- what a hook returns is checked as auth= is -------------------------------------------------


class NoHeaders:
    pass


class BadRefresh:
    refresh = True

    def auth_headers(self, request: replicate.Request) -> dict[str, str]:
        return {}


class ClientAuthPlugin:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    @replicate.hookimpl
    def replicate_auth_provider(self, config: replicate.ClientConfig) -> object:
        return self.answer


def test_auth_argument_without_auth_headers() -> None:
    with pytest.raises(TypeError, match=r"^auth must have an auth_headers\(request\) method"):
        replicate.Replicate(auth=NoHeaders())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"refresh must be a method"):
        replicate.Replicate(auth=BadRefresh())


@pytest.mark.parametrize("answer", [NoHeaders(), "Bearer abc", {"Authorization": "x"}])
def test_client_plugin_answer_is_checked(answer: object) -> None:
    with pytest.raises(TypeError) as info:
        replicate.Replicate(plugins=[ClientAuthPlugin(answer)])
    message = str(info.value)
    assert "replicate_auth_provider" in message and "client-plugin-0" in message
    assert "must have an auth_headers(request) method" in message
    assert "Bearer abc" not in message  # what came back is named by type, never shown


def test_installed_plugin_answer_is_checked(dists: Dists) -> None:
    dists.add(
        "broken",
        """
        from replicate import hookimpl

        @hookimpl
        def replicate_auth_provider(config):
            return "r8_notAProvider"
        """,
    )
    with pytest.raises(
        TypeError, match=r"plugin 'broken'.*auth_headers\(request\) method; got a str"
    ):
        replicate.Replicate()
    with pytest.raises(TypeError, match=r"plugin 'broken'"):
        replicate.Replicate(auth="broken")


def test_retry_policy_answer_is_checked() -> None:
    class RetryPlugin:
        @replicate.hookimpl
        def replicate_retry_policy(self) -> object:
            return object()

    with pytest.raises(TypeError, match=r"replicate_retry_policy must have a retry_delay"):
        replicate.Replicate(bearer_token="x", plugins=[RetryPlugin()])


# --- Authorization from elsewhere ---------------------------------------------------------------


class Fixed:
    def __init__(self, value: str) -> None:
        self.value = value

    def auth_headers(self, request: replicate.Request) -> dict[str, str]:
        return {"Authorization": self.value}


def test_auth_with_another_credential_is_refused() -> None:
    with pytest.raises(ValueError, match=r"auth= or bearer_token="):
        replicate.Replicate(auth=Fixed("x"), bearer_token="r8_x")
    with pytest.raises(ValueError, match=r"auth= or an Authorization default header"):
        replicate.Replicate(auth=Fixed("x"), default_headers={"authorization": "Basic y"})


def test_default_authorization_header_beats_plugins(httpserver: HTTPServer, dists: Dists) -> None:
    # Documented precedence: the header is an explicit constructor argument.
    dists.add("gateway", token_plugin("from-gateway"))
    echo(httpserver)
    client = replicate.Replicate(
        base_url=httpserver.url_for("/v1"), default_headers={"Authorization": "Basic abc"}
    )
    assert sent_auth(client) == "Basic abc"
    assert sys.modules["rpa_gateway"].CHOSEN == []  # not even asked


def test_with_options_authorization_header_takes_effect(httpserver: HTTPServer) -> None:
    echo(httpserver)
    base = replicate.Replicate(base_url=httpserver.url_for("/v1"), bearer_token="r8_token")
    changed = base.with_options(default_headers={"Authorization": "Basic abc"})
    assert sent_auth(changed) == "Basic abc"
    back = changed.with_options(set_default_headers={})
    assert sent_auth(back) == "Bearer r8_token"
    assert sent_auth(base) == "Bearer r8_token"


class SetsAuthorization:
    def __init__(self, value: str | None) -> None:
        self.value = value

    @replicate.hookimpl
    def replicate_prepare_request(self, request: replicate.Request) -> None:
        if self.value is None:
            request.headers.pop("authorization", None)
        else:
            request.headers["Authorization"] = self.value


@pytest.mark.parametrize("cls", CLIENTS)
def test_prepare_hook_setting_authorization_is_refused(httpserver: HTTPServer, cls: Any) -> None:
    echo(httpserver)
    client = cls(
        base_url=httpserver.url_for("/v1"),
        auth=Fixed("Bearer from-provider"),
        plugins=[SetsAuthorization("Bearer from-hook")],
    )
    with pytest.raises(replicate.PluginError) as info:
        sent_auth(client)
    message = str(info.value)
    assert "replicate_prepare_request" in message and "SetsAuthorization" in message
    assert "from-hook" not in message and "from-provider" not in message
    assert httpserver.log == []  # nothing sent


def test_prepare_hook_removing_a_per_call_authorization_is_refused(
    httpserver: HTTPServer,
) -> None:
    echo(httpserver)
    with (
        replicate.Replicate(
            base_url=httpserver.url_for("/v1"),
            bearer_token="r8_x",
            plugins=[SetsAuthorization(None)],
        ) as client,
        pytest.raises(replicate.PluginError, match="changed the Authorization"),
    ):
        client.get("echo", headers={"Authorization": "Basic mine"})
    assert httpserver.log == []


def test_per_call_authorization_is_sent_with_other_prepare_hooks(httpserver: HTTPServer) -> None:
    class Tracing:
        @replicate.hookimpl
        def replicate_prepare_request(self, request: replicate.Request) -> None:
            request.headers["X-Trace"] = "1"

    echo(httpserver)
    with replicate.Replicate(
        base_url=httpserver.url_for("/v1"), bearer_token="r8_x", plugins=[Tracing()]
    ) as client:
        assert client.get("echo", headers={"Authorization": "Basic mine"}).json() == {
            "authorization": "Basic mine"
        }
        assert client.get("echo").json() == {"authorization": "Bearer r8_x"}


# --- the README's gateway signer, run as written --------------------------------------------------


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    marker = readme.index("<!-- tests/test_auth_plugins.py runs the next block")
    start = readme.index("```python\n", marker) + len("```python\n")
    return readme[start : readme.index("```\n", start)]


class Gateway:
    """A loopback gateway that checks the README's signature over the bytes it received."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.url = server.url_for("/replicate/v1")
        self.bodies: list[bytes] = []
        self.failures: list[str] = []

    def check(self, request: WRequest) -> str | None:
        body = request.get_data()
        self.bodies.append(body)
        sha = hashlib.sha256(body).hexdigest()
        headers = request.headers
        if headers.get("X-Gateway-Content-SHA256") != sha:
            return "the body's digest does not match the body received"
        timestamp = headers.get("X-Gateway-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return "stale timestamp"
        path = request.environ.get("RAW_URI") or request.environ["REQUEST_URI"]
        message = "\n".join([request.method, path, timestamp, sha]).encode()
        expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Gateway-Signature", "")):
            return "bad signature"
        if headers.get("X-Gateway-Key") != "team-a":
            return "unknown key"
        return None

    def route(self, path: str, answer: Callable[[WRequest], WResponse], **kw: Any) -> None:
        def handler(request: WRequest) -> WResponse:
            failure = self.check(request)
            if failure is not None:
                self.failures.append(failure)
                return WResponse(failure, status=401)
            return answer(request)

        self.server.expect_request(f"/replicate/v1{path}", **kw).respond_with_handler(handler)


def _json_answer(data: Any, status: int = 200) -> Callable[[WRequest], WResponse]:
    body = _dumps(data)
    return lambda request: WResponse(body, status=status, content_type="application/json")


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data)


ACCOUNT = {"type": "organization", "username": "acme", "name": "Acme", "github_url": None}
FILE = {
    "id": "f-1",
    "name": "photo.png",
    "content_type": "image/png",
    "size": 3,
    "checksums": {"sha256": "d" * 64},
    "metadata": {},
    "created_at": "2025-01-02T03:04:05.678Z",
    "expires_at": "2025-01-02T04:04:05.678Z",
    "urls": {"get": "https://api.replicate.com/v1/files/f-1"},
}


@pytest.fixture
def gateway(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    monkeypatch.setenv("GATEWAY_URL", httpserver.url_for("/replicate/v1"))
    monkeypatch.setenv("GATEWAY_SECRET", SECRET.decode())
    return Gateway(httpserver)


@pytest.fixture
def signers(gateway: Gateway, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The README's block run as written (a sync and an async request through the gateway);
    its namespace, with the two signer classes."""
    gateway.route("/account", _json_answer(ACCOUNT))
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    assert capsys.readouterr().out == "acme\nacme\n"
    assert gateway.failures == [] and len(gateway.bodies) == 2
    gateway.server.clear()
    gateway.bodies.clear()
    return namespace


def test_the_readme_example_runs(signers: dict[str, Any]) -> None:
    assert signers["GatewaySigner"] and signers["AsyncGatewaySigner"]


def test_the_readme_example_refused_with_a_wrong_secret(
    gateway: Gateway, signers: dict[str, Any]
) -> None:
    gateway.route("/account", _json_answer(ACCOUNT))
    signer = signers["GatewaySigner"]("team-a", b"not-the-secret")
    with (
        replicate.Replicate(base_url=gateway.url, auth=signer, max_retries=0) as client,
        pytest.raises(replicate.AuthenticationError),
    ):
        client.account.get()
    assert gateway.failures == ["bad signature"]


def signed_calls() -> list[tuple[str, Callable[[Any, Path], Any]]]:
    """(name, call) pairs: each sends one kind of body through a client (sync or async)."""
    return [
        ("json", lambda c, tmp: c.post("/echo", json={"prompt": "a lighthouse", "n": 1})),
        ("bytes", lambda c, tmp: c.post("/echo", content=b"\x00raw\xffbytes")),
        ("str", lambda c, tmp: c.post("/echo", content="text, é")),
        ("query", lambda c, tmp: c.get("/echo", params={"q": "a b", "cursor": "x/y"})),
        ("file", lambda c, tmp: c.post("/echo", content=_file(tmp, b"file body" * 10_000))),
        ("chunks", lambda c, tmp: c.post("/echo", content=[b"one,", b"", b"two"])),
        ("upload-bytes", lambda c, tmp: c.files.create(content=b"png")),
        ("upload-path", lambda c, tmp: c.files.create(content=_path(tmp, b"p" * 200_000))),
        ("upload-file", lambda c, tmp: c.files.create(content=_file(tmp, b"img"))),
    ]


def _path(tmp: Path, data: bytes) -> Path:
    path = tmp / "photo.png"
    path.write_bytes(data)
    return path


def _file(tmp: Path, data: bytes) -> Any:
    return _path(tmp, data).open("rb")


@pytest.fixture
def routes(gateway: Gateway, signers: dict[str, Any]) -> Gateway:
    gateway.route("/echo", _json_answer({"ok": True}))
    gateway.route("/files", _json_answer(FILE, status=201), method="POST")
    return gateway


@pytest.mark.parametrize(("kind", "call"), signed_calls(), ids=[n for n, _ in signed_calls()])
def test_sync_signer_signs_the_bytes_sent(
    routes: Gateway, signers: dict[str, Any], tmp_path: Path, kind: str, call: Any
) -> None:
    signer = signers["GatewaySigner"]("team-a", SECRET)
    with replicate.Replicate(base_url=routes.url, auth=signer, max_retries=0) as client:
        call(client, tmp_path)
    assert routes.failures == []
    assert len(routes.bodies) == 1
    if kind.startswith("upload"):
        assert routes.bodies[0].startswith(b"--") and b'name="content"' in routes.bodies[0]


@pytest.mark.parametrize(("kind", "call"), signed_calls(), ids=[n for n, _ in signed_calls()])
def test_async_signer_signs_the_bytes_sent(
    routes: Gateway, signers: dict[str, Any], tmp_path: Path, kind: str, call: Any
) -> None:
    signer = signers["AsyncGatewaySigner"]("team-a", SECRET)

    async def go() -> None:
        async with replicate.AsyncReplicate(
            base_url=routes.url, auth=signer, max_retries=0
        ) as client:
            await call(client, tmp_path)

    asyncio.run(go())
    assert routes.failures == []
    assert len(routes.bodies) == 1


@pytest.mark.parametrize("body", ["file", "upload"])
def test_each_resend_is_signed_over_its_whole_body(
    gateway: Gateway,
    signers: dict[str, Any],
    tmp_path: Path,
    fast_retries: replicate.DefaultRetryPolicy,
    body: str,
) -> None:
    # A 429 (retried even for a POST), then success: the second attempt's signature covers the
    # whole body again.
    data = b"0123456789" * 20_000
    path = "/files" if body == "upload" else "/echo"
    gateway.server.expect_oneshot_request(f"/replicate/v1{path}").respond_with_handler(
        lambda request: (gateway.check(request), WResponse("slow down", status=429))[1]
    )
    gateway.route(path, _json_answer(FILE if body == "upload" else {}, status=201))
    signer = signers["GatewaySigner"]("team-a", SECRET)
    with replicate.Replicate(base_url=gateway.url, auth=signer, retry_policy=fast_retries) as c:
        if body == "upload":
            c.files.create(content=_file(tmp_path, data))
        else:
            c.request("PUT", "/echo", content=_file(tmp_path, data))
    assert gateway.failures == []
    assert len(gateway.bodies) == 2 and gateway.bodies[0] == gateway.bodies[1]
    assert data in gateway.bodies[1]


def test_a_prepare_hook_reading_a_file_body_leaves_it_whole_for_the_signer(
    gateway: Gateway, signers: dict[str, Any], tmp_path: Path
) -> None:
    class Reads:
        @replicate.hookimpl
        def replicate_prepare_request(self, request: replicate.Request) -> None:
            assert request.content is not None
            request.content.read()  # type: ignore[union-attr]  # and leaves it at its end

    gateway.route("/echo", _json_answer({}))
    signer = signers["GatewaySigner"]("team-a", SECRET)
    with replicate.Replicate(base_url=gateway.url, auth=signer, plugins=[Reads()]) as client:
        client.request("PUT", "/echo", content=_file(tmp_path, b"whole body"))
    assert gateway.failures == [] and gateway.bodies == [b"whole body"]


def test_a_one_shot_body_cannot_be_signed(gateway: Gateway, signers: dict[str, Any]) -> None:
    gateway.route("/echo", _json_answer({}))
    signer = signers["GatewaySigner"]("team-a", SECRET)
    chunks = iter([b"a", b"b"])
    with (
        replicate.Replicate(base_url=gateway.url, auth=signer) as client,
        pytest.raises(replicate.BodyNotReplayableError, match="one-shot iterator"),
    ):
        client.post("/echo", content=chunks)
    assert next(chunks) == b"a"  # left unread
    assert gateway.bodies == []  # nothing sent


# --- the body view itself ---------------------------------------------------------------------


def req(content: Any) -> replicate.Request:
    return replicate.Request("POST", "https://api.replicate.com/v1/x", content=content)


def test_body_bytes_of_each_kind(tmp_path: Path) -> None:
    assert body_bytes(req(None)) == b""
    assert body_bytes(req(b"abc")) == b"abc"
    assert body_bytes(req(bytearray(b"abc"))) == b"abc"
    assert body_bytes(req([b"a", memoryview(b"bc")])) == b"abc"
    f = io.BytesIO(b"skip:the rest")
    f.seek(5)
    request = req(f)
    assert body_bytes(request) == b"the rest"
    assert f.tell() == 5  # left where it stood, for the transport
    assert body_bytes(request) == b"the rest"  # re-readable
    assert body_digest(request).hexdigest() == hashlib.sha256(b"the rest").hexdigest()
    assert body_digest(req(None), "md5").hexdigest() == hashlib.md5(b"").hexdigest()
    assert asyncio.run(abody_bytes(request)) == b"the rest"
    assert (asyncio.run(abody_digest(req(b"x")))).digest() == hashlib.sha256(b"x").digest()
    assert list(iter_body(req(b""))) == []


def test_body_bytes_of_an_abandoned_iteration_rewinds() -> None:
    f = io.BytesIO(b"x" * 200_000)
    chunks = iter_body(req(f))
    assert len(next(chunks)) == 64 * 1024
    chunks.close()  # type: ignore[attr-defined]
    assert f.tell() == 0


def test_body_bytes_of_a_multipart_upload_is_what_is_sent(tmp_path: Path) -> None:
    from replicate._multipart import upload_body

    path = _path(tmp_path, b"z" * 100_000)
    body, headers = upload_body(path, filename=None, type=None, metadata={"a": 1})
    request = req(body)
    first = body_bytes(request)
    assert first == b"".join(body)  # what a transport iterating it sends
    assert len(first) == int(headers["Content-Length"])
    assert body_bytes(request) == first


def test_body_bytes_refuses_what_it_would_consume() -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    with pytest.raises(replicate.BodyNotReplayableError, match="cannot seek"):
        body_bytes(req(Pipe()))
    gen = (c for c in [b"a"])
    with pytest.raises(replicate.BodyNotReplayableError, match="one-shot"):
        asyncio.run(abody_bytes(req(gen)))
    assert next(gen) == b"a"
    with pytest.raises(TypeError, match="binary"):
        body_bytes(req(io.StringIO("text")))  # type: ignore[arg-type]
