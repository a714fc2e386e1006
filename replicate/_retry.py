"""When to send a request again, and how long to wait first.

The policy is pure: it looks at an attempt's outcome and answers with a delay or None. The send
flow (``_send``) does the looping and sleeping, the same for every transport, sync or async.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._http import Request, Response

#: Statuses worth retrying for a request that is safe to repeat.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@runtime_checkable
class RetryPolicy(Protocol):
    """Decides whether a failed attempt is tried again.

    Called after an attempt that ended in a network error or an error status (not a redirect,
    which the core follows, nor a 401 that the auth provider refreshed), while retries are
    left: after the attempt numbered ``max_retries`` the core gives up without asking, so no
    policy can retry past the setting. Exactly one of ``response`` / ``error`` is set. Return
    the seconds to wait before the next attempt, or None to give up (the error, or the status
    as a typed error, goes to the caller). ``attempt`` counts from 0.

    The core never resends a body it cannot replay (a one-shot iterator, a file that cannot
    seek), whatever the policy says: it still asks, and logs the retry it skips. Must be
    thread-safe: one policy serves every request of a client.
    """

    def retry_delay(
        self,
        *,
        attempt: int,
        max_retries: int,
        request: Request,
        response: Response | None = None,
        error: BaseException | None = None,
    ) -> float | None: ...


class DefaultRetryPolicy:
    """Retries that never duplicate work on the server.

    - A network failure where the request surely never left (``request_sent=False``: refused
      connection, DNS, connect timeout) is retried for any method.
    - A failure after sending (read timeout, reset) is retried only for idempotent requests.
    - 429 is retried for any method: the server refused it without acting on it.
    - 408, 500, 502, 503 and 504 are retried only for idempotent requests; a POST that creates a
      prediction is never retried on them, so a retry cannot create a duplicate.
    - ``Retry-After`` (seconds or an HTTP date) is honoured up to ``max_retry_after`` seconds; a
      longer one gives up at once rather than block. Otherwise the wait is exponential backoff
      with full jitter: uniform(0, min(max_backoff, initial_backoff * 2**attempt)).
    """

    def __init__(
        self,
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._rng = rng
        self._random = (rng or random.Random()).uniform

    def __getstate__(self) -> dict[str, Any]:
        # The settings (and a generator the caller gave): a fresh one is made when unpickled.
        state = self.__dict__.copy()
        del state["_random"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._random = (self._rng or random.Random()).uniform

    def retry_delay(
        self,
        *,
        attempt: int,
        max_retries: int,
        request: Request,
        response: Response | None = None,
        error: BaseException | None = None,
    ) -> float | None:
        if attempt >= max_retries:
            return None
        if response is not None:
            status = response.status_code
            if status not in RETRY_STATUSES:
                return None
            if status != 429 and not request.idempotent:
                return None
            retry_after = parse_retry_after(response.headers)
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_after else None
            return self.backoff(attempt)
        if error is None:
            return None
        sent = getattr(error, "request_sent", True)
        if sent and not request.idempotent:
            return None
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        return self._random(0.0, min(self.max_backoff, self.initial_backoff * (2**attempt)))

    def __repr__(self) -> str:
        return (
            f"DefaultRetryPolicy(initial_backoff={self.initial_backoff}, "
            f"max_backoff={self.max_backoff}, max_retry_after={self.max_retry_after})"
        )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            ms = float(value)
        except ValueError:
            pass
        else:
            if ms >= 0 and ms == ms:
                return ms / 1000.0
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
