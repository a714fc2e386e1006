"""Running a model to its end: references, sync mode, waiting, deadlines and cancellation.

Every step is a sans-I/O flow (see ``_drivers``) given the client core
(:class:`~replicate._core.ClientCore`), never a facade: :func:`prepare_run` and
:func:`prepare_stream` check a call and hand the facade the flow its driver runs (the facade
decodes a run's output, since the files it makes download through it). What it promises:

- sync mode (``Prefer: wait``) by default; a 201 whose status is past ``starting`` and whose
  ``Preference-Applied`` header shows the wait was honoured carries the complete output; any
  other answer is waited on (SSE on ``urls.stream`` when the model streams, else polling);
- never an incomplete output: a terminal status ends the wait; ``failed``, ``canceled`` and
  ``aborted`` raise (one table: ``_poll.failure``); a status the SDK doesn't know yet is waited
  on, for a bounded time (``_poll.poll_flow``);
- ``timeout=`` bounds the whole call (:class:`Deadline`): the schema fetch, the uploads, every
  poll, retry and reconnect wait end by the deadline; the create and the cancel on the way out
  end by the deadline plus :data:`~replicate._deadline.DEADLINE_GRACE` (1 s), the create's
  sync-mode window cut to whole seconds of what is left so that the server answers it in time.
  A create that got no answer by then raises PredictionTimeoutError saying that the prediction
  may exist with an unknown id; a create is never sent twice;
- whenever the SDK stops waiting before the prediction has finished (the deadline, Ctrl-C, a
  poll that fails for good, a status unknown for too long, an ``on_update`` callback raising),
  the prediction is canceled on the server before the error is raised (:func:`guarded`). An
  interrupt during the create itself waits for the create's answer to learn the id (under a
  deadline, until the deadline plus the grace); a second interrupt stops at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import quote

from ._create import create_headers, prediction_body
from ._deadline import NO_DEADLINE, Deadline
from ._drivers import Call, Interrupted, map_emits
from ._events import Event, RunInfo
from ._http import Timeout
from ._inputs import check_strategy, encode_input_flow
from ._options import RunOptions
from ._poll import KNOWN_STATUSES, finish, poll_flow, prediction_fetch
from ._reference import Target, parse_reference
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ModelError,
    PredictionTimeoutError,
    ReplicateError,
)
from .types import Prediction, PredictionStatus, is_terminal

if TYPE_CHECKING:
    from ._core import ClientCore
    from ._drivers import Flow
    from ._sse import ServerSentEvent

log = logging.getLogger("replicate")

#: HTTP timeouts of the cancel request sent on the way out of a deadline or an interrupt (under
#: a deadline, cut to end by the deadline plus its grace).
CANCEL_TIMEOUT = Timeout(connect=5.0, read=10.0)
#: The shortest gap between two ``on_update`` calls made from events of a stream.
UPDATE_INTERVAL = 0.1

T = TypeVar("T")


# --- cancel, updates ----------------------------------------------------------------------------


def cancel_flow(
    core: ClientCore, prediction_id: str, deadline: Deadline = NO_DEADLINE
) -> Flow[bool]:
    """Cancel a prediction on the way out; a failure is logged, never raised over the cause.
    Returns whether the API accepted the cancel.

    Under a deadline the cancel ends by the deadline plus its grace, and is not retried past it.
    """
    request = core.build(
        "POST", f"/predictions/{quote(prediction_id, safe='')}/cancel", idempotent=True
    )
    try:
        yield from core.send_flow(
            request, timeout=CANCEL_TIMEOUT, max_retries=1, deadline=deadline.graced(connect=True)
        )
    except APIError as exc:
        log.warning("replicate: could not cancel prediction %s: %s", prediction_id, exc)
        return False
    log.info("replicate: canceled prediction %s", prediction_id)
    return True


class Watcher:
    """Reports each new state of a prediction to ``on_update`` and to observers."""

    __slots__ = ("core", "info", "last", "on_update")

    def __init__(
        self,
        core: ClientCore,
        on_update: Callable[[Prediction], Any] | None,
        info: RunInfo | None = None,
    ) -> None:
        self.core = core
        self.on_update = on_update
        self.last: Prediction | None = None
        #: The run's record for its ``run`` event (observed runs only), kept at the last state.
        self.info = info

    @property
    def wanted(self) -> bool:
        """Whether anyone listens (else states between the first and the last are not built)."""
        return self.on_update is not None or bool(self.core.sender.observers)

    def update(self, prediction: Prediction) -> Flow[None]:
        """Report a state unless it is the last one reported; ``on_update`` is a :class:`Call`
        (a sync client calls it, an async one awaits it when it is ``async``)."""
        if self.last is not None and prediction == self.last:
            return
        self.last = prediction
        if self.info is not None:
            self.info.prediction = prediction
        if self.on_update is not None:
            yield Call(self.on_update, (prediction,), "on_update")
        sender = self.core.sender
        if sender.observers:
            sender.observe(Event(Event.PREDICTION, data=prediction))


def _run_info(core: ClientCore, target: Target) -> RunInfo | None:
    """A run's record for its ``run`` event; None (nothing recorded) without observers."""
    if not core.sender.observers:
        return None
    named = f"{target.owner}/{target.name}" if target.owner and target.name else None
    return RunInfo(
        model=None if target.deployment else named,
        version=target.version,
        deployment=named if target.deployment else None,
    )


