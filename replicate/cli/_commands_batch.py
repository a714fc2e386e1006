"""``replicate batch``: run a model once per line of a JSON Lines file of inputs, writing one
line of JSON per result as each completes (``index``, ``input``, ``id``, ``status``, ``output``
with files as URLs, ``error``). Exit status 1 if any input did not succeed; 130 after Ctrl-C,
once every prediction started has been canceled."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from ._context import CommandError, Context
from ._output import to_jsonable

if TYPE_CHECKING:
    from ..types import BatchResult

__all__ = ["add_commands", "read_inputs", "result_line"]

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="owner/name, owner/name:<version id> or a version id"
    )
    parser.add_argument(
        "--input",
        "-i",
        required=True,
        metavar="FILE",
        help="the inputs: a JSON object per line (- for stdin)",
    )
    parser.add_argument(
        "--output",
        "-o",
        default="-",
        metavar="FILE",
        help="where the results go, a JSON object per line (default: - for stdout)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, metavar="N", help="predictions at once (default 8)"
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=600,
        metavar="N",
        help="most creates a minute (default 600, the API's limit; 0 for no limit)",
    )
    parser.add_argument(
        "--journal",
        metavar="PATH",
        help="record each create there; run the same command again to resume without "
        "creating any prediction twice",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up on a prediction (canceling it) after this long",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a progress line on stderr when it is a terminal (default: on)",
    )


def add_commands(register: Callable[..., None]) -> None:
    register(
        "batch",
        batch_command,
        help="run a model once per line of a JSONL file of inputs; results as JSONL",
        configure=_configure,
    )


def read_inputs(stream: TextIO, name: str) -> list[dict[str, Any]]:
    """The inputs of a JSON Lines file: one object per non-blank line."""
    inputs: list[dict[str, Any]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise CommandError(f"{name} line {number}: not JSON ({exc})", exit_code=2) from None
        if not isinstance(value, dict):
            raise CommandError(
                f"{name} line {number}: an input is a JSON object, not {type(value).__name__}",
                exit_code=2,
            )
        inputs.append(value)
    return inputs


def result_line(result: BatchResult) -> str:
    """One result as a line of JSON."""
    error = result.error
    doc = {
        "index": result.index,
        "input": to_jsonable(result.input),
        "id": result.id,
        "status": result.status,
        "output": to_jsonable(result.output),
        "error": None if error is None else " ".join(str(error).split()) or type(error).__name__,
    }
    return json.dumps(doc, ensure_ascii=False, default=str) + "\n"


def batch_command(context: Context) -> int:
    args = context.args
    if args.concurrency < 1:
        raise CommandError("--concurrency must be at least 1", exit_code=2)
    if args.input == "-":
        inputs = read_inputs(context.stdin, "stdin")
    else:
        with open(args.input, encoding="utf-8") as file:
            inputs = read_inputs(file, args.input)
    client = context.client()
    results: Iterator[BatchResult] = client.batch(
        args.model,
        inputs,
        concurrency=args.concurrency,
        rate_limit=args.rate_limit if args.rate_limit > 0 else None,
        timeout=args.timeout,
        journal=args.journal,
        progress=args.progress and context.stderr is sys.stderr,
        use_file_output=False,
    )
    out = context.stdout if args.output == "-" else open(args.output, "a", encoding="utf-8")  # noqa: SIM115
    failed = 0
    try:
        for result in results:
            out.write(result_line(result))
            out.flush()
            failed += not result.ok
    except KeyboardInterrupt:
        context.stderr.write(
            "replicate: interrupted; the predictions still running were canceled\n"
        )
        context.stderr.flush()
        return INTERRUPTED
    finally:
        if out is not context.stdout:
            out.close()
    if failed:
        context.stderr.write(f"replicate: {failed} of {len(inputs)} inputs did not succeed\n")
        context.stderr.flush()
        return 1
    return 0
