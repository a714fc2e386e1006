"""The command line itself: the parser (built-in commands, then those plugins add through
``replicate_cli_commands``), dispatch, and turning every error into one line on stderr and an
exit status that scripts can rely on:

- 0: success;
- 1: an error (the API's, with its status and detail; a failed prediction, with its error; a
  file that can't be written...);
- 2: bad usage (argparse's own, and inputs that don't fit the model's schema);
- 130: interrupted by Ctrl-C (a running prediction is canceled first).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ._context import CommandError, Context
from ._parsing import global_options, new_parser

if TYPE_CHECKING:
    from .._plugins import Plugins

__all__ = ["build_parser", "describe_error", "run"]

PROG = "replicate"
COMMANDS_HOOK = "replicate_cli_commands"
BUILTIN = "replicate"
INTERRUPTED = 130

DESCRIPTION = """\
Run models on Replicate, and look at predictions, models and plugins.

The API token comes from $REPLICATE_API_TOKEN, else an auth plugin (see `replicate auth
login`), or from stdin with --token-stdin. Status and logs go to stderr, results to stdout.
Exit status: 0 success, 1 error, 2 bad usage, 130 interrupted (Ctrl-C)."""

#: The commands whose leftover ``key=value`` arguments (after an option) are still inputs.
_TAKES_INPUTS = frozenset({"run", "stream"})


class Registry:
    """The ``register`` functions handed to the built-ins and to each plugin's
    ``replicate_cli_commands``; ``owners`` maps each command to the plugin that added it."""

    def __init__(self, parser: argparse.ArgumentParser, warn: Callable[[str], None]) -> None:
        self.commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        self.parent = global_options()
        self.owners: dict[str, str] = {}
        self.warn = warn

    def register_for(self, plugin: str) -> Callable[..., None]:
        def register(
            name: str,
            run: Callable[[Context], int | None],
            *,
            help: str = "",
            configure: Callable[[argparse.ArgumentParser], object] | None = None,
        ) -> None:
            self.add(plugin, name, run, help=help, configure=configure)

        return register

    def add(
        self,
        plugin: str,
        name: str,
        run: Callable[[Context], int | None],
        *,
        help: str,
        configure: Callable[[argparse.ArgumentParser], object] | None,
    ) -> None:
        problem = None
        if not isinstance(name, str) or not name or name.startswith("-") or " " in name:
            problem = f"{name!r} is not a command name"
        elif name in self.owners:
            owner = self.owners[name]
            whose = "a built-in command" if owner == BUILTIN else f"plugin {owner!r}'s command"
            problem = f"{name!r} is already {whose}"
        elif not callable(run) or (configure is not None and not callable(configure)):
            problem = f"the command {name!r} needs a callable run (and configure)"
        if problem is not None:
            self.skip(plugin, problem)
            return
        parser = self.commands.add_parser(
            name,
            help=help or None,
            description=help or None,
            parents=[self.parent],
            allow_abbrev=False,
        )
        try:
            if configure is not None:
                configure(parser)
        except Exception as exc:
            self._remove(name)
            self.skip(plugin, f"configuring {name!r} raised {type(exc).__name__}: {exc}", exc)
            return
        parser.set_defaults(cli_run=run, cli_command=name, cli_plugin=plugin)
        self.owners[name] = plugin

    def skip(self, plugin: str, why: str, exc: BaseException | None = None) -> None:
        from .._plugins import strict
        from ..exceptions import PluginError

        message = f"plugin {plugin!r}: {why}"
        if plugin == BUILTIN or strict():
            raise PluginError(message) from exc
        self.warn(f"skipping a command of {message}")

    def drop(self, plugin: str) -> None:
        """Remove every command ``plugin`` added (its hook raised after adding some)."""
        for name in [n for n, owner in self.owners.items() if owner == plugin]:
            self._remove(name)
            del self.owners[name]

    def _remove(self, name: str) -> None:
        # argparse has no public way to take a subcommand back.
        self.commands._name_parser_map.pop(name, None)
        self.commands._choices_actions = [
            a for a in self.commands._choices_actions if a.dest != name
        ]


def _plugin_manager() -> Plugins:
    from .. import builtin
    from .._plugins import Plugins

    return Plugins((), builtin=builtin)


def build_parser(
    warn: Callable[[str], None],
) -> tuple[argparse.ArgumentParser, Registry, Plugins]:
    """The parser with every command: the built-ins, then the installed plugins' (in the
    plugins' order). A plugin's broken command is skipped with a warning (``warn``), or is a
    PluginError under ``REPLICATE_STRICT_PLUGINS=1``."""
    from ._commands_batch import add_commands as add_batch
    from ._commands_models import add_commands as add_models
    from ._commands_plugins import add_commands as add_plugins
    from ._commands_predictions import add_commands as add_predictions
    from ._commands_run import add_commands as add_run

    parser = new_parser(PROG, DESCRIPTION)
    registry = Registry(parser, warn)
    for add_commands in (add_run, add_batch, add_predictions, add_models, add_plugins):
        add_commands(registry.register_for(BUILTIN))
    manager = _plugin_manager()
    for plugin, call in manager.named_callers(COMMANDS_HOOK, ("register",)):
        try:
            call(register=registry.register_for(plugin))
        except Exception as exc:
            from .._plugins import strict
            from ..exceptions import PluginError

            if isinstance(exc, PluginError) and strict():
                raise  # a register() call refused under REPLICATE_STRICT_PLUGINS=1
            registry.drop(plugin)
            registry.skip(plugin, f"{COMMANDS_HOOK} raised {type(exc).__name__}: {exc}", exc)
    return parser, registry, manager


# --- errors ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_error(exc: BaseException, plugin: str = BUILTIN) -> tuple[int, str]:
    """The exit status and the one-line message for an error a command raised."""
    from ..exceptions import (
        InputValidationError,
        MissingTokenError,
        ModelError,
        PredictionAbortedError,
        PredictionCanceledError,
        ReplicateError,
    )

    if isinstance(exc, CommandError):
        return exc.exit_code, _one_line(exc.message)
    if isinstance(exc, InputValidationError):
        return 2, _one_line("; ".join(exc.errors))
    if isinstance(exc, ModelError):
        prediction = exc.prediction
        pid = getattr(prediction, "id", None) or "?"
        if isinstance(exc, PredictionCanceledError):
            return 1, f"prediction {pid} was canceled"
        if isinstance(exc, PredictionAbortedError):
            return 1, f"prediction {pid} was aborted: its deadline passed before it started"
        error = getattr(prediction, "error", None)
        return 1, _one_line(f"prediction {pid} failed: {error or 'no error given'}")
    if isinstance(exc, MissingTokenError):
        if str(exc) == str(MissingTokenError()):
            return 1, (
                "no API token: set REPLICATE_API_TOKEN, pass one on stdin with --token-stdin, "
                "or store one with `replicate auth login` (needs an auth plugin such as "
                "replicate-keyring)"
            )
        return 1, _one_line(str(exc))
    if isinstance(exc, ReplicateError):
        return 1, _one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return 1, _one_line(f"{exc.strerror or exc}{where}")
    if plugin != BUILTIN:
        return 1, _one_line(f"plugin {plugin!r} failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, (ValueError, TypeError)):
        return 2, _one_line(str(exc)) or type(exc).__name__
    return 1, _one_line(f"unexpected error: {type(exc).__name__}: {exc}")


# --- running --------------------------------------------------------------------------------


def _warner(stderr: TextIO) -> Callable[[str], None]:
    def warn(message: str) -> None:
        text = _one_line(message)
        if text.startswith(f"{PROG}: "):
            text = text[len(PROG) + 2 :]
        stderr.write(f"{PROG}: warning: {text}\n")
        stderr.flush()

    return warn


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command and return its exit status;
    never raises, so that in-process callers get the status a shell would."""
    stdin, stdout, stderr = sys.stdin, sys.stdout, sys.stderr
    warn = _warner(stderr)

    def show_warning(message: Any, *args: Any, **kwargs: Any) -> None:
        warn(str(message))

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return _run(list(sys.argv[1:] if argv is None else argv), stdin, stdout, stderr, warn)
        except KeyboardInterrupt:
            stderr.write(f"{PROG}: interrupted\n")
            return INTERRUPTED
        except BrokenPipeError:
            return 1  # the reader went away (`replicate ... | head`): nothing more to say


def _error(stderr: TextIO, message: str) -> None:
    stderr.write(f"{PROG}: {message}\n")
    stderr.flush()


def _run(
    argv: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO, warn: Callable[[str], None]
) -> int:
    from ..exceptions import PluginError

    try:
        parser, registry, manager = build_parser(warn)
    except PluginError as exc:
        _error(stderr, _one_line(str(exc)))
        return 1
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            if getattr(args, "cli_command", None) in _TAKES_INPUTS and all(
                "=" in e and not e.startswith("-") for e in extras
            ):
                args.inputs = [*args.inputs, *extras]
            else:
                parser.error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:
        return _exit_status(exc)
    context = Context(
        args,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        plugins=manager,
        commands=registry.owners,
    )
    plugin = args.cli_plugin
    try:
        status = args.cli_run(context)
        return 0 if status is None else int(status)
    except SystemExit as exc:
        return _exit_status(exc)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        code, message = describe_error(exc, plugin)
        _error(stderr, message)
        return code
    finally:
        context.close()


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1
