"""Plain msgspec copies of our structs: the floor the SDK's decoding is measured against.

:func:`bare_copy` rebuilds a ``replicate.types`` Struct as a ``msgspec.Struct`` with the same
fields, types and defaults (nested ``ReplicateObject`` types copied the same way) but no base
class options (no ``kw_only``, ``omit_defaults``, ``repr_omit_defaults``), no methods and no
``__post_init__``. Decoded with a default ``msgspec.json.Decoder``, that is what a hand-written
msgspec client would do.
"""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from replicate.types import Page, ReplicateObject

_COPIES: dict[type, type] = {}


def _copy_type(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, ReplicateObject):
        return bare_copy(tp)
    args = typing.get_args(tp)
    if not args:
        return tp
    origin = typing.get_origin(tp)
    new_args = tuple(_copy_type(a) for a in args)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return typing.Union[new_args]  # noqa: UP007
    return origin[new_args]


def bare_copy(cls: type) -> type:
    """``cls`` as a plain ``msgspec.Struct``: same fields, types and defaults, nothing else."""
    if cls in _COPIES:
        return _COPIES[cls]
    hints = typing.get_type_hints(cls)
    fields = []
    for f in msgspec.structs.fields(cls):
        tp = _copy_type(hints[f.name])
        if f.default is not msgspec.NODEFAULT:
            fields.append((f.name, tp, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, tp, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, tp))
    # Required fields first, as a positional (not kw_only) Struct needs.
    fields.sort(key=lambda f: len(f) != 2)
    copy = msgspec.defstruct("Bare" + cls.__name__, fields, module=__name__)
    _COPIES[cls] = copy
    return copy


def bare_page(item: type) -> type:
    """A plain ``Page`` (``next``, ``previous``, ``results``) holding plain copies of ``item``."""
    assert [f.name for f in msgspec.structs.fields(Page)] == ["next", "previous", "results"]
    return msgspec.defstruct(
        "BarePage",
        [
            ("next", typing.Optional[str], None),  # noqa: UP045
            ("previous", typing.Optional[str], None),  # noqa: UP045
            ("results", list[bare_copy(item)], msgspec.field(default_factory=list)),  # type: ignore[misc]
        ],
        module=__name__,
    )
