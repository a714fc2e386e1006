"""The async driver: runs the flows of ``_drivers`` with ``await``, for ``AsyncReplicate``.

The twin of ``drive_sync``/``iter_sync``, and the only async code that carries out actions:
every flow (sending, retries, waiting, streaming, uploads, downloads) is the one the sync client
runs. What differs is how an action is carried out:

- ``Send`` awaits an :class:`~replicate.AsyncTransport`. A shielded send (a create) runs in a
  task of its own: a first cancellation of the caller's task waits for the answer (so the flow
  learns the id of the prediction it created and cancels it) and is then re-raised; a second
  one cancels the send at once;
- ``Call`` awaits what the function returns when it is awaitable (an ``async def`` auth
  provider or ``on_update`` callback);
- ``Gather`` runs its flows as tasks (at most :data:`~replicate._drivers.MAX_CONCURRENCY`);
- ``Join`` waits on a :class:`concurrent.futures.Future` without blocking the loop, so a
  schema fetched by a thread or by a task of another loop is shared;
- a streamed response the flow leaves open when it stops early (``break`` in ``async for``,
  an error) is closed with ``await aclose()``, which a closing flow cannot do itself.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from ._drivers import (
    MAX_CONCURRENCY,
    Call,
    CloseResponse,
    Emit,
    EmitAll,
    Gather,
    Interrupted,
    Join,
    NextChunk,
    ReadBody,
    Send,
    Sleep,
    Stepper,
)

if TYPE_CHECKING:
    from ._drivers import Flow
    from ._http import AsyncTransport, Response

T = TypeVar("T")

Sleeper = Callable[[float], Awaitable[Any]]


async def drive_async(
    flow: Flow[T],
    transport: AsyncTransport,
    sleep: Sleeper = asyncio.sleep,
    *,
    check: Callable[[], None] | None = None,
    then: Callable[[T], Any] | None = None,
) -> Any:
    """Run a flow to its end with an async transport and return its result (emitted values
    are dropped; :func:`iter_async` hands them over), or ``then(result)``. ``check`` is called
    first, on the running loop (the client's check that the loop is its own). A plain
    coroutine, not an async generator, that the client awaits directly: a call pays for no
    more layers than it needs."""
    if check is not None:
        check()
    # The loop of _advance, written out here: a get awaits its transport one frame closer,
    # which every resumption of the suspended call pays for. Streamed responses, the rarer
    # actions and their _Run are only set up when the flow yields one.
    run: _Run | None = None
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                action = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                result = stop.value
                break
            value = error = None
            kind = type(action)
            if kind is Send and not action.shield and not action.stream:  # type: ignore[union-attr]
                # the common action (a get, a list), carried out here: no coroutine of its own
                send: Send = action  # type: ignore[assignment]
                started = perf_counter()
                try:
                    value = await transport.send(send.request, timeout=send.timeout, stream=False)
                except BaseException as exc:
                    error = exc
                    continue
                value._sent_at(started)
                continue
            if kind is EmitAll or kind is Emit:
                continue  # dropped: iter_async hands them over
            carry = _CARRY.get(kind)
            if carry is None:
                error = TypeError(f"unknown action {action!r}")
                continue
            if run is None:
                run = _Run(transport, sleep)
            try:
                value = await carry(run, action)
            except BaseException as exc:
                error = exc
        if run is not None:
            run.opened.clear()  # a streamed response the flow returns stays open
    finally:
        flow.close()
        if run is not None and run.opened:
            await run.close_opened()
    return result if then is None else then(result)


async def iter_async(
    flow: Flow[Any], transport: AsyncTransport, sleep: Sleeper = asyncio.sleep
) -> AsyncGenerator[Any, None]:
    """Run a flow, yielding each value it emits as it emits it (streamed output)."""
    run = _Run(transport, sleep)
    step = Stepper(flow)
    try:
        while (action := await _advance(run, step)) is not None:
            # the consumer's ``aclose()`` ends the run at a yield (GeneratorExit)
            for item in action.values if type(action) is EmitAll else (action.value,):  # type: ignore[union-attr]
                yield item
        run.opened.clear()
    finally:
        flow.close()
        await run.close_opened()


async def _advance(run: _Run, step: Stepper) -> Emit | EmitAll | None:
    """Carry out the flow's actions up to the next emit (returned) or its end (None; its value
    in ``step.result``). What an action raises is thrown into the flow, which decides what it
    means."""
    while (action := step.next()) is not None:
        kind = type(action)
        if kind is Send and not action.shield and not action.stream:  # type: ignore[union-attr]
            # the common action (a get, a list), carried out here: no coroutine of its own
            send: Send = action  # type: ignore[assignment]
            started = perf_counter()
            try:
                value = await run.transport.send(send.request, timeout=send.timeout, stream=False)
            except BaseException as exc:
                step.error = exc
                continue
            value._sent_at(started)
            step.value = value
            continue
        if kind is EmitAll or kind is Emit:
            return action  # type: ignore[return-value]
        carry = _CARRY.get(kind)
        if carry is None:
            step.error = TypeError(f"unknown action {action!r}")
            continue
        try:
            step.value = await carry(run, action)
        except BaseException as exc:
            step.error = exc
    return None


class _Run:
    """One driven flow's transport, sleep, and the streamed responses it opened."""

    __slots__ = ("opened", "sleep", "transport")

    def __init__(self, transport: AsyncTransport, sleep: Sleeper) -> None:
        self.transport = transport
        self.sleep = sleep
        self.opened: list[Response] = []

    async def close_opened(self) -> None:
        for response in self.opened:
            if not response.is_stream_consumed:
                try:
                    await response.aclose()
                except Exception:  # closing must not hide why the flow stopped
                    pass


