"""``batch()``: many predictions of one model, with bounded concurrency, a create rate limit,
results as they complete, and a journal to resume from.

One flow per input (:func:`input_flow`), shared by both clients: wait for a create slot
(``_ratelimit``), note the create in the journal (``_journal``), create, wait by polling,
decode the output, and return a :class:`~replicate.types.BatchResult`. Whatever goes wrong for
one input (a failed prediction, an error status, a timeout) becomes its result's ``error``: the
batch goes on. Only an interrupt stops it.

The drivers are thin and differ by colour: :func:`iter_batch_sync` runs the flows in at most
``concurrency`` daemon threads and yields results from a queue as they come;
:func:`iter_batch_async` runs them as at most ``concurrency`` tasks. On Ctrl-C (or the
consumer's task being canceled, or the consumer leaving the loop early) no new create is sent,
every prediction whose id is known is canceled on the server (the flows' :func:`~replicate.
_run.guarded`), the journal is closed and the interrupt re-raised. In the sync driver the
worker threads are told to stop by their sleeps (a poll's wait, a rate limit's), which raise
:class:`Stopped` into the flow; a second Ctrl-C leaves at once.

Waiting is by polling (not SSE) so that a stop is seen within one poll interval.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from ._deadline import Deadline
from ._drivers import Call, Interrupted, Send, Stepper
from ._journal import SENDING, Journal, digest
from ._options import RunOptions
from ._ratelimit import CreateLimiter, wait_turn
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import (
    APIConnectionError,
    APIStatusError,
    ModelError,
    PredictionUncertainError,
    RateLimitError,
    ReplicateError,
)
from .types import BatchResult, Prediction, PredictionStatus, is_terminal

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Flow
    from ._http import AsyncTransport, Response, SyncTransport
    from ._reference import Target
    from ._run import CreateSpec

__all__ = ["BatchPlan", "Stopped", "input_flow", "iter_batch_async", "iter_batch_sync"]

#: How many times a create refused with 429 (after the client's own retries) goes back to the
#: rate limiter for another slot before its input's result is the RateLimitError.
THROTTLED_ROUNDS = 5
#: A batch's sync-mode window by default (``wait=`` not given), seconds: a quick model's
#: create answers with its output (one request), a slow one's is polled after it. Short, since
#: an interrupt waits for the creates in flight to answer (to learn their ids and cancel them).
SYNC_WINDOW = 5


class Stopped(BaseException):
    """Thrown into a batch's flow by the sync driver's sleeps once the batch is stopping (an
    interrupt, the consumer leaving): the flow cancels its prediction and ends. A BaseException,
    as KeyboardInterrupt is, so that no ``except Exception`` takes it for the input's error."""


class BatchPlan:
    """What the flows of one batch share: the model, its checked options, the inputs, the
    journal, the rate limiter, the output decoder and the progress line."""

    def __init__(
        self,
        core: ClientCore,
        ref: Any,
        inputs: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        rate_limit: float | None = 600,
        timeout: float | None = None,
        wait: bool | int | NotGiven = NOT_GIVEN,
        journal: Any = None,
        progress: bool = False,
        file_encoding_strategy: str | None = None,
        decode: Callable[[Any, Any], Any],
    ) -> None:
        from ._reference import parse_reference
        from ._run import prepare_create

        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        if isinstance(inputs, (Mapping, str, bytes)):
            raise TypeError("inputs must be an iterable of input mappings (one per prediction)")
        items = list(inputs)
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise TypeError(
                    f"input {index} must be a mapping of input names to values, "
                    f"not {type(item).__name__}"
                )
        Deadline(timeout)  # checks the value
        self.core = core
        self.ref = ref
        self.target: Target = parse_reference(ref)
        if isinstance(wait, NotGiven):
            wait = SYNC_WINDOW
        options = RunOptions(wait=wait, file_encoding_strategy=file_encoding_strategy)
        self.spec: CreateSpec = prepare_create({}, options)
        self.inputs: list[dict[str, Any]] = [dict(item) for item in items]
        self.concurrency = concurrency
        self.limiter = None if rate_limit is None else CreateLimiter(rate_limit)
        self.timeout = timeout
        self.decode = decode
        self.journal = (
            None if journal is None else Journal(journal, [digest(i) for i in self.inputs])
        )
        self.progress = Progress(len(self.inputs)) if progress else None
        #: Set by the sync driver when the batch is stopping: no create is sent past it.
        self.halt: threading.Event | None = None

    def __len__(self) -> int:
        return len(self.inputs)

    def flow(self, index: int) -> Flow[BatchResult]:
        return input_flow(self, index)

    def done(self, result: BatchResult) -> None:
        """A result is about to be yielded (both drivers call this)."""
        if self.progress is not None:
            self.progress.update(result)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        if self.progress is not None:
            self.progress.close()


