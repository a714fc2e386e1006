"""The API's rate limits: per token, 600 prediction creates and 3000 other requests a minute.

A sliding window per token and kind of request; over the limit the answer is a 429
problem+json with ``Retry-After`` (whole seconds until the oldest request in the window leaves
it) and the API's wording, "Request was throttled. Your rate limit resets in ~Ns.".
Off by default in tests (``Emulator(rate_limits=False)``); ``True`` or a :class:`RateLimits`
turns it on.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .wire import EmuRequest, EmuResponse, problem

__all__ = ["RateLimiter", "RateLimits"]


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per ``window`` seconds and token: ``creates`` for prediction and
    training creates, ``other`` for everything else."""

    creates: int = 600
    other: int = 3000
    window: float = 60.0


class RateLimiter:
    """Counts requests per token; :meth:`check` answers 429 once a window is full."""

    def __init__(
        self, limits: RateLimits | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        #: None: no limits.
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, bool], deque[float]] = {}

    @classmethod
    def from_option(cls, option: Any) -> RateLimiter:
        """From ``Emulator(rate_limits=...)``: False/None (off), True (the API's limits), a
        :class:`RateLimits`, a dict of its fields, or a RateLimiter (used as it is)."""
        if isinstance(option, RateLimiter):
            return option
        if option is None or option is False:
            return cls(None)
        if option is True:
            return cls(RateLimits())
        if isinstance(option, RateLimits):
            return cls(option)
        if isinstance(option, dict):
            return cls(RateLimits(**option))
        raise TypeError(
            f"rate_limits must be a bool, a RateLimits or a dict, not {type(option).__name__}"
        )

    @property
    def enabled(self) -> bool:
        return self.limits is not None

    def check(self, req: EmuRequest, create: bool) -> EmuResponse | None:
        """Count ``req``; None when it may go on, else the 429 to answer (not counted)."""
        limits = self.limits
        if limits is None:
            return None
        token = req.headers.get("authorization", "")
        limit = limits.creates if create else limits.other
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault((token, create), deque())
            horizon = now - limits.window
            while seen and seen[0] <= horizon:
                seen.popleft()
            if len(seen) < limit:
                seen.append(now)
                return None
            oldest = seen[0] if seen else now
            wait = max(1, math.ceil(oldest + limits.window - now))
        return problem(
            429,
            f"Request was throttled. Your rate limit resets in ~{wait}s.",
            title="Request was throttled",
            headers=[("Retry-After", str(wait))],
        )

    def reset(self) -> None:
        """Forget every request counted so far."""
        with self._lock:
            self._seen.clear()