def _observed_run(core: ClientCore, info: RunInfo, flow: Flow[T]) -> Flow[T]:
    """``flow`` (a run's), then its ``run`` event: however it ends, the run's length, its last
    known state and the error it raised, if any (a consumer that stopped iterating: none)."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        return (yield from flow)
    except GeneratorExit:
        raise
    except BaseException as exc:
        error = exc
        known = getattr(exc, "prediction", None)  # a ModelError's: the final state
        if isinstance(known, Prediction):
            info.prediction = known
        raise
    finally:
        prediction = info.prediction
        if prediction is not None:
            if info.model is None and info.deployment is None:
                info.model = prediction.model
            if info.status is None:
                info.status = prediction.status
        core.sender.observe(
            Event(Event.RUN, data=info, error=error, duration=time.perf_counter() - started)
        )


class _Fold:
    """Folds a stream's ``logs`` and ``output`` events into copies of the prediction for the
    watcher, at most one update per :data:`UPDATE_INTERVAL`."""

    __slots__ = ("due", "logs", "outputs", "state", "watcher")

    def __init__(self, prediction: Prediction, watcher: Watcher) -> None:
        self.state = prediction
        self.watcher = watcher
        self.logs: list[str] = []
        self.outputs: list[str] = []
        self.due = 0.0

    def __call__(self, events: Sequence[ServerSentEvent]) -> Flow[Sequence[Any]]:
        """Take a batch of a stream's events (a ``map_emits`` receiver: none is passed on)."""
        for event in events:
            name = event.event
            if name == "output":
                self.outputs.append(event.data)
            elif name == "logs":
                self.logs.append(event.data)
        now = time.monotonic()
        if now >= self.due and (self.logs or self.outputs):
            self.due = now + UPDATE_INTERVAL
            yield from self.flush()
        return ()

    def flush(self) -> Flow[None]:
        import msgspec

        state = self.state
        changes: dict[str, Any] = {}
        if self.logs:
            logs = state.logs or ""
            sep = "\n" if logs and not logs.endswith("\n") else ""
            changes["logs"] = logs + sep + "\n".join(self.logs)
            self.logs = []
        if self.outputs:
            output = state.output
            items = list(output) if isinstance(output, list) else [] if output is None else [output]
            changes["output"] = items + self.outputs
            self.outputs = []
        if state.status == PredictionStatus.STARTING:
            changes["status"] = PredictionStatus.PROCESSING
        self.state = msgspec.structs.replace(state, **changes)
        yield from self.watcher.update(self.state)


#: A create with every option at its default (``use()`` functions' ``with_options`` start here).
DEFAULTS = RunOptions()


# --- creating -----------------------------------------------------------------------------------


class CreateSpec:
    """A create call's options, checked before anything is uploaded or sent."""

    __slots__ = ("cancel_after", "extra", "file_encoding_strategy", "prefer", "window")

    def __init__(
        self,
        *,
        window: int | NotGiven | None,
        prefer: list[str],
        cancel_after: str | None,
        extra: dict[str, Any],
        file_encoding_strategy: str | None,
    ) -> None:
        #: sync mode's window: NOT_GIVEN without sync mode, None for ``wait`` (the server's
        #: longest), N for ``wait=N``
        self.window = window
        #: the other parts of a caller's ``Prefer`` header
        self.prefer = prefer
        self.cancel_after = cancel_after
        self.extra = extra
        self.file_encoding_strategy = file_encoding_strategy

    @property
    def sync(self) -> bool:
        return not isinstance(self.window, NotGiven)

    def headers(self, deadline: Deadline) -> dict[str, str]:
        """The create's headers, the sync-mode window cut to what is left of the deadline."""
        headers: dict[str, str] = {}
        parts = list(self.prefer)
        if not isinstance(self.window, NotGiven):
            window = deadline.wait_window(self.window)
            if window != 0:  # 0: less than a second left, too little for any window
                parts.insert(0, "wait" if window is None else f"wait={window}")
        if parts:
            headers["Prefer"] = ", ".join(parts)
        if self.cancel_after is not None:
            headers["Cancel-After"] = self.cancel_after
        return headers