# --- one input ----------------------------------------------------------------------------------


def input_flow(plan: BatchPlan, index: int) -> Flow[BatchResult]:
    """One input from start to result; only an interrupt (or :class:`Stopped`) escapes."""
    from ._run import _observed_run, _run_info

    input = plan.inputs[index]
    journal = plan.journal
    entry = journal.entry(index) if journal is not None else None
    if entry is not None and entry.step == SENDING:
        return BatchResult(
            index,
            input,
            error=PredictionUncertainError(
                f"input {index}'s create was in flight when an earlier run of this batch "
                "stopped, and its answer never came: the prediction may exist, with an id that "
                "is unknown (look through client.predictions.list()); it was not sent again",
                index=index,
            ),
            status="uncertain",
        )
    known: list[Prediction] = []
    info = _run_info(plan.core, plan.target)
    flow = _predict(plan, index, input, known, None if entry is None else entry.id)
    try:
        prediction, schema = yield from (
            flow if info is None else _observed_run(plan.core, info, flow)
        )
    except ModelError as exc:
        final = exc.prediction if isinstance(exc.prediction, Prediction) else None
        if final is not None and journal is not None:
            journal.finished(index, final.id, final.status)
        status = final.status if final is not None and final.status else PredictionStatus.FAILED
        return BatchResult(index, input, final, None, exc, status)
    except PredictionUncertainError as exc:
        return BatchResult(index, input, None, None, exc, "uncertain")
    except Exception as exc:
        return BatchResult(index, input, known[-1] if known else None, None, exc, "error")
    if journal is not None:
        journal.finished(index, prediction.id, prediction.status)
    try:
        output = yield Call(plan.decode, (prediction.output, schema), "the output decoder")
    except Exception as exc:
        return BatchResult(index, input, prediction, None, exc, "error")
    return BatchResult(index, input, prediction, output, None, PredictionStatus.SUCCEEDED)


def _predict(
    plan: BatchPlan,
    index: int,
    input: dict[str, Any],
    known: list[Prediction],
    prediction_id: str | None,
) -> Flow[tuple[Prediction, Any]]:
    """Create (or, resumed, fetch) the prediction and wait for its end; its final state (a
    ModelError for one that did not succeed) and the output schema."""
    from ._poll import finish, prediction_fetch
    from ._run import Watcher, guarded, wait_flow

    core = plan.core
    target = plan.target
    schema = None
    if plan.limiter is not None and prediction_id is None:
        yield from wait_turn(plan.limiter)
    deadline = Deadline(plan.timeout)
    if target.version is not None and (target.owner or target.schema is not None):
        from ._resolve import resolve

        resolved = yield from resolve(core, plan.ref, deadline)
        if prediction_id is None:
            resolved.check(input)
        target = resolved.target
        schema = resolved.output_schema
    if prediction_id is not None:  # resumed: its id was received, it is never created again
        _, prediction = yield from prediction_fetch(core, prediction_id, deadline)()
        complete = is_terminal(prediction.status)
    else:
        prediction, _ = yield from _create(plan, index, input, target, deadline)
        # Only a terminal status ends it here: a sync-mode answer past its window says
        # "processing" with Preference-Applied too, so anything else is polled (at once).
        complete = is_terminal(prediction.status)
    known.append(prediction)
    if not complete:
        watcher = Watcher(core, None)
        prediction = yield from guarded(
            core,
            prediction.id,
            wait_flow(core, prediction, deadline=deadline, watcher=watcher, use_stream=False),
            deadline,
        )
        known.append(prediction)
    return finish(prediction), schema


