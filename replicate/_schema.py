"""A model version's OpenAPI schema: resolving its ``$ref``s, and checking inputs against it.

Cog writes each version's inputs as ``components.schemas.Input`` (an object schema whose
properties are the inputs) and its output as ``components.schemas.Output``; enumerations are
separate components referenced through ``allOf: [{"$ref": ...}]``. :func:`dereference` inlines
those references, :func:`input_schema`/:func:`output_schema` pick the two schemas out, and
:func:`validate_input` checks a prediction's input before it is created (and billed), so a
typo or an out-of-range value is a clear ``ValueError`` instead of a failed prediction.

The checks are deliberately conservative: only what the schema states is enforced (``required``,
``type``, ``enum``, ``minimum``/``maximum`` and their exclusive forms, string and array lengths,
unknown names when the schema lists its properties), unknown keywords are ignored, and a value
the schema leaves open passes untouched.
"""

from __future__ import annotations

import copy
import datetime as _dt
import enum
import io
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from .exceptions import InputValidationError

__all__ = [
    "InputValidationError",
    "dereference",
    "input_schema",
    "output_schema",
    "validate_input",
]

_LOCAL_REF = "#/"


# --- dereferencing ------------------------------------------------------------------------------


def dereference(
    openapi_schema: Mapping[str, Any], *, cog_version: str | None = None
) -> dict[str, Any]:
    """A copy of ``openapi_schema`` with every local ``$ref`` (``#/components/schemas/...`` and
    any other ``#/...`` pointer) replaced by what it points to.

    Siblings of a ``$ref`` are kept and win over the referenced schema's keys. A reference that
    would recurse into itself (a cyclic schema) is left as the ``{"$ref": ...}`` at the point where
    the cycle closes, so the result is always a finite tree. References that do not resolve are
    left as they are. The input is not modified.

    With ``cog_version`` older than 0.3.9 (before Cog marked iterators), an array ``Output`` is
    marked ``x-cog-array-type: iterator``, as the v1 and v2 SDKs do.
    """
    if not isinstance(openapi_schema, Mapping):
        raise TypeError(f"openapi_schema must be a dict, not {type(openapi_schema).__name__}")
    root = openapi_schema
    cache: dict[str, Any] = {}

    def closes_cycle(ref: str, trail: tuple[str, ...]) -> bool:
        # ``trail`` holds where the walk has been: the places it left through a reference, and
        # where it is now. A reference to any of them (or to what encloses them) loops.
        prefix = ref + "/"
        return any(p == ref or p.startswith(prefix) for p in trail)

    def resolve_ref(ref: str, trail: tuple[str, ...]) -> tuple[Any, bool]:
        """The resolved target of ``ref`` and whether a cycle was cut inside it."""
        if closes_cycle(ref, trail):
            return {"$ref": ref}, True
        if ref in cache:
            return copy.deepcopy(cache[ref]), False
        target = _pointer(root, ref)
        if target is _MISSING:
            return {"$ref": ref}, False
        value, cut = walk(target, (*trail, ref))
        if not cut:  # the same wherever it is used: resolve it once
            cache[ref] = value
            value = copy.deepcopy(value)
        return value, cut

    def walk(node: Any, trail: tuple[str, ...]) -> tuple[Any, bool]:
        here = trail[-1]
        if isinstance(node, Mapping):
            raw_ref = node.get("$ref")
            ref = raw_ref if isinstance(raw_ref, str) and raw_ref.startswith(_LOCAL_REF) else None
            cut = False
            out: dict[str, Any] = {}
            if ref is not None:
                resolved, cut = resolve_ref(ref, trail)
                if len(node) == 1:
                    return resolved, cut
                if isinstance(resolved, dict) and "$ref" not in resolved:
                    out.update(resolved)
                else:
                    out["$ref"] = ref
            for key, value in node.items():
                if key == "$ref" and ref is not None:
                    continue
                step = f"{here}/{str(key).replace('~', '~0').replace('/', '~1')}"
                out[key], inner_cut = walk(value, (*trail[:-1], step))
                cut = cut or inner_cut
            return out, cut
        if isinstance(node, list):
            items = []
            cut = False
            for index, item in enumerate(node):
                value, inner_cut = walk(item, (*trail[:-1], f"{here}/{index}"))
                items.append(value)
                cut = cut or inner_cut
            return items, cut
        return node, False

    result, _ = walk(root, ("#",))
    if cog_version is not None and _older_than(cog_version, (0, 3, 9)):
        output = _component(result, "Output")
        if isinstance(output, dict) and output.get("type") == "array":
            output["x-cog-array-type"] = "iterator"
    return result  # type: ignore[no-any-return]


