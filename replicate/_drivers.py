"""The only code that performs I/O or sleeps.

Every flow (sending with retries, paginating, waiting on a prediction, streaming) is a generator
that yields actions and receives their results (see ``_send``). A driver carries the actions out:
``drive_sync`` with a blocking transport and ``time.sleep``; an async driver would do the same
with ``await`` (``_adrivers.drive_async``). A flow never calls user code that may be async
(an auth provider, an ``on_update`` callback) itself: it yields a :class:`Call`, which the driver
makes (and the async driver awaits). So sync and async clients share one implementation of
every flow.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal: its enums cost ~0.5 ms to import
import inspect
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._http import Request, Response, SyncTransport, Timeout

T = TypeVar("T")


class Send:
    """Send a request through the transport; the result is a Response, timed by the driver
    from just before the transport is called (``Response.elapsed``).

    With ``shield=True`` the exchange runs to its end even if the caller is interrupted
    (KeyboardInterrupt, task cancellation): the result is then an :class:`Interrupted` holding
    the response (or the error) and the interrupt, so the flow can learn what the server did
    (the id of a prediction it created) before it re-raises. A first interrupt that comes after
    the answer, while the flow takes it in, is thrown into the flow at its next action (in the
    sync driver; the async one delivers a cancellation only at an ``await``, which is an
    action). A second interrupt is not shielded.
    """

    __slots__ = ("request", "shield", "stream", "timeout")

    def __init__(
        self, request: Request, timeout: Timeout, stream: bool, shield: bool = False
    ) -> None:
        self.request = request
        self.timeout = timeout
        self.stream = stream
        self.shield = shield


class Call:
    """Call ``func(*args)``; the result is what it returns.

    For user code that may be written either way (an auth provider's ``auth_headers`` and
    ``refresh``): an async driver would await a result that is awaitable. ``drive_sync`` cannot:
    given an awaitable it closes it unrun and raises a TypeError naming ``role`` (what ``func``
    is, e.g. "the auth provider"): an async provider needs an async client. Whatever ``func``
    raises is thrown into the flow at its ``yield``, as for any action.
    """

    __slots__ = ("args", "func", "role")

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], role: str) -> None:
        self.func = func
        self.args = args
        self.role = role


class Interrupted:
    """The result of a shielded Send whose caller was interrupted while it was in flight."""

    __slots__ = ("error", "interrupt", "response")

    def __init__(
        self,
        interrupt: BaseException,
        response: Response | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.interrupt = interrupt
        self.response = response
        self.error = error


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


class NextChunk:
    """Read the next piece of a streamed body as it arrives; the result is bytes, b"" at the end."""

    __slots__ = ("response",)

    def __init__(self, response: Response) -> None:
        self.response = response


class CloseResponse:
    """Release a streamed response's connection without reading on; the result is None."""

    __slots__ = ("response",)

    def __init__(self, response: Response) -> None:
        self.response = response


class Gather:
    """Run several flows concurrently; the result is the list of their results, in order.

    If any fails, the others still run to their end, then the first error is raised.
    """

    __slots__ = ("flows",)

    def __init__(self, flows: list[Flow[Any]]) -> None:
        self.flows = flows


