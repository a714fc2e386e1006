"""The plugin system end to end: installed plugins (real entry points), per-client plugins,
precedence of one-answer hooks, transports, events, and the hookspecs reference.

Installed plugins are real distributions written into a temporary folder put on ``sys.path``
(a ``<name>-0.1.dist-info`` with ``METADATA`` and ``entry_points.txt`` next to the module), so
``importlib.metadata`` finds them exactly as it finds a pip-installed plugin.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import Dists, installed_dists
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate import _plugins, hookspecs
from replicate.transports.urllib3_transport import Urllib3Transport

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dists]:
    yield from installed_dists(tmp_path, monkeypatch, prefix="rp_")


def load_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """REPLICATE_PLUGINS unset: every installed plugin loads."""
    monkeypatch.delenv("REPLICATE_PLUGINS", raising=False)
    _plugins.reset()


def header_plugin(header: str, value: str) -> str:
    """Source of a plugin whose ``replicate_prepare_request`` sets one header."""
    return f"""
        from replicate import hookimpl

        @hookimpl
        def replicate_prepare_request(request):
            request.headers[{header!r}] = {value!r}
        """


def auth_plugin(token: str) -> str:
    """Source of a plugin that supplies ``Authorization: Bearer <token>``."""
    return f"""
        from replicate import hookimpl

        class Auth:
            def auth_headers(self, request):
                return {{"Authorization": "Bearer {token}"}}

        @hookimpl
        def replicate_auth_provider(config):
            return Auth()
        """


def retry_plugin(tag: str) -> str:
    """Source of a plugin whose retry policy retries once, at once, and records its calls."""
    return f"""
        from replicate import hookimpl

        calls = []

        class Policy:
            def retry_delay(self, *, attempt, max_retries, request, response=None, error=None):
                calls.append({tag!r})
                return 0.0 if attempt == 0 else None

        @hookimpl
        def replicate_retry_policy(config):
            return Policy()
        """


def echo(httpserver: HTTPServer, path: str = "/v1/echo") -> None:
    """Answer ``path`` with the request's headers as JSON (names lower-cased)."""

    def handler(request: WRequest) -> WResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        return WResponse(json.dumps(headers), content_type="application/json")

    httpserver.expect_request(path).respond_with_handler(handler)


def new_client(httpserver: HTTPServer, **kwargs: Any) -> replicate.Replicate:
    kwargs.setdefault("base_url", httpserver.url_for("/v1"))
    return replicate.Replicate(**kwargs)


def sent_headers(client: replicate.Replicate) -> dict[str, str]:
    result: dict[str, str] = client.get("echo").json()
    return result


class HeaderPlugin:
    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    @replicate.hookimpl
    def replicate_prepare_request(self, request: replicate.Request) -> None:
        request.headers[self.name] = self.value


class AuthPlugin:
    def __init__(self, token: str | None) -> None:
        self.token = token

    @replicate.hookimpl
    def replicate_auth_provider(self, config: replicate.ClientConfig) -> Any:
        if self.token is None:
            return None
        return replicate.TokenAuth(self.token)


