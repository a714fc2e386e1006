"""The one polling loop, and what a prediction's terminal status means.

:func:`poll_flow` fetches until an object's status is terminal (``run``, ``use``, the SSE
fallback of ``_stream``, ``predictions.wait``, ``trainings.wait``); :func:`prediction_fetch`
makes its fetch for a prediction (one ``GET /predictions/{id}``); :func:`failure` is the table
of the error each unsuccessful terminal status raises. It sits below ``_stream`` and ``_run``,
which both wait with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._deadline import NO_DEADLINE, Deadline
from ._drivers import Sleep
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import (
    APIConnectionError,
    ModelError,
    PredictionAbortedError,
    PredictionCanceledError,
    ReplicateError,
)
from .types import Prediction, PredictionStatus, is_terminal

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Action, Flow
    from ._http import Response, Timeout

__all__ = [
    "KNOWN_STATUSES",
    "UNKNOWN_STATUS_LIMIT",
    "failure",
    "finish",
    "poll_flow",
    "prediction_fetch",
]

KNOWN_STATUSES = frozenset(
    {
        PredictionStatus.STARTING,
        PredictionStatus.PROCESSING,
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    }
)
#: How long a status the SDK doesn't know is waited on before giving up.
UNKNOWN_STATUS_LIMIT = 600.0
#: How early the last poll before a deadline starts, beyond the time the previous poll took, so
#: that a poll a little slower than the one before still ends in time (seconds).
LAST_POLL_MARGIN = 0.1

# --- terminal statuses --------------------------------------------------------------------------

#: The error each unsuccessful terminal status raises, and its message.
_FAILURES: dict[str, tuple[type[ModelError], str]] = {
    PredictionStatus.FAILED: (ModelError, "Prediction {id} failed: {detail}"),
    PredictionStatus.CANCELED: (PredictionCanceledError, "Prediction {id} was canceled"),
    PredictionStatus.ABORTED: (
        PredictionAbortedError,
        "Prediction {id} was aborted: its Cancel-After deadline passed before it started",
    ),
}


def failure(
    prediction: Prediction, status: str | None = None, detail: str | None = None
) -> ModelError | None:
    """The error for a prediction that ended without succeeding (``status`` overrides the
    prediction's own, e.g. the reason of a stream's ``done`` event); None otherwise."""
    entry = _FAILURES.get(status or prediction.status or "")
    if entry is None:
        return None
    cls, template = entry
    return cls(
        prediction,
        template.format(id=prediction.id, detail=prediction.error if detail is None else detail),
    )


def finish(prediction: Prediction) -> Prediction:
    """Raise for a prediction that ended without succeeding; return it otherwise."""
    error = failure(prediction)
    if error is not None:
        raise error
    return prediction


# --- polling ------------------------------------------------------------------------------------


def poll_flow(
    fetch: Callable[[], Flow[tuple[Response, Any]]],
    *,
    interval: float,
    deadline: Deadline = NO_DEADLINE,
    on_state: Callable[[Any], Iterable[Action] | None] | None = None,
) -> Flow[tuple[Response, Any]]:
    """Fetch until the object's status is terminal; return the last response and object.

    The one polling loop (``run``, ``use``, the SSE fallback, ``predictions.wait``,
    ``trainings.wait``). ``fetch`` is one GET; ``on_state`` sees each fetched object and may
    hand back actions to run (emitted output). The first fetch is immediate, then one every
    ``interval`` seconds. A status this SDK doesn't know is waited on for at most
    :data:`UNKNOWN_STATUS_LIMIT` seconds. Under a deadline no wait reaches past it: when the
    next poll would, the last one is timed to end just before the deadline (the previous poll's
    time plus :data:`LAST_POLL_MARGIN` ahead of it), and if that one finds the
    object still running the deadline's PredictionTimeoutError is raised.
    """
    unknown_since: float | None = None
    last = False
    monotonic = time.monotonic
    while True:
        started = monotonic()
        response, obj = yield from fetch()
        took = monotonic() - started
        if on_state is not None:
            actions = on_state(obj)
            if actions is not None:
                yield from actions
        status = getattr(obj, "status", None)
        if is_terminal(status):
            return response, obj
        obj_id = getattr(obj, "id", None)
        if last:
            raise deadline.error(obj_id)
        if status in KNOWN_STATUSES:
            unknown_since = None
        else:
            now = monotonic()
            unknown_since = unknown_since or now
            if now - unknown_since >= UNKNOWN_STATUS_LIMIT:
                raise ReplicateError(
                    f"{obj_id} has stayed in status {status!r}, unknown to this SDK, for over "
                    f"{UNKNOWN_STATUS_LIMIT:g} s; giving up"
                )
        wait = interval
        left = deadline.remaining()
        if left is not None and left <= interval + took:
            if left <= took:
                raise deadline.error(obj_id)
            # The next poll would end past the deadline: make it the last, ending just before.
            wait = left - took - LAST_POLL_MARGIN
            last = True
        if wait > 0:
            yield Sleep(wait)


def prediction_fetch(
    core: ClientCore,
    prediction_id: str,
    deadline: Deadline = NO_DEADLINE,
    timeout: Timeout | NotGiven = NOT_GIVEN,
) -> Callable[[], Flow[tuple[Response, Prediction]]]:
    """One ``GET /predictions/{id}`` under a deadline (a timeout at the deadline is its error)."""
    request = core.build("GET", f"/predictions/{quote(prediction_id, safe='')}")

    def fetch() -> Flow[tuple[Response, Prediction]]:
        deadline.check(prediction_id)
        try:
            response = yield from core.send_flow(request, timeout=timeout, deadline=deadline)
        except APIConnectionError:
            deadline.check(prediction_id, slack=0.01)  # a timeout cut by the deadline
            raise
        return response, response.parse(Prediction)

    return fetch
