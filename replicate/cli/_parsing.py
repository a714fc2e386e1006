"""The argument parsers: the global options, accepted before or after any command's name, and
subcommand groups (``replicate predictions get ...``) that accept them too."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["GLOBAL_OPTIONS", "add_group", "global_options", "new_parser"]

#: The ``dest`` of each global option.
GLOBAL_OPTIONS = ("base_url", "transport", "token_stdin")

#: Control characters as escapes, so that an argument holding a newline cannot split an error.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {9: "\\t", 10: "\\n", 13: "\\r"}


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its error message on one line whatever the arguments hold
    (``unrecognized arguments: ...`` quotes them as typed). Subcommands' parsers are made of
    the same class."""

    def error(self, message: str) -> NoReturn:
        super().error(message.translate(_ESCAPES))


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # In a subcommand's parser the defaults are suppressed, so that an option given before the
    # command's name is not overwritten by the subcommand's default.
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default,
        help="the API's base URL (default: $REPLICATE_BASE_URL, else https://api.replicate.com/v1)",
    )
    group.add_argument(
        "--transport",
        metavar="NAME",
        default=default,
        help="a registered transport, e.g. 'emulator' for the offline emulator (default: "
        "$REPLICATE_TRANSPORT, else urllib3; `replicate plugins` lists them)",
    )
    group.add_argument(
        "--token-stdin",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="read the API token as one line from stdin (without it: $REPLICATE_API_TOKEN, "
        "else an auth plugin)",
    )


def global_options() -> argparse.ArgumentParser:
    """A parent parser holding the global options, for a subcommand's parser."""
    parent = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _add_global_options(parent, suppress=True)
    return parent


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The top-level parser, with the global options and their defaults."""
    parser = _Parser(
        prog=prog,
        description=description,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, suppress=False)
    return parser


def add_group(parser: argparse.ArgumentParser, dest: str) -> Callable[..., argparse.ArgumentParser]:
    """Make ``parser`` a group of subcommands (one required); returns ``add(name, handler, *,
    help)``, which adds one, accepting the global options too, and returns its parser. The
    chosen one's handler is ``args.handler``."""
    sub = parser.add_subparsers(dest=dest, required=True, metavar="ACTION")
    parent = global_options()

    def add(name: str, handler: Callable[..., Any], *, help: str) -> argparse.ArgumentParser:
        child = sub.add_parser(
            name, help=help, description=help, parents=[parent], allow_abbrev=False
        )
        child.set_defaults(handler=handler)
        return child

    return add