class Emit:
    """Hand a value to the consumer of an iterating flow (streamed output); the result is None."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class EmitAll:
    """Hand several values to the consumer, in order, as :class:`Emit` would one by one (a
    chunk's worth of streamed events, without a round trip through the flow for each); the
    result is None."""

    __slots__ = ("values",)

    def __init__(self, values: list[Any]) -> None:
        self.values = values


class Join:
    """Wait for ``future`` (a :class:`concurrent.futures.Future` another flow settles, in any
    thread or task) for at most ``timeout`` seconds (None: no bound); the result is whether it
    is done. The flow reads the future's result itself."""

    __slots__ = ("future", "timeout")

    def __init__(self, future: Future[Any], timeout: float | None) -> None:
        self.future = future
        self.timeout = timeout


Action = Send | Call | Sleep | ReadBody | NextChunk | CloseResponse | Gather | Emit | EmitAll | Join
Flow = Generator[Action, Any, T]


class Stepper:
    """Steps a flow, one action at a time, for code that carries the actions out in its own
    way (the async driver, :func:`map_emits`): :meth:`next` sends the last action's ``value``,
    or throws its ``error``, and gives the next action, or None once the flow has returned
    (its value then in ``result``)."""

    __slots__ = ("error", "flow", "result", "value")

    def __init__(self, flow: Flow[Any]) -> None:
        self.flow = flow
        self.value: Any = None
        self.error: BaseException | None = None
        self.result: Any = None

    def next(self) -> Action | None:
        error, self.error = self.error, None
        value, self.value = self.value, None
        try:
            return self.flow.send(value) if error is None else self.flow.throw(error)
        except StopIteration as stop:
            self.result = stop.value
            return None


def map_emits(flow: Flow[T], receive: Callable[[Sequence[Any]], Flow[Sequence[Any]]]) -> Flow[T]:
    """``flow`` with each batch of values it emits handed to ``receive``, a flow that returns
    the values to emit in their place (none, to keep them from the consumer). What ``receive``
    raises ends this flow: it is not the inner flow's to handle."""
    step = Stepper(flow)
    try:
        while (action := step.next()) is not None:
            kind = type(action)
            if kind is EmitAll or kind is Emit:
                values = action.values if kind is EmitAll else (action.value,)  # type: ignore[union-attr]
                out = yield from receive(values)
                if out:
                    yield EmitAll(list(out))
                continue
            try:
                step.value = yield action
            except GeneratorExit:
                raise
            except BaseException as exc:
                step.error = exc
        return step.result  # type: ignore[no-any-return]
    finally:
        flow.close()


#: Most uploads run at once in one Gather.
MAX_CONCURRENCY = 8


def drive_sync(
    flow: Flow[T], transport: SyncTransport, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run a flow to its end with a blocking transport and return its result.

    An exception raised while carrying out an action (including KeyboardInterrupt) is thrown
    back into the flow at its ``yield``, so the flow decides what it means. Emitted values are
    dropped (use :func:`iter_sync` to receive them).
    """
    # The result comes back in ``out``: a generator that returns None ends ``next(run, None)``
    # without raising StopIteration, one exception less per call.
    out: list[Any] = []
    if next(_run_sync(flow, transport, sleep, emit=False, out=out), None) is not None:
        raise AssertionError("a non-emitting run yielded")  # pragma: no cover
    return out[0]  # type: ignore[no-any-return]


def iter_sync(
    flow: Flow[T], transport: SyncTransport, sleep: Callable[[float], None] = time.sleep
) -> Generator[Any, None, T]:
    """Run a flow, yielding each value it emits as it emits it (streamed output)."""
    # without ``out``, the run returns the flow's own result
    return (yield from _run_sync(flow, transport, sleep, emit=True))  # type: ignore[return-value]


def _run_sync(
    flow: Flow[T],
    transport: SyncTransport,
    sleep: Callable[[float], None],
    emit: bool,
    out: list[Any] | None = None,
) -> Generator[Any, None, T | None]:
    """Carry out the flow's actions; its result is returned, or with ``out`` appended to it."""
    value: Any = None
    error: BaseException | None = None
    # After a shielded send, a first Ctrl-C stays held back while the flow takes in the answer
    # (up to its next action): the interrupt is then thrown in at that action, where the flow
    # knows the prediction's id and cancels it, rather than in the middle of its own code.
    hold: _Hold | None = None
    try:
        while True:
            try:
                action = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                if hold is not None and hold.release():
                    raise KeyboardInterrupt from None
                if out is not None:
                    out.append(stop.value)
                    return None
                return stop.value  # type: ignore[no-any-return]
            except BaseException as exc:
                if hold is not None and hold.release() and not isinstance(exc, KeyboardInterrupt):
                    raise KeyboardInterrupt from exc
                raise
            value = error = None
            if hold is not None:
                late, hold = hold.release(), None
                if late:
                    error = KeyboardInterrupt()
                    continue
            try:
                kind = type(action)
                if kind is Send:
                    started = _perf_counter()
                    if action.shield:  # type: ignore[union-attr]
                        value, hold = _shielded_send(transport, action, started)  # type: ignore[arg-type]
                    else:
                        value = transport.send(
                            action.request,  # type: ignore[union-attr]
                            timeout=action.timeout,  # type: ignore[union-attr,arg-type]
                            stream=action.stream,  # type: ignore[union-attr]
                        )
                        value._sent_at(started)
                elif kind is Call:
                    value = action.func(*action.args)  # type: ignore[union-attr]
                    if type(value) not in _PLAIN and _isawaitable(value):
                        _refuse_awaitable(action, value)  # type: ignore[arg-type]
                elif kind is Sleep:
                    if action.seconds > 0:  # type: ignore[union-attr]
                        sleep(action.seconds)  # type: ignore[union-attr]
                elif kind is NextChunk:
                    value = action.response.next_chunk()  # type: ignore[union-attr]
                elif kind is EmitAll:
                    if emit:
                        yield from action.values  # type: ignore[union-attr]
                elif kind is Emit:
                    if emit:
                        yield action.value  # type: ignore[union-attr]
                elif kind is ReadBody:
                    value = action.response.read()  # type: ignore[union-attr]
                elif kind is CloseResponse:
                    action.response.close()  # type: ignore[union-attr]
                elif kind is Gather:
                    value = _gather_sync(action.flows, transport, sleep)  # type: ignore[union-attr]
                elif kind is Join:
                    from concurrent.futures import wait

                    join: Join = action  # type: ignore[assignment]
                    value = bool(wait((join.future,), join.timeout).done)
                else:
                    raise TypeError(f"unknown action {action!r}")
            except GeneratorExit:
                raise
            except BaseException as exc:
                error = exc
    finally:
        if hold is not None:
            hold.release()
        flow.close()


#: Results a Call's function commonly returns that are never awaitable: checked first, so the
#: sync driver's test for an awaitable costs one lookup on the hot path (auth headers, a bool).
_PLAIN = (dict, bool, type(None))
_isawaitable = inspect.isawaitable


def _refuse_awaitable(action: Call, value: Any) -> None:
    """Raise the sync driver's error for a Call whose function is async (``value`` is closed)."""
    close = getattr(value, "close", None)
    if callable(close):
        close()  # a coroutine never awaited: no "was never awaited" warning
    func = action.func
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    raise TypeError(
        f"{action.role} is async ({name} returned {type(value).__name__}), but this is a sync "
        "client, which calls plain (non-async) functions only: use it with an async client, "
        "or give this client a plain one"
    )


#: What times each exchange (``Response.elapsed``): one reading before ``send``, one as it returns.
_perf_counter = time.perf_counter

# The C functions behind signal.signal/getsignal, without their enum conversions (a hot path).
_getsignal = _signal.getsignal
_setsignal = _signal.signal
_SIGINT = int(_signal.SIGINT)


class _Hold:
    """A SIGINT handler, installed from creation to :meth:`release`, that records a first Ctrl-C
    and raises KeyboardInterrupt at a second one."""

    __slots__ = ("caught", "delivered", "previous")

    def __init__(self) -> None:
        self.caught: list[KeyboardInterrupt] = []
        #: how many of ``caught`` the flow has been told of (as an :class:`Interrupted`)
        self.delivered = 0
        self.previous = _setsignal(_SIGINT, self._handler)

    def _handler(self, signum: int, frame: object) -> None:
        if self.caught:
            raise KeyboardInterrupt
        self.caught.append(KeyboardInterrupt())

    def release(self) -> bool:
        """Put the previous handler back; whether a Ctrl-C came that the flow was not told of."""
        _setsignal(_SIGINT, self.previous)
        return len(self.caught) > self.delivered


def _shielded_send(
    transport: SyncTransport, action: Send, started: float
) -> tuple[Any, _Hold | None]:
    """Send while a first Ctrl-C is held back until the exchange ends (timed from ``started``);
    the response (or an :class:`Interrupted`) and the :class:`_Hold`, still installed, that the
    driver releases once the flow has taken the answer in.

    Python delivers SIGINT to the main thread, where its default handler raises
    KeyboardInterrupt inside the socket read and the server's answer is lost. For the length
    of the send the handler instead records the first interrupt (the read carries on, PEP 475)
    and raises at a second one. Off the main thread, or when the program has its own SIGINT
    handler, the send is plain.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or _getsignal(_SIGINT) is not _signal.default_int_handler
    ):
        response = transport.send(action.request, timeout=action.timeout, stream=action.stream)
        response._sent_at(started)
        return response, None
    hold = _Hold()
    try:
        response = transport.send(action.request, timeout=action.timeout, stream=action.stream)
    except BaseException as exc:
        if hold.caught and not isinstance(exc, KeyboardInterrupt):
            hold.delivered = len(hold.caught)
            return Interrupted(hold.caught[0], error=exc), hold
        hold.release()
        raise
    response._sent_at(started)
    if hold.caught:
        hold.delivered = len(hold.caught)
        return Interrupted(hold.caught[0], response=response), hold
    return response, hold


def _gather_sync(
    flows: list[Flow[Any]], transport: SyncTransport, sleep: Callable[[float], None]
) -> list[Any]:
    if len(flows) <= 1:
        return [drive_sync(f, transport, sleep) for f in flows]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENCY, len(flows))) as pool:
        futures = [pool.submit(drive_sync, f, transport, sleep) for f in flows]
        errors = [f.exception() for f in futures]
    for err in errors:
        if err is not None:
            raise err
    return [f.result() for f in futures]
