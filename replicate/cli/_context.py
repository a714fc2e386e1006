"""What a command runs with: its parsed arguments, its output streams, and clients built from
the global options (``--base-url``, ``--transport``, ``--token-stdin``)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .._client import Replicate
    from .._plugins import Plugins

__all__ = ["CommandError", "Context"]


class CommandError(Exception):
    """Ends a command with ``message`` on one line of stderr and ``exit_code`` (1 unless given;
    2 for bad usage, as argparse exits)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class Context:
    """A command's run: ``args`` (the parsed arguments, global options included), ``stdin``,
    ``stdout`` and ``stderr`` (the streams to use, so that the command can be run in process),
    and :meth:`client`. ``plugins`` is the plugin manager the command line was built with and
    ``commands`` maps each command's name to the plugin that provides it (``"replicate"`` for
    the built-ins)."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        plugins: Plugins | None = None,
        commands: Mapping[str, str] | None = None,
    ) -> None:
        self.args = args
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.plugins = plugins
        self.commands: Mapping[str, str] = dict(commands or {})
        self._token: str | None = None
        self._token_read = False
        self._client: Replicate | None = None
        self._clients: list[Replicate] = []

    def token(self) -> str | None:
        """The token ``--token-stdin`` read (one line, read once), or None without it: then the
        client finds its own (``REPLICATE_API_TOKEN``, an auth plugin)."""
        if not getattr(self.args, "token_stdin", False):
            return None
        if not self._token_read:
            self._token_read = True
            self._token = self.stdin.readline().strip()
            if not self._token:
                raise CommandError("--token-stdin: no token on stdin", exit_code=2)
        return self._token

    def client(self, *, plugins: Sequence[object] = ()) -> Replicate:
        """A ``Replicate`` client built from the global options, closed when the command ends.

        Without ``plugins`` the same client is returned on every call; with them (per-client
        plugins, such as an observer) a new one is built each time."""
        if not plugins and self._client is not None:
            return self._client
        from .._client import Replicate

        args = self.args
        try:
            client = Replicate(
                bearer_token=self.token(),
                base_url=getattr(args, "base_url", None) or None,
                transport=getattr(args, "transport", None) or None,
                plugins=list(plugins),
            )
        except ValueError as exc:  # an unknown transport, a malformed base URL
            raise CommandError(str(exc), exit_code=2) from exc
        self._clients.append(client)
        if not plugins:
            self._client = client
        return client

    def close(self) -> None:
        """Close every client this context built."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._client = None
