"""The ``replicate-emulator`` command: ``replicate-emulator serve`` runs the emulator on
loopback until Ctrl-C, for clients in other processes (any language, any HTTP library)."""

from __future__ import annotations

import argparse
import importlib
import os
import runpy
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from .server import DEFAULT_PORT
from .transport import PLACEHOLDER_TOKEN

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replicate-emulator",
        description="An offline Replicate API, with Cog-like models defined in Python.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve the emulated API over HTTP until Ctrl-C",
        description="Serve the emulated API over HTTP/1.1 until Ctrl-C (or SIGTERM).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: a free one)",
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        default=os.environ.get("REPLICATE_EMULATOR_STATE") or None,
        help="SQLite file keeping predictions, models and files across restarts "
        "(default $REPLICATE_EMULATOR_STATE, else in memory)",
    )
    serve.add_argument(
        "--rate-limits",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="answer 429 past the API's rate limits (default on)",
    )
    serve.add_argument(
        "--faults",
        metavar="JSON",
        help='fault rules: JSON (a rule, a list, or {"seed": ..., "rules": [...]}) or @FILE',
    )
    serve.add_argument(
        "--models",
        metavar="MODULE",
        action="append",
        default=[],
        help="import a module (dotted name or .py file) whose @replicate_emulator.model "
        "functions are served too; repeatable",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=8,
        metavar="N",
        help="predictions run at once; more wait in a queue, starting (default 8)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    return parser


def _faults(option: str | None) -> Any:
    if option is None:
        return None
    if option.startswith("@"):
        with open(option[1:], encoding="utf-8") as file:
            return file.read()
    return option


def _load_models(names: Sequence[str]) -> None:
    for name in names:
        if name.endswith(".py") or os.sep in name:
            runpy.run_path(name, run_name="__replicate_emulator_models__")
        else:
            importlib.import_module(name)


def _serve(args: argparse.Namespace) -> int:
    # Imported here: ``replicate-emulator --help`` must not load the engine and its models.
    from .app import Emulator
    from .server import serve

    try:
        _load_models(args.models)
        emulator = Emulator(
            state=args.state,
            rate_limits=args.rate_limits,
            faults=_faults(args.faults),
            workers=args.workers,
        )
    except (OSError, ValueError, TypeError, ImportError) as exc:
        print(f"replicate-emulator: {exc}", file=sys.stderr)
        return 2
    try:
        server = serve(emulator, args.host, args.port, log=not args.quiet)
    except OSError as exc:
        emulator.close()
        print(
            f"replicate-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"Replicate emulator serving {server.base_url}")
    print(f"export REPLICATE_BASE_URL={server.base_url}")
    print(f"export REPLICATE_API_TOKEN={PLACEHOLDER_TOKEN}  # any non-empty token is accepted")
    sys.stdout.flush()
    print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.close()
        emulator.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
