"""The keyring plugin, loaded through its installed entry point, against a loopback server, with
an in-memory keyring backend (:class:`MemoryKeyring`); the ``replicate-keyring`` command
in-process and as the installed console script (with the file-backed backend of
``filekeyring.py``).

Every test starts with the ``REPLICATE_*`` environment (and proxy variables) cleared, only this
plugin allowed to load (``REPLICATE_PLUGINS=keyring``), the SDK's entry-point scan forgotten,
and the keyring an empty in-memory backend: no test touches the machine's real keyring. (No
conftest.py: the plugins' test folders are collected together, and this one needs no package.)
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import io
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
import replicate_keyring
from keyring.errors import PasswordDeleteError
from pytest_httpserver import HTTPServer
from replicate_keyring import KeyringAuth, main

import replicate
from replicate.testing import isolated_environment

TOKEN = "r8_fromTheKeyring0123456789"
KEY = ("replicate", "api-token")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring held in a dict; ``reads`` counts ``get_password`` calls."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with isolated_environment("keyring", clear=("PYTHON_KEYRING",)):
        yield


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def make_client(httpserver: HTTPServer, **kwargs: object) -> replicate.Replicate:
    return replicate.Replicate(base_url=httpserver.url_for("/v1"), **kwargs)  # type: ignore[arg-type]


def sent_auth(httpserver: HTTPServer) -> list[str | None]:
    return [request.headers.get("Authorization") for request, _ in httpserver.log]


def test_installed_through_its_entry_point() -> None:
    eps = importlib.metadata.entry_points(group="replicate")
    assert {ep.name: ep.value for ep in eps}["keyring"] == "replicate_keyring"
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert {ep.name: ep.value for ep in scripts}["replicate-keyring"] == "replicate_keyring:main"


def test_token_from_the_keyring(httpserver: HTTPServer, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    httpserver.expect_request("/v1/account").respond_with_json({"username": "a"})
    with make_client(httpserver) as client:
        assert memory_keyring.reads == 1  # read once, to see whether there is a token
        assert isinstance(client._core.sender.auth, KeyringAuth)
        client.get("account")
        client.get("account")
        assert client.bearer_token == TOKEN
    assert sent_auth(httpserver) == [f"Bearer {TOKEN}"] * 2
    assert memory_keyring.reads == 1  # and cached


def test_service_and_username_from_the_environment(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_KEYRING_SERVICE", "corp-replicate")
    monkeypatch.setenv("REPLICATE_KEYRING_USERNAME", "ci")
    memory_keyring.passwords[("corp-replicate", "ci")] = TOKEN
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == [f"Bearer {TOKEN}"]


def test_no_stored_token_passes_to_the_next_provider(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing stored: the plugin passes, so it never competes with another auth plugin.
    monkeypatch.setenv("REPLICATE_PLUGINS", "keyring,token-command")
    command = f"{sys.executable} -c \"print('r8_fromTheCommand')\""
    monkeypatch.setenv("REPLICATE_API_TOKEN_COMMAND", command)
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == ["Bearer r8_fromTheCommand"]
    memory_keyring.passwords[KEY] = TOKEN  # now both answer: the user must choose
    with pytest.raises(replicate.PluginError, match=r"'keyring', 'token-command'.*REPLICATE_AUTH"):
        make_client(httpserver)
    with make_client(httpserver, auth="keyring") as client:
        client.get("account")
    assert sent_auth(httpserver)[-1] == f"Bearer {TOKEN}"


def test_no_stored_token_when_chosen_says_how_to_store_one(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring
) -> None:
    with make_client(httpserver) as client, pytest.raises(replicate.MissingTokenError) as info:
        client.get("account")
    assert "replicate-keyring" not in str(info.value)  # the plugin passed: the built-in's
    with (
        make_client(httpserver, auth="keyring") as client,
        pytest.raises(replicate.MissingTokenError) as info,
    ):
        assert memory_keyring.reads == 1  # the first client's look; the chosen one reads later
        client.get("account")
    message = str(info.value)
    assert "replicate-keyring login" in message and "'replicate'" in message
    assert "'api-token'" in message
    assert httpserver.log == []  # nothing sent


def test_a_broken_keyring_passes_or_when_chosen_says_why(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    from keyring.errors import KeyringLocked

    def locked(service: str, username: str) -> str:
        raise KeyringLocked("the keyring is locked")

    monkeypatch.setattr(memory_keyring, "get_password", locked)
    with make_client(httpserver) as client:
        assert not isinstance(client._core.sender.auth, KeyringAuth)
    with (
        make_client(httpserver, auth="keyring") as client,
        pytest.raises(replicate.MissingTokenError) as info,
    ):
        client.get("account")
    assert "KeyringLocked" in str(info.value)


def test_environment_token_wins_unless_chosen(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_fromTheEnvironment")
    httpserver.expect_request("/v1/account").respond_with_json({})
    with make_client(httpserver) as client:
        client.get("account")
    with make_client(httpserver, auth="keyring") as client:
        client.get("account")
    monkeypatch.setenv("REPLICATE_AUTH", "keyring")
    with make_client(httpserver) as client:
        client.get("account")
    assert sent_auth(httpserver) == [
        "Bearer r8_fromTheEnvironment",
        f"Bearer {TOKEN}",
        f"Bearer {TOKEN}",
    ]


@pytest.fixture
def rotating_keyring(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first read gives r8_old, later ones r8_new (a login between two requests)."""
    original = memory_keyring.get_password

    def get_password(service: str, username: str) -> str | None:
        value = original(service, username)
        memory_keyring.passwords[KEY] = "r8_new"
        return value

    monkeypatch.setattr(memory_keyring, "get_password", get_password)