def prepare_create(
    input: Mapping[str, Any] | None, options: RunOptions = DEFAULTS, *, sync: bool = True
) -> CreateSpec:
    """Check a create's options (no I/O): a bad ``wait``, ``prefer``, ``cancel_after``, input or
    ``file_encoding_strategy`` raises here, before any file is uploaded. ``input`` is the
    create's (``options.input`` for a run, a ``use()`` call's keywords for a function);
    ``sync=False`` creates without sync mode, whatever ``options.wait`` says (``stream()`` and
    ``Function.create``)."""
    if not isinstance(input, Mapping):
        raise TypeError(
            f"input must be a mapping of input names to values, not {type(input).__name__}"
        )
    check_strategy(options.file_encoding_strategy)
    window: int | NotGiven | None = NOT_GIVEN
    parts: list[str] = []
    prefer = options.prefer
    if isinstance(prefer, NotGiven):
        wait = options.wait if sync else False
        if isinstance(wait, NotGiven):
            wait = True
        # ``create_headers`` rejects what is not True, False or a whole number 1..60 (2.5 too)
        create_headers(prefer=NOT_GIVEN, wait=wait, cancel_after=NOT_GIVEN)
        if wait is not False:
            window = None if wait is True else int(wait)
    else:
        create_headers(prefer=prefer, wait=NOT_GIVEN, cancel_after=NOT_GIVEN)
        for part in prefer.split(","):
            name, eq, value = part.strip().partition("=")
            if name.strip().lower() == "wait" and isinstance(window, NotGiven):
                value = value.strip()
                if not eq:
                    window = None
                    continue
                if value.isdigit() and int(value) >= 1:
                    window = int(value)
                    continue
            if part.strip():
                parts.append(part.strip())
    after = None
    if not isinstance(options.cancel_after, NotGiven):
        after = create_headers(prefer=NOT_GIVEN, wait=NOT_GIVEN, cancel_after=options.cancel_after)[
            "Cancel-After"
        ]
    extra = prediction_body(
        input={},
        webhook=options.webhook,
        webhook_events_filter=options.webhook_events_filter,
        stream=options.stream,
    )
    del extra["input"]
    return CreateSpec(
        window=window,
        prefer=parts,
        cancel_after=after,
        extra=extra,
        file_encoding_strategy=options.file_encoding_strategy,
    )


