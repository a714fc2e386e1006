"""A run's per-call options: the keywords of ``run()``/``stream()`` and of ``use()`` functions.

:class:`RunOptions` is built once, at the public entry point (``Replicate.run``/``stream``, the
module-level ``replicate.run``/``stream``, a ``use()`` function and its ``with_options``), from
the caller's keywords, and handed down as one object: the facade, ``_run.prepare_run`` /
``prepare_stream`` and ``_run.prepare_create`` read it instead of each taking the keywords
again. It is an immutable msgspec Struct (a copy with changes: ``msgspec.structs.replace``),
which is cheap to build; it checks nothing itself (``prepare_create`` and ``Deadline`` do).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ._sentinels import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from .types import Prediction

__all__ = ["RunOptions"]


class RunOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The options of one run, as the caller gave them (``NOT_GIVEN``: the default).

    The fields and their meanings are ``Replicate.run``'s keywords; ``stream()`` gives the ones
    it takes and leaves the rest at their defaults.
    """

    #: the model's inputs (None: not given; ``run()`` needs them)
    input: Mapping[str, Any] | None = None
    #: sync mode's window: True (the server's longest), 1..60 seconds, or False (none);
    #: not given: True unless ``prefer`` is
    wait: bool | int | NotGiven = NOT_GIVEN
    #: seconds bounding the whole call (None: no bound)
    timeout: float | None = None
    #: called with each new state of the prediction
    on_update: Callable[[Prediction], Any] | None = None
    #: whether file URLs in the output become FileOutputs
    use_file_output: bool = True
    file_encoding_strategy: str | None = None
    #: a ``Prefer`` header of the caller's own (not with ``wait``)
    prefer: str | NotGiven = NOT_GIVEN
    #: the server-side deadline (``Cancel-After``)
    cancel_after: str | int | NotGiven = NOT_GIVEN
    webhook: str | NotGiven = NOT_GIVEN
    webhook_events_filter: list[str] | NotGiven = NOT_GIVEN
    stream: bool | NotGiven = NOT_GIVEN