@pytest.mark.usefixtures("rotating_keyring")
def test_401_reads_the_keyring_again_once(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.passwords[KEY] = "r8_old"
    httpserver.expect_oneshot_request("/v1/account").respond_with_json({"detail": "bad"}, 401)
    httpserver.expect_request("/v1/account").respond_with_json({"username": "a"})
    with make_client(httpserver) as client:
        client.get("account")  # reads r8_old, then on the 401 r8_new (stored meanwhile)
        assert sent_auth(httpserver) == ["Bearer r8_old", "Bearer r8_new"]
        client.get("account")
    assert sent_auth(httpserver)[-1] == "Bearer r8_new"
    assert memory_keyring.reads == 2


def test_401_with_the_same_token_is_raised(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    httpserver.expect_request("/v1/account").respond_with_json({"detail": "revoked"}, 401)
    with make_client(httpserver) as client:
        with pytest.raises(replicate.AuthenticationError):
            client.get("account")
        assert memory_keyring.reads == 2  # the client's build, then once on the 401
        assert len(httpserver.log) == 1  # not resent with the same token
        del memory_keyring.passwords[KEY]  # logged out meanwhile
        with pytest.raises(replicate.AuthenticationError):
            client.get("account")  # sent with the cached token, refused, keyring empty now
        with pytest.raises(replicate.MissingTokenError):
            client.get("account")  # and now nothing is cached: says so before sending
    assert len(httpserver.log) == 2


def test_async_client(httpserver: HTTPServer, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    httpserver.expect_request("/v1/account").respond_with_json({"username": "a"})

    async def go() -> None:
        async with replicate.AsyncReplicate(
            base_url=httpserver.url_for("/v1"), auth="keyring"
        ) as client:
            await client.get("account")

    asyncio.run(go())
    assert sent_auth(httpserver) == [f"Bearer {TOKEN}"]


def test_token_never_pickled_nor_shown(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    auth = KeyringAuth()
    assert auth.token() == TOKEN
    assert TOKEN not in repr(auth)
    data = pickle.dumps(auth)
    assert TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert (copy.service, copy.username) == KEY
    assert copy.token() == TOKEN  # read again


def test_chosen_client_pickles_with_its_choice(
    httpserver: HTTPServer, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.passwords[KEY] = TOKEN
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_fromTheEnvironment")
    with make_client(httpserver, auth="keyring") as client:
        data = pickle.dumps(client)
    assert TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert isinstance(copy._core.sender.auth, KeyringAuth)  # chosen again by name
    copy.close()


# --- the replicate-keyring command -------------------------------------------------------------


class Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_login_reads_stdin_and_logout_removes(
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", Stdin(f"  {TOKEN}\n"))
    assert main(["login"]) == 0
    assert memory_keyring.passwords == {KEY: TOKEN}
    assert main(["status"]) == 0
    assert main(["logout"]) == 0
    assert memory_keyring.passwords == {}
    assert main(["status"]) == 1
    assert main(["logout"]) == 0  # nothing to remove is no error
    out = capsys.readouterr().out
    assert TOKEN not in out
    assert "Stored" in out and "Removed" in out and "No Replicate API token" in out


def test_login_prompts_on_a_terminal(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return TOKEN

    monkeypatch.setattr(sys, "stdin", Stdin("", tty=True))
    monkeypatch.setattr(replicate_keyring.getpass, "getpass", fake_getpass)
    assert main(["--service", "svc", "--username", "me", "login"]) == 0
    assert memory_keyring.passwords == {("svc", "me"): TOKEN}
    assert len(prompts) == 1 and "token" in prompts[0]


@pytest.mark.parametrize("text", ["", "\n", "two words\n"])
def test_login_refuses_what_is_no_token(
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", Stdin(text))
    assert main(["login"]) == 2
    assert memory_keyring.passwords == {}
    assert "not an API token" in capsys.readouterr().err


def test_the_console_script_in_a_process(tmp_path: Path) -> None:
    script = shutil.which("replicate-keyring", path=os.path.dirname(sys.executable))
    assert script is not None, "the console script is installed next to the interpreter"
    store = tmp_path / "keyring.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")},
        "PYTHON_KEYRING_BACKEND": "filekeyring.FileKeyring",
        "PYTHONPATH": str(Path(__file__).parent),
        "REPLICATE_TEST_KEYRING_FILE": str(store),
    }

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
        )

    login = run("login", stdin=TOKEN + "\n")
    assert login.returncode == 0, login.stderr
    assert TOKEN not in login.stdout + login.stderr
    assert TOKEN in store.read_text()
    assert run("status").returncode == 0
    assert run("logout").returncode == 0
    assert TOKEN not in store.read_text()
    assert run("status").returncode == 1