def create_flow(
    core: ClientCore,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    *,
    deadline: Deadline = NO_DEADLINE,
) -> Flow[tuple[Prediction, bool]]:
    """Encode the input, create the prediction (shielded from interrupts) and report whether
    the answer already carries the complete output.

    The uploads end by the deadline (PredictionTimeoutError: nothing created). The create's
    sync-mode window is cut to what is left, and its read ends by the deadline plus
    :data:`~replicate._deadline.DEADLINE_GRACE`: enough for the answer of a server that holds
    the request for its window. A create sent but unanswered by then raises
    PredictionTimeoutError (the prediction may exist; its id is unknown); it is never sent
    again. When the answer comes after the deadline and the output is not complete, the
    prediction is canceled and PredictionTimeoutError raised.
    """
    encoded = yield from encode_input_flow(
        core, input, file_encoding_strategy=spec.file_encoding_strategy, deadline=deadline
    )
    if deadline.expired():
        raise deadline.not_created("preparing the input")
    body: dict[str, Any] = {}
    if target.version is not None and not target.deployment:
        body["version"] = target.version
    body["input"] = encoded
    body.update(spec.extra)
    request = core.build("POST", target.path, json=body, headers=spec.headers(deadline))
    sent_at = time.time()
    try:
        response = yield from core.send_flow(request, shield=True, deadline=deadline.graced())
    except APIConnectionError as exc:
        timed_out = isinstance(exc, APITimeoutError) and deadline.expired()
        if not exc.request_sent:
            if timed_out:  # the connect was cut at the deadline: nothing reached the server
                raise deadline.not_created("connecting to create the prediction") from exc
            raise
        if timed_out:
            # The read was cut at the deadline plus the grace.
            raise deadline.create_unanswered(f"POST {target.path}", sent_at) from exc
        # The server may have created it: say so, and never send the create again.
        raise type(exc)(
            f"{exc.message}. The request had been sent, so the prediction may have been "
            "created; it was not retried (check client.predictions.list())",
            request=exc.request,
            request_sent=True,
        ) from exc
    if isinstance(response, Interrupted):
        interrupted: Interrupted = response
        answer = interrupted.response
        if answer is not None and 200 <= answer.status_code < 300:
            try:
                created = answer.parse(Prediction)
            except ReplicateError:
                created = None
            if created is not None and created.id:
                yield from cancel_flow(core, created.id, deadline)
        elif answer is None and interrupted.error is not None:
            log.warning(
                "replicate: interrupted while creating a prediction, and the create got no answer "
                "(%s); it may have been created, with an id that is unknown",
                interrupted.error,
            )
        raise interrupted.interrupt
    prediction: Prediction = response.parse(Prediction)
    complete = prediction.status not in (None, PredictionStatus.STARTING) and (
        is_terminal(prediction.status)
        or (
            spec.sync
            and response.status_code == 201
            and "preference-applied" in response.headers
            and prediction.status in KNOWN_STATUSES
        )
    )
    if not complete and deadline.expired():
        canceled = yield from cancel_flow(core, prediction.id, deadline)
        raise deadline.error(prediction.id, canceled=canceled)
    return prediction, complete


# --- waiting ------------------------------------------------------------------------------------


def wait_flow(
    core: ClientCore,
    prediction: Prediction,
    *,
    deadline: Deadline,
    watcher: Watcher,
    use_stream: bool = True,
) -> Flow[Prediction]:
    """Wait until the prediction is terminal: over SSE when it streams, else by polling.

    A stream that can't be read (an error status, a body that is not an event stream, a
    broken connection) falls back to polling. Stream events are folded into the states that
    ``watcher`` reports.
    """
    yield from watcher.update(prediction)
    if is_terminal(prediction.status):
        return prediction
    deadline.check(prediction.id)
    if use_stream and prediction.urls is not None and prediction.urls.stream:
        from ._stream import stream_events_flow

        flow = stream_events_flow(core, prediction, deadline=deadline)
        fold = _Fold(prediction, watcher) if watcher.wanted else None
        final: Prediction | None = None
        try:
            final = yield from (flow if fold is None else map_emits(flow, fold))
        except ModelError as exc:
            final = exc.prediction  # as the API reported it after the stream said it ended
        except APIError as exc:
            log.info("replicate: stream of prediction %s failed (%s); polling", prediction.id, exc)
        if final is not None and is_terminal(final.status):
            yield from watcher.update(final)
            return final

    _, final = yield from poll_flow(
        prediction_fetch(core, prediction.id, deadline),
        interval=core.poll_interval,
        deadline=deadline,
        on_state=watcher.update,
    )
    return final


def guarded(
    core: ClientCore, prediction_id: str, flow: Flow[Any], deadline: Deadline = NO_DEADLINE
) -> Flow[Any]:
    """Run a waiting ``flow``; if it stops before the prediction has finished, for any reason
    (the deadline, an interrupt, a poll that failed for good, a status unknown for too long, a
    callback raising), cancel the prediction before raising (the cancel bounded by
    ``deadline`` plus its grace).

    A ModelError means the prediction ended: nothing to cancel. A consumer that stops iterating
    (``GeneratorExit``: ``break``, ``close()``) cancels nothing: no request can be made from a
    closing generator. The deadline's PredictionTimeoutError, raised before the cancel, is
    reworded (the same exception, traceback and cause) to say whether the cancel succeeded.
    """
    try:
        return (yield from flow)
    except (GeneratorExit, ModelError):
        raise
    except BaseException as exc:
        canceled = yield from cancel_flow(core, prediction_id, deadline)
        if isinstance(exc, PredictionTimeoutError) and exc.prediction_id == prediction_id:
            exc.args = deadline.error(prediction_id, canceled=canceled).args
        raise


# --- run and stream -----------------------------------------------------------------------------


