"""Deadlines: a caller's bound on a whole call, turned into request timeouts, waits and the
error to raise."""

from __future__ import annotations

import math
import time

from ._http import Timeout
from .exceptions import PredictionTimeoutError


class Deadline:
    """The caller's bound on a whole call, in monotonic seconds (``at`` None: unbounded).

    The one place where time left turns into request timeouts (:meth:`clip`), waits
    (:meth:`cut`), sync-mode windows (:meth:`wait_window`) and the error (:meth:`error`).
    ``send_flow(deadline=...)`` clips each attempt and makes no retry whose wait would reach past
    it; :meth:`retries_only` gives a view that bounds the retries but not the attempts (the
    create, whose answer must be read whatever the deadline says).
    """

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise TypeError(f"timeout must be a number of seconds, not {seconds!r}")
            if not seconds > 0:
                raise ValueError(f"timeout must be > 0 seconds, got {seconds!r}")
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def expired(self, slack: float = 0.0) -> bool:
        """Whether the deadline has passed (or will within ``slack`` seconds)."""
        return self.at is not None and time.monotonic() + slack >= self.at

    def clip(self, timeout: Timeout) -> Timeout:
        """Per-request timeouts that end no later than the deadline."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)
        connect = left if timeout.connect is None else min(timeout.connect, left)
        read = left if timeout.read is None else min(timeout.read, left)
        return Timeout(connect=connect, read=read)

    def cut(self, seconds: float, prediction_id: str | None) -> float:
        """A wait cut to the time left; the deadline's error when no time is left."""
        left = self.remaining()
        if left is None:
            return seconds
        if left <= 0:
            raise self.error(prediction_id)
        return min(seconds, left)

    def check(self, prediction_id: str | None, slack: float = 0.0) -> None:
        """Raise the deadline's error if it has passed (or will within ``slack`` seconds)."""
        if self.expired(slack):
            raise self.error(prediction_id)

    def wait_window(self, wait: int | None) -> int | None:
        """The sync-mode window (1..60 s) that fits in what is left of the deadline."""
        left = self.remaining()
        if left is None:
            return wait
        fit = max(1, min(60, math.floor(left)))
        return fit if wait is None else min(wait, fit)

    def retries_only(self) -> Deadline:
        return _RetryBound(self)

    def error(self, prediction_id: str | None) -> PredictionTimeoutError:
        what = f"prediction {prediction_id}" if prediction_id else "the prediction"
        return PredictionTimeoutError(
            f"{what} did not finish within timeout={self.seconds} s; it was canceled",
            prediction_id=prediction_id,
        )


class _RetryBound(Deadline):
    """A deadline that bounds retry waits, while each attempt keeps its own timeouts."""

    __slots__ = ()

    def __init__(self, deadline: Deadline) -> None:
        self.seconds = deadline.seconds
        self.at = deadline.at

    def clip(self, timeout: Timeout) -> Timeout:
        return timeout


NO_DEADLINE = Deadline(None)
