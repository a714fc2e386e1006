"""``replicate run`` and ``replicate stream``: run a model with ``key=value`` inputs typed by
its schema, showing its status and logs on stderr and its output on stdout."""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from ..hookspecs import hookimpl
from ._context import CommandError, Context
from ._inputs import build_input
from ._output import print_json, write_output
from ._progress import Display

if TYPE_CHECKING:
    from .._client import Replicate
    from .._events import Event
    from ..types import Prediction, Version

__all__ = ["add_commands"]

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: Seconds the cancel sent after Ctrl-C may take.
CANCEL_TIMEOUT = 10.0

_INPUTS_HELP = (
    "inputs as key=value (converted by the model's schema: integers, numbers, booleans, "
    "arrays as JSON or comma lists, enums checked), key=@path (uploads the file) or "
    "key:=json (a JSON value as written)"
)


class Tracker:
    """A per-client observer that remembers the last state of the prediction being run, so
    that Ctrl-C can name it (``stream`` reports it only when it ends, which an interrupt does)."""

    def __init__(self) -> None:
        self.prediction: Prediction | None = None

    @hookimpl
    def replicate_observe(self, event: Event) -> None:
        if event.kind == "prediction" and event.data is not None:
            self.prediction = event.data
        elif event.kind == "run" and getattr(event.data, "prediction", None) is not None:
            self.prediction = event.data.prediction


def _add_run_options(parser: argparse.ArgumentParser, *, run: bool) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="owner/name, owner/name:<version id> or a version id"
    )
    parser.add_argument("inputs", nargs="*", metavar="KEY=VALUE", help=_INPUTS_HELP)
    if run:
        wait = parser.add_mutually_exclusive_group()
        wait.add_argument(
            "--wait",
            dest="wait",
            action="store_true",
            default=True,
            help="wait for the prediction to finish (the default)",
        )
        wait.add_argument(
            "--no-wait",
            dest="wait",
            action="store_false",
            help="create the prediction and print its id (its JSON with --json) at once",
        )
        parser.add_argument(
            "--stream", action="store_true", help="print the output's tokens as they arrive"
        )
        parser.add_argument(
            "-o",
            "--output-directory",
            metavar="DIR",
            default=".",
            help="where file outputs are saved (default: the current directory)",
        )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the finished prediction as JSON (files stay URLs, nothing is saved); "
        "with --stream, each event as a line of JSON",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up (canceling the prediction) after this long",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no status or logs on stderr")


def add_commands(register: Callable[..., None]) -> None:
    register(
        "run",
        run_command,
        help="run a model and print its output (files are saved)",
        configure=lambda p: _add_run_options(p, run=True),
    )
    register(
        "stream",
        stream_command,
        help="run a model and print its output's tokens as they arrive",
        configure=lambda p: _add_run_options(p, run=False),
    )


# --- resolving the model --------------------------------------------------------------------


def resolve(client: Replicate, ref: str) -> tuple[Any, Version | None]:
    """What to run (the reference, or for a pinned version the Version object, whose schema
    then needs no second fetch) and the version whose schema types the inputs, if known: the
    version named, else the model's latest (what ``owner/name`` runs). A bare version id has no
    endpoint of its own: its inputs stay strings."""
    from .._reference import parse_reference

    try:
        target = parse_reference(ref)
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    if not (target.owner and target.name):
        return ref, None
    if target.version:
        version = client.models.versions.get(target.owner, target.name, target.version)
        return version, version
    model = client.models.get(target.owner, target.name)
    latest = model.latest_version
    return ref, latest if latest is not None and latest.openapi_schema else None


