"""Models written as typed Python functions, described and checked the way Cog does it.

A :class:`Predictor` wraps a function such as::

    def predict(prompt: str, steps: int = Input(default=20, ge=1, le=50)) -> Iterator[str]: ...

and derives from its signature the version's ``openapi_schema`` (``Input`` properties with
``type``, ``title``, ``x-order``, ``default``, ``description``, ``minimum``/``maximum``, choices
as a separate enum schema behind ``allOf``; ``Output`` from the return annotation), a stable
version id, and an input validator whose 422 errors read like the API's
(``- input.steps: Must be less than or equal to 50``). The API checks inputs against the JSON
schema before the model sees them, so values are not coerced across types (``"3"`` is not an
integer; ``3.0`` is, as JSON Schema counts it).

Inside a running predictor, :func:`log` and ``print()`` write to that prediction's logs: the
runner's :class:`RunContext` is kept in :data:`current_context`, and ``sys.stdout`` /
``sys.stderr`` are replaced, once, by proxies that route writes to it (and to the real stream
outside predictions).
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import enum
import hashlib
import inspect
import json
import mimetypes
import os
import pathlib
import re
import shutil
import sys
import tempfile
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from .wire import HTTPError

__all__ = [
    "COG_VERSION",
    "Canceled",
    "File",
    "Input",
    "InputSpec",
    "Predictor",
    "RunContext",
    "current_context",
    "encode_output",
    "log",
    "sleep",
]

#: The Cog version the emulated versions report.
COG_VERSION = "0.9.6"


class Canceled(Exception):
    """Raised inside a predictor (by :func:`log`, ``print``, :func:`sleep`, ``ctx.check()``) once
    its prediction was canceled; the runner then finishes the prediction as canceled."""


class RunContext(Protocol):
    """What the runner gives a running predictor."""

    @property
    def canceled(self) -> bool: ...

    def log(self, text: str) -> None:
        """Append ``text``, as given, to the prediction's logs; raise :class:`Canceled` when the
        prediction was canceled."""

    def check(self) -> None:
        """Raise :class:`Canceled` when the prediction was canceled."""

    def open_input(self, url: str) -> bytes:
        """The bytes of a file input's URL (a data URL, or a file or output URL of the emulator).

        The result may carry ``name`` and ``content_type`` attributes (``blobs.Blob`` does):
        they name the temporary file the predictor is handed."""


#: The context of the prediction running in this thread (or generator step), if any.
current_context: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "replicate_emulator_context", default=None
)


def log(text: str) -> None:
    """Append one line to the running prediction's logs (a newline is added unless ``text``
    ends with one); outside a prediction, write it to standard output."""
    line = text if text.endswith("\n") else text + "\n"
    ctx = current_context.get()
    if ctx is None:
        _real_stdout().write(line)
    else:
        ctx.log(line)


def sleep(seconds: float) -> None:
    """Sleep inside a predictor, waking early with :class:`Canceled` when the prediction is
    canceled. The duration is divided by the context's ``speed`` when it has one (an emulator
    built to run its models faster); outside a prediction this is ``time.sleep``."""
    ctx = current_context.get()
    if ctx is None:
        if seconds > 0:
            time.sleep(seconds)
        return
    sleep_in(ctx, seconds)


def sleep_in(ctx: RunContext, seconds: float) -> None:
    """:func:`sleep` in the given run's context (the runner's own steps, outside a predictor)."""
    speed = getattr(ctx, "speed", 1.0)
    if isinstance(speed, (int, float)) and speed > 0 and speed != 1:
        seconds = seconds / speed
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        ctx.check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.02))


# --- parameters -------------------------------------------------------------------------------

_MISSING: Any = object()


class InputSpec:
    """A parameter's default and constraints: what :func:`Input` returns."""

    __slots__ = (
        "choices",
        "default",
        "description",
        "ge",
        "le",
        "max_length",
        "min_length",
        "regex",
    )

    def __init__(
        self,
        default: Any = _MISSING,
        *,
        description: str | None = None,
        ge: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        regex: str | None = None,
        choices: Iterable[Any] | None = None,
    ) -> None:
        self.default = default
        self.description = description
        self.ge = ge
        self.le = le
        self.min_length = min_length
        self.max_length = max_length
        self.regex = regex
        self.choices = list(choices) if choices is not None else None

    def __repr__(self) -> str:
        fields = [f"{name}={getattr(self, name)!r}" for name in self.__slots__]
        return f"InputSpec({', '.join(f for f in fields if not f.endswith('=None'))})"