class CountingPolicy:
    """Retries once at once; records that it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def retry_delay(self, *, attempt: int, **kwargs: Any) -> float | None:
        self.calls += 1
        return 0.0 if attempt == 0 else None


class RetryPlugin:
    def __init__(self, policy: CountingPolicy | None) -> None:
        self.policy = policy

    @replicate.hookimpl
    def replicate_retry_policy(self, config: replicate.ClientConfig) -> Any:
        return self.policy


# --- an installed plugin, through a real entry point ------------------------------------------


@pytest.mark.parametrize("allow", [None, "demo", "other, demo"])
def test_installed_plugin_prepare_request(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch, allow: str | None
) -> None:
    dists.add("demo", header_plugin("X-Demo", "from-entry-point"))
    if allow is None:
        monkeypatch.delenv("REPLICATE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("REPLICATE_PLUGINS", allow)
    _plugins.reset()
    echo(httpserver)
    with new_client(httpserver, bearer_token=TOKEN) as client:
        headers = sent_headers(client)
    assert headers["x-demo"] == "from-entry-point"
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_installed_plugin_supplies_auth(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("vault", auth_plugin("from-vault"))
    monkeypatch.setenv("REPLICATE_PLUGINS", "vault")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "from-env")  # the built-in ranks below plugins
    echo(httpserver)
    with new_client(httpserver) as client:
        assert sent_headers(client)["authorization"] == "Bearer from-vault"


def test_import_is_light_and_scans_no_entry_points(dists: Dists) -> None:
    dists.add("lazy", header_plugin("X-Lazy", "1"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    env["PYTHONPATH"] = str(dists.root)
    code = textwrap.dedent(
        """
        import sys
        import replicate
        heavy = ("importlib.metadata", "pluggy", "urllib3", "msgspec", "rp_lazy")
        print([m for m in heavy if m in sys.modules], "replicate._plugins" in sys.modules)
        replicate.hookimpl, replicate.PluginError  # names resolve without scanning
        from replicate import _plugins
        print("rp_lazy" in sys.modules, _plugins._entry_points is None)
        replicate.Replicate(bearer_token="x").close()
        print("rp_lazy" in sys.modules, _plugins._entry_points is None)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[] False", "False True", "True False"]


