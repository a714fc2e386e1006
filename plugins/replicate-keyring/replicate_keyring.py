"""The Replicate API token from the system keyring (macOS Keychain, Windows Credential Locker,
the freedesktop Secret Service, or any backend of the ``keyring`` package).

Store the token once, then use the SDK without ``REPLICATE_API_TOKEN``::

    replicate-keyring login        # prompts for the token (or reads one line from stdin)
    replicate-keyring status       # says whether a token is stored (never prints it)
    replicate-keyring logout       # removes it

or, with the SDK's ``replicate`` command, ``replicate auth login`` / ``replicate auth logout``
(this plugin's ``replicate_cli_auth`` hook does the same).

The token lives under the service name ``replicate`` and the user name ``api-token``
(``REPLICATE_KEYRING_SERVICE`` / ``REPLICATE_KEYRING_USERNAME``, or ``--service`` /
``--username``, to change them), so other tools can read it too:
``keyring get replicate api-token``.

The keyring is read once when a client is built, to see whether it holds a token (without
one, or when it cannot be read, this plugin passes and the next auth provider answers), and
the token is cached for the life of the client. When the API answers 401 the keyring is read
again, once: if it now holds another token (stored by ``login`` meanwhile), the request is sent
again with it.

``REPLICATE_API_TOKEN``, when set, wins: this plugin then passes without reading the keyring,
and the SDK's built-in token auth sends it. Chosen by name (``Replicate(auth="keyring")`` or
``REPLICATE_AUTH=keyring``) the plugin always answers, and reads the keyring at the first
request: without a stored token that request raises :class:`replicate.MissingTokenError`
saying how to store one.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from replicate import MissingTokenError, hookimpl

if TYPE_CHECKING:
    from replicate import ClientConfig, Request, Response

__all__ = [
    "DEFAULT_SERVICE",
    "DEFAULT_USERNAME",
    "SERVICE_ENV",
    "USERNAME_ENV",
    "KeyringAuth",
    "delete_token",
    "main",
    "replicate_auth_provider",
    "replicate_cli_auth",
    "store_token",
]

SERVICE_ENV = "REPLICATE_KEYRING_SERVICE"
USERNAME_ENV = "REPLICATE_KEYRING_USERNAME"
DEFAULT_SERVICE = "replicate"
DEFAULT_USERNAME = "api-token"
TOKEN_ENV = "REPLICATE_API_TOKEN"


def _service(service: str | None) -> str:
    return service or (os.environ.get(SERVICE_ENV) or "").strip() or DEFAULT_SERVICE


def _username(username: str | None) -> str:
    return username or (os.environ.get(USERNAME_ENV) or "").strip() or DEFAULT_USERNAME


class KeyringAuth:
    """An auth provider whose token is the password stored in the system keyring under
    ``service`` and ``username`` (by default ``replicate`` / ``api-token``, or the
    ``REPLICATE_KEYRING_SERVICE`` / ``REPLICATE_KEYRING_USERNAME`` variables).

    The keyring is read at the first request (unless the hook read it already, to decide
    whether to answer) and on a 401 (once per 401); thread-safe.
    """

    def __init__(self, service: str | None = None, username: str | None = None) -> None:
        self.service = _service(service)
        self.username = _username(username)
        self._lock = threading.Lock()
        #: (token, headers), replaced as a whole so readers never see half an update.
        self._cached: tuple[str, Mapping[str, str]] | None = None

    # --- the AuthProvider protocol ------------------------------------------------------------

    def auth_headers(self, request: Request) -> Mapping[str, str]:
        return self._get()[1]

    def refresh(self, request: Request, response: Response) -> bool:
        """Called on a 401: read the keyring again; True if it holds another token than the one
        this request was sent with (the request is then sent again with it)."""
        with self._lock:
            cached = self._cached
            sent = request.headers.get("authorization")
            if cached is not None and sent != cached[1]["Authorization"]:
                return True  # another thread refreshed since this request was sent
            token = self._read()
            if token is None:
                self._cached = None  # logged out: the next request says so
                return False
            self._cached = _entry(token)
            return cached is None or token != cached[0]

    # --- helpers ------------------------------------------------------------------------------

    def token(self) -> str:
        """The token, read from the keyring if not yet (what ``client.bearer_token`` shows)."""
        return self._get()[0]

    def _get(self) -> tuple[str, Mapping[str, str]]:
        cached = self._cached
        if cached is None:
            with self._lock:
                cached = self._cached
                if cached is None:
                    token = self._read()
                    if token is None:
                        raise MissingTokenError(
                            f"No Replicate API token in the system keyring (service "
                            f"{self.service!r}, user {self.username!r}): store one with "
                            f"`replicate-keyring login`, or set {TOKEN_ENV}"
                        )
                    cached = self._cached = _entry(token)
        return cached

    def _read(self) -> str | None:
        import keyring
        from keyring.errors import KeyringError

        try:
            token = keyring.get_password(self.service, self.username)
        except KeyringError as exc:
            raise MissingTokenError(
                f"the system keyring could not be read ({type(exc).__name__}: {exc}); "
                f"no Replicate API token (set {TOKEN_ENV} instead)"
            ) from None
        token = (token or "").strip()
        return token or None

    def __repr__(self) -> str:
        state = "cached" if self._cached is not None else "not read"
        return f"KeyringAuth(service={self.service!r}, username={self.username!r}, token={state})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Never pickle a token: the copy reads the keyring again when it needs one.
        return (type(self), (self.service, self.username))


def _entry(token: str) -> tuple[str, Mapping[str, str]]:
    return token, {"Authorization": f"Bearer {token}"}


@hookimpl
def replicate_auth_provider(config: ClientConfig, chosen: bool) -> KeyringAuth | None:
    """A :class:`KeyringAuth` when the keyring holds a token, else None (pass).

    Chosen by name (``auth="keyring"``, ``REPLICATE_AUTH=keyring``), it always answers, and
    reads the keyring only at the first request. Otherwise it passes without touching the
    keyring when ``REPLICATE_API_TOKEN`` is set, and passes when the keyring holds no token or
    cannot be read (no backend, locked): the next auth provider answers, and an installed
    plugin that has nothing to offer never competes with another."""
    if chosen:
        return KeyringAuth()
    if os.environ.get(TOKEN_ENV):
        return None
    auth = KeyringAuth()
    try:
        token = auth._read()
    except Exception as exc:  # no backend, locked, a backend's own error: nothing to offer
        logging.getLogger("replicate").debug(
            "replicate-keyring: passing, the keyring could not be read (%s)", type(exc).__name__
        )
        return None
    if token is None:
        return None
    auth._cached = _entry(token)  # read once: the first request needs no second read
    return auth


# --- storing and removing the token: the replicate-keyring command ------------------------------


def store_token(token: str, *, service: str | None = None, username: str | None = None) -> None:
    """Store ``token`` in the system keyring, where :class:`KeyringAuth` reads it."""
    import keyring

    token = token.strip()
    if not token or not token.isprintable() or any(c.isspace() for c in token):
        raise ValueError("that is not an API token: it is empty or holds spaces")
    keyring.set_password(_service(service), _username(username), token)


def delete_token(*, service: str | None = None, username: str | None = None) -> bool:
    """Remove the stored token; False if there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    service, username = _service(service), _username(username)
    if keyring.get_password(service, username) is None:
        return False
    try:
        keyring.delete_password(service, username)
    except PasswordDeleteError:
        return False
    return True