async def _send(run: _Run, action: Send) -> Any:
    started = perf_counter()
    if action.shield:
        value = await _shielded_send(run.transport, action, started)
    else:
        value = await run.transport.send(
            action.request, timeout=action.timeout, stream=action.stream
        )
        value._sent_at(started)
    if action.stream:
        response = value.response if type(value) is Interrupted else value
        if response is not None:
            run.opened[:] = [r for r in run.opened if not r.is_stream_consumed]
            run.opened.append(response)
    return value


async def _call(run: _Run, action: Call) -> Any:
    value = action.func(*action.args)
    if inspect.isawaitable(value):
        value = await value
    return value


async def _sleep(run: _Run, action: Sleep) -> None:
    if action.seconds > 0:
        await run.sleep(action.seconds)


async def _next_chunk(run: _Run, action: NextChunk) -> bytes:
    return await action.response.anext_chunk()


async def _read_body(run: _Run, action: ReadBody) -> bytes:
    return await action.response.aread()


async def _close_response(run: _Run, action: CloseResponse) -> None:
    await action.response.aclose()


async def _gather_flows(run: _Run, action: Gather) -> list[Any]:
    return await _gather(action.flows, run.transport, run.sleep)


async def _join_future(run: _Run, action: Join) -> bool:
    return await _join(action)


#: How each action (but the emits) is carried out.
_CARRY: dict[type, Callable[[_Run, Any], Awaitable[Any]]] = {
    Send: _send,
    Call: _call,
    Sleep: _sleep,
    NextChunk: _next_chunk,
    ReadBody: _read_body,
    CloseResponse: _close_response,
    Gather: _gather_flows,
    Join: _join_future,
}


async def _shielded_send(transport: AsyncTransport, action: Send, started: float) -> Any:
    """Send in a task of its own, so that a first cancellation of the caller waits for the
    answer (an :class:`Interrupted` holding it, or the send's error) and a second one stops."""
    task = asyncio.ensure_future(
        transport.send(action.request, timeout=action.timeout, stream=action.stream)
    )
    try:
        response = await asyncio.shield(task)
    except asyncio.CancelledError as interrupt:
        if task.cancelled():
            raise
        try:
            response = await task  # a second cancellation cancels the send itself
        except asyncio.CancelledError:
            task.cancel()
            raise
        except BaseException as exc:
            return Interrupted(interrupt, error=exc)
        response._sent_at(started)
        return Interrupted(interrupt, response=response)
    response._sent_at(started)
    return response


async def _gather(flows: list[Flow[Any]], transport: AsyncTransport, sleep: Sleeper) -> list[Any]:
    if len(flows) <= 1:
        return [await drive_async(f, transport, sleep) for f in flows]
    limit = asyncio.Semaphore(MAX_CONCURRENCY)

    async def one(flow: Flow[Any]) -> Any:
        async with limit:
            return await drive_async(flow, transport, sleep)

    outcomes = await asyncio.gather(*(one(f) for f in flows), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


async def _join(action: Join) -> bool:
    future = action.future
    if future.done():
        return True
    waiter = asyncio.wrap_future(future)
    try:
        # shield: a timeout or a cancellation here must not cancel the other flow's future
        await asyncio.wait_for(asyncio.shield(waiter), action.timeout)
    except (asyncio.TimeoutError, TimeoutError):
        return False
    return True
