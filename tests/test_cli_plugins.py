"""Plugins and the ``replicate`` command: commands added through ``replicate_cli_commands``,
``replicate auth login|logout`` through ``replicate_cli_auth`` (fake installed plugins, and the
real replicate-keyring plugin with an in-memory keyring backend)."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import replicate
from replicate import _plugins
from replicate.cli import CommandError, Context, main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr("sys.stdin", io.StringIO(stdin))
                status = main(list(argv))
        else:
            status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Plugins that look installed (entry-point name -> object) to the plugin manager."""
    plugins: dict[str, object] = {}
    monkeypatch.setattr(_plugins, "installed_plugins", lambda: list(plugins.items()))
    return plugins


class Greeter:
    """Adds ``replicate hello [--name NAME]``; ``fail`` makes its run raise that."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.base_url: str | None = None

    @replicate.hookimpl
    def replicate_cli_commands(self, register: Callable[..., None]) -> None:
        def configure(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--name", default="world")

        register("hello", self.run, help="say hello", configure=configure)

    def run(self, context: Context) -> int | None:
        if self.fail is not None:
            raise self.fail
        self.base_url = context.client().base_url
        context.stdout.write(f"hello {context.args.name}\n")
        return None


def test_a_plugin_adds_a_command(cli: Run, installed: dict[str, object]) -> None:
    greeter = Greeter()
    installed["greet"] = greeter
    status, out, err = cli("--base-url", "http://127.0.0.1:1/v9", "hello", "--name", "bob")
    assert (status, out, err) == (0, "hello bob\n", "")
    assert greeter.base_url == "http://127.0.0.1:1/v9"  # the global options reach its client
    status, out, _ = cli("--help")
    assert "hello" in out and "say hello" in out
    status, out, _ = cli("hello", "--help")
    assert status == 0 and "--name" in out and "--base-url" in out
    status, out, _ = cli("plugins")
    assert "  hello (from greet)" in out
    assert json.loads(cli("plugins", "--json")[1])["cli"]["commands"] == {"hello": "greet"}


@pytest.mark.parametrize(
    ("error", "status", "line"),
    [
        (CommandError("the greeting failed"), 1, "replicate: the greeting failed"),
        (CommandError("bad name", exit_code=2), 2, "replicate: bad name"),
        (RuntimeError("boom"), 1, "replicate: plugin 'greet' failed: RuntimeError: boom"),
        (replicate.ReplicateError("sdk says\nno"), 1, "replicate: sdk says no"),
        (KeyboardInterrupt(), 130, "replicate: interrupted"),
    ],
)
def test_a_plugin_command_fails_with_one_line(
    cli: Run, installed: dict[str, object], error: BaseException, status: int, line: str
) -> None:
    installed["greet"] = Greeter(fail=error)
    got, out, err = cli("hello")
    assert (got, out) == (status, "")
    assert err.splitlines() == [line]


class Clasher:
    @replicate.hookimpl
    def replicate_cli_commands(self, register: Callable[..., None]) -> None:
        register("run", lambda context: 7, help="not the real run")
        register("extra", lambda context: 0, help="fine")


class Breaker:
    @replicate.hookimpl
    def replicate_cli_commands(self, register: Callable[..., None]) -> None:
        register("first", lambda context: 0, help="added, then dropped")
        raise RuntimeError("half way")


def test_a_clashing_command_is_skipped_with_a_warning(
    cli: Run, installed: dict[str, object]
) -> None:
    installed["clash"] = Clasher()
    status, out, err = cli("extra")
    assert status == 0
    assert err.splitlines() == [
        "replicate: warning: skipping a command of plugin 'clash': 'run' is already a built-in "
        "command"
    ]
    status, out, _ = cli("run", "--help")
    assert "not the real run" not in out  # the built-in run is the one there


def test_a_hook_that_raises_drops_all_its_commands(cli: Run, installed: dict[str, object]) -> None:
    installed["broken"] = Breaker()
    status, _, err = cli("first")
    assert status == 2  # no such command
    assert (
        "replicate: warning: skipping a command of plugin 'broken': replicate_cli_commands raised "
        "RuntimeError: half way" in err
    )


def test_strict_plugins_make_a_broken_command_an_error(
    cli: Run, installed: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_STRICT_PLUGINS", "1")
    installed["clash"] = Clasher()
    status, _, err = cli("plugins")
    assert status == 1
    assert err.splitlines() == ["replicate: plugin 'clash': 'run' is already a built-in command"]


# --- auth -----------------------------------------------------------------------------------


class Vault:
    """An auth plugin keeping the token in a dict (``answer`` overrides what it returns)."""

    def __init__(self, name: str, answer: Any = "default") -> None:
        self.name = name
        self.answer = answer
        self.stored: str | None = None
        self.calls: list[str] = []

    @replicate.hookimpl
    def replicate_cli_auth(self, action: str, read_token: Callable[[], str]) -> str | None:
        self.calls.append(action)
        if isinstance(self.answer, BaseException):
            raise self.answer
        if self.answer != "default":
            return self.answer  # type: ignore[no-any-return]
        if action == "login":
            self.stored = read_token()
            return f"stored in {self.name}"
        self.stored = None
        return f"removed from {self.name}"


def test_auth_login_and_logout_go_through_the_plugin(
    cli: Run, installed: dict[str, object]
) -> None:
    vault = installed["vault"] = Vault("vault")
    assert cli("auth", "login", stdin="  r8_secret \n") == (0, "stored in vault\n", "")
    assert vault.stored == "r8_secret"
    assert cli("auth", "logout") == (0, "removed from vault\n", "")
    assert vault.stored is None
    assert json.loads(cli("plugins", "--json")[1])["cli"]["auth"] == ["vault"]


def test_auth_without_a_plugin_says_which_can_provide_it(cli: Run) -> None:
    status, out, err = cli("auth", "login", stdin="r8_x\n")
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        "replicate: no installed plugin provides `replicate auth login`: install one, such as "
        "replicate-keyring (pip install replicate-keyring: it keeps the token in the system "
        "keyring); or set REPLICATE_API_TOKEN instead"
    ]


def test_two_auth_plugins_need_a_choice(
    cli: Run, installed: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = installed["a"] = Vault("a")
    b = installed["b"] = Vault("b")
    status, _, err = cli("auth", "logout")
    assert status == 1
    assert "plugins 'a', 'b' all provide `replicate auth logout`" in err
    assert a.calls == b.calls == []  # neither was called
    assert cli("auth", "logout", "--plugin", "b")[1] == "removed from b\n"
    monkeypatch.setenv("REPLICATE_AUTH", "a")
    assert cli("auth", "logout")[1] == "removed from a\n"
    status, _, err = cli("auth", "logout", "--plugin", "c")
    assert status == 1
    assert "--plugin c names no loaded plugin" in err and "'a', 'b'" in err


@pytest.mark.parametrize(
    ("answer", "stdin", "status", "line"),
    [
        (None, "r8_x\n", 1, "replicate: plugin 'vault' does not support `replicate auth login`"),
        (ValueError("that is no token"), "r8_x\n", 2, "replicate: vault: that is no token"),
        (OSError("locked"), "r8_x\n", 1, "replicate: plugin 'vault' could not login: locked"),
        ("default", "\n", 2, "replicate: no token given"),
    ],
)
def test_auth_failures_are_one_line(
    cli: Run, installed: dict[str, object], answer: Any, stdin: str, status: int, line: str
) -> None:
    installed["vault"] = Vault("vault", answer=answer)
    got, out, err = cli("auth", "login", stdin=stdin)
    assert (got, out) == (status, "")
    assert err.splitlines() == [line]


# --- the replicate-keyring plugin -----------------------------------------------------------


keyring = pytest.importorskip("keyring")


class MemoryKeyring(keyring.backend.KeyringBackend):  # type: ignore[misc]
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("none")


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.setenv("REPLICATE_PLUGINS", "keyring")
    _plugins.reset()
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_keyring_login_then_use_then_logout(
    cli: Run, memory_keyring: MemoryKeyring, httpserver: HTTPServer
) -> None:
    status, out, err = cli("auth", "login", stdin="r8_fromLogin\n")
    assert status == 0, err
    assert out == (
        "Stored the Replicate API token in the system keyring (service 'replicate', user "
        "'api-token').\n"
    )
    assert memory_keyring.passwords == {("replicate", "api-token"): "r8_fromLogin"}

    httpserver.expect_request(
        "/v1/models/acme/hello", headers={"Authorization": "Bearer r8_fromLogin"}
    ).respond_with_json({"owner": "acme", "name": "hello"})
    status, out, err = cli("--base-url", httpserver.url_for("/v1"), "models", "get", "acme/hello")
    assert (status, out) == (0, "acme/hello\n"), err

    status, out, _ = cli("auth", "logout")
    assert out.startswith("Removed the Replicate API token from the system keyring")
    assert memory_keyring.passwords == {}
    status, out, _ = cli("auth", "logout")
    assert (status, out.split(" was")[0]) == (0, "No Replicate API token")


def test_keyring_refuses_a_malformed_token(cli: Run, memory_keyring: MemoryKeyring) -> None:
    status, _, err = cli("auth", "login", stdin="two words\n")
    assert status == 2
    assert err.splitlines() == [
        "replicate: keyring: that is not an API token: it is empty or holds spaces"
    ]
    assert memory_keyring.passwords == {}
