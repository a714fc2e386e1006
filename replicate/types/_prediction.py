"""Predictions (see :mod:`replicate.types`): the objects a first ``predictions.get`` needs, kept
apart from the other objects so that a new process builds only these.

``Prediction.input``, ``output`` and ``logs`` hold what the model was given and made (prompts,
token lists, image URLs, progress-bar logs): the bulk of a prediction's JSON, and most readers of
a page never look at them. So the decoder keeps them as raw JSON (``msgspec.Raw``, copied out of
the response body) and a :class:`_LazyJSON` descriptor decodes each on its first read. That
halves the cost of decoding a page of 100 predictions and keeps less memory per prediction than
the decoded values would.
"""

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ._base import ReplicateObject, _aware

_Raw = msgspec.Raw
_NULL = msgspec.Raw(b"null")


class PredictionURLs(ReplicateObject):
    """``Prediction.urls``."""

    get: str | None = None
    cancel: str | None = None
    web: str | None = None
    """Not present in responses recorded before mid-2024."""
    stream: str | None = None
    """Server-sent events URL; present when the model supports streaming."""


class PredictionMetrics(ReplicateObject):
    """``Prediction.metrics``.

    The spec declares only ``total_time`` (and allows more keys). The fields here are every metric
    seen in the documentation and recorded traffic; a metric not listed is dropped on decode. Add
    it here, or read the raw JSON, if you need it.
    """

    predict_time: float | None = None
    """Seconds the model spent running, excluding queueing and setup."""
    total_time: float | None = None
    """Seconds from creation to completion."""
    input_token_count: int | float | None = None
    output_token_count: int | float | None = None
    tokens_per_second: float | None = None
    time_to_first_token: float | None = None
    predict_time_share: float | None = None
    batch_size: int | float | None = None
    image_count: int | float | None = None


class Prediction(ReplicateObject):
    """A prediction: ``POST /predictions``, ``GET /predictions/{id}``, webhooks, ..."""

    id: str
    model: str | None = None
    """``owner/name`` of the model."""
    version: str | None = None
    """The version ID, or ``"hidden"`` (official models and some deployments)."""
    if TYPE_CHECKING:
        input: dict[str, Any] | None = None
        output: Any = None
        logs: str | None = None
        # For type checkers only (no fields at run time): the storage of the three, see _defer.
        _input_json: Any = None
        _output_json: Any = None
        _logs_json: Any = None
    else:  # raw JSON until first read: see the module docstring
        input: msgspec.Raw = None
        output: msgspec.Raw = None
        logs: msgspec.Raw = None
    error: str | None = None
    status: str | None = None
    """One of :class:`PredictionStatus`'s values, or a newer one."""
    source: str | None = None
    """``"web"`` or ``"api"``."""
    data_removed: bool | None = None
    created_at: datetime.datetime | None = None
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    deadline: datetime.datetime | None = None
    """When the prediction will be canceled automatically (``Cancel-After``)."""
    deployment: str | None = None
    """``owner/name`` of the deployment that ran it, if any."""
    metrics: PredictionMetrics | None = None
    urls: PredictionURLs | None = None

    def __post_init__(self) -> None:
        # A decoded Raw is a view of the whole response body: copy it out, so that a prediction
        # kept from a page never keeps the page's body alive. A null is the default, None, as
        # it would be decoded (to_dict() and the repr leave it out).
        raw = self._input_json
        if type(raw) is _Raw:
            self._input_json = None if raw == _NULL else raw.copy()
        raw = self._output_json
        if type(raw) is _Raw:
            self._output_json = None if raw == _NULL else raw.copy()
        raw = self._logs_json
        if type(raw) is _Raw:
            self._logs_json = None if raw == _NULL else raw.copy()
        # Runs for every prediction decoded (pages of 100): the common case, timestamps that
        # carry their zone or are absent, costs attribute reads and no call.
        c, s, d, e = self.created_at, self.started_at, self.completed_at, self.deadline
        if (
            (c is not None and c.tzinfo is None)
            or (s is not None and s.tzinfo is None)
            or (d is not None and d.tzinfo is None)
            or (e is not None and e.tzinfo is None)
        ):
            self.created_at = _aware(c)
            self.started_at = _aware(s)
            self.completed_at = _aware(d)
            self.deadline = _aware(e)

    # msgspec's own repr (and rich's), == and pickling read the fields' storage directly, so
    # each decodes the raw fields first: a prediction compares, prints and pickles by its values
    # whether or not they have been read yet. to_dict() decodes them through _base's hook.

    def _decode_raw(self) -> None:
        self.input  # noqa: B018 (the read decodes)
        self.output  # noqa: B018
        self.logs  # noqa: B018

    def __repr__(self) -> str:
        self._decode_raw()
        return super().__repr__()

    def __rich_repr__(self) -> Any:
        self._decode_raw()
        return super().__rich_repr__()

    def __eq__(self, other: object) -> bool:
        self._decode_raw()
        if isinstance(other, Prediction):
            other._decode_raw()
        return super().__eq__(other)

    def __reduce__(self) -> Any:
        self._decode_raw()
        return super().__reduce__()


class _LazyJSON:
    """A field that holds raw JSON until its first read, then the decoded value.

    ``type`` is the value's type, as type checkers see the field (msgspec sees ``Raw``).
    """

    __slots__ = ("_decode", "_get", "_set", "type")

    def __init__(self, slot: Any, tp: Any) -> None:
        self._get, self._set, self.type = slot.__get__, slot.__set__, tp
        self._decode: Callable[[_Raw], Any] = msgspec.json.Decoder(tp).decode

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self._get(obj)
        if type(value) is _Raw:
            value = self._decode(value)
            self._set(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self._set(obj, value)


def _defer(name: str, tp: Any) -> None:
    """``Prediction.<name>`` decoded on first read; its storage stays reachable, for
    ``__post_init__``, as ``_<name>_json`` (plain slot reads and writes, the fastest there are)."""
    slot = Prediction.__dict__[name]
    setattr(Prediction, f"_{name}_json", slot)
    setattr(Prediction, name, _LazyJSON(slot, tp))


_defer("input", dict[str, Any] | None)
_defer("output", Any)
_defer("logs", str | None)
