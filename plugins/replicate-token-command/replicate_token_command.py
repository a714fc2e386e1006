"""Read the Replicate API token from a command: a vault, a keyring, a password manager.

Set ``REPLICATE_API_TOKEN_COMMAND`` to a command that prints the token, for example::

    export REPLICATE_API_TOKEN_COMMAND='op read op://vault/replicate/token'
    export REPLICATE_API_TOKEN_COMMAND='security find-generic-password -s replicate -w'

The command is split like a shell would (``shlex``) but run without one, the first time a request
needs the token; its output (whitespace stripped, first line only) is cached for the life of the
client. When the API answers 401 the command runs again, and the request is retried once if it
printed a different token. ``REPLICATE_API_TOKEN_COMMAND_TIMEOUT`` (seconds, default 30) bounds
each run.

If the command cannot run, fails or prints nothing, requests raise
:class:`replicate.MissingTokenError` naming the program and its exit status; neither the full
command line (it may hold secrets) nor anything the command printed is ever put in the message.
The command's stderr is not captured, so its own diagnostics reach the terminal.

With the variable unset, this plugin passes and the next auth provider (the built-in
``REPLICATE_API_TOKEN``) answers.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from replicate import MissingTokenError, hookimpl

if TYPE_CHECKING:
    from replicate import ClientConfig, Request, Response

__all__ = ["COMMAND_ENV", "TIMEOUT_ENV", "TokenCommandAuth", "replicate_auth_provider"]

COMMAND_ENV = "REPLICATE_API_TOKEN_COMMAND"
TIMEOUT_ENV = "REPLICATE_API_TOKEN_COMMAND_TIMEOUT"
DEFAULT_TIMEOUT = 30.0


class TokenCommandAuth:
    """An auth provider whose token is what ``command`` prints.

    ``command`` is a string (split with ``shlex``) or an argument list; it runs without a shell.
    Thread-safe: concurrent first requests run the command once.
    """

    def __init__(self, command: str | Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as exc:  # e.g. "No closing quotation"; says nothing of the text
                raise ValueError(f"{COMMAND_ENV} is not a valid command line: {exc}") from None
        else:
            argv = [str(arg) for arg in command]
        if not argv:
            raise ValueError(f"{COMMAND_ENV} is empty")
        if timeout <= 0:
            raise ValueError(f"the token command's timeout must be > 0 seconds, got {timeout!r}")
        self._argv = tuple(argv)
        #: Only the program's name ever appears in messages: arguments may hold secrets.
        self.program = os.path.basename(argv[0]) or argv[0]
        self.timeout = timeout
        self._lock = threading.Lock()
        #: (token, headers), replaced as a whole so readers never see half an update.
        self._cached: tuple[str, Mapping[str, str]] | None = None

    # --- the AuthProvider protocol ------------------------------------------------------------

    def auth_headers(self, request: Request) -> Mapping[str, str]:
        return self._get()[1]

    def refresh(self, request: Request, response: Response) -> bool:
        """Called on a 401: run the command again; True if it printed a different token."""
        with self._lock:
            cached = self._cached
            sent = request.headers.get("authorization")
            if cached is not None and sent != cached[1]["Authorization"]:
                # Another thread refreshed since this request was sent: retry with its token.
                return True
            try:
                token = self._run()
            except MissingTokenError:
                self._cached = None  # run it again on the next request
                raise
            self._cached = _entry(token)
            return cached is None or token != cached[0]

    # --- helpers ------------------------------------------------------------------------------

    def token(self) -> str:
        """The token, running the command if it has not run yet (``client.bearer_token``)."""
        return self._get()[0]

    def _get(self) -> tuple[str, Mapping[str, str]]:
        cached = self._cached
        if cached is None:
            with self._lock:
                cached = self._cached
                if cached is None:
                    cached = self._cached = _entry(self._run())
        return cached

    def _run(self) -> str:
        what = f"{COMMAND_ENV}: {self.program!r}"
        try:
            result = subprocess.run(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise MissingTokenError(f"{what} was not found") from None
        except subprocess.TimeoutExpired:
            raise MissingTokenError(
                f"{what} did not finish within {self.timeout:g} s "
                f"(set {TIMEOUT_ENV} to wait longer)"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise MissingTokenError(f"{what} could not be run: {reason}") from None
        status = result.returncode
        if status != 0:
            how = (
                f"exited with status {status}" if status > 0 else f"was killed by signal {-status}"
            )
            raise MissingTokenError(f"{what} {how}; no API token")
        try:
            text = result.stdout.decode("utf-8").strip()
        except UnicodeDecodeError:
            text = None
        token = text.splitlines()[0].strip() if text else ""
        if not token or not token.isprintable() or any(c.isspace() for c in token):
            problem = "printed no token" if not text or not token else "printed no usable token"
            raise MissingTokenError(f"{what} {problem} (exit status {status})")
        return token

    def __repr__(self) -> str:
        state = "cached" if self._cached is not None else "not fetched"
        return f"TokenCommandAuth(program={self.program!r}, token={state})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Never pickle a token: the copy runs the command again when it needs one.
        return (type(self), (self._argv,), {"timeout": self.timeout})


def _entry(token: str) -> tuple[str, Mapping[str, str]]:
    return token, {"Authorization": f"Bearer {token}"}


def _timeout_from_env() -> float:
    raw = (os.environ.get(TIMEOUT_ENV) or "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be > 0 seconds, got {raw!r}")
    return value


@hookimpl
def replicate_auth_provider(config: ClientConfig) -> TokenCommandAuth | None:
    """A :class:`TokenCommandAuth` when ``REPLICATE_API_TOKEN_COMMAND`` is set, else None."""
    command = (os.environ.get(COMMAND_ENV) or "").strip()
    if not command:
        return None
    return TokenCommandAuth(command, timeout=_timeout_from_env())