def _create(
    plan: BatchPlan, index: int, input: dict[str, Any], target: Target, deadline: Deadline
) -> Flow[tuple[Prediction, bool]]:
    """The create, journaled: ``sending`` just before the POST leaves, ``created`` with the id
    as soon as an answer holds one (even one that arrives during an interrupt), ``unsent``
    when the server refused it or it never left. A 429 slows the shared limiter; a create
    still refused after the client's retries goes back to the limiter (nothing was created)
    up to :data:`THROTTLED_ROUNDS` times."""
    from ._run import create_flow

    journal = plan.journal
    limiter = plan.limiter
    rounds = 0
    while True:
        watch = _CreateWatch(plan, index, target)
        flow = create_flow(plan.core, target, input, plan.spec, deadline=deadline)
        try:
            prediction, complete = yield from watch.run(flow)
        except APIStatusError as exc:  # answered with an error: nothing was created
            watch.unsent()
            if (
                isinstance(exc, RateLimitError)
                and limiter is not None
                and rounds < THROTTLED_ROUNDS
            ):
                rounds += 1
                yield from wait_turn(limiter)
                continue
            raise
        except ReplicateError as exc:
            cause = exc if isinstance(exc, APIConnectionError) else exc.__cause__
            if not (isinstance(cause, APIConnectionError) and cause.request_sent):
                watch.unsent()  # it never left: a deadline, an input that could not be encoded
                raise
            raise PredictionUncertainError(
                f"input {index}'s create was sent but got no answer ({exc}): the prediction "
                "may exist, with an id that is unknown; it was not sent again",
                index=index,
            ) from exc
        except BaseException:
            if watch.refused:  # interrupted while waiting to retry a refused create
                watch.unsent()
            raise
        if journal is not None:
            journal.created(index, prediction.id)
        if limiter is not None:
            limiter.passed()
        return prediction, complete


class _CreateWatch:
    """Runs a create flow, watching its POST: the journal's ``sending`` goes down just before
    it is sent; an answer's 429 tells the limiter; an answer that carries an id goes to the
    journal at once, so that an interrupt that makes the create flow cancel the prediction
    and raise still leaves the id on record."""

    __slots__ = ("index", "path", "plan", "refused", "sent")

    def __init__(self, plan: BatchPlan, index: int, target: Target) -> None:
        self.plan = plan
        self.index = index
        self.path = target.path
        #: whether the POST was sent, and whether its last answer was an error status
        self.sent = False
        self.refused = False

    def unsent(self) -> None:
        if self.sent and self.plan.journal is not None:
            self.plan.journal.unsent(self.index)

    def run(self, flow: Flow[tuple[Prediction, bool]]) -> Flow[tuple[Prediction, bool]]:
        journal = self.plan.journal
        step = Stepper(flow)
        try:
            while (action := step.next()) is not None:
                create = (
                    type(action) is Send
                    and action.request.method == "POST"
                    and urlsplit(action.request.url).path.endswith(self.path)
                )
                if create:
                    halt = self.plan.halt
                    if halt is not None and halt.is_set():
                        raise Stopped
                    self.refused = False
                    if not self.sent:
                        self.sent = True
                        if journal is not None:
                            journal.sending(self.index)
                try:
                    step.value = value = yield action
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    step.error = exc
                    continue
                if create:
                    response = value.response if type(value) is Interrupted else value
                    if response is not None:
                        self.refused = response.status_code >= 300
                        _answered(self.plan, self.index, response)
            return step.result  # type: ignore[no-any-return]
        finally:
            flow.close()


def _answered(plan: BatchPlan, index: int, response: Response) -> None:
    status = response.status_code
    if status == 429 and plan.limiter is not None:
        from ._retry import parse_retry_after

        plan.limiter.throttled(parse_retry_after(response.headers))
    elif 200 <= status < 300 and plan.journal is not None:
        try:
            prediction = response.parse(Prediction)
        except ReplicateError:
            return
        if prediction.id:
            plan.journal.created(index, prediction.id)


# --- the drivers --------------------------------------------------------------------------------


