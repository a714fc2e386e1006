"""A client-side limit on prediction creates, for batches: sans-I/O, thread-safe.

The API allows 600 creates a minute per token and answers 429 past it. :class:`CreateLimiter`
spaces a batch's creates evenly (one every ``60 / per_minute`` seconds, no burst, so that no
60 s window holds more than ``per_minute``), and a flow asks it how long to wait before each
create (:func:`wait_turn` yields the :class:`~replicate._drivers.Sleep`). One limiter serves
every worker thread or task of a batch.

A 429 on a create is handled twice over, without double waiting: the create's own retry
(``_send``/``_retry``: a 429 is retried for any method, after its ``Retry-After``, since the
server did not act on it) resends that request, and :meth:`CreateLimiter.throttled`, told of
the 429, holds every *other* create until the same moment and halves the pace, which then
recovers step by step with each create that gets through (:meth:`CreateLimiter.passed`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._drivers import Sleep

if TYPE_CHECKING:
    from ._drivers import Flow

__all__ = ["DEFAULT_RATE", "CreateLimiter", "wait_turn"]

#: The API's create limit per token, creates a minute.
DEFAULT_RATE = 600
#: The pause after a 429 that says nothing of when to come back (seconds).
DEFAULT_PAUSE = 1.0
#: The slowest a 429 makes the pace: this fraction of the configured rate.
SLOWEST = 1 / 16
#: Each create that gets through shortens a slowed gap by this factor (down to the configured).
RECOVERY = 0.75


class CreateLimiter:
    """Spaces creates to at most ``per_minute`` a minute, slowed by 429s.

    :meth:`reserve` books the next free slot and says how long until it; a 429 reported to
    :meth:`throttled` pushes every slot past its ``Retry-After`` and makes older bookings
    stale (their ``epoch`` has passed), so the flows holding them book again.
    """

    __slots__ = ("_clock", "_epoch", "_lock", "_next", "base", "interval")

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, (int, float)):
            raise TypeError(
                f"rate_limit must be creates per minute (a number) or None, not {per_minute!r}"
            )
        if not per_minute > 0:
            raise ValueError(f"rate_limit must be > 0 creates per minute, got {per_minute!r}")
        #: The configured gap between creates (seconds), and the current one (larger after 429s).
        self.base = 60.0 / per_minute
        self.interval = self.base
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._epoch = 0

    @property
    def per_minute(self) -> float:
        """The current pace, creates a minute."""
        return 60.0 / self.interval

    def reserve(self) -> tuple[float, int]:
        """Book the next slot: the seconds to wait for it (0: go now) and the booking's epoch."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now, self._epoch

    def current(self, epoch: int) -> bool:
        """Whether a booking made in ``epoch`` still holds (no 429 came since)."""
        return epoch == self._epoch

    def throttled(self, retry_after: float | None) -> None:
        """A create got 429: hold every create until ``retry_after`` seconds from now
        (:data:`DEFAULT_PAUSE` if the answer did not say), and halve the pace."""
        pause = DEFAULT_PAUSE if retry_after is None else max(0.0, retry_after)
        with self._lock:
            self._epoch += 1
            self.interval = min(self.interval * 2, self.base / SLOWEST)
            self._next = max(self._next, self._clock() + pause)

    def passed(self) -> None:
        """A create got through: bring the pace one step back towards the configured one."""
        if self.interval > self.base:
            with self._lock:
                self.interval = max(self.base, self.interval * RECOVERY)

    def __repr__(self) -> str:
        return f"CreateLimiter(per_minute={60.0 / self.base:g}, now={self.per_minute:g})"


def wait_turn(limiter: CreateLimiter) -> Flow[None]:
    """Wait for a create's slot; booked again if a 429 came in while waiting."""
    while True:
        delay, epoch = limiter.reserve()
        if delay > 0:
            yield Sleep(delay)
        if limiter.current(epoch):
            return