def Input(  # named like cog.Input, which it mirrors
    default: Any = _MISSING,
    *,
    description: str | None = None,
    ge: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    regex: str | None = None,
    choices: Iterable[Any] | None = None,
) -> Any:
    """A parameter's default and constraints, like ``cog.Input``::

        def predict(steps: int = Input(default=20, ge=1, le=50, description="Steps")) -> str:

    Typed ``Any`` (as Cog's is) so that it type-checks as the default of any parameter.
    """
    return InputSpec(
        default,
        description=description,
        ge=ge,
        le=le,
        min_length=min_length,
        max_length=max_length,
        regex=regex,
        choices=choices,
    )


@dataclasses.dataclass(frozen=True)
class File:
    """A file: returned by a predictor as an output (it becomes a URL), or handed to one whose
    parameter is annotated ``File`` (a ``pathlib.Path`` annotation gets a temporary file)."""

    data: bytes
    name: str
    content_type: str | None = None

    def __repr__(self) -> str:
        return (
            f"File(name={self.name!r}, size={len(self.data)}, content_type={self.content_type!r})"
        )


@dataclasses.dataclass(frozen=True)
class _Kind:
    """What a parameter or output holds: a JSON type, a file (``path`` or ``file``), an array
    of a kind, or anything (``any``)."""

    name: str  # string | integer | number | boolean | object | any | path | file | array
    items: _Kind | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def json_type(self) -> str | None:
        if self.name in ("path", "file"):
            return "string"
        return None if self.name == "any" else self.name

    @property
    def is_file(self) -> bool:
        return self.name in ("path", "file") or (self.items is not None and self.items.is_file)


_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    pathlib.Path: "path",
    File: "file",
    typing.Any: "any",
}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) != len(typing.get_args(tp))
    return tp, False