def run_flow(
    core: ClientCore,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    *,
    deadline: Deadline = NO_DEADLINE,
    on_update: Callable[[Prediction], Any] | None = None,
) -> Flow[Prediction]:
    """Create a prediction and wait until it has succeeded; cancel it if the caller gives up.
    Returns the finished prediction, its output not decoded yet (the facade decodes it).
    With observers, its end is a ``run`` event."""
    info = _run_info(core, target)
    flow = _run(core, target, input, spec, deadline, on_update, info)
    return (yield from (flow if info is None else _observed_run(core, info, flow)))


def _run(
    core: ClientCore,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    deadline: Deadline,
    on_update: Callable[[Prediction], Any] | None,
    info: RunInfo | None,
) -> Flow[Prediction]:
    prediction, complete = yield from create_flow(core, target, input, spec, deadline=deadline)
    if info is not None:
        info.prediction = prediction
    watcher = Watcher(core, on_update, info)
    if complete:
        # it has finished: nothing to cancel if the callback raises
        yield from watcher.update(prediction)
    else:
        prediction = yield from guarded(
            core,
            prediction.id,
            # wait=False behaves as in v2: no Prefer header, then polling until done
            wait_flow(core, prediction, deadline=deadline, watcher=watcher, use_stream=spec.sync),
            deadline,
        )
    return finish(prediction)


def prepare_run(core: ClientCore, ref: Any, options: RunOptions) -> Flow[tuple[Prediction, Any]]:
    """``Replicate.run`` as one flow: everything that can be checked without the network is
    checked now (a TypeError or ValueError before any request); the flow resolves a version
    reference's schema (fetched once per client) to check the input by, runs the prediction
    and returns it with the output schema (None if unknown), for the facade to decode its
    output by (as ``options.use_file_output`` says)."""
    input = options.input
    if input is None:
        raise TypeError("run() needs input={...}")
    if not isinstance(options.prefer, NotGiven) and not isinstance(options.wait, NotGiven):
        raise TypeError("cannot mix and match prefer and wait")
    deadline = Deadline(options.timeout)
    target = parse_reference(ref)
    spec = prepare_create(input, options)
    return _run_call(core, ref, target, input, spec, deadline, options.on_update)


def _run_call(
    core: ClientCore,
    ref: Any,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    deadline: Deadline,
    on_update: Callable[[Prediction], Any] | None,
) -> Flow[tuple[Prediction, Any]]:
    output_schema = None
    if target.version is not None and (target.owner or target.schema is not None):
        from ._resolve import resolve

        resolved = yield from resolve(core, ref, deadline)
        resolved.check(input)
        target = resolved.target
        output_schema = resolved.output_schema
    prediction = yield from run_flow(
        core, target, input, spec, deadline=deadline, on_update=on_update
    )
    return prediction, output_schema


def stream_flow(
    core: ClientCore,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    *,
    deadline: Deadline = NO_DEADLINE,
) -> Flow[None]:
    """Create a prediction (not in sync mode: the stream URL is wanted at once) and emit its
    events; cancel it on a deadline, an interrupt or an error before it has finished. With
    observers, its end is a ``run`` event."""
    info = _run_info(core, target)
    flow = _stream(core, target, input, spec, deadline, info)
    yield from (flow if info is None else _observed_run(core, info, flow))


def _stream(
    core: ClientCore,
    target: Target,
    input: Mapping[str, Any],
    spec: CreateSpec,
    deadline: Deadline,
    info: RunInfo | None,
) -> Flow[None]:
    from ._stream import stream_events_flow

    prediction, _ = yield from create_flow(core, target, input, spec, deadline=deadline)
    if info is not None:
        info.prediction = prediction
    final = yield from guarded(
        core, prediction.id, stream_events_flow(core, prediction, deadline=deadline), deadline
    )
    if info is not None:
        if final is None:  # the stream ended with ``done``
            info.status = PredictionStatus.SUCCEEDED
        else:
            info.prediction = final


def prepare_stream(core: ClientCore, ref: Any, options: RunOptions) -> Flow[None]:
    """``Replicate.stream`` up to the flow: the reference and options are checked now; the
    returned flow (which the facade iterates with its driver) creates the prediction (not in
    sync mode) when it starts, and emits its events."""
    deadline = Deadline(options.timeout)
    target = parse_reference(ref)
    spec = prepare_create(options.input, options, sync=False)
    input = cast("Mapping[str, Any]", options.input)  # prepare_create raised if it is not
    return stream_flow(core, target, input, spec, deadline=deadline)
