"""What observers see: one small object per thing the client does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._http import Request, Response
    from .types import Prediction


class Event:
    """Something the client did. ``kind`` is an open string; known kinds are constants here.

    Fields that don't apply to a kind are None. See ``replicate_observe`` in
    :mod:`replicate.hookspecs` for when each kind fires and what it carries.
    """

    REQUEST = "request"
    RESPONSE = "response"
    #: A streamed response's body was read to its end, failed while read, or closed early.
    RESPONSE_END = "response_end"
    ERROR = "error"
    RETRY = "retry"
    REDIRECT = "redirect"
    PREDICTION = "prediction"
    #: A ``run()``, ``use()`` call or ``stream()`` ended: ``data`` is a :class:`RunInfo`.
    RUN = "run"

    __slots__ = (
        "attempt",
        "client",
        "data",
        "delay",
        "duration",
        "error",
        "kind",
        "request",
        "response",
    )

    def __init__(
        self,
        kind: str,
        *,
        request: Request | None = None,
        response: Response | None = None,
        error: BaseException | None = None,
        attempt: int = 0,
        delay: float | None = None,
        data: Any = None,
        duration: float | None = None,
    ) -> None:
        self.kind = kind
        self.request = request
        self.response = response
        self.error = error
        #: 0 for the first attempt, 1 for the first retry...
        self.attempt = attempt
        #: seconds the client will sleep before retrying (``retry`` events)
        self.delay = delay
        #: anything else a kind carries (the new URL of a ``redirect``, a prediction...)
        self.data = data
        #: seconds the thing took: from sending to the response (its headers, when streamed),
        #: to the error, or to the end of a streamed body; a run's whole length
        self.duration = duration
        #: the id of the client the event came from (``client.client_id``), set as it is
        #: handed to observers; the same for a client and its ``with_options`` copies
        self.client: str | None = None

    def __repr__(self) -> str:
        parts = [self.kind]
        if self.request is not None:
            parts.append(repr(self.request))
        if self.response is not None:
            parts.append(repr(self.response))
        if self.error is not None:
            parts.append(type(self.error).__name__)
        if self.delay is not None:
            parts.append(f"delay={self.delay:.3f}")
        if self.duration is not None:
            parts.append(f"duration={self.duration:.3f}")
        if self.client is not None:
            parts.append(f"client={self.client}")
        return f"<Event {' '.join(parts)}>"


class RunInfo:
    """What a ``run`` event's ``data`` says about the run that ended.

    ``model`` is ``"owner/name"`` when the reference named a model (else None), ``version`` the
    version id when it named one, ``deployment`` ``"owner/name"`` for a deployment;
    ``prediction`` is the last state of the prediction the client saw (None when none was
    created) and ``status`` its status (``"succeeded"`` for a stream that ended normally).
    Never the input or the output's values beyond what ``prediction`` holds.
    """

    __slots__ = ("deployment", "model", "prediction", "status", "version")

    def __init__(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        deployment: str | None = None,
        prediction: Prediction | None = None,
        status: str | None = None,
    ) -> None:
        self.model = model
        self.version = version
        self.deployment = deployment
        self.prediction = prediction
        self.status = status

    @property
    def id(self) -> str | None:
        """The prediction's id, or None when none was created."""
        return None if self.prediction is None else self.prediction.id

    def __repr__(self) -> str:
        name = self.deployment or self.model or self.version
        return f"<RunInfo {name} id={self.id} status={self.status}>"