def test_entry_points_are_scanned_at_first_client(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = dists.add("late", header_plugin("X-Late", "1"))
    load_all(monkeypatch)
    assert module not in sys.modules
    assert _plugins._entry_points is None
    echo(httpserver)
    with new_client(httpserver, bearer_token=TOKEN) as client:
        assert module in sys.modules
        assert sent_headers(client)["x-late"] == "1"


# --- broken plugins ---------------------------------------------------------------------------

BROKEN = {
    "import-error": """
        raise ImportError("rp_broken needs a package that is not installed")
        """,
    "misspelled-hook": """
        from replicate import hookimpl

        @hookimpl
        def replicate_prepare_requets(request):
            request.headers["X-Broken"] = "1"
        """,
    "transports-raise": """
        from replicate import hookimpl

        @hookimpl
        def replicate_register_transports(register):
            raise RuntimeError("cannot register")

        @hookimpl
        def replicate_prepare_request(request):
            request.headers["X-Broken"] = "1"
        """,
}


@pytest.mark.parametrize("swapped_transport", [False, True])
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_plugin_is_skipped_with_a_warning(
    httpserver: HTTPServer,
    dists: Dists,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    swapped_transport: bool,
) -> None:
    dists.add("broken", BROKEN[kind])
    dists.add("good", header_plugin("X-Good", "1"))
    load_all(monkeypatch)
    echo(httpserver)
    kwargs: dict[str, Any] = {"transport": Urllib3Transport()} if swapped_transport else {}
    with pytest.warns(RuntimeWarning, match=r"skipping plugin 'broken'") as record:
        client = new_client(httpserver, bearer_token=TOKEN, **kwargs)
    assert "REPLICATE_STRICT_PLUGINS" in str(record[0].message)
    with client:
        headers = sent_headers(client)
    assert headers["x-good"] == "1"
    assert "x-broken" not in headers  # skipped means none of its hooks run


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_plugin_is_an_error_when_strict(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    dists.add("broken", BROKEN[kind])
    dists.add("good", header_plugin("X-Good", "1"))
    load_all(monkeypatch)
    monkeypatch.setenv("REPLICATE_STRICT_PLUGINS", "1")
    with pytest.raises(replicate.PluginError, match=r"'broken'"):
        new_client(httpserver, bearer_token=TOKEN)
    assert len(httpserver.log) == 0


def test_plugin_whose_transport_registration_fails_keeps_no_transport(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add(
        "half",
        """
        from replicate import hookimpl

        @hookimpl
        def replicate_register_transports(register):
            register("half", lambda config: None)
            raise RuntimeError("second transport failed")
        """,
    )
    load_all(monkeypatch)
    with (
        pytest.warns(RuntimeWarning, match=r"'half'.*second transport failed"),
        pytest.raises(ValueError, match=r"'half' is not an installed transport"),
    ):
        new_client(httpserver, bearer_token=TOKEN, transport="half")


def test_import_error_message_names_the_cause(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add_entry_point("rp_ghost", "ghost", "rp_module_that_does_not_exist")
    load_all(monkeypatch)
    with pytest.warns(RuntimeWarning, match=r"'ghost'.*rp_module_that_does_not_exist") as rec:
        new_client(httpserver, bearer_token=TOKEN).close()
    assert "ModuleNotFoundError" in str(rec[0].message)
    assert "rp_ghost" in str(rec[0].message)  # the distribution that declared it


def test_broken_plugin_warns_once_per_scan(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("broken", BROKEN["import-error"])
    load_all(monkeypatch)
    with pytest.warns(RuntimeWarning) as record:
        new_client(httpserver, bearer_token=TOKEN).close()
        new_client(httpserver, bearer_token=TOKEN).close()
    assert len([w for w in record if "'broken'" in str(w.message)]) == 1


def test_client_plugin_with_misspelled_hook_is_an_error(httpserver: HTTPServer) -> None:
    class Typo:
        @replicate.hookimpl
        def replicate_prepare_requets(self, request: replicate.Request) -> None:
            pass

    with pytest.raises(replicate.PluginError, match=r"Typo.*replicate_prepare_requets"):
        new_client(httpserver, bearer_token=TOKEN, plugins=[Typo()])


# --- which installed plugins load -------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "expected"),
    [(None, {"a", "b"}), ("", set()), ("a", {"a"}), (" b ,", {"b"}), ("a,b", {"a", "b"})],
)
def test_allowlist(
    httpserver: HTTPServer,
    dists: Dists,
    monkeypatch: pytest.MonkeyPatch,
    allow: str | None,
    expected: set[str],
) -> None:
    dists.add("a", header_plugin("X-Plugin-A", "1"))
    dists.add("b", header_plugin("X-Plugin-B", "1"))
    if allow is None:
        monkeypatch.delenv("REPLICATE_PLUGINS", raising=False)
    else:
        monkeypatch.setenv("REPLICATE_PLUGINS", allow)
    echo(httpserver)
    with new_client(httpserver, bearer_token=TOKEN) as client:
        headers = sent_headers(client)
    assert {n for n in ("a", "b") if f"x-plugin-{n}" in headers} == expected
    for name in {"a", "b"} - expected:
        assert f"rp_{name}" not in sys.modules  # not even imported


# --- one-answer hooks: auth -------------------------------------------------------------------


@pytest.fixture
def two_auth_plugins(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> None:
    dists.add("vault-a", auth_plugin("from-a"))
    dists.add("vault-b", auth_plugin("from-b"))
    load_all(monkeypatch)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "from-env")


def test_auth_builtin_reads_the_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "from-env")
    echo(httpserver)
    with new_client(httpserver) as client:
        assert sent_headers(client)["authorization"] == "Bearer from-env"


def test_two_installed_auth_plugins_is_an_error(
    httpserver: HTTPServer, two_auth_plugins: None
) -> None:
    with pytest.raises(replicate.PluginError, match=r"'vault-a', 'vault-b'.*REPLICATE_AUTH"):
        new_client(httpserver)


@pytest.mark.parametrize("choice", ["vault-a", "vault-b"])
def test_replicate_auth_picks_one(
    httpserver: HTTPServer, two_auth_plugins: None, monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    monkeypatch.setenv("REPLICATE_AUTH", choice)
    echo(httpserver)
    with new_client(httpserver) as client:
        assert sent_headers(client)["authorization"] == f"Bearer from-{choice[-1]}"


def test_replicate_auth_naming_no_plugin_is_an_error(
    httpserver: HTTPServer, two_auth_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_AUTH", "vault-c")
    with pytest.raises(replicate.PluginError, match=r"vault-c.*vault-a"):
        new_client(httpserver)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"bearer_token": "explicit"}, "explicit"),
        ({"auth": replicate.TokenAuth("explicit-auth")}, "explicit-auth"),
        (
            {"bearer_token": "explicit", "plugins": [AuthPlugin("client")]},
            "explicit",
        ),
        ({"plugins": [AuthPlugin("client")]}, "client"),
        ({"plugins": [AuthPlugin("first"), AuthPlugin("second")]}, "first"),
        ({"plugins": [AuthPlugin(None), AuthPlugin("second")]}, "second"),
    ],
)
def test_auth_precedence_above_installed(
    httpserver: HTTPServer, two_auth_plugins: None, kwargs: dict[str, Any], expected: str
) -> None:
    # Two competing installed plugins are no error when something ranked above them answers.
    echo(httpserver)
    with new_client(httpserver, **kwargs) as client:
        assert sent_headers(client)["authorization"] == f"Bearer {expected}"


def test_auth_installed_beats_builtin_and_client_plugin_passing(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("vault-a", auth_plugin("from-a"))
    load_all(monkeypatch)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "from-env")
    echo(httpserver)
    with new_client(httpserver, plugins=[AuthPlugin(None)]) as client:
        assert sent_headers(client)["authorization"] == "Bearer from-a"


# --- one-answer hooks: retry policy -----------------------------------------------------------


def fail_then_succeed(httpserver: HTTPServer, path: str = "/v1/flaky") -> None:
    httpserver.expect_oneshot_request(path).respond_with_data("busy", status=503)
    httpserver.expect_request(path).respond_with_json({"ok": True})


@pytest.fixture
def two_retry_plugins(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    a = dists.add("retry-a", retry_plugin("a"))
    b = dists.add("retry-b", retry_plugin("b"))
    load_all(monkeypatch)
    return a, b


def test_installed_retry_policy_is_used(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = dists.add("retry-a", retry_plugin("a"))
    load_all(monkeypatch)
    fail_then_succeed(httpserver)
    with new_client(httpserver, bearer_token=TOKEN) as client:
        assert client.get("flaky").json() == {"ok": True}
    assert dists.module(module).calls == ["a"]
    assert len(httpserver.log) == 2


def test_two_installed_retry_policies_is_an_error(
    httpserver: HTTPServer, two_retry_plugins: tuple[str, str]
) -> None:
    with pytest.raises(
        replicate.PluginError, match=r"'retry-a', 'retry-b'.*REPLICATE_RETRY_POLICY"
    ):
        new_client(httpserver, bearer_token=TOKEN)


def test_replicate_retry_policy_picks_one(
    httpserver: HTTPServer,
    dists: Dists,
    two_retry_plugins: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICATE_RETRY_POLICY", "retry-b")
    fail_then_succeed(httpserver)
    with new_client(httpserver, bearer_token=TOKEN) as client:
        client.get("flaky")
    a, b = two_retry_plugins
    assert dists.module(a).calls == []
    assert dists.module(b).calls == ["b"]


def test_retry_policy_precedence(
    httpserver: HTTPServer, dists: Dists, two_retry_plugins: tuple[str, str]
) -> None:
    explicit, first, second = CountingPolicy(), CountingPolicy(), CountingPolicy()
    plugins = [RetryPlugin(None), RetryPlugin(first), RetryPlugin(second)]
    fail_then_succeed(httpserver)
    with new_client(httpserver, bearer_token=TOKEN, plugins=plugins) as client:
        client.get("flaky")
    assert (first.calls, second.calls) == (1, 0)  # earliest answering client plugin wins
    fail_then_succeed(httpserver)
    with new_client(
        httpserver, bearer_token=TOKEN, plugins=plugins, retry_policy=explicit
    ) as client:
        client.get("flaky")
    assert (explicit.calls, first.calls, second.calls) == (1, 1, 0)
    a, b = two_retry_plugins
    assert dists.module(a).calls == dists.module(b).calls == []


def test_builtin_retry_policy_when_no_plugin_answers(httpserver: HTTPServer) -> None:
    with new_client(httpserver, bearer_token=TOKEN, plugins=[RetryPlugin(None)]) as client:
        assert type(client._core.sender.retry_policy) is replicate.DefaultRetryPolicy


# --- transports -------------------------------------------------------------------------------

RECORDING_TRANSPORT = """
    from replicate import hookimpl
    from replicate.transports.urllib3_transport import Urllib3Transport

    sent = []

    class RecordingTransport:
        name = "recording"

        def __init__(self, config):
            self.inner = Urllib3Transport.from_config(config)

        def send(self, request, *, timeout, stream=False):
            sent.append((request.method, request.url))
            return self.inner.send(request, timeout=timeout, stream=stream)

        def close(self):
            self.inner.close()

    @hookimpl
    def replicate_register_transports(register):
        register("recording", RecordingTransport)
    """


@pytest.fixture
def recording(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The module of an installed plugin registering the ``recording`` transport."""
    module = dists.add("rec", RECORDING_TRANSPORT)
    load_all(monkeypatch)
    importlib.import_module(module)
    return sys.modules[module]


def test_transport_by_registered_name(httpserver: HTTPServer, recording: Any) -> None:
    httpserver.expect_request("/v1/ping").respond_with_json({"pong": True})
    with new_client(httpserver, bearer_token=TOKEN, transport="recording") as client:
        assert type(client.transport).__name__ == "RecordingTransport"
        assert client.get("ping").json() == {"pong": True}
        assert "recording" in repr(client)
    assert recording.sent == [("GET", httpserver.url_for("/v1/ping"))]


def test_transport_from_environment(
    httpserver: HTTPServer, recording: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_TRANSPORT", "recording")
    httpserver.expect_request("/v1/ping").respond_with_json({})
    with new_client(httpserver, bearer_token=TOKEN) as client:
        client.get("ping")
    assert len(recording.sent) == 1


def test_explicit_transport_beats_environment(
    httpserver: HTTPServer, recording: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_TRANSPORT", "recording")
    httpserver.expect_request("/v1/ping").respond_with_json({})
    with new_client(httpserver, bearer_token=TOKEN, transport="urllib3") as client:
        assert isinstance(client.transport, Urllib3Transport)
        client.get("ping")
    assert recording.sent == []
    assert len(httpserver.log) == 1


def test_explicit_transport_ignores_unknown_environment(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_TRANSPORT", "nonesuch")
    with new_client(httpserver, bearer_token=TOKEN, transport="urllib3") as client:
        assert isinstance(client.transport, Urllib3Transport)


@pytest.mark.parametrize("via", ["argument", "environment"])
def test_unknown_transport_lists_installed_ones(
    httpserver: HTTPServer, recording: Any, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    # Only the recording plugin loads: the repository's own replicate-httpx may be installed.
    monkeypatch.setenv("REPLICATE_PLUGINS", "rec")
    kwargs: dict[str, Any] = {}
    if via == "argument":
        kwargs["transport"] = "httpx"
    else:
        monkeypatch.setenv("REPLICATE_TRANSPORT", "httpx")
    prefix = "transport=" if via == "argument" else "REPLICATE_TRANSPORT="
    with pytest.raises(ValueError) as info:
        new_client(httpserver, bearer_token=TOKEN, **kwargs)
    assert str(info.value).startswith(f"{prefix}'httpx' is not an installed transport")
    assert "installed: recording, urllib3" in str(info.value)


def test_two_plugins_registering_one_transport_name(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("rec-one", RECORDING_TRANSPORT)
    dists.add("rec-two", RECORDING_TRANSPORT)
    load_all(monkeypatch)
    with pytest.raises(replicate.PluginError) as info:
        new_client(httpserver, bearer_token=TOKEN)
    message = str(info.value)
    assert "'recording'" in message and "'rec-one'" in message and "'rec-two'" in message


def test_plugin_cannot_take_a_builtin_transport_name(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("usurper", RECORDING_TRANSPORT.replace('"recording", ', '"urllib3", '))
    load_all(monkeypatch)
    with pytest.raises(replicate.PluginError, match=r"'urllib3'.*'usurper'"):
        new_client(httpserver, bearer_token=TOKEN)


def test_client_plugin_registers_a_transport(httpserver: HTTPServer) -> None:
    made = []

    class Mine:
        @replicate.hookimpl
        def replicate_register_transports(self, register: Any) -> None:
            def factory(config: replicate.ClientConfig) -> Urllib3Transport:
                made.append(config.base_url)
                return Urllib3Transport.from_config(config)

            register("mine", factory)

    httpserver.expect_request("/v1/ping").respond_with_json({})
    with new_client(httpserver, bearer_token=TOKEN, transport="mine", plugins=[Mine()]) as c:
        c.get("ping")
    assert made == [httpserver.url_for("/v1")]
    with pytest.raises(ValueError, match=r"installed: urllib3$"):
        new_client(httpserver, bearer_token=TOKEN, transport="mine")  # that client only


class RecordingTransport:
    """A swapped transport object: every exchange goes through it."""

    def __init__(self) -> None:
        self.inner = Urllib3Transport()
        self.sent: list[tuple[str, str, str | None]] = []
        self.closed = False

    def send(
        self, request: replicate.Request, *, timeout: replicate.Timeout, stream: bool = False
    ) -> replicate.Response:
        self.sent.append((request.method, request.url, request.headers.get("authorization")))
        return self.inner.send(request, timeout=timeout, stream=stream)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


def test_transport_object_is_used_for_every_request(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    fail_then_succeed(httpserver)
    httpserver.expect_request("/v1/old").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/v1/new")}
    )
    httpserver.expect_request("/v1/new").respond_with_json({"moved": True})
    transport = RecordingTransport()
    client = new_client(
        httpserver, bearer_token=TOKEN, transport=transport, retry_policy=fast_retries
    )
    assert client.transport is transport
    assert client.get("flaky").json() == {"ok": True}
    assert client.get("old").json() == {"moved": True}
    copy = client.with_options(timeout=3)
    copy.get("new")
    assert [(m, u.rsplit("/", 1)[1]) for m, u, _ in transport.sent] == [
        ("GET", "flaky"),
        ("GET", "flaky"),
        ("GET", "old"),
        ("GET", "new"),
        ("GET", "new"),
    ]
    assert {auth for _, _, auth in transport.sent} == {f"Bearer {TOKEN}"}
    assert len(httpserver.log) == len(transport.sent)
    copy.close()
    assert not transport.closed  # the copy does not own it
    client.close()
    assert transport.closed


def test_canned_transport_object_needs_no_network(httpserver: HTTPServer) -> None:
    class Canned:
        def __init__(self) -> None:
            self.requests: list[replicate.Request] = []

        def send(
            self, request: replicate.Request, *, timeout: replicate.Timeout, stream: bool = False
        ) -> replicate.Response:
            self.requests.append(request)
            return replicate.Response(
                200,
                headers=replicate.Headers({"Content-Type": "application/json"}),
                content=b'{"canned": true}',
                request=request,
            )

        def close(self) -> None:
            pass

    canned = Canned()
    with new_client(httpserver, bearer_token=TOKEN, transport=canned) as client:
        assert client.post("predictions", json={"a": 1}).json() == {"canned": True}
    assert [r.method for r in canned.requests] == ["POST"]
    assert canned.requests[0].content == b'{"a":1}'
    assert len(httpserver.log) == 0


def test_transport_object_without_send_is_a_type_error(httpserver: HTTPServer) -> None:
    with pytest.raises(TypeError, match="send"):
        new_client(httpserver, bearer_token=TOKEN, transport=object())


# --- per-client plugins, prepare_request, observe ---------------------------------------------


def test_client_plugins_affect_only_that_client(httpserver: HTTPServer) -> None:
    echo(httpserver)
    with (
        new_client(httpserver, bearer_token=TOKEN, plugins=[HeaderPlugin("X-Mine", "1")]) as a,
        new_client(httpserver, bearer_token=TOKEN) as b,
    ):
        assert sent_headers(a)["x-mine"] == "1"
        assert "x-mine" not in sent_headers(b)
        assert sent_headers(a.with_options(timeout=5))["x-mine"] == "1"  # copies share it


def test_client_and_installed_preparers_both_run(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.add("demo", header_plugin("X-Installed", "1"))
    load_all(monkeypatch)
    echo(httpserver)
    with new_client(httpserver, bearer_token=TOKEN, plugins=[HeaderPlugin("X-Client", "1")]) as c:
        headers = sent_headers(c)
    assert headers["x-installed"] == headers["x-client"] == "1"


def test_other_projects_hookimpl_marker_is_ignored(httpserver: HTTPServer) -> None:
    other = pluggy.HookimplMarker("not-replicate")

    class Foreign:
        @other
        def replicate_prepare_request(self, request: replicate.Request) -> None:
            request.headers["X-Foreign"] = "1"

    echo(httpserver)
    with new_client(httpserver, bearer_token=TOKEN, plugins=[Foreign()]) as client:
        assert "x-foreign" not in sent_headers(client)


def test_prepare_request_runs_each_attempt_without_seeing_auth(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    seen: list[tuple[str, bool]] = []

    class Preparer:
        @replicate.hookimpl
        def replicate_prepare_request(
            self, request: replicate.Request, config: replicate.ClientConfig
        ) -> None:
            seen.append((request.url.rsplit("/", 1)[1], "authorization" in request.headers))
            request.headers["X-Attempt"] = str(len(seen))
            assert config.base_url == httpserver.url_for("/v1")

    httpserver.expect_oneshot_request("/v1/old").respond_with_data("", status=503)
    httpserver.expect_request("/v1/old").respond_with_data(
        "", status=302, headers={"Location": "/v1/new"}
    )
    httpserver.expect_request("/v1/new").respond_with_json({})
    with new_client(
        httpserver, bearer_token=TOKEN, retry_policy=fast_retries, plugins=[Preparer()]
    ) as client:
        client.get("old")
    assert seen == [("old", False), ("old", False), ("new", False)]
    received = [(r.path, r.headers.get("X-Attempt"), r.headers.get("Authorization")) for r, _ in
                httpserver.log]  # fmt: skip
    assert received == [
        ("/v1/old", "1", f"Bearer {TOKEN}"),
        ("/v1/old", "2", f"Bearer {TOKEN}"),
        ("/v1/new", "3", f"Bearer {TOKEN}"),
    ]


def test_prepare_request_that_raises_stops_the_request(httpserver: HTTPServer) -> None:
    class Refuse:
        @replicate.hookimpl
        def replicate_prepare_request(self, request: replicate.Request) -> None:
            raise PermissionError("not today")

    with (
        new_client(httpserver, bearer_token=TOKEN, plugins=[Refuse()]) as client,
        pytest.raises(PermissionError, match="not today"),
    ):
        client.get("anything")
    assert len(httpserver.log) == 0


class Observer:
    def __init__(self) -> None:
        self.events: list[replicate.Event] = []

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        self.events.append(event)


def summary(events: list[replicate.Event]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for e in events:
        assert e.request is not None
        path = e.request.url.rsplit("/", 1)[1]
        status = e.response.status_code if e.response is not None else None
        out.append((e.kind, path, e.attempt, status))
    return out


def test_observe_sees_request_response_retry_redirect_in_order(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    fail_then_succeed(httpserver)
    httpserver.expect_request("/v1/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/v1/new")}
    )
    httpserver.expect_request("/v1/new").respond_with_json({})
    observer = Observer()
    with new_client(
        httpserver, bearer_token=TOKEN, retry_policy=fast_retries, plugins=[observer]
    ) as client:
        client.get("flaky")
        retry = next(e for e in observer.events if e.kind == "retry")
        assert retry.delay is not None and 0 <= retry.delay <= 0.005
        observer.events.clear()
        client.get("old")
    assert summary(observer.events) == [
        ("request", "old", 0, None),
        ("response", "old", 0, 301),
        ("redirect", "old", 0, 301),
        ("request", "new", 0, None),
        ("response", "new", 0, 200),
    ]
    assert observer.events[2].data == httpserver.url_for("/v1/new")


def test_observe_retry_sequence(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    fail_then_succeed(httpserver)
    observer = Observer()
    with new_client(
        httpserver, bearer_token=TOKEN, retry_policy=fast_retries, plugins=[observer]
    ) as client:
        client.get("flaky")
    assert summary(observer.events) == [
        ("request", "flaky", 0, None),
        ("response", "flaky", 0, 503),
        ("retry", "flaky", 0, 503),
        ("request", "flaky", 1, None),
        ("response", "flaky", 1, 200),
    ]


def test_observe_installed_plugin_and_error_event(
    httpserver: HTTPServer, dists: Dists, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = dists.add(
        "watch",
        """
        from replicate import hookimpl

        kinds = []

        @hookimpl
        def replicate_observe(event):
            kinds.append(event.kind)
        """,
    )
    load_all(monkeypatch)
    httpserver.expect_request("/v1/ping").respond_with_json({})
    with new_client(httpserver, bearer_token=TOKEN) as client:
        client.get("ping")
    assert dists.module(module).kinds == ["request", "response"]


def test_observer_that_raises_is_logged_and_ignored(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        @replicate.hookimpl
        def replicate_observe(self, event: replicate.Event) -> None:
            raise ValueError("observer bug")

    observer = Observer()
    httpserver.expect_request("/v1/ping").respond_with_json({"pong": 1})
    with (
        caplog.at_level(logging.ERROR, logger="replicate"),
        new_client(httpserver, bearer_token=TOKEN, plugins=[Broken(), observer]) as client,
    ):
        assert client.get("ping").json() == {"pong": 1}
    errors = [r for r in caplog.records if r.name == "replicate" and r.levelno == logging.ERROR]
    assert len(errors) == 2  # one per event, each with the traceback
    assert all(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in errors)
    assert "observer" in errors[0].getMessage()
    assert [e.kind for e in observer.events] == ["request", "response"]  # others still called
    assert TOKEN not in caplog.text


# --- the marker, the reference, the built-ins -------------------------------------------------


def test_hookimpl_is_the_replicate_marker() -> None:
    assert replicate.hookimpl is hookspecs.hookimpl
    assert isinstance(replicate.hookimpl, pluggy.HookimplMarker)
    assert replicate.hookimpl.project_name == "replicate"


REQUIRED_HOOKS = {
    "replicate_register_transports",
    "replicate_auth_provider",
    "replicate_retry_policy",
    "replicate_prepare_request",
    "replicate_observe",
    "replicate_encode_input",
    "replicate_decode_output",
}


def hookspec_functions() -> dict[str, Any]:
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "replicate_spec")
    }


def test_hookspecs_cover_the_required_hooks() -> None:
    assert set(hookspec_functions()) >= REQUIRED_HOOKS


@pytest.mark.parametrize("name", sorted(hookspec_functions()))
def test_every_hookspec_is_documented(name: str) -> None:
    doc = inspect.getdoc(hookspec_functions()[name]) or ""
    assert len(doc) > 100, f"{name} has no real docstring"
    assert "Fires" in doc, f"{name}: the docstring must say when it fires"
    assert "raise" in doc or "exception" in doc, f"{name}: must say what happens if it raises"


def test_builtins_are_ordinary_plugins(httpserver: HTTPServer) -> None:
    from replicate import builtin

    with new_client(httpserver, bearer_token=TOKEN) as client:
        pm = client._core.plugins.pm
        assert pm.is_registered(builtin)
        hooks = {h.name for h in pm.get_hookcallers(builtin) or []}
    assert {
        "replicate_register_transports",
        "replicate_auth_provider",
        "replicate_retry_policy",
    } <= hooks
