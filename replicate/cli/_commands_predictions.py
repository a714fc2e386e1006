"""``replicate predictions list|get|cancel``."""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._context import Context
from ._output import print_json
from ._parsing import add_group

if TYPE_CHECKING:
    from ..types import Prediction

__all__ = ["add_commands", "describe_prediction"]


def add_commands(register: Callable[..., None]) -> None:
    register(
        "predictions",
        lambda context: context.args.handler(context),
        help="list, show and cancel predictions",
        configure=_configure,
    )


def _configure(parser: argparse.ArgumentParser) -> None:
    add = add_group(parser, "predictions_action")
    listing = add("list", list_predictions, help="list your predictions, newest first")
    listing.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="at most N predictions (default 20; 0 for all)",
    )
    listing.add_argument("--json", action="store_true", help="print them as a JSON list")
    get = add("get", get_prediction, help="show a prediction")
    get.add_argument("id", metavar="ID", help="the prediction's id")
    get.add_argument("--json", action="store_true", help="print it as JSON")
    cancel = add("cancel", cancel_prediction, help="cancel a prediction")
    cancel.add_argument("id", metavar="ID", help="the prediction's id")
    cancel.add_argument("--json", action="store_true", help="print its new state as JSON")


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_prediction(prediction: Prediction) -> list[str]:
    """A prediction as ``field: value`` lines for people (the output shortened)."""
    lines = [f"id: {prediction.id}"]
    for name in ("model", "version", "deployment", "status", "source"):
        value = getattr(prediction, name)
        if value:
            lines.append(f"{name}: {value}")
    for name in ("created_at", "started_at", "completed_at"):
        value = getattr(prediction, name)
        if value is not None:
            lines.append(f"{name.replace('_at', '')}: {value.isoformat()}")
    metrics = prediction.metrics
    if metrics is not None and metrics.predict_time is not None:
        lines.append(f"predict time: {metrics.predict_time:.2f}s")
    if prediction.input:
        lines.append(f"input: {_short(prediction.input)}")
    if prediction.output is not None:
        lines.append(f"output: {_short(prediction.output)}")
    if prediction.error:
        lines.append(f"error: {_short(prediction.error)}")
    return lines


def list_predictions(context: Context) -> int:
    args = context.args
    page = context.client().predictions.list()
    items = page if args.limit <= 0 else itertools.islice(page, args.limit)
    if args.json:
        print_json(list(items), context.stdout)
        return 0
    out = context.stdout
    for p in items:
        created = p.created_at.isoformat(timespec="seconds") if p.created_at else "-"
        out.write(f"{p.id}  {p.status or '-':<10}  {created}  {p.model or p.version or '-'}\n")
    out.flush()
    return 0


def get_prediction(context: Context) -> int:
    prediction = context.client().predictions.get(context.args.id)
    if context.args.json:
        print_json(prediction, context.stdout)
    else:
        context.stdout.write("\n".join(describe_prediction(prediction)) + "\n")
    return 0


def cancel_prediction(context: Context) -> int:
    prediction = context.client().predictions.cancel(context.args.id)
    if context.args.json:
        print_json(prediction, context.stdout)
    else:
        context.stdout.write(f"prediction {prediction.id}: {prediction.status}\n")
    return 0
