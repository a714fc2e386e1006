"""Who receives the token: the API origin and its allowlist only, across redirects too."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import last_request

import replicate
from replicate._auth import DEFAULT_AUTH_HOSTS, AuthScope, TokenAuth, token_from_cog
from replicate.testing import MockTransport

ENV_TOKEN = "r8_EnvTokenForAuthTests4242"
COG_TOKEN = "r8_CogScopeToken1111"


@pytest.fixture
def other_port_server() -> Iterator[HTTPServer]:
    """Same host name as ``httpserver`` (localhost), another port: another origin."""
    server = HTTPServer(host="localhost", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


# --- origin check on plain requests ------------------------------------------------------------


def test_token_sent_to_api_origin(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    httpserver.expect_request("/files/x").respond_with_json({})
    client.get("/account")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"
    # An absolute URL on the same origin, outside the base path, still gets it.
    client.get(httpserver.url_for("/files/x"))
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"


def test_no_token_to_same_host_other_port(
    client: replicate.Replicate, other_port_server: HTTPServer, httpserver: HTTPServer
) -> None:
    assert other_port_server.host == httpserver.host
    assert other_port_server.port != httpserver.port
    other_port_server.expect_request("/v1/account").respond_with_json({})
    client.get(other_port_server.url_for("/v1/account"))
    assert "Authorization" not in last_request(other_port_server).headers


def test_no_token_to_other_host(client: replicate.Replicate, httpserver_ipv4: HTTPServer) -> None:
    # httpserver listens as "localhost"; httpserver_ipv4 as "127.0.0.1": a different host name.
    httpserver_ipv4.expect_request("/v1/account").respond_with_json({})
    client.get(httpserver_ipv4.url_for("/v1/account"))
    assert "Authorization" not in last_request(httpserver_ipv4).headers
    client.post(httpserver_ipv4.url_for("/v1/account"), json={})
    assert "Authorization" not in last_request(httpserver_ipv4).headers


def test_no_token_needed_for_foreign_hosts(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer
) -> None:
    # No token anywhere: a request that would not carry one does not fail for lack of one.
    httpserver_ipv4.expect_request("/file").respond_with_data("bytes")
    with replicate.Replicate(base_url=httpserver.url_for("/v1")) as c:
        assert c.get(httpserver_ipv4.url_for("/file")).text == "bytes"


def test_userinfo_trick_gets_no_token(
    client: replicate.Replicate, httpserver: HTTPServer, httpserver_ipv4: HTTPServer
) -> None:
    # http://localhost:PORT@127.0.0.1:PORT2/ targets 127.0.0.1, whatever it starts with.
    host_port = f"{httpserver.host}:{httpserver.port}"
    url = f"http://{host_port}@127.0.0.1:{httpserver_ipv4.port}/v1/x"
    httpserver_ipv4.expect_request("/v1/x").respond_with_data("ok")
    assert client._core.sender.auth_scope.allows(url) is False
    client.get(url)
    assert "Authorization" not in last_request(httpserver_ipv4).headers


# --- AuthScope unit checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.replicate.com/v1/predictions",
        "https://api.replicate.com",
        "https://api.replicate.com?x=1",
        "https://API.Replicate.com/v1",
        "https://api.replicate.com:443/v1",
        "https://streaming.api.replicate.com/v1/streams/abc",
        "https://stream.replicate.com",
        "https://stream.replicate.com/v1/files/x",
        "https://streaming-api.svc.rno2.c.replicate.net/v1/streams/abc",
        "https://replicate.com/account",
    ],
)
def test_scope_allows(url: str) -> None:
    assert AuthScope("https://api.replicate.com/v1").allows(url) is True


@pytest.mark.parametrize(
    "url",
    [
        "https://replicate.delivery/pbxt/abc/out.png",
        "https://pbxt.replicate.delivery",
        "https://pbxt.replicate.delivery/x/y.webp",
        "http://stream.replicate.com",
        "http://api.replicate.com/v1",
        "https://stream.replicate.com:8443/v1",
        "https://api.replicate.com:8443/v1",
        "https://api.replicate.com.evil.com",
        "https://api.replicate.com.evil.com/v1",
        "https://evil.com/?x=api.replicate.com",
        "https://evil.com/api.replicate.com",
        "https://api.replicate.com@evil.com/",
        "https://api.replicate.com:443@evil.com/",
        "https://evilreplicate.com/",
        "https://replicate.com.evil.com/",
        "https://evil.com#api.replicate.com",
        "ftp://api.replicate.com/v1",
        "/v1/relative",
        "not a url",
        "",
    ],
)
def test_scope_refuses(url: str) -> None:
    assert AuthScope("https://api.replicate.com/v1").allows(url) is False


def test_default_allowlist_is_replicate_domains() -> None:
    assert set(DEFAULT_AUTH_HOSTS) == {
        "replicate.com",
        "*.replicate.com",
        "replicate.net",
        "*.replicate.net",
    }


def test_custom_auth_hosts_replace_allowlist() -> None:
    scope = AuthScope("https://api.replicate.com/v1", ["*.example.com", "files.other.org"])
    assert scope.allows("https://api.replicate.com/v1/x")  # the origin always
    assert scope.allows("https://a.example.com/x")
    assert scope.allows("https://files.other.org/x")
    assert not scope.allows("https://example.com.attacker.org/x")
    assert not scope.allows("https://sub.files.other.org/x")
    assert not scope.allows("https://stream.replicate.com/x")
    assert not scope.allows("https://streaming-api.svc.rno2.c.replicate.net/x")
    assert not scope.allows("http://a.example.com/x")


def test_client_auth_hosts_option() -> None:
    with replicate.Replicate(auth_hosts=["*.example.com"]) as c:
        scope = c._core.sender.auth_scope
        assert scope.allows("https://x.example.com/y")
        assert not scope.allows("https://stream.replicate.com/y")
        assert scope.allows("https://api.replicate.com/v1/y")
    with replicate.Replicate(auth_hosts=[]) as c:
        assert not c._core.sender.auth_scope.allows("https://stream.replicate.com/y")
        assert c._core.sender.auth_scope.allows("https://api.replicate.com/v1/y")
    with pytest.raises(TypeError, match="auth_hosts"):
        replicate.Replicate(auth_hosts="*.example.com")


def test_scope_for_custom_base_url_on_a_port() -> None:
    scope = AuthScope("http://localhost:8080/v1")
    assert scope.allows("http://localhost:8080/v1/x")
    assert scope.allows("http://LOCALHOST:8080/other")
    assert not scope.allows("http://localhost:8081/v1/x")
    assert not scope.allows("http://localhost/v1/x")
    assert not scope.allows("https://localhost:8080/v1/x")
    assert not scope.allows("http://localhost:8080.evil.com/v1")
    assert not scope.allows("http://127.0.0.1:8080/v1/x")


def test_allowlisted_host_gets_token_through_client() -> None:
    mock = MockTransport(lambda request: replicate.Response(200, headers={}, content=b""))
    with replicate.Replicate(bearer_token=TOKEN, transport=mock) as c:
        c.get("https://stream.replicate.com/v1/streams/x")
        c.get("https://replicate.delivery/pbxt/out.png")
        c.get("http://stream.replicate.com/v1/streams/x")
        c.get("/predictions")
    seen = [(r.url, r.headers.get("authorization")) for r in mock.requests]
    assert seen == [
        ("https://stream.replicate.com/v1/streams/x", f"Bearer {TOKEN}"),
        ("https://replicate.delivery/pbxt/out.png", None),
        ("http://stream.replicate.com/v1/streams/x", None),
        ("https://api.replicate.com/v1/predictions", f"Bearer {TOKEN}"),
    ]


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_cross_origin_redirect_drops_token(
    httpserver: HTTPServer,
    httpserver_ipv4: HTTPServer,
    client: replicate.Replicate,
    status: int,
) -> None:
    target = httpserver_ipv4.url_for("/landing")
    httpserver.expect_request("/v1/files/abc").respond_with_data(
        "", status=status, headers={"Location": target}
    )
    httpserver_ipv4.expect_request("/landing").respond_with_data("landed")
    resp = client.get("/files/abc", headers={"Cookie": "session=1"})
    assert resp.text == "landed"
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"
    landed = last_request(httpserver_ipv4)
    assert "Authorization" not in landed.headers
    assert "Cookie" not in landed.headers
    assert resp.request is not None
    assert resp.request.url == target


def test_cross_origin_redirect_drops_user_authorization(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/x").respond_with_data(
        "", status=302, headers={"Location": httpserver_ipv4.url_for("/y")}
    )
    httpserver_ipv4.expect_request("/y").respond_with_data("ok")
    client.get("/x", headers={"Authorization": "Bearer r8_userSupplied"})
    assert last_request(httpserver).headers["Authorization"] == "Bearer r8_userSupplied"
    assert "Authorization" not in last_request(httpserver_ipv4).headers


def test_307_keeps_method_and_body_across_origins(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/upload", method="POST").respond_with_data(
        "", status=307, headers={"Location": httpserver_ipv4.url_for("/store")}
    )
    httpserver_ipv4.expect_request("/store", method="POST").respond_with_data("stored")
    assert client.post("/upload", json={"a": 1}).text == "stored"
    landed = last_request(httpserver_ipv4)
    assert landed.method == "POST"
    assert landed.get_json() == {"a": 1}
    assert "Authorization" not in landed.headers


def test_same_origin_redirect_keeps_token(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/old").respond_with_data(
        "", status=302, headers={"Location": "/v1/new"}
    )
    httpserver.expect_request("/v1/new").respond_with_json({"moved": True})
    assert client.get("/old").json() == {"moved": True}
    assert [r.path for r, _ in httpserver.log] == ["/v1/old", "/v1/new"]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r, _ in httpserver.log)


def test_token_not_restored_after_bouncing_back(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: replicate.Replicate
) -> None:
    # API -> foreign host -> back to the API: the foreign host chose the last URL, so no token.
    httpserver.expect_request("/v1/start").respond_with_data(
        "", status=302, headers={"Location": httpserver_ipv4.url_for("/bounce")}
    )
    httpserver_ipv4.expect_request("/bounce").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/v1/end")}
    )
    httpserver.expect_request("/v1/end").respond_with_data("end")
    assert client.get("/start").text == "end"
    assert "Authorization" not in last_request(httpserver).headers


def test_303_after_post_becomes_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/create", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/v1/result/1"}
    )
    httpserver.expect_request("/v1/result/1", method="GET").respond_with_json({"id": 1})
    assert client.post("/create", json={"big": "body"}).json() == {"id": 1}
    follow = last_request(httpserver)
    assert follow.method == "GET"
    assert follow.get_data() == b""
    assert "Content-Type" not in follow.headers
    assert follow.headers["Authorization"] == f"Bearer {TOKEN}"


def test_302_after_post_becomes_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/create", method="POST").respond_with_data(
        "", status=302, headers={"Location": "/v1/result/2"}
    )
    httpserver.expect_request("/v1/result/2", method="GET").respond_with_data("done")
    assert client.post("/create", content=b"data").text == "done"
    assert last_request(httpserver).method == "GET"


def test_redirect_loop_is_bounded(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/loop").respond_with_data(
        "", status=302, headers={"Location": "/v1/loop"}
    )
    with pytest.raises(replicate.APIError, match="redirect"):
        client.get("/loop")
    assert 2 <= len(httpserver.log) <= 21


def test_redirect_to_non_http_scheme_refused(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/x").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(replicate.APIError, match="redirect"):
        client.get("/x")


# --- missing and late tokens --------------------------------------------------------------------


def test_missing_token_raised_at_first_request(httpserver: HTTPServer) -> None:
    c = replicate.Replicate(base_url=httpserver.url_for("/v1"))  # no error here
    with c, pytest.raises(replicate.MissingTokenError) as info:
        c.get("/account")
    msg = str(info.value)
    assert "REPLICATE_API_TOKEN" in msg
    assert "bearer_token" in msg
    assert isinstance(info.value, replicate.ReplicateError)
    assert httpserver.log == []


def test_token_set_in_environment_after_construction(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(base_url=httpserver.url_for("/v1")) as c:
        with pytest.raises(replicate.MissingTokenError):
            c.get("/account")
        monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
        c.get("/account")
        assert last_request(httpserver).headers["Authorization"] == f"Bearer {ENV_TOKEN}"
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_rotated")
        c.get("/account")
        assert last_request(httpserver).headers["Authorization"] == "Bearer r8_rotated"


def test_empty_explicit_token_falls_back_to_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(bearer_token="", base_url=httpserver.url_for("/v1")) as c:
        c.get("/account")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {ENV_TOKEN}"


# --- Cog scope -----------------------------------------------------------------------------------


def install_fake_cog(monkeypatch: pytest.MonkeyPatch, context: object) -> None:
    cog = types.ModuleType("cog")
    scope = types.SimpleNamespace(context=context)
    cog.current_scope = lambda: scope  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cog", cog)


def test_cog_scope_token_wins_over_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    install_fake_cog(monkeypatch, {"REPLICATE_API_TOKEN": COG_TOKEN})
    assert token_from_cog() == COG_TOKEN
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(base_url=httpserver.url_for("/v1")) as c:
        assert c.bearer_token == COG_TOKEN
        c.get("/account")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {COG_TOKEN}"


def test_explicit_token_wins_over_cog_scope(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, client: replicate.Replicate
) -> None:
    install_fake_cog(monkeypatch, {"REPLICATE_API_TOKEN": COG_TOKEN})
    httpserver.expect_request("/v1/account").respond_with_json({})
    client.get("/account")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"


def test_cog_scope_without_token_falls_back(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    install_fake_cog(monkeypatch, {})
    assert token_from_cog() is None
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(base_url=httpserver.url_for("/v1")) as c:
        c.get("/account")
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {ENV_TOKEN}"


def test_broken_cog_module_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    cog = types.ModuleType("cog")

    def boom() -> object:
        raise RuntimeError("not in a prediction")

    cog.current_scope = boom  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cog", cog)
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    assert token_from_cog() is None
    assert TokenAuth().token() == ENV_TOKEN


def test_cog_token_changes_per_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    context: dict[str, str] = {"REPLICATE_API_TOKEN": "r8_first"}
    install_fake_cog(monkeypatch, context)
    auth = TokenAuth()
    req = replicate.Request("GET", "https://api.replicate.com/v1/x")
    assert auth.auth_headers(req) == {"Authorization": "Bearer r8_first"}
    context["REPLICATE_API_TOKEN"] = "r8_second"
    assert auth.auth_headers(req) == {"Authorization": "Bearer r8_second"}


# --- explicit Authorization header ----------------------------------------------------------------


def test_user_authorization_header_respected(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    client.get("/account", headers={"Authorization": "Token legacy-style"})
    assert last_request(httpserver).headers["Authorization"] == "Token legacy-style"


def test_user_authorization_header_without_any_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(base_url=httpserver.url_for("/v1")) as c:
        c.get("/account", headers={"authorization": "Bearer r8_manual"})
    assert last_request(httpserver).headers["Authorization"] == "Bearer r8_manual"


def test_default_authorization_header_respected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        default_headers={"Authorization": "Bearer r8_fromDefaults"},
    ) as c:
        c.get("/account")
    assert last_request(httpserver).headers["Authorization"] == "Bearer r8_fromDefaults"


# --- custom auth providers and 401 refresh --------------------------------------------------------


def test_custom_auth_provider_only_called_in_scope(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer
) -> None:
    calls: list[str] = []

    class Provider:
        def auth_headers(self, request: replicate.Request) -> dict[str, str]:
            calls.append(request.url)
            return {"Authorization": "Custom abc"}

    httpserver.expect_request("/v1/a").respond_with_data("a")
    httpserver_ipv4.expect_request("/b").respond_with_data("b")
    with replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=Provider()) as c:
        c.get("/a")
        c.get(httpserver_ipv4.url_for("/b"))
    assert calls == [httpserver.url_for("/v1/a")]
    assert last_request(httpserver).headers["Authorization"] == "Custom abc"
    assert "Authorization" not in last_request(httpserver_ipv4).headers


def test_401_refresh_is_tried_once(httpserver: HTTPServer) -> None:
    tokens = iter(["r8_stale", "r8_fresh", "r8_never"])

    class Refreshing:
        def __init__(self) -> None:
            self.current = next(tokens)
            self.refreshes = 0

        def auth_headers(self, request: replicate.Request) -> dict[str, str]:
            return {"Authorization": f"Bearer {self.current}"}

        def refresh(self, request: replicate.Request, response: replicate.Response) -> bool:
            self.refreshes += 1
            self.current = next(tokens)
            return True

    httpserver.expect_oneshot_request("/v1/a").respond_with_json({"detail": "expired"}, 401)
    httpserver.expect_request("/v1/a").respond_with_data("ok")
    provider = Refreshing()
    with replicate.Replicate(base_url=httpserver.url_for("/v1"), auth=provider) as c:
        assert c.get("/a").text == "ok"
        sent = [r.headers["Authorization"] for r, _ in httpserver.log]
        assert sent == ["Bearer r8_stale", "Bearer r8_fresh"]
        httpserver.clear()
        httpserver.expect_request("/v1/a").respond_with_json({"detail": "nope"}, 401)
        with pytest.raises(replicate.AuthenticationError):
            c.get("/a")
    assert provider.refreshes == 2  # once per call, never in a loop
    assert len(httpserver.log) == 2


# --- a transport's placeholder token ----------------------------------------------------------


class _OfflineTransport(MockTransport):
    """A transport that answers requests itself and offers a token for clients without one."""

    placeholder_token = "r8_placeholder_offline"


def _sent_authorization(client: replicate.Replicate, transport: MockTransport) -> str | None:
    client.get("/account")
    return transport.requests[-1].headers.get("Authorization")


def _ok(request: replicate.Request) -> replicate.Response:
    return replicate.Response(200, headers={"Content-Type": "application/json"}, content=b"{}")


def test_placeholder_token_used_without_any_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    transport = _OfflineTransport(_ok)
    with replicate.Replicate(transport=transport) as client:
        assert _sent_authorization(client, transport) == "Bearer r8_placeholder_offline"
        assert client.bearer_token == "r8_placeholder_offline"


def test_placeholder_token_yields_to_the_environment_and_explicit_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", ENV_TOKEN)
    transport = _OfflineTransport(_ok)
    with replicate.Replicate(transport=transport) as client:
        assert _sent_authorization(client, transport) == f"Bearer {ENV_TOKEN}"
    transport = _OfflineTransport(_ok)
    with replicate.Replicate(transport=transport, bearer_token="r8_explicit") as client:
        assert _sent_authorization(client, transport) == "Bearer r8_explicit"


def test_placeholder_token_yields_to_a_given_auth_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)

    class Gateway:
        def auth_headers(self, request: replicate.Request) -> dict[str, str]:
            return {"Authorization": "Gateway abc"}

    transport = _OfflineTransport(_ok)
    with replicate.Replicate(transport=transport, auth=Gateway()) as client:
        assert _sent_authorization(client, transport) == "Gateway abc"


def test_a_network_transport_offers_no_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    transport = MockTransport(_ok)
    with (
        replicate.Replicate(transport=transport) as client,
        pytest.raises(replicate.MissingTokenError),
    ):
        client.get("/account")
    assert transport.requests == []


def test_placeholder_token_auth_pickles_with_its_placeholder_only() -> None:
    import pickle

    auth = pickle.loads(pickle.dumps(TokenAuth(placeholder="r8_placeholder_offline")))
    assert isinstance(auth, TokenAuth)
    assert auth._placeholder == "r8_placeholder_offline"
    assert b"r8_secret" not in pickle.dumps(TokenAuth("r8_secret", placeholder="p"))
