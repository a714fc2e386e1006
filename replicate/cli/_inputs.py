"""``key=value`` arguments turned into a prediction's input, each value converted to the type
the model's input schema gives it, then checked against the schema before anything is sent.

Three forms:

- ``key=value``: converted by the input's schema type: ``integer`` and ``number`` parsed,
  ``boolean`` from ``true``/``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``),
  ``array`` from a JSON list (``[1, 2]``) or else a comma-separated list whose items are
  converted by the items' type (``sizes=1,2``), ``object`` from JSON, anything else kept as
  the string given. Repeating an array's key appends (``image=@a.png image=@b.png``);
  repeating any other key is an error;
- ``key=@path``: the file at ``path``, uploaded through the SDK's file inputs (the files API);
  in a comma-separated array each ``@`` item is a file;
- ``key:=json``: the JSON value as written, unconverted (``text:='"@literal"'`` for a string
  that starts with ``@``).

Without a schema (a bare version id, a version without one) values stay strings.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from ._context import CommandError

__all__ = ["build_input", "json_types", "parse_assignment"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
#: The order in which the types of an input that allows several are tried.
_TRY_ORDER = ("integer", "number", "boolean", "array", "object", "string")


def _usage(message: str) -> CommandError:
    return CommandError(message, exit_code=2)


def parse_assignment(item: str) -> tuple[str, str, str]:
    """``(key, operator, value)`` of one argument: the operator is ``"="``, ``"@"`` (a file)
    or ``":="`` (JSON)."""
    key, eq, value = item.partition("=")
    if not eq or not key or key == ":":
        raise _usage(f"expected key=value, key=@file or key:=json; got {item!r}")
    if key.endswith(":"):
        return key[:-1], ":=", value
    if value.startswith("@"):
        return key, "@", value[1:]
    return key, "=", value


def build_input(items: Sequence[str], schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """The input for ``items`` (``key=value`` arguments), converted by ``schema`` (the version's
    dereferenced ``Input`` schema, or None) and checked against it: a bad value is a
    :class:`CommandError` with exit code 2 whose one line names the input and what it takes
    (the schema checker's wording; for an enum, the allowed values)."""
    properties = _properties(schema)
    result: dict[str, Any] = {}
    for item in items:
        key, op, raw = parse_assignment(item)
        prop = properties.get(key)
        if op == ":=":
            try:
                value: Any = json.loads(raw)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
                raise _usage(f"input {key!r}: {raw!r} is not JSON ({exc})") from None
        elif op == "@":
            is_array = prop is not None and "array" in json_types(prop)
            if is_array and "," in raw and not _is_file(raw):
                value = _convert(key, f"@{raw}", prop)  # a list of files: @a.png,@b.png
            else:
                value = _file(key, raw)
                value = [value] if is_array else value
        else:
            value = _convert(key, raw, prop)
        if key in result:
            if prop is not None and "array" not in json_types(prop):
                raise _usage(f"input {key!r} is given twice")
            before = result[key] if isinstance(result[key], list) else [result[key]]
            more = value if prop is not None and isinstance(value, list) else [value]
            result[key] = before + more
        else:
            result[key] = value
    if schema is not None:
        from .._schema import validate_input
        from ..exceptions import InputValidationError

        try:
            validate_input(result, schema)
        except InputValidationError as exc:
            raise _usage("; ".join(exc.errors)) from None
    return result


def _properties(schema: Mapping[str, Any] | None) -> Mapping[str, Any]:
    properties = schema.get("properties") if schema is not None else None
    return properties if isinstance(properties, Mapping) else {}


def json_types(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types a schema allows, ``null`` left out, looking into ``allOf`` (Cog's enums)
    and ``anyOf``/``oneOf`` (optional inputs)."""
    found: list[str] = []
    declared = schema.get("type")
    for name in [declared] if isinstance(declared, str) else declared or []:
        if isinstance(name, str) and name != "null" and name not in found:
            found.append(name)
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            for branch in branches:
                if isinstance(branch, Mapping):
                    found.extend(t for t in json_types(branch) if t not in found)
    return found


def _items(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    items = schema.get("items")
    if isinstance(items, Mapping):
        return items
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, Mapping):
                found = _items(branch)
                if found is not None:
                    return found
    return None


def _is_file(path: str) -> bool:
    try:
        return pathlib.Path(path).is_file()
    except OSError:  # a name too long for the file system, say: no file of that name
        return False


def _file(key: str, path: str) -> pathlib.Path:
    if not path:
        raise _usage(f"input {key!r}: '@' must be followed by a file's path")
    file = pathlib.Path(os.path.expanduser(path))
    try:
        found = file.is_file()
    except OSError as exc:  # a name too long for the file system, say
        raise _usage(f"input {key!r}: {exc.strerror or exc}: {path!r}") from None
    if not found:
        raise _usage(f"input {key!r}: no such file: {path!r}")
    return file


def _convert(key: str, raw: str, schema: Mapping[str, Any] | None) -> Any:
    """``raw`` as the schema's type; a value no allowed type accepts is an error saying what
    the first type tried wants."""
    if schema is None:
        return raw
    types = json_types(schema)
    if not types:
        return raw
    # String last: an input that also takes numbers keeps what was typed only when it parses
    # as none of its other types.
    ordered = [t for t in _TRY_ORDER if t in types] + [t for t in types if t not in _TRY_ORDER]
    errors: list[str] = []
    for type_name in ordered:
        try:
            return _as(type_name, key, raw, schema)
        except CommandError as exc:
            errors.append(exc.message)
    raise _usage(errors[0])


def _as(type_name: str, key: str, raw: str, schema: Mapping[str, Any]) -> Any:
    text = raw.strip()
    if type_name == "integer":
        try:
            return int(text)
        except ValueError:
            raise _usage(f"input {key!r} must be an integer; got {raw!r}") from None
    if type_name == "number":
        try:
            number = float(text)
        except ValueError:
            raise _usage(f"input {key!r} must be a number; got {raw!r}") from None
        if not math.isfinite(number):
            raise _usage(f"input {key!r} must be a finite number; got {raw!r}")
        return int(text) if text.lstrip("+-").isdigit() else number
    if type_name == "boolean":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _usage(f"input {key!r} must be a boolean (true or false); got {raw!r}")
    if type_name == "array":
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise _usage(f"input {key!r}: {raw!r} is not a JSON list ({exc})") from None
            if not isinstance(value, list):
                raise _usage(f"input {key!r} must be a list; got {raw!r}")
            return value
        items = _items(schema)
        parts = [p.strip() for p in raw.split(",")] if raw.strip() else []
        return [
            _file(key, part[1:]) if part.startswith("@") else _convert(key, part, items)
            for part in parts
        ]
    if type_name == "object":
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise _usage(f"input {key!r} must be a JSON object; got {raw!r}")
        return value
    return raw