_MISSING: Any = object()


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    for raw in ref[len(_LOCAL_REF) :].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _older_than(version: str, than: tuple[int, ...]) -> bool:
    """Whether a Cog version string is older than ``than``; False when it can't be parsed."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version or "")
    if not match:
        return False
    parts = tuple(int(p) for p in match.group(1).split("."))
    return parts < than


def _component(openapi: Any, name: str) -> Any:
    if not isinstance(openapi, Mapping):
        return None
    components = openapi.get("components")
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    return schemas.get(name) if isinstance(schemas, Mapping) else None


def input_schema(
    openapi: Mapping[str, Any] | None, *, cog_version: str | None = None
) -> dict[str, Any] | None:
    """The version's input schema (``components.schemas.Input``, dereferenced), or None."""
    if not openapi:
        return None
    found = _component(dereference(openapi, cog_version=cog_version), "Input")
    return found if isinstance(found, dict) else None


def output_schema(
    openapi: Mapping[str, Any] | None, *, cog_version: str | None = None
) -> dict[str, Any] | None:
    """The version's output schema (``components.schemas.Output``, dereferenced), or None."""
    if not openapi:
        return None
    found = _component(dereference(openapi, cog_version=cog_version), "Output")
    return found if isinstance(found, dict) else None


# --- validation ---------------------------------------------------------------------------------

_OPEN: Any = object()  # a value whose JSON form isn't known before encoding: not checked
_FILE: Any = object()  # a value the encoder turns into a URL (a file, a path, bytes)

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array (list)",
    "object": "an object (dict)",
    "null": "null (None)",
}
_URL_FORMATS = frozenset({"uri", "binary", "data-url"})


