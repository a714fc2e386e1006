"""Deadlines: a caller's bound on a whole call, turned into request timeouts, waits and the
error to raise.

``timeout=`` on ``run``, ``stream`` and ``use`` bounds the whole call: the schema fetch, the
uploads of input files, the polls, retries and stream reads end by the deadline itself, and the
two requests that may still run past it (the create, whose answer carries the id of a prediction
the server may have made, and the cancel sent on the way out) end by the deadline plus
:data:`DEADLINE_GRACE`. A sync-mode window (``Prefer: wait=N``) is cut to whole seconds of what
is left, so the server answers a create by the deadline. The bound is carried by each request's
``Timeout``: its connect and read timeouts are cut to fit, and its ``deadline`` asks the
transport to end the whole exchange by then (the urllib3 transport closes the connection at it,
however slowly the server reads or answers). A streamed response is not held to it by the
transport: the flows check the deadline between its chunks.
"""

from __future__ import annotations

import math
import time

from ._http import Timeout
from .exceptions import PredictionTimeoutError

#: How long past a call's deadline the create and the cancel may still run (seconds). The
#: server answers a sync-mode create by the deadline (its window is cut to fit), and the answer
#: still has to travel back; a cancel sent at the deadline needs one round trip. One second
#: covers both on a slow link (a pooled connection: no new handshake) while keeping
#: ``run(timeout=S)`` within S + 1 s whatever the server does (with a transport that honours
#: ``Timeout.deadline``, as the built-in one does).
DEADLINE_GRACE = 1.0


class Deadline:
    """The caller's bound on a whole call, in monotonic seconds (``at`` None: unbounded).

    The one place where time left turns into request timeouts (:meth:`clip`), waits
    (:meth:`cut`), sync-mode windows (:meth:`wait_window`) and the errors (:meth:`error`,
    :meth:`not_created`, :meth:`create_unanswered`). ``send_flow(deadline=...)`` clips each
    attempt and makes no retry whose wait would reach past it. Every request of a call ends by
    the deadline, except the create and the cancel: :meth:`graced` gives the view they are sent
    under, whose attempts end by the deadline plus :data:`DEADLINE_GRACE` (no retry starts past
    the deadline itself), so that the answer of a create sent in time can still be read.
    """

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise TypeError(f"timeout must be a number of seconds, not {seconds!r}")
            if not 0 < seconds < math.inf:  # NaN and infinity too (no timer can wait that long)
                raise ValueError(f"timeout must be a finite number > 0 of seconds, got {seconds!r}")
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def expired(self, slack: float = 0.0) -> bool:
        """Whether the deadline has passed (or will within ``slack`` seconds)."""
        return self.at is not None and time.monotonic() + slack >= self.at

    def clip(self, timeout: Timeout) -> Timeout:
        """Per-request timeouts that end no later than the deadline (``Timeout.deadline``, which
        the transport holds the whole exchange to)."""
        left = self.remaining()
        if left is None or self.at is None:
            return timeout
        return _cut_timeout(timeout, left, left, self.at)

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
        """The sync-mode window that fits in what is left of the deadline: whole seconds, 1..60
        and never more than is left; 0 when less than a second is left (no sync mode)."""
        left = self.remaining()
        if left is None:
            return wait
        fit = max(0, min(60, math.floor(left)))
        return fit if wait is None else min(wait, fit)

    def graced(self, *, connect: bool = False) -> Deadline:
        """This deadline for the create and the cancel: each attempt ends by the deadline plus
        :data:`DEADLINE_GRACE`; retries are bounded by the deadline itself. The create's
        connect still ends by the deadline; ``connect=True`` (the cancel, sent once the
        deadline has passed) lets the connect use the grace too, or a cancel that needs a new
        connection would get 1 ms to make it."""
        return self if self.at is None else _Graced(self, connect)

    def error(
        self, prediction_id: str | None, *, canceled: bool | None = None
    ) -> PredictionTimeoutError:
        """The prediction was created but did not finish in time. The caller then cancels it,
        and says how that went with ``canceled`` (None: not known yet; the waiting flows raise
        this, and ``_run.guarded`` rewords it once the cancel has answered)."""
        what = f"prediction {prediction_id}" if prediction_id else "the prediction"
        message = f"{what} did not finish within timeout={self.seconds} s"
        if canceled:
            message += "; it was canceled"
        elif canceled is not None:
            message += (
                "; the request to cancel it failed (logged on the 'replicate' logger), so it "
                "may still be running"
            )
            if prediction_id:
                message += f": cancel it with client.predictions.cancel({prediction_id!r})"
        return PredictionTimeoutError(message, prediction_id=prediction_id)

    def not_created(self, doing: str) -> PredictionTimeoutError:
        """The deadline passed before the create was sent (while ``doing``)."""
        return PredictionTimeoutError(
            f"timeout={self.seconds} s passed while {doing}; no prediction was created"
        )

    def create_unanswered(self, request: str, sent_at: float) -> PredictionTimeoutError:
        """The create (``request``, e.g. ``POST /models/o/n/predictions``) was sent at wall-clock
        time ``sent_at`` and got no answer by the deadline plus the grace."""
        after = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent_at - 60))
        return PredictionTimeoutError(
            f"the create request ({request}) got no complete answer within "
            f"timeout={self.seconds} s (+{DEADLINE_GRACE:g} s grace), so the prediction may have "
            "been created, but its id is unknown; the request was not sent again. To find it, "
            "look through "
            f'client.predictions.list(created_after="{after}") (a minute before the request was '
            "sent, to allow for clock skew) and cancel it with client.predictions.cancel(id) if "
            "it is still running"
        )


class _Graced(Deadline):
    """A deadline whose attempts may run :data:`DEADLINE_GRACE` past it (see
    :meth:`Deadline.graced`); ``remaining`` and ``expired`` still answer for the deadline."""

    __slots__ = ("connect",)

    def __init__(self, deadline: Deadline, connect: bool = False) -> None:
        self.seconds = deadline.seconds
        self.at = deadline.at
        self.connect = connect

    def clip(self, timeout: Timeout) -> Timeout:
        # The create's connect still ends by the deadline: a request not sent by then creates
        # nothing. The cancel's may use the grace.
        left = self.remaining()
        if left is None or self.at is None:
            return timeout
        graced = left + DEADLINE_GRACE
        return _cut_timeout(
            timeout, graced if self.connect else left, graced, self.at + DEADLINE_GRACE
        )

    def graced(self, *, connect: bool = False) -> Deadline:
        return self if connect == self.connect else _Graced(self, connect)


def _cut_timeout(timeout: Timeout, connect_left: float, left: float, at: float) -> Timeout:
    """``timeout`` with its connect timeout at most ``connect_left`` seconds, its read timeout at
    most ``left`` seconds (each at least 1 ms), and the whole exchange ending by ``at``."""
    connect_left = max(connect_left, 0.001)
    left = max(left, 0.001)
    connect = connect_left if timeout.connect is None else min(timeout.connect, connect_left)
    read = left if timeout.read is None else min(timeout.read, left)
    return Timeout(connect=connect, read=read, deadline=at)


NO_DEADLINE = Deadline(None)
