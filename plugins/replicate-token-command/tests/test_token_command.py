"""The token-command plugin, loaded through its installed entry point, against a loopback
server. The "vault" is a small Python script that prints the next token listed in a file.
"""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import shlex
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import replicate_token_command
from pytest_httpserver import HTTPServer
from replicate_token_command import TokenCommandAuth

import replicate
from replicate.testing import isolated_environment, run_in_threads


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    """The ``REPLICATE_*`` and proxy environment cleared, only this plugin allowed to load
    (``REPLICATE_PLUGINS=token-command``) and the SDK's entry-point scan forgotten, so whatever
    else is installed or exported on the machine cannot change a result."""
    with isolated_environment("token-command"):
        yield


SCRIPT = """\
import sys, time
from pathlib import Path

here = Path(sys.argv[1])
tokens = (here / "tokens.txt").read_text().splitlines()
runs = here / "runs.txt"
n = len(runs.read_text().splitlines()) if runs.exists() else 0
with runs.open("a") as f:
    f.write("run\\n")
token = tokens[min(n, len(tokens) - 1)]
if token == "FAIL":
    print("SECRET-OUTPUT-do-not-show")
    print("some diagnostics", file=sys.stderr)
    sys.exit(3)
if token.startswith("SLEEP"):
    time.sleep(float(token[5:]))
print(token.replace("\\\\n", "\\n"))
"""

PROGRAM = os.path.basename(sys.executable)


