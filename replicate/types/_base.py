"""The base every API object shares, their status values, the page of a list, and the cached
decoders (see :mod:`replicate.types`)."""

import datetime
from typing import Any, Final, Generic, TypeVar

import msgspec

_T = TypeVar("_T")
_ObjT = TypeVar("_ObjT", bound="ReplicateObject")

_UTC: Final = datetime.timezone.utc


# --------------------------------------------------------------------------------------------
# Status values
# --------------------------------------------------------------------------------------------


class PredictionStatus:
    """The status values the API documents for predictions and trainings.

    ``status`` fields are plain ``str``: compare against these constants, and expect values not
    listed here to appear.
    """

    STARTING: Final = "starting"
    PROCESSING: Final = "processing"
    SUCCEEDED: Final = "succeeded"
    FAILED: Final = "failed"
    CANCELED: Final = "canceled"
    ABORTED: Final = "aborted"


TERMINAL_STATUSES: Final[frozenset[str]] = frozenset(
    {
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    }
)


def is_terminal(status: str | None) -> bool:
    """Whether a prediction or training with this status has finished and will not change."""
    return status in TERMINAL_STATUSES


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------


def _aware(value: datetime.datetime | None) -> datetime.datetime | None:
    """Attach UTC to a naive timestamp; the API's timestamps are all UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


# Not frozen, on purpose: the client refreshes a Prediction or Training in place while polling
# (as v1's ``reload()`` did), and users may tweak an object before passing it on. The cost is
# that instances are unhashable. ``msgspec.structs.replace(obj, field=...)`` makes a changed copy.
class ReplicateObject(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    repr_omit_defaults=True,
):
    """Base class of every API object.

    Fields set to their default (``None``) are left out of :meth:`to_dict`, :meth:`to_json` and
    the repr, much as v2 leaves out fields the response did not set.
    """

    def to_dict(self) -> dict[str, Any]:
        """This object as plain JSON-compatible Python values.

        Timestamps become RFC 3339 strings and nested objects become dicts. Fields that are
        ``None`` are left out.
        """
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result

    def to_json(self, *, indent: int | None = 2) -> str:
        """This object as a JSON ``str`` (like v2's ``to_json``), indented by ``indent`` spaces.

        ``indent=None`` gives the compact form. Fields that are ``None`` are left out.
        """
        data = msgspec.json.encode(self)
        if indent is not None:
            data = msgspec.json.format(data, indent=indent)
        return data.decode("utf-8")

    @classmethod
    def from_dict(cls: type[_ObjT], data: Any) -> _ObjT:
        """Build an object from decoded JSON (e.g. a webhook payload parsed elsewhere).

        Uses the same lenient rules as :func:`decoder_for`.
        """
        return msgspec.convert(data, cls, strict=False)

    @classmethod
    def from_json(cls: type[_ObjT], data: bytes | str) -> _ObjT:
        """Decode an object from a JSON document, with :func:`decoder_for`."""
        return decoder_for(cls).decode(data)


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


class Page(ReplicateObject, Generic[_T]):
    """A page of a cursor-paginated list: ``Page[Model]``, ``Page[Prediction]``, ...

    ``next`` and ``previous`` are full URLs (or ``None`` at either end).
    """

    next: str | None = None
    previous: str | None = None
    results: list[_T] = msgspec.field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Decoders
# --------------------------------------------------------------------------------------------

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(tp: type[_T]) -> msgspec.json.Decoder[_T]:
    """A cached JSON decoder for ``tp`` (a Struct here, ``Page[Model]``, ``list[Hardware]``, ...).

    Decoders are lenient (``strict=False``): a number sent as a string, or an integral float for an
    ``int`` field, is converted rather than rejected. Two threads racing may each build a decoder;
    that is harmless.
    """
    try:
        return _DECODERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type expression: build without caching
        return msgspec.json.Decoder(tp, strict=False)
    decoder = msgspec.json.Decoder(tp, strict=False)
    _DECODERS[tp] = decoder
    return decoder