def schemas(version: Version | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The version's dereferenced input and output schemas (None when unknown)."""
    if version is None or not version.openapi_schema:
        return None, None
    from .._schema import input_schema, output_schema

    cog = version.cog_version
    return (
        input_schema(version.openapi_schema, cog_version=cog),
        output_schema(version.openapi_schema, cog_version=cog),
    )


# --- the commands ---------------------------------------------------------------------------


def run_command(context: Context) -> int:
    args = context.args
    if args.stream and not args.wait:
        raise CommandError("--stream and --no-wait don't mix", exit_code=2)
    tracker = Tracker()
    client = context.client(plugins=[tracker])
    ref, version = resolve(client, args.model)
    input_schema, output_schema = schemas(version)
    input = build_input(args.inputs, input_schema)
    if args.stream:
        return _stream(context, client, tracker, ref, input)
    if not args.wait:
        return _create(context, client, args.model, input)

    display = Display(context.stderr, quiet=args.quiet)
    last: list[Prediction] = []

    def on_update(prediction: Prediction) -> None:
        last[:] = [prediction]
        display.update(prediction)

    try:
        output = client.run(
            ref,
            input=input,
            wait=False,  # polled, so that logs and progress show while it runs
            on_update=on_update,
            use_file_output=not args.json,
            timeout=args.timeout,
        )
    except KeyboardInterrupt:
        display.close()
        return _interrupted(context, client, tracker)
    finally:
        display.close()
    if args.json:
        print_json(last[0] if last else output, context.stdout)
        return 0
    write_output(
        output,
        client=client,
        directory=pathlib.Path(args.output_directory),
        stdout=context.stdout,
        schema=output_schema,
    )
    return 0


def stream_command(context: Context) -> int:
    tracker = Tracker()
    client = context.client(plugins=[tracker])
    ref, version = resolve(client, context.args.model)
    input = build_input(context.args.inputs, schemas(version)[0])
    return _stream(context, client, tracker, ref, input)


def _stream(
    context: Context, client: Replicate, tracker: Tracker, ref: Any, input: Mapping[str, Any]
) -> int:
    args = context.args
    stdout = context.stdout
    # No bar while tokens are printed: on one terminal its redraws would land in the text.
    display = Display(context.stderr, tty=False, quiet=args.quiet)
    ended_line = True
    events = client.stream(ref, input=input, timeout=args.timeout)
    try:
        for event in events:
            if args.json:
                print_json_line({"event": event.event, "data": event.data}, stdout)
            elif event.event == "output":
                stdout.write(event.data)
                stdout.flush()
                if event.data:
                    ended_line = event.data.endswith("\n")
            elif event.event == "logs":
                display.log(event.data)
    except KeyboardInterrupt:
        # Interrupted while printing, not inside the stream: closing it reports its prediction
        # to the tracker (an interrupt inside it has the SDK cancel it on the way out).
        close = getattr(events, "close", None)
        if callable(close):
            close()
        display.close()
        if not ended_line:
            stdout.write("\n")
        return _interrupted(context, client, tracker)
    finally:
        display.close()
    if not ended_line:
        stdout.write("\n")
    stdout.flush()
    return 0


def print_json_line(value: Any, stdout: TextIO) -> None:
    """``value`` as one line of JSON (JSON Lines), flushed at once."""
    import json

    stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    stdout.flush()


def _create(context: Context, client: Replicate, ref: str, input: Mapping[str, Any]) -> int:
    """``--no-wait``: create the prediction and print its id (or JSON)."""
    from .._reference import parse_reference

    target = parse_reference(ref)
    if target.version is None and target.owner and target.name:
        prediction = client.models.predictions.create(target.owner, target.name, input=input)
    else:
        prediction = client.predictions.create(version=target.version or ref, input=input)
    if context.args.json:
        print_json(prediction, context.stdout)
    else:
        context.stdout.write(f"{prediction.id}\n")
        context.stdout.flush()
    return 0


def _interrupted(context: Context, client: Replicate, tracker: Tracker) -> int:
    """Ctrl-C: the SDK has canceled the prediction on its way out; cancel it again (harmless)
    to learn its state, and say so on one line."""
    from ..exceptions import ReplicateError

    prediction = tracker.prediction
    if prediction is None:
        # Interrupted during the create: the SDK waited for its answer and canceled what it made.
        context.stderr.write("replicate: interrupted while creating the prediction\n")
        return INTERRUPTED
    try:
        state = client.predictions.cancel(prediction.id, timeout=CANCEL_TIMEOUT, max_retries=1)
    except KeyboardInterrupt:
        message = f"interrupted; prediction {prediction.id} may still be running"
    except ReplicateError as exc:
        reason = " ".join(str(exc).split())
        message = f"interrupted; could not cancel prediction {prediction.id}: {reason}"
    else:
        if state.status == "canceled":
            message = f"interrupted; canceled prediction {prediction.id}"
        else:
            message = (
                f"interrupted; asked to cancel prediction {prediction.id} (now {state.status})"
            )
    context.stderr.write(f"replicate: {message}\n")
    context.stderr.flush()
    return INTERRUPTED