def _where(service: str | None = None, username: str | None = None) -> str:
    return f"the system keyring (service {_service(service)!r}, user {_username(username)!r})"


@hookimpl
def replicate_cli_auth(action: str, read_token: Callable[[], str]) -> str | None:
    """``replicate auth login`` stores the token ``read_token()`` gives (prompted for, or read
    from stdin, by the ``replicate`` command) where :class:`KeyringAuth` reads it;
    ``replicate auth logout`` removes it. Other actions pass (None)."""
    if action == "login":
        store_token(read_token())  # a malformed token: ValueError, before anything is stored
        return f"Stored the Replicate API token in {_where()}."
    if action == "logout":
        if delete_token():
            return f"Removed the Replicate API token from {_where()}."
        return f"No Replicate API token was stored in {_where()}."
    return None


def _read_token(stdin: TextIO) -> str:
    if stdin.isatty():
        return getpass.getpass("Replicate API token (https://replicate.com/account/api-tokens): ")
    return stdin.readline()


def main(argv: Sequence[str] | None = None) -> int:
    """``replicate-keyring login|logout|status``: the exit status (0 when it did what was asked;
    ``status`` exits 1 when no token is stored, any command 2 on an error)."""
    parser = argparse.ArgumentParser(
        prog="replicate-keyring",
        description="Store the Replicate API token in the system keyring, for the replicate SDK.",
    )
    parser.add_argument(
        "--service",
        help=f"keyring service name (default: ${SERVICE_ENV}, else {DEFAULT_SERVICE!r})",
    )
    parser.add_argument(
        "--username",
        help=f"keyring user name (default: ${USERNAME_ENV}, else {DEFAULT_USERNAME!r})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "login",
        help="store a token: prompted for, or read as one line from stdin when it is not a "
        "terminal (`echo $TOKEN | replicate-keyring login`)",
    )
    commands.add_parser("logout", help="remove the stored token")
    commands.add_parser("status", help="say whether a token is stored (never prints it)")
    args = parser.parse_args(argv)

    import keyring
    from keyring.errors import KeyringError

    service, username = _service(args.service), _username(args.username)
    where = f"the system keyring (service {service!r}, user {username!r})"
    try:
        if args.command == "login":
            try:
                token = _read_token(sys.stdin)
            except (EOFError, KeyboardInterrupt):
                print("replicate-keyring: no token given", file=sys.stderr)
                return 2
            try:
                store_token(token, service=service, username=username)
            except ValueError as exc:
                print(f"replicate-keyring: {exc}", file=sys.stderr)
                return 2
            print(f"Stored the Replicate API token in {where}.")
            return 0
        if args.command == "logout":
            if delete_token(service=service, username=username):
                print(f"Removed the Replicate API token from {where}.")
            else:
                print(f"No Replicate API token was stored in {where}.")
            return 0
        stored = keyring.get_password(service, username)
        if stored:
            print(f"A Replicate API token is stored in {where}.")
            return 0
        print(f"No Replicate API token is stored in {where}.")
        return 1
    except KeyringError as exc:
        backend = type(keyring.get_keyring()).__name__
        print(
            f"replicate-keyring: the system keyring ({backend}) failed: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