def _kind_of(tp: Any, where: str) -> _Kind:
    tp, _ = _unwrap_optional(tp)
    if tp is inspect.Parameter.empty:
        return _Kind("any")
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if tp in _SCALARS:
        return _Kind(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return _Kind("path")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = tuple(member.value for member in tp)
        return _Kind(_json_type_of_choices(values, where), choices=values)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        values = tuple(typing.get_args(tp))
        return _Kind(_json_type_of_choices(values, where), choices=values)
    if origin in (list, tuple) or tp in (list, tuple):
        args = typing.get_args(tp)
        inner = args[0] if args and args[0] is not Ellipsis else typing.Any
        return _Kind("array", items=_kind_of(inner, where))
    if origin is dict or tp is dict:
        return _Kind("object")
    raise TypeError(
        f"{where}: unsupported type {tp!r} (use str, int, float, bool, Path, File, "
        "list[...] of those, Literal[...] or an Enum)"
    )


def _json_type_of_choices(values: tuple[Any, ...], where: str) -> str:
    if values and all(isinstance(v, str) for v in values):
        return "string"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    raise TypeError(f"{where}: choices must all be strings or all numbers, not {values!r}")


@dataclasses.dataclass
class _Param:
    name: str
    kind: _Kind
    spec: InputSpec
    order: int

    @property
    def required(self) -> bool:
        return self.spec.default is _MISSING

    @property
    def choices(self) -> tuple[Any, ...] | None:
        if self.spec.choices is not None:
            return tuple(self.spec.choices)
        return self.kind.choices


_DOC_PARAM = re.compile(r"^\s*:param\s+(\w+)\s*:\s*(.+)$")
_DOC_ARG = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _doc_descriptions(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """The summary (first paragraph) and per-parameter descriptions of a docstring, in
    reST (``:param x: ...``) or Google (``Args:`` then ``x: ...``) style."""
    if not doc:
        return None, {}
    text = inspect.cleandoc(doc)
    summary_lines: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            break
        summary_lines.append(line.strip())
    summary = " ".join(summary_lines) or None
    if summary and (summary.startswith(":param") or summary.lower().startswith("args:")):
        summary = None
    params: dict[str, str] = {}
    in_args = False
    for line in text.splitlines():
        match = _DOC_PARAM.match(line)
        if match:
            params[match.group(1)] = match.group(2).strip()
            continue
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        if in_args:
            if not stripped:
                continue
            if not line.startswith((" ", "\t")):
                in_args = False
                continue
            match = _DOC_ARG.match(line)
            if match:
                params[match.group(1)] = match.group(2).strip()
    return summary, params


def _title(name: str) -> str:
    return name.replace("_", " ").title()


# --- schema -----------------------------------------------------------------------------------


def _kind_schema(kind: _Kind) -> dict[str, Any]:
    if kind.name == "array":
        assert kind.items is not None
        return {"type": "array", "items": _kind_schema(kind.items)}
    if kind.name in ("path", "file"):
        return {"type": "string", "format": "uri"}
    if kind.name == "any":
        return {}
    schema: dict[str, Any] = {"type": kind.name}
    if kind.choices is not None:
        schema["enum"] = list(kind.choices)
    return schema


def _output_kind(tp: Any, where: str) -> tuple[_Kind, bool]:
    """The output's kind and whether it is an iterator (a generator's yields)."""
    if tp is inspect.Signature.empty:
        return _Kind("any"), False
    origin = typing.get_origin(tp)
    if origin in (Iterator, Iterable, typing.Generator, typing.Iterator, typing.Iterable) or (
        origin is not None and getattr(origin, "__name__", "") in ("Generator", "Iterator")
    ):
        args = typing.get_args(tp)
        return _kind_of(args[0] if args else typing.Any, where), True
    tp, _ = _unwrap_optional(tp)
    if tp is type(None):
        return _Kind("any"), False
    return _kind_of(tp, where), False


def _output_schema(kind: _Kind, streams: bool) -> dict[str, Any]:
    if streams:
        schema: dict[str, Any] = {"type": "array", "items": _kind_schema(kind), "title": "Output"}
        schema["x-cog-array-type"] = "iterator"
        if kind.name == "string" and kind.choices is None:
            schema["x-cog-array-display"] = "concatenate"
        return schema
    return {**_kind_schema(kind), "title": "Output"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _cog_components() -> dict[str, Any]:
    """The fixed part of Cog's schema components, as real versions carry them."""
    return {
        "Status": {
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
            "title": "Status",
            "description": "An enumeration.",
        },
        "WebhookEvent": {
            "enum": ["start", "output", "logs", "completed"],
            "type": "string",
            "title": "WebhookEvent",
            "description": "An enumeration.",
        },
        "ValidationError": {
            "type": "object",
            "title": "ValidationError",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    "title": "Location",
                },
                "msg": {"type": "string", "title": "Message"},
                "type": {"type": "string", "title": "Error Type"},
            },
        },
        "HTTPValidationError": {
            "type": "object",
            "title": "HTTPValidationError",
            "properties": {
                "detail": {
                    "type": "array",
                    "items": _ref("ValidationError"),
                    "title": "Detail",
                }
            },
        },
        "PredictionRequest": {
            "type": "object",
            "title": "PredictionRequest",
            "properties": {
                "id": {"type": "string", "title": "Id"},
                "input": _ref("Input"),
                "webhook": {
                    "type": "string",
                    "title": "Webhook",
                    "format": "uri",
                    "maxLength": 65536,
                    "minLength": 1,
                },
                "created_at": {"type": "string", "title": "Created At", "format": "date-time"},
                "output_file_prefix": {"type": "string", "title": "Output File Prefix"},
                "webhook_events_filter": {
                    "type": "array",
                    "items": _ref("WebhookEvent"),
                    "default": ["start", "output", "logs", "completed"],
                },
            },
        },
        "PredictionResponse": {
            "type": "object",
            "title": "PredictionResponse",
            "properties": {
                "id": {"type": "string", "title": "Id"},
                "logs": {"type": "string", "title": "Logs", "default": ""},
                "error": {"type": "string", "title": "Error"},
                "input": _ref("Input"),
                "output": _ref("Output"),
                "status": _ref("Status"),
                "metrics": {"type": "object", "title": "Metrics"},
                "version": {"type": "string", "title": "Version"},
                "created_at": {"type": "string", "title": "Created At", "format": "date-time"},
                "started_at": {"type": "string", "title": "Started At", "format": "date-time"},
                "completed_at": {
                    "type": "string",
                    "title": "Completed At",
                    "format": "date-time",
                },
            },
        },
    }


def _cog_paths() -> dict[str, Any]:
    def ok(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "content": {"application/json": {"schema": schema}},
            "description": "Successful Response",
        }

    invalid = {
        "content": {"application/json": {"schema": _ref("HTTPValidationError")}},
        "description": "Validation Error",
    }
    prefer = {
        "in": "header",
        "name": "prefer",
        "schema": {"type": "string", "title": "Prefer"},
        "required": False,
    }
    return {
        "/": {
            "get": {
                "summary": "Root",
                "responses": {"200": ok({"title": "Response Root  Get"})},
                "operationId": "root__get",
            }
        },
        "/health-check": {
            "get": {
                "summary": "Healthcheck",
                "responses": {"200": ok({"title": "Response Healthcheck Health Check Get"})},
                "operationId": "healthcheck_health_check_get",
            }
        },
        "/predictions": {
            "post": {
                "summary": "Predict",
                "responses": {"200": ok(_ref("PredictionResponse")), "422": invalid},
                "parameters": [prefer],
                "description": "Run a single prediction on the model",
                "operationId": "predict_predictions_post",
                "requestBody": {
                    "content": {"application/json": {"schema": _ref("PredictionRequest")}}
                },
            }
        },
        "/predictions/{prediction_id}/cancel": {
            "post": {
                "summary": "Cancel",
                "responses": {
                    "200": ok({"title": "Response Cancel Predictions  Prediction Id  Cancel Post"}),
                    "422": invalid,
                },
                "parameters": [
                    {
                        "in": "path",
                        "name": "prediction_id",
                        "schema": {"type": "string", "title": "Prediction ID"},
                        "required": True,
                    }
                ],
                "description": "Cancel a running prediction",
                "operationId": "cancel_predictions__prediction_id__cancel_post",
            }
        },
    }


# --- validation -------------------------------------------------------------------------------


class _Errors:
    """Validation failures in the API's words (gojsonschema's messages, one line each)."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, type_: str, field: str, description: str) -> None:
        self.items.append({"type": type_, "field": field, "description": description})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        detail = "".join(f"- {e['field']}: {e['description']}\n" for e in self.items)
        raise HTTPError(
            422, detail, title="Input validation failed", extra={"invalid_fields": self.items}
        )


def _given(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show_choice(value: Any) -> str:
    return json.dumps(value)


_NO_CONSTRAINTS = InputSpec()


def _check(value: Any, kind: _Kind, spec: InputSpec | None, field: str, errors: _Errors) -> Any:
    """``value`` converted to what the predictor is given (integral floats to int, ints to
    float), or ``_MISSING`` after recording why it is not acceptable."""
    name = kind.name
    ok = True
    if name == "any":
        return value
    if name in ("string", "path", "file"):
        ok = isinstance(value, str)
    elif name == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
    elif name == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif name == "boolean":
        ok = isinstance(value, bool)
    elif name == "object":
        ok = isinstance(value, Mapping)
    elif name == "array":
        ok = isinstance(value, (list, tuple))
    if not ok:
        expected = kind.json_type or "any"
        errors.add(
            "invalid_type", field, f"Invalid type. Expected: {expected}, given: {_given(value)}"
        )
        return _MISSING
    if name == "array":
        assert kind.items is not None
        before = len(errors.items)
        items = [_check(v, kind.items, None, f"{field}.{i}", errors) for i, v in enumerate(value)]
        return _MISSING if len(errors.items) > before else items
    if name in ("path", "file"):
        if not re.match(r"^(data:|https?://)", value, re.IGNORECASE):
            errors.add("format", field, "Does not match format 'uri'")
            return _MISSING
        return value
    if spec is None:
        spec = _NO_CONSTRAINTS
    before = len(errors.items)
    choices = spec.choices if spec.choices is not None else kind.choices
    if choices is not None and not any(
        value == c and isinstance(value, bool) == isinstance(c, bool) for c in choices
    ):
        allowed = ", ".join(_show_choice(c) for c in choices)
        errors.add("enum", field, f"{field} must be one of the following: {allowed}")
    if name in ("integer", "number"):
        if spec.ge is not None and value < spec.ge:
            errors.add("number_gte", field, f"Must be greater than or equal to {_num(spec.ge)}")
        if spec.le is not None and value > spec.le:
            errors.add("number_lte", field, f"Must be less than or equal to {_num(spec.le)}")
    if name == "string":
        if spec.min_length is not None and len(value) < spec.min_length:
            errors.add(
                "string_gte",
                field,
                f"String length must be greater than or equal to {spec.min_length}",
            )
        if spec.max_length is not None and len(value) > spec.max_length:
            errors.add(
                "string_lte",
                field,
                f"String length must be less than or equal to {spec.max_length}",
            )
        if spec.regex is not None and not re.search(spec.regex, value):
            errors.add("pattern", field, f"Does not match pattern '{spec.regex}'")
    return _MISSING if len(errors.items) > before else value


# --- the predictor ----------------------------------------------------------------------------


class Predictor:
    """A model version made from a typed function.

    ``ref`` is ``"owner/name"``; ``description`` defaults to the docstring's first paragraph;
    ``version_id`` defaults to the sha256 of the ref and the schema, so it changes exactly when
    the model's interface does.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        ref: str,
        *,
        description: str | None = None,
        version_id: str | None = None,
        cog_version: str = COG_VERSION,
    ) -> None:
        owner, sep, name = ref.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"a model ref is 'owner/name', not {ref!r}")
        if inspect.isasyncgenfunction(fn):
            raise TypeError(f"{ref}: async generator functions are not supported; use a generator")
        if version_id is not None and not re.fullmatch(r"[0-9a-f]{64}", version_id):
            raise ValueError(f"version_id must be 64 lower-case hex characters, not {version_id!r}")
        self.fn = fn
        self.owner = owner
        self.name = name
        self.ref = ref
        self.cog_version = cog_version
        summary, param_docs = _doc_descriptions(fn.__doc__)
        self.description = description if description is not None else summary
        self._params = self._derive_params(fn, param_docs)
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception as exc:  # an annotation naming something not importable
            raise TypeError(f"{ref}: cannot resolve the annotations of {fn!r}: {exc}") from None
        returns = hints.get("return", inspect.Signature.empty)
        self._output_kind, self.streams = _output_kind(returns, f"{ref} output")
        if inspect.isgeneratorfunction(fn) and not self.streams:
            self.streams = True
            if self._output_kind.name == "array" and self._output_kind.items is not None:
                self._output_kind = self._output_kind.items
        self.openapi_schema = self._schema()
        encoded = json.dumps(self.openapi_schema, sort_keys=True, separators=(",", ":"))
        self.version_id = version_id or hashlib.sha256(f"{ref}\n{encoded}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<Predictor {self.ref}:{self.version_id[:12]}>"

    @property
    def file_inputs(self) -> list[str]:
        """Names of the inputs that take files (``format: uri``)."""
        return [p.name for p in self._params if p.kind.is_file]

    # -- derivation --

    def _derive_params(self, fn: Callable[..., Any], docs: dict[str, str]) -> list[_Param]:
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception as exc:
            raise TypeError(
                f"{self.ref}: cannot resolve the annotations of {fn!r}: {exc}"
            ) from None
        params: list[_Param] = []
        for order, p in enumerate(inspect.signature(fn).parameters.values()):
            where = f"{self.ref} input {p.name!r}"
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{where}: *args and **kwargs are not model inputs")
            tp = hints.get(p.name, inspect.Parameter.empty)
            kind = _kind_of(tp, where)
            _, optional = _unwrap_optional(tp)
            default = p.default
            if isinstance(default, InputSpec):
                spec = default
            else:
                spec = InputSpec(default=_MISSING if default is p.empty else default)
            if spec.default is _MISSING and optional:
                spec.default = None
            if spec.description is None and p.name in docs:
                spec.description = docs[p.name]
            if spec.choices is not None:
                spec.choices = [c.value if isinstance(c, enum.Enum) else c for c in spec.choices]
                _json_type_of_choices(tuple(spec.choices), where)
            if isinstance(spec.default, enum.Enum):
                spec.default = spec.default.value
            params.append(_Param(p.name, kind, spec, order))
        return params

    def _schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        enums: dict[str, Any] = {}
        for param in self._params:
            spec = param.spec
            choices = param.choices
            prop: dict[str, Any]
            if choices is not None:
                enums[param.name] = {
                    "enum": list(choices),
                    "type": _json_type_of_choices(tuple(choices), param.name),
                    "title": param.name,
                    "description": "An enumeration.",
                }
                prop = {"allOf": [_ref(param.name)]}
            else:
                prop = _kind_schema(param.kind)
                prop["title"] = _title(param.name)
                prop = {k: prop[k] for k in ("type", "items", "title", "format") if k in prop}
            if spec.default is not _MISSING and spec.default is not None:
                prop["default"] = _json_default(spec.default)
            prop["x-order"] = param.order
            if spec.description is not None:
                prop["description"] = spec.description
            if spec.ge is not None:
                prop["minimum"] = spec.ge
            if spec.le is not None:
                prop["maximum"] = spec.le
            if spec.min_length is not None:
                prop["minLength"] = spec.min_length
            if spec.max_length is not None:
                prop["maxLength"] = spec.max_length
            if spec.regex is not None:
                prop["pattern"] = spec.regex
            properties[param.name] = prop
        input_schema: dict[str, Any] = {
            "type": "object",
            "title": "Input",
            "properties": properties,
        }
        required = [p.name for p in self._params if p.required]
        if required:
            input_schema["required"] = required
        components = {
            "Input": input_schema,
            "Output": _output_schema(self._output_kind, self.streams),
            **_cog_components(),
            **enums,
        }
        return {
            "openapi": "3.0.2",
            "info": {"title": "Cog", "version": "0.1.0"},
            "paths": _cog_paths(),
            "components": {"schemas": components},
        }

    # -- validation --

    def validate(
        self, inputs: object, *, check_url: Callable[[str], object] | None = None
    ) -> dict[str, Any]:
        """The inputs with defaults applied and numbers normalised, or an ``HTTPError(422)``
        listing every problem (``- input.steps: Must be less than or equal to 50``).

        Unknown names are ignored (Cog drops them); ``null`` means "use the default".
        ``check_url``, given, is called with each file input's URL and may raise (ValueError or
        HTTPError) to reject it: the 422 then names the field.
        """
        errors = _Errors()
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, Mapping):
            errors.add(
                "invalid_type", "input", f"Invalid type. Expected: object, given: {_given(inputs)}"
            )
            errors.raise_if_any()
        assert isinstance(inputs, Mapping)
        result: dict[str, Any] = {}
        for param in self._params:
            field = f"input.{param.name}"
            value = inputs.get(param.name)
            if value is None:
                if param.required:
                    errors.add("required", "input", f"{param.name} is required")
                elif param.spec.default is not None:
                    result[param.name] = copy.deepcopy(_json_default(param.spec.default))
                continue
            checked = _check(value, param.kind, param.spec, field, errors)
            if checked is _MISSING:
                continue
            if check_url is not None and param.kind.is_file:
                urls = checked if isinstance(checked, list) else [checked]
                for index, url in enumerate(urls):
                    where = field if not isinstance(checked, list) else f"{field}.{index}"
                    try:
                        check_url(url)
                    except (ValueError, HTTPError) as exc:
                        detail = exc.detail if isinstance(exc, HTTPError) else str(exc)
                        errors.add("format", where, detail)
            result[param.name] = checked
        errors.raise_if_any()
        return result

    # -- running --

    def run(self, inputs: Mapping[str, Any], ctx: RunContext) -> Any:
        """Call the function with validated ``inputs`` under ``ctx``.

        File inputs are fetched with ``ctx.open_input`` and handed over as temporary files
        (``Path``) or :class:`File` values; the files are removed when the call (or, for a
        generator, its iteration) ends. A generator comes back as an iterator that runs each
        step under ``ctx`` (so :func:`log` and ``print`` reach the logs); close it to stop the
        predictor early.
        """
        install_stdio_proxy()
        workdir: list[str] = []
        token = current_context.set(ctx)
        try:
            kwargs = {}
            for param in self._params:
                if param.name in inputs:
                    value = inputs[param.name]
                elif param.spec.default is not _MISSING:
                    value = copy.deepcopy(param.spec.default)
                else:
                    raise TypeError(f"{self.ref}: input {param.name!r} is required")
                kwargs[param.name] = self._materialise(param, value, ctx, workdir)
            if inspect.iscoroutinefunction(self.fn):
                result = asyncio.run(self.fn(**kwargs))
            else:
                result = self.fn(**kwargs)
        except BaseException:
            _remove(workdir)
            raise
        finally:
            current_context.reset(token)
        if inspect.isgenerator(result) or (
            self.streams and isinstance(result, Iterator) and not isinstance(result, (str, bytes))
        ):
            return _ContextIterator(result, ctx, workdir)
        _remove(workdir)
        return result

    def _materialise(self, param: _Param, value: Any, ctx: RunContext, workdir: list[str]) -> Any:
        kind = param.kind
        if value is None or not kind.is_file:
            return value
        if kind.name == "array":
            assert kind.items is not None
            return [self._file(v, kind.items.name, ctx, workdir) for v in value]
        return self._file(value, kind.name, ctx, workdir)

    @staticmethod
    def _file(url: str, kind: str, ctx: RunContext, workdir: list[str]) -> Any:
        data = ctx.open_input(url)
        content_type = (
            getattr(data, "content_type", None) or _data_url_type(url) or _sniff(bytes(data[:16]))
        )
        name = getattr(data, "name", None) or _name_for(url, content_type)
        if kind == "file":
            return File(bytes(data), name, content_type)
        if not workdir:
            workdir.append(tempfile.mkdtemp(prefix="replicate-emulator-"))
        folder = tempfile.mkdtemp(dir=workdir[0])  # one folder per file: names may repeat
        path = pathlib.Path(folder, os.path.basename(name) or "input")
        path.write_bytes(bytes(data))
        return path


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def _remove(workdir: list[str]) -> None:
    while workdir:
        shutil.rmtree(workdir.pop(), ignore_errors=True)


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
)


