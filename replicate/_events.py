"""What observers see: one small object per thing the client does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._http import Request, Response


class Event:
    """Something the client did. ``kind`` is an open string; known kinds are constants here.

    Fields that don't apply to a kind are None.
    """

    REQUEST = "request"
    RESPONSE = "response"
    ERROR = "error"
    RETRY = "retry"
    REDIRECT = "redirect"

    __slots__ = ("attempt", "data", "delay", "error", "kind", "request", "response")

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
        return f"<Event {' '.join(parts)}>"