def validate_input(input: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Check a prediction's ``input`` against the version's input schema before anything is sent.

    ``schema`` is the dereferenced ``Input`` schema (see :func:`input_schema`) or a whole version
    OpenAPI document. Raises :class:`InputValidationError` (a ``ValueError``) naming each
    offending input and what the schema allows: missing required inputs (all of them), unknown
    input names (when the schema lists its properties and does not allow others), wrong types,
    values outside an ``enum`` or a ``minimum``/``maximum``. A ``format: uri`` string input also
    takes what the encoder turns into a URL (a file, a path, bytes, a previous run's output
    file). None for an input that is not required passes (it means "use the default"), as does
    any value a plugin may encode and anything the schema does not constrain.
    """
    if not isinstance(input, Mapping):
        raise TypeError(
            f"input must be a mapping of input names to values, not {type(input).__name__}"
        )
    if not isinstance(schema, Mapping):
        raise TypeError(f"schema must be a dict, not {type(schema).__name__}")
    if "components" in schema and "properties" not in schema:
        found = input_schema(schema)
        if found is None:
            return
        schema = found
    errors: list[str] = []
    _check_object(input, schema, "", errors, top=True)
    if errors:
        raise InputValidationError(errors)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _ordered_names(properties: Mapping[str, Any]) -> list[str]:
    """Property names in Cog's display order (``x-order``), others after in schema order."""

    def order(item: tuple[int, str]) -> tuple[int, float, int]:
        index, name = item
        prop = properties[name]
        x_order = prop.get("x-order") if isinstance(prop, Mapping) else None
        if isinstance(x_order, (int, float)) and not isinstance(x_order, bool):
            return (0, float(x_order), index)
        return (1, 0.0, index)

    return [name for _, name in sorted(enumerate(properties), key=order)]


def _did_you_mean(key: str, properties: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(key, [str(p) for p in properties], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_object(
    value: Mapping[str, Any], schema: Mapping[str, Any], path: str, errors: list[str], top: bool
) -> None:
    raw_properties = schema.get("properties")
    properties: Mapping[str, Any] = raw_properties if isinstance(raw_properties, Mapping) else {}
    raw_required = schema.get("required")
    required = (
        [r for r in raw_required if isinstance(r, str)] if isinstance(raw_required, list) else []
    )

    missing = [name for name in required if value.get(name) is None]
    if missing:
        names = ", ".join(repr(_join(path, m)) for m in missing)
        noun = "inputs" if len(missing) > 1 else "input"
        where = "" if top else f"input {path!r} is "
        errors.append(f"{where}missing required {noun} {names}")

    # Cog's Input schema lists every input and says nothing of others: a name it doesn't list
    # would be ignored by the model, so it is a mistake (a typo, most often). Nested objects
    # follow JSON Schema: other properties are allowed unless ``additionalProperties`` is false.
    additional = schema.get("additionalProperties", not (top and properties))
    for key, item in value.items():
        if not isinstance(key, str):
            where = "input names" if top else f"the keys of input {path!r}"
            errors.append(f"{where} must be strings, not {type(key).__name__} ({key!r})")
            continue
        if item is None:
            continue  # left to its default; a required one is reported as missing above
        sub = properties.get(key)
        name = _join(path, key)
        if sub is None:
            if additional is False:
                known = ", ".join(repr(n) for n in _ordered_names(properties)) or "none"
                hint = _did_you_mean(key, properties)
                if top:
                    errors.append(f"unknown input {name!r}{hint}; this model's inputs are {known}")
                else:
                    errors.append(
                        f"input {path!r} has no property {key!r}{hint}; its properties are {known}"
                    )
            elif isinstance(additional, Mapping):
                _check_value(item, additional, name, errors)
        elif isinstance(sub, Mapping):
            _check_value(item, sub, name, errors)


def _check_value(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    value = _plain(value)
    if value is _OPEN or (value is None and _allows_null(schema)):
        return

    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for branch in all_of:
            if isinstance(branch, Mapping):
                _check_value(value, branch, path, errors)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        options = (
            [b for b in branches if isinstance(b, Mapping)] if isinstance(branches, list) else []
        )
        if options and not any(_fits(value, b, path) for b in options):
            allowed = " or ".join(_describe(b) for b in options)
            errors.append(f"input {path!r} must be {allowed}; got {_show(value)}")
            return

    types = schema.get("type")
    type_names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    type_names = [t for t in type_names if isinstance(t, str)]
    if type_names and not any(_is_type(value, t, schema) for t in type_names):
        allowed = " or ".join(_type_phrase(t, schema) for t in type_names)
        errors.append(f"input {path!r} must be {allowed}; got {_show(value)}")
        return

    choices = schema.get("enum")
    if isinstance(choices, list) and choices and not any(_same(value, c) for c in choices):
        allowed = ", ".join(repr(c) for c in choices)
        errors.append(f"input {path!r} must be one of {allowed}; got {_show(value)}")
        return
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"input {path!r} must be {schema['const']!r}; got {_show(value)}")
        return

    if _is_number(value):
        _check_range(value, schema, path, errors)
    elif isinstance(value, str):
        _check_length(len(value), schema, ("minLength", "maxLength", "characters"), path, errors)
    elif isinstance(value, list):
        _check_length(len(value), schema, ("minItems", "maxItems", "items"), path, errors)
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                _check_value(item, items, f"{path}[{index}]", errors)
    elif isinstance(value, Mapping) and (
        isinstance(schema.get("properties"), Mapping) or isinstance(schema.get("required"), list)
    ):
        _check_object(value, schema, path, errors, top=False)


def _fits(value: Any, schema: Mapping[str, Any], path: str) -> bool:
    errors: list[str] = []
    _check_value(value, schema, path, errors)
    return not errors


def _allows_null(schema: Mapping[str, Any]) -> bool:
    if schema.get("nullable") is True:
        return True
    types = schema.get("type")
    if types == "null" or (isinstance(types, list) and "null" in types):
        return True
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and any(
            isinstance(b, Mapping) and _allows_null(b) for b in branches
        ):
            return True
    return False


def _plain(value: Any) -> Any:
    """The value as the encoder will send it, as far as that is known before encoding: JSON
    values as they are, files (paths, bytes, open files) as ``_FILE``, values only a plugin
    could encode as ``_OPEN``."""
    if value is None or value is _FILE or value is _OPEN:
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (str, bool, int, float, list, Mapping)):
        return value
    if isinstance(value, tuple):
        return list(value)
    url = getattr(value, "__url__", None)
    if isinstance(url, str):
        return url
    if isinstance(value, (bytes, bytearray, memoryview, io.IOBase, os.PathLike)):
        return _FILE
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.generic):
            return _plain(value.item())
        if isinstance(value, np.ndarray):
            return value.tolist()
    if callable(getattr(value, "read", None)):
        return _FILE
    return _OPEN


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_type(value: Any, type_name: str, schema: Mapping[str, Any]) -> bool:
    if value is _FILE:
        return type_name == "string" and schema.get("format") in _URL_FORMATS
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if type_name == "number":
        return _is_number(value)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "object":
        return isinstance(value, Mapping)
    if type_name == "null":
        return value is None
    return True  # a type this checker does not know: left open


def _type_phrase(type_name: str, schema: Mapping[str, Any]) -> str:
    if type_name == "string" and schema.get("format") in _URL_FORMATS:
        return "a URL string (or a file, path or bytes to upload)"
    return _TYPE_NAMES.get(type_name, repr(type_name))


def _describe(schema: Mapping[str, Any]) -> str:
    choices = schema.get("enum")
    if isinstance(choices, list) and choices:
        return "one of " + ", ".join(repr(c) for c in choices)
    types = schema.get("type")
    if isinstance(types, str):
        return _type_phrase(types, schema)
    if isinstance(types, list):
        return " or ".join(_type_phrase(t, schema) for t in types if isinstance(t, str))
    return "a value matching its schema"


def _same(value: Any, choice: Any) -> bool:
    """JSON equality: True is not 1, 1 is 1.0."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return isinstance(value, bool) and isinstance(choice, bool) and value is choice
    if _is_number(value) and _is_number(choice):
        return bool(value == choice)
    return type(value) is type(choice) and bool(value == choice)


def _show(value: Any) -> str:
    if value is _FILE:
        return "a file"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, Mapping):
        return f"dict {text}"
    return f"{type(value).__name__} {text}"


def _bound(schema: Mapping[str, Any], key: str, exclusive_key: str) -> tuple[Any, bool]:
    """The tighter bound on one side and whether it is exclusive, in either spelling: OpenAPI
    3.0 (``minimum: 5, exclusiveMinimum: true``) or JSON Schema (``exclusiveMinimum: 5``)."""
    bound = schema.get(key) if _is_number(schema.get(key)) else None
    exclusive = schema.get(exclusive_key)
    if _is_number(exclusive):
        lower = key == "minimum"
        if bound is None or (exclusive >= bound if lower else exclusive <= bound):
            return exclusive, True
        return bound, False
    return bound, bound is not None and exclusive is True


def _check_range(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    low, low_excl = _bound(schema, "minimum", "exclusiveMinimum")
    high, high_excl = _bound(schema, "maximum", "exclusiveMaximum")
    too_low = low is not None and (value <= low if low_excl else value < low)
    too_high = high is not None and (value >= high if high_excl else value > high)
    if not (too_low or too_high):
        return
    if low is not None and high is not None and not low_excl and not high_excl:
        allowed = f"between {_num(low)} and {_num(high)}"
    else:
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_excl else '>='} {_num(low)}")
        if high is not None:
            parts.append(f"{'<' if high_excl else '<='} {_num(high)}")
        allowed = " and ".join(parts)
    errors.append(f"input {path!r} must be {allowed}; got {value!r}")


def _num(bound: float) -> str:
    """A bound as the schema author meant it: Cog writes ``minimum: 1.0`` for an integer."""
    if isinstance(bound, float) and bound.is_integer() and abs(bound) < 2**53:
        return str(int(bound))
    return repr(bound)


def _check_length(
    length: int, schema: Mapping[str, Any], keys: tuple[str, str, str], path: str, errors: list[str]
) -> None:
    min_key, max_key, unit = keys
    low = schema.get(min_key)
    high = schema.get(max_key)
    if isinstance(low, int) and not isinstance(low, bool) and length < low:
        errors.append(f"input {path!r} must have at least {low} {unit}; got {length}")
    elif isinstance(high, int) and not isinstance(high, bool) and length > high:
        errors.append(f"input {path!r} must have at most {high} {unit}; got {length}")