def _sniff(head: bytes) -> str | None:
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _data_url_type(url: str) -> str | None:
    if url[:5].lower() != "data:":
        return None
    head = url[5:].split(",", 1)[0].split(";", 1)[0].strip()
    return head or None


def _name_for(url: str, content_type: str | None) -> str:
    if not url.lower().startswith("data:"):
        base = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if "." in base:
            return base
    ext = mimetypes.guess_extension(content_type or "") or ""
    return f"input{ext}"


class _ContextIterator(Iterator[Any]):
    """A predictor's generator, each step run under its prediction's context."""

    def __init__(self, it: Iterator[Any], ctx: RunContext, workdir: list[str]) -> None:
        self._it = it
        self._ctx = ctx
        self._workdir = workdir

    def __iter__(self) -> _ContextIterator:
        return self

    def __next__(self) -> Any:
        token = current_context.set(self._ctx)
        try:
            return next(self._it)
        except BaseException:
            _remove(self._workdir)
            raise
        finally:
            current_context.reset(token)

    def close(self) -> None:
        token = current_context.set(self._ctx)
        try:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()
        finally:
            current_context.reset(token)
            _remove(self._workdir)


# --- output encoding --------------------------------------------------------------------------

#: ``store(name, data, content_type) -> url``: where a file output goes.
Store = Callable[[str, bytes, "str | None"], str]


