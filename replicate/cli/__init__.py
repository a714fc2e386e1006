"""The ``replicate`` command: run models, inspect predictions and models, manage plugins and
auth, from a shell.

``import replicate`` never imports this package; the console script (and
``python -m replicate.cli``) does. Plugins add commands through the ``replicate_cli_commands``
hook and handle ``replicate auth login|logout`` through ``replicate_cli_auth`` (see
:mod:`replicate.hookspecs`); a plugin command's ``run`` receives a :class:`Context` and fails
with :class:`CommandError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._context import CommandError, Context

__all__ = ["CommandError", "Context", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``replicate`` command with ``argv`` (default: ``sys.argv[1:]``) and return its
    exit status: 0 on success, 1 on an error, 2 on bad usage, 130 on Ctrl-C."""
    from ._app import run

    return run(argv)
