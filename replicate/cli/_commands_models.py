"""``replicate models get|list|schema``."""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._commands_run import resolve, schemas
from ._context import CommandError, Context
from ._inputs import json_types
from ._output import print_json
from ._parsing import add_group

if TYPE_CHECKING:
    from ..types import Model

__all__ = ["add_commands", "describe_schema"]


def add_commands(register: Callable[..., None]) -> None:
    register(
        "models",
        lambda context: context.args.handler(context),
        help="show and list models, and their input and output schemas",
        configure=_configure,
    )


def _configure(parser: argparse.ArgumentParser) -> None:
    add = add_group(parser, "models_action")
    get = add("get", get_model, help="show a model")
    get.add_argument("model", metavar="OWNER/NAME", help="the model")
    get.add_argument("--json", action="store_true", help="print it as JSON")
    listing = add("list", list_models, help="list public models")
    listing.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="at most N models (default 20; 0 for all)",
    )
    listing.add_argument("--json", action="store_true", help="print them as a JSON list")
    schema = add("schema", model_schema, help="show a model version's inputs and output")
    schema.add_argument(
        "model",
        metavar="OWNER/NAME[:VERSION]",
        help="the model (its latest version) or one of its versions",
    )
    schema.add_argument(
        "--json", action="store_true", help="print the version's OpenAPI schema as it is"
    )


def _owner_name(ref: str) -> tuple[str, str]:
    owner, slash, name = ref.partition("/")
    if not slash or not owner or not name or "/" in name or ":" in name:
        raise CommandError(f"expected OWNER/NAME, got {ref!r}", exit_code=2)
    return owner, name


def _line(text: str | None, limit: int = 100) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_model(model: Model) -> list[str]:
    lines = [f"{model.owner}/{model.name}"]
    if model.description:
        lines.append(f"  {_line(model.description, 300)}")
    for label, value in (
        ("visibility", model.visibility),
        ("runs", model.run_count),
        ("url", model.url),
        ("github", model.github_url),
        ("paper", model.paper_url),
        ("license", model.license_url),
    ):
        if value is not None and value != "":
            lines.append(f"{label}: {value}")
    latest = model.latest_version
    if latest is not None and latest.id:
        created = f" ({latest.created_at.date().isoformat()})" if latest.created_at else ""
        lines.append(f"latest version: {latest.id}{created}")
    return lines


def get_model(context: Context) -> int:
    owner, name = _owner_name(context.args.model)
    model = context.client().models.get(owner, name)
    if context.args.json:
        print_json(model, context.stdout)
    else:
        context.stdout.write("\n".join(describe_model(model)) + "\n")
    return 0


def list_models(context: Context) -> int:
    args = context.args
    page = context.client().models.list()
    items = page if args.limit <= 0 else itertools.islice(page, args.limit)
    if args.json:
        print_json(list(items), context.stdout)
        return 0
    for model in items:
        description = _line(model.description, 80)
        context.stdout.write(
            f"{model.owner}/{model.name}" + (f"  {description}" if description else "") + "\n"
        )
    context.stdout.flush()
    return 0


# --- schema ---------------------------------------------------------------------------------


def _choices(schema: Mapping[str, Any]) -> list[Any] | None:
    found = schema.get("enum")
    if isinstance(found, list):
        return found
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, Mapping):
                inner = _choices(branch)
                if inner is not None:
                    return inner
    return None


def type_phrase(schema: Mapping[str, Any] | None) -> str:
    """A schema's type for people: ``integer``, ``file (URL)``, ``array of string``..."""
    if not isinstance(schema, Mapping):
        return "any"
    if schema.get("format") in ("uri", "binary", "data-url"):
        return "file (URL; key=@path uploads one)"
    types = json_types(schema)
    if "array" in types:
        items = schema.get("items")
        inner = type_phrase(items) if isinstance(items, Mapping) else "any"
        if schema.get("x-cog-array-type") == "iterator":
            joined = ", concatenated" if schema.get("x-cog-array-display") == "concatenate" else ""
            return f"iterator of {inner} (streamed{joined})"
        return f"array of {inner}"
    return " or ".join(types) if types else "any"


def _range(schema: Mapping[str, Any]) -> str | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{_show(low)} to {_show(high)}"
    if low is not None:
        return f">= {_show(low)}"
    if high is not None:
        return f"<= {_show(high)}"
    return None


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def describe_schema(
    input_schema: Mapping[str, Any] | None, output_schema: Mapping[str, Any] | None
) -> list[str]:
    """The inputs (in Cog's order: type, required or default, choices, range, description)
    and the output, as lines for people."""
    from .._schema import _ordered_names

    lines = ["Inputs:"]
    properties = input_schema.get("properties") if input_schema else None
    if not isinstance(properties, Mapping) or not properties:
        lines.append("  (none listed)")
        properties = {}
    required = input_schema.get("required") if input_schema else None
    required = required if isinstance(required, list) else []
    for name in _ordered_names(properties):
        prop = properties[name]
        if not isinstance(prop, Mapping):
            continue
        parts = [type_phrase(prop)]
        if name in required:
            parts.append("required")
        if "default" in prop and prop["default"] is not None:
            parts.append(f"default {_show(prop['default'])}")
        choices = _choices(prop)
        if choices:
            parts.append("one of " + ", ".join(_show(c) for c in choices))
        span = _range(prop)
        if span:
            parts.append(span)
        if isinstance(prop.get("pattern"), str):
            parts.append(f"matching {prop['pattern']}")
        lines.append(f"  {name}: {'; '.join(parts)}")
        if prop.get("description"):
            lines.append(f"      {_line(prop['description'], 200)}")
    lines += ["", "Output:", f"  {type_phrase(output_schema) if output_schema else 'unknown'}"]
    return lines


def model_schema(context: Context) -> int:
    client = context.client()
    _, version = resolve(client, context.args.model)
    if version is None or not version.openapi_schema:
        hint = "" if "/" in context.args.model else " (name it as owner/name:<version id>)"
        raise CommandError(f"{context.args.model} has no schema to show{hint}")
    if context.args.json:
        print_json(version.openapi_schema, context.stdout)
        return 0
    input_schema, output_schema = schemas(version)
    header = f"{context.args.model.partition(':')[0]} version {version.id}"
    context.stdout.write("\n".join([header, "", *describe_schema(input_schema, output_schema)]))
    context.stdout.write("\n")
    return 0