def encode_output(value: Any, store: Store) -> Any:
    """A predictor's return value (or one yield) as JSON: :class:`File`, ``pathlib.Path`` and
    bytes become URLs through ``store``; lists, tuples, dicts and dataclasses are walked;
    enums become their values. Anything else is a TypeError (the prediction fails)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, File):
        return store(value.name, value.data, value.content_type)
    if isinstance(value, os.PathLike):
        path = pathlib.Path(os.fspath(value))
        guessed = mimetypes.guess_type(path.name)[0]
        return store(path.name, path.read_bytes(), guessed)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        content_type = _sniff(data[:16]) or "application/octet-stream"
        return store(_name_for("", content_type).replace("input", "output"), data, content_type)
    if isinstance(value, enum.Enum):
        return encode_output(value.value, store)
    if isinstance(value, (list, tuple)):
        return [encode_output(v, store) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode_output(v, store) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode_output(getattr(value, f.name), store) for f in dataclasses.fields(value)
        }
    raise TypeError(f"a model output must be JSON, a File or a Path, not {type(value).__name__}")


# --- print() and log() inside predictors ------------------------------------------------------


class _StdioProxy:
    """Stands in for ``sys.stdout``/``sys.stderr``: writes made while a prediction runs in this
    thread go to its logs, all others to the stream it replaced."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, text: str) -> int:
        ctx = current_context.get()
        if ctx is None:
            return int(self._real.write(text) or 0)
        if text:
            ctx.log(text)
        return len(text)

    def flush(self) -> None:
        if current_context.get() is None:
            self._real.flush()

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return False if current_context.get() is not None else bool(self._real.isatty())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


_proxy_lock = threading.Lock()


def install_stdio_proxy() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` through :class:`_StdioProxy`. Idempotent and
    cheap: each stream is wrapped once, and again only if someone (pytest's capture, say) put
    another stream in its place."""
    if isinstance(sys.stdout, _StdioProxy) and isinstance(sys.stderr, _StdioProxy):
        return
    with _proxy_lock:
        if sys.stdout is not None and not isinstance(sys.stdout, _StdioProxy):
            sys.stdout = _StdioProxy(sys.stdout)
        if sys.stderr is not None and not isinstance(sys.stderr, _StdioProxy):
            sys.stderr = _StdioProxy(sys.stderr)


def _real_stdout() -> Any:
    out = sys.stdout
    while isinstance(out, _StdioProxy):
        out = out._real
    return out
