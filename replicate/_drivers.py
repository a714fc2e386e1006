"""The only code that performs I/O or sleeps.

Every flow (sending with retries, paginating, waiting on a prediction, streaming) is a generator
that yields actions and receives their results (see ``_send``). A driver carries the actions out:
``drive_sync`` with a blocking transport and ``time.sleep``; an async driver does the same with
``await``. So sync and async clients share one implementation of every flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._http import Request, Response, SyncTransport, Timeout

T = TypeVar("T")


class Send:
    """Send a request through the transport; the result is a Response."""

    __slots__ = ("request", "stream", "timeout")

    def __init__(self, request: Request, timeout: Timeout, stream: bool) -> None:
        self.request = request
        self.timeout = timeout
        self.stream = stream


class Sleep:
    """Wait; the result is None."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class ReadBody:
    """Read the rest of a streamed response's body; the result is the bytes."""

    __slots__ = ("response",)

    def __init__(self, response: Response) -> None:
        self.response = response


class CloseResponse:
    """Release a streamed response's connection without reading on; the result is None."""

    __slots__ = ("response",)

    def __init__(self, response: Response) -> None:
        self.response = response


Action = Send | Sleep | ReadBody | CloseResponse
Flow = Generator[Action, Any, T]


def drive_sync(
    flow: Flow[T], transport: SyncTransport, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run a flow to its end with a blocking transport.

    An exception raised while carrying out an action (including KeyboardInterrupt) is thrown
    back into the flow at its ``yield``, so the flow decides what it means.
    """
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value = error = None
        try:
            kind = type(action)
            if kind is Send:
                value = transport.send(
                    action.request,  # type: ignore[union-attr]
                    timeout=action.timeout,  # type: ignore[union-attr]
                    stream=action.stream,  # type: ignore[union-attr]
                )
            elif kind is Sleep:
                if action.seconds > 0:  # type: ignore[union-attr]
                    sleep(action.seconds)  # type: ignore[union-attr]
            elif kind is ReadBody:
                value = action.response.read()  # type: ignore[union-attr]
            elif kind is CloseResponse:
                action.response.close()  # type: ignore[union-attr]
            else:
                raise TypeError(f"unknown action {action!r}")
        except BaseException as exc:
            error = exc