class Vault:
    """A token command: ``tokens`` are printed one per run (the last one repeats)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "vault.py").write_text(SCRIPT)
        self.command = shlex.join([sys.executable, str(root / "vault.py"), str(root)])

    def set(self, *tokens: str) -> None:
        (self.root / "tokens.txt").write_text("\n".join(tokens) + "\n")

    @property
    def runs(self) -> int:
        path = self.root / "runs.txt"
        return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    v = Vault(tmp_path)
    v.set("r8_from-the-vault")
    monkeypatch.setenv("REPLICATE_API_TOKEN_COMMAND", v.command)
    return v


def make_client(httpserver: HTTPServer, **kwargs: object) -> replicate.Replicate:
    return replicate.Replicate(base_url=httpserver.url_for("/v1"), **kwargs)  # type: ignore[arg-type]


def sent_auth(httpserver: HTTPServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request, _ in httpserver.log]


def test_installed_through_its_entry_point() -> None:
    (ep,) = [
        ep
        for ep in importlib.metadata.entry_points(group="replicate")
        if ep.name == "token-command"
    ]
    assert ep.value == "replicate_token_command"
    assert ep.dist is not None and ep.dist.name == "replicate-token-command"


def test_server_gets_the_commands_token(httpserver: HTTPServer, vault: Vault) -> None:
    httpserver.expect_request(
        "/v1/account", headers={"Authorization": "Bearer r8_from-the-vault"}
    ).respond_with_json({"username": "me"})
    with make_client(httpserver) as client:
        assert vault.runs == 0  # nothing runs until a request needs the token
        assert client.get("account").json() == {"username": "me"}
        assert client.get("account").json() == {"username": "me"}
        assert client.bearer_token == "r8_from-the-vault"
    assert vault.runs == 1  # cached
    assert sent_auth(httpserver) == ["Bearer r8_from-the-vault"] * 2


def test_output_is_stripped_and_only_the_first_line_used(
    httpserver: HTTPServer, vault: Vault
) -> None:
    vault.set("  r8_first-line  \\nsecond line: metadata")
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == ["Bearer r8_first-line"]


def test_401_runs_the_command_again_and_retries_with_the_new_token(
    httpserver: HTTPServer, vault: Vault
) -> None:
    vault.set("r8_stale", "r8_fresh")
    httpserver.expect_request(
        "/v1/account", headers={"Authorization": "Bearer r8_stale"}
    ).respond_with_json({"detail": "Invalid token"}, status=401)
    httpserver.expect_request(
        "/v1/account", headers={"Authorization": "Bearer r8_fresh"}
    ).respond_with_json({"username": "me"})
    with make_client(httpserver) as client:
        assert client.get("account").json() == {"username": "me"}
        assert vault.runs == 2
        client.get("account")
    assert vault.runs == 2  # the fresh token is cached
    assert sent_auth(httpserver) == ["Bearer r8_stale", "Bearer r8_fresh", "Bearer r8_fresh"]


def test_401_with_the_same_token_is_not_retried(httpserver: HTTPServer, vault: Vault) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({"detail": "nope"}, status=401)
    with make_client(httpserver) as client, pytest.raises(replicate.AuthenticationError):
        client.get("account")
    assert vault.runs == 2
    assert len(httpserver.log) == 1


def check_secret_free(error: BaseException, vault: Vault) -> str:
    message = str(error)
    assert "SECRET-OUTPUT" not in message
    assert "diagnostics" not in message
    assert str(vault.root) not in message  # the arguments are not shown, only the program
    shown = "".join(traceback.format_exception(error))  # the chain, as a traceback shows it
    assert "SECRET-OUTPUT" not in shown and str(vault.root) not in shown
    return message


def test_failing_command_raises_missing_token_error(httpserver: HTTPServer, vault: Vault) -> None:
    vault.set("FAIL")
    with make_client(httpserver) as client:
        with pytest.raises(replicate.MissingTokenError) as info:
            client.get("account")
        message = check_secret_free(info.value, vault)
        assert "REPLICATE_API_TOKEN_COMMAND" in message
        assert repr(PROGRAM) in message
        assert "exited with status 3" in message
        assert len(httpserver.log) == 0  # nothing was sent without a token
        with pytest.raises(replicate.MissingTokenError):
            client.get("account")
    assert vault.runs == 2  # a failure is not cached: the next request tries again


def test_command_printing_nothing(httpserver: HTTPServer, vault: Vault) -> None:
    vault.set("   ")
    with make_client(httpserver) as client, pytest.raises(replicate.MissingTokenError) as info:
        client.get("account")
    assert "printed no token (exit status 0)" in check_secret_free(info.value, vault)


def test_command_printing_something_unusable(httpserver: HTTPServer, vault: Vault) -> None:
    vault.set("SECRET-OUTPUT with spaces")
    with make_client(httpserver) as client, pytest.raises(replicate.MissingTokenError) as info:
        client.get("account")
    assert "printed no usable token" in check_secret_free(info.value, vault)
    assert len(httpserver.log) == 0


def test_command_not_found(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "REPLICATE_API_TOKEN_COMMAND", "/nonexistent/bin/vault-cli read --password=hunter2"
    )
    with make_client(httpserver) as client, pytest.raises(replicate.MissingTokenError) as info:
        client.get("account")
    assert "'vault-cli' was not found" in str(info.value)
    assert "hunter2" not in str(info.value) and "/nonexistent" not in str(info.value)


def test_command_timeout(
    httpserver: HTTPServer, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.set("SLEEP10")
    monkeypatch.setenv("REPLICATE_API_TOKEN_COMMAND_TIMEOUT", "0.5")
    started = time.monotonic()
    with make_client(httpserver) as client, pytest.raises(replicate.MissingTokenError) as info:
        client.get("account")
    assert time.monotonic() - started < 5
    assert "did not finish within 0.5 s" in str(info.value)


def test_refresh_that_fails_raises_and_is_retried_later(
    httpserver: HTTPServer, vault: Vault
) -> None:
    vault.set("r8_stale", "FAIL", "r8_fresh")
    httpserver.expect_request(
        "/v1/account", headers={"Authorization": "Bearer r8_stale"}
    ).respond_with_json({}, status=401)
    httpserver.expect_request(
        "/v1/account", headers={"Authorization": "Bearer r8_fresh"}
    ).respond_with_json({"ok": True})
    with make_client(httpserver) as client:
        with pytest.raises(replicate.MissingTokenError) as info:
            client.get("account")
        check_secret_free(info.value, vault)
        assert client.get("account").json() == {"ok": True}
    assert vault.runs == 3


def test_unset_variable_falls_back_to_the_environment_token(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_from-env")
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert "replicate_token_command" in sys.modules  # loaded, and it passed
    assert replicate_token_command.replicate_auth_provider(config=client.config) is None
    assert sent_auth(httpserver) == ["Bearer r8_from-env"]


def test_plugin_beats_the_environment_token(
    httpserver: HTTPServer, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_from-env")
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == ["Bearer r8_from-the-vault"]


def test_explicit_token_beats_the_plugin(httpserver: HTTPServer, vault: Vault) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver, bearer_token="r8_explicit") as client:
        client.get("account")
    assert sent_auth(httpserver) == ["Bearer r8_explicit"]
    assert vault.runs == 0


def test_not_loaded_when_not_allowed(
    httpserver: HTTPServer, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_from-env")
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == ["Bearer r8_from-env"]
    assert vault.runs == 0


def test_concurrent_first_requests_run_the_command_once(
    httpserver: HTTPServer, vault: Vault
) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        run_in_threads(lambda: client.get("account"), 8, together=True)
    assert vault.runs == 1
    assert sent_auth(httpserver) == ["Bearer r8_from-the-vault"] * 8


def test_repr_and_pickle_never_show_the_token(vault: Vault) -> None:
    provider = TokenCommandAuth(vault.command)
    assert repr(provider) == f"TokenCommandAuth(program={PROGRAM!r}, token=not fetched)"
    assert provider.auth_headers(replicate.Request("GET", "https://api.replicate.com/v1/x")) == {
        "Authorization": "Bearer r8_from-the-vault"
    }
    assert repr(provider) == f"TokenCommandAuth(program={PROGRAM!r}, token=cached)"
    data = pickle.dumps(provider)
    assert b"r8_from-the-vault" not in data
    copy = pickle.loads(data)
    assert repr(copy).endswith("token=not fetched)")
    assert copy.token() == "r8_from-the-vault"
    assert vault.runs == 2


def test_invalid_command_line_fails_at_client_construction(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN_COMMAND", "op read 'op://vault/unterminated")
    with pytest.raises(ValueError, match="REPLICATE_API_TOKEN_COMMAND is not a valid command line"):
        make_client(httpserver)


def test_invalid_timeout(
    httpserver: HTTPServer, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN_COMMAND_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="REPLICATE_API_TOKEN_COMMAND_TIMEOUT"):
        make_client(httpserver)