class _StopSleep:
    """A sync flow's sleep: waits on the batch's stop event, and raises :class:`Stopped` into
    the flow the first time it is set (later sleeps, the cancel's retries, just sleep)."""

    __slots__ = ("raised", "stop")

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.raised = False

    def __call__(self, seconds: float) -> None:
        if self.raised:
            time.sleep(seconds)
        elif self.stop.wait(seconds) or self.stop.is_set():
            self.raised = True
            raise Stopped


_DONE = object()
#: The longest the sync driver's thread blocks in one wait for a result: a wait on a lock is
#: woken by a real SIGINT, but not by an interrupt only flagged (``_thread.interrupt_main``,
#: a signal that arrived on another thread), which is seen when the wait ends.
WAKE = 0.1


def _next(results: queue.Queue[Any]) -> Any:
    """The next thing the workers put, waiting in short steps so an interrupt is seen."""
    while True:
        try:
            return results.get(timeout=WAKE)
        except queue.Empty:
            continue


def iter_batch_sync(plan: BatchPlan, transport: SyncTransport) -> Iterator[BatchResult]:
    """Drive a batch from at most ``plan.concurrency`` daemon threads; yield each result as it
    comes. An interrupt or the consumer leaving stops the workers (their predictions canceled)
    before it propagates; a second Ctrl-C while they stop propagates at once."""
    from ._drivers import drive_sync

    stop = plan.halt = threading.Event()
    results: queue.Queue[Any] = queue.Queue()
    lock = threading.Lock()
    todo = iter(range(len(plan)))

    def work() -> None:
        try:
            while not stop.is_set():
                with lock:
                    index = next(todo, None)
                if index is None:
                    break
                try:
                    result = drive_sync(plan.flow(index), transport, _StopSleep(stop))
                except Stopped:
                    break
                except BaseException as exc:  # not an input's error: a bug, or an interrupt
                    results.put(exc)
                    break
                results.put(result)
        finally:
            results.put(_DONE)

    workers = [
        threading.Thread(target=work, name=f"replicate-batch-{n}", daemon=True)
        for n in range(min(plan.concurrency, len(plan)))
    ]
    running = len(workers)
    try:
        for worker in workers:
            worker.start()
        while running:
            got = _next(results)
            if got is _DONE:
                running -= 1
            elif isinstance(got, BatchResult):
                plan.done(got)
                yield got
            else:
                raise got
    except BaseException:
        stop.set()
        while running:  # the workers cancel what they started (a second Ctrl-C ends this)
            if _next(results) is _DONE:
                running -= 1
        raise
    finally:
        plan.close()


async def iter_batch_async(
    plan: BatchPlan, transport: AsyncTransport
) -> AsyncGenerator[BatchResult, None]:
    """Drive a batch as at most ``plan.concurrency`` tasks; yield each result as it comes.
    The consumer's task canceled (or ``aclose()``) cancels the running tasks, whose flows
    cancel their predictions, and waits for them before it propagates."""
    import asyncio

    from ._adrivers import drive_async

    pending: set[asyncio.Task[BatchResult]] = set()
    todo = iter(range(len(plan)))

    def start() -> None:
        while len(pending) < plan.concurrency:
            index = next(todo, None)
            if index is None:
                return
            pending.add(asyncio.ensure_future(drive_async(plan.flow(index), transport)))

    try:
        start()
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.difference_update(done)
            start()
            for task in done:
                result = task.result()
                plan.done(result)
                yield result
    except BaseException:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        raise
    finally:
        plan.close()


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """``progress=True``: one line on stderr, redrawn as results come (``batch: 12/200 done,
    10 ok, 2 failed``); nothing when stderr is not a terminal."""

    __slots__ = ("counts", "done", "drawn", "stream", "total")

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.total = total
        self.done = 0
        self.counts: dict[str, int] = {}
        self.drawn = bool(isatty()) if callable(isatty) else False

    def update(self, result: BatchResult) -> None:
        self.done += 1
        status = "ok" if result.ok else result.status
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.drawn:
            self._draw()

    def _draw(self) -> None:
        parts = [f"{n} {status}" for status, n in sorted(self.counts.items())]
        tail = f", {', '.join(parts)}" if parts else ""
        self.stream.write(f"\r\x1b[Kbatch: {self.done}/{self.total} done{tail}")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
