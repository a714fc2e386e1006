"""Running a model to its end: references, sync mode, waiting, deadlines and cancellation.

Every step is a sans-I/O flow (see ``_drivers``), so the async client drives the same code.
What it promises:

- sync mode (``Prefer: wait``) by default; a 201 whose status is past ``starting`` and whose
  ``Preference-Applied`` header shows the wait was honoured carries the complete output; any
  other answer is waited on (SSE on ``urls.stream`` when the model streams, else polling);
- never an incomplete output: a terminal status ends the wait; ``failed``, ``canceled`` and
  ``aborted`` raise; a status the SDK doesn't know yet is waited on, for a bounded time;
- ``timeout=`` bounds the whole call; when it passes, or the caller interrupts (Ctrl-C), the
  prediction is canceled on the server before the error is raised. An interrupt during the
  create itself waits for the create's answer to learn the id; a second interrupt stops at once.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any

from ._drivers import Interrupted, Sleep
from ._events import Event
from ._http import Timeout
from ._inputs import encode_input_flow
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ModelError,
    PredictionAbortedError,
    PredictionCanceledError,
    PredictionTimeoutError,
    ReplicateError,
)
from .resources.predictions import create_headers, prediction_body
from .types import Deployment, Model, Prediction, PredictionStatus, Version

if TYPE_CHECKING:
    from ._client import Replicate
    from ._drivers import Action, Flow

log = logging.getLogger("replicate")

_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_MODEL_REF = re.compile(rf"^(?P<owner>{_NAME})/(?P<name>{_NAME})(?::(?P<version>[0-9a-f]{{64}}))?$")
KNOWN_STATUSES = frozenset(
    {
        PredictionStatus.STARTING,
        PredictionStatus.PROCESSING,
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    }
)
#: How long a status the SDK doesn't know is waited on before giving up.
UNKNOWN_STATUS_LIMIT = 600.0
#: HTTP timeouts of the cancel request sent on the way out of a deadline or an interrupt.
CANCEL_TIMEOUT = Timeout(connect=5.0, read=10.0)

REFERENCE_FORMS = (
    "'owner/name' (a model), 'owner/name:<64-hex version id>', a bare 64-hex version id, "
    "or a Model, Version or Deployment object"
)


class Target:
    """Where a prediction is created, parsed from a reference."""

    __slots__ = ("_path", "deployment", "name", "owner", "schema", "version")

    def __init__(
        self,
        *,
        owner: str | None = None,
        name: str | None = None,
        version: str | None = None,
        deployment: bool = False,
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.owner = owner
        self.name = name
        self.version = version
        self.deployment = deployment
        #: the version's OpenAPI schema when the reference carried it (a Version object)
        self.schema = schema
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = self._make_path()
        return self._path

    def _make_path(self) -> str:
        from urllib.parse import quote

        owner_name = f"{quote(self.owner or '', safe='')}/{quote(self.name or '', safe='')}"
        if self.deployment:
            return f"/deployments/{owner_name}/predictions"
        if self.version is not None:
            return "/predictions"
        return f"/models/{owner_name}/predictions"

    def __repr__(self) -> str:
        if self.deployment:
            return f"deployment {self.owner}/{self.name}"
        if self.owner and self.version:
            return f"{self.owner}/{self.name}:{self.version}"
        return self.version or f"{self.owner}/{self.name}"


_parsed: dict[str, Target] = {}


def parse_reference(ref: object) -> Target:
    """A Target from any accepted reference; a ValueError showing the forms otherwise."""
    if isinstance(ref, str):
        cached = _parsed.get(ref)
        if cached is not None:
            return cached
        if len(_parsed) < 1024:
            _parsed[ref] = target = _parse_string(ref)
            return target
        return _parse_string(ref)
    return _parse_object(ref)


def _parse_string(ref: str) -> Target:
    ref_str = ref.strip()
    if _VERSION_ID.match(ref_str):
        return Target(version=ref_str)
    match = _MODEL_REF.match(ref_str)
    if match:
        return Target(owner=match["owner"], name=match["name"], version=match["version"])
    raise ValueError(f"Invalid model reference {ref!r}; expected {REFERENCE_FORMS}")


def _parse_object(ref: object) -> Target:
    if isinstance(ref, Version):
        if not ref.id:
            raise ValueError("the Version object has no id")
        return Target(version=ref.id, schema=ref.openapi_schema)
    if isinstance(ref, Model):
        if not ref.owner or not ref.name:
            raise ValueError("the Model object has no owner/name")
        return Target(owner=ref.owner, name=ref.name)
    if isinstance(ref, Deployment):
        if not ref.owner or not ref.name:
            raise ValueError("the Deployment object has no owner/name")
        return Target(owner=ref.owner, name=ref.name, deployment=True)
    owner = getattr(ref, "owner", None)
    name = getattr(ref, "name", None)
    if isinstance(owner, str) and isinstance(name, str):  # v2's Model / ModelVersionIdentifier
        version = getattr(ref, "version", None) or getattr(ref, "id", None)
        if version is not None and not isinstance(version, str):
            version = getattr(version, "id", None)
        return Target(owner=owner, name=name, version=version or None)
    raise ValueError(f"Invalid model reference {ref!r}; expected {REFERENCE_FORMS}")


# --- deadlines ----------------------------------------------------------------------------------


class Deadline:
    """The caller's bound on a whole run, in monotonic seconds (None: unbounded)."""

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

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def clip(self, timeout: Timeout) -> Timeout:
        """Per-request timeouts that end no later than the deadline."""
        left = self.remaining()
        if left is None:
            return timeout
        left = max(left, 0.001)
        connect = left if timeout.connect is None else min(timeout.connect, left)
        read = left if timeout.read is None else min(timeout.read, left)
        return Timeout(connect=connect, read=read)

    def wait_window(self, wait: int | None) -> int | None:
        """The sync-mode window (1..60 s) that fits in what is left of the deadline."""
        left = self.remaining()
        if left is None:
            return wait
        fit = max(1, min(60, math.floor(left)))
        return fit if wait is None else min(wait, fit)

    def error(self, prediction_id: str | None) -> PredictionTimeoutError:
        what = f"prediction {prediction_id}" if prediction_id else "the prediction"
        return PredictionTimeoutError(
            f"{what} did not finish within timeout={self.seconds} s; it was canceled",
            prediction_id=prediction_id,
        )


def _is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, or an async task being cancelled (checked by name: asyncio isn't imported)."""
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError"


# --- the flows ----------------------------------------------------------------------------------


def cancel_flow(client: Replicate, prediction_id: str) -> Flow[None]:
    """Cancel a prediction on the way out; a failure is logged, never raised over the cause."""
    request = client._build("POST", f"/predictions/{prediction_id}/cancel", idempotent=True)
    try:
        yield from client._send_flow(request, timeout=CANCEL_TIMEOUT, max_retries=1)
    except APIError as exc:
        log.warning("replicate: could not cancel prediction %s: %s", prediction_id, exc)
    else:
        log.info("replicate: canceled prediction %s", prediction_id)


class Watcher:
    """Reports each new state of a prediction to ``on_update`` and to observers."""

    __slots__ = ("client", "last", "on_update")

    def __init__(self, client: Replicate, on_update: Callable[[Prediction], Any] | None) -> None:
        self.client = client
        self.on_update = on_update
        self.last: Prediction | None = None

    def update(self, prediction: Prediction) -> None:
        if self.last is not None and prediction == self.last:
            return
        self.last = prediction
        if self.on_update is not None:
            self.on_update(prediction)
        sender = self.client._sender
        if sender.observers:
            sender.observe(Event("prediction", data=prediction))


def create_flow(
    client: Replicate,
    target: Target,
    input: Mapping[str, Any],
    *,
    deadline: Deadline,
    wait: bool | int,
    prefer: str | NotGiven = NOT_GIVEN,
    cancel_after: Any = NOT_GIVEN,
    webhook: Any = NOT_GIVEN,
    webhook_events_filter: Any = NOT_GIVEN,
    stream: Any = NOT_GIVEN,
    file_encoding_strategy: str | None = None,
) -> Generator[Action, Any, tuple[Prediction, bool]]:
    """Encode the input, create the prediction (shielded from interrupts) and report whether
    the answer already carries the complete output."""
    encoded = yield from encode_input_flow(
        client, input, file_encoding_strategy=file_encoding_strategy
    )
    sync = False
    if isinstance(prefer, NotGiven) and wait is not False:
        window = deadline.wait_window(None if wait is True else int(wait))
        headers = create_headers(
            prefer=NOT_GIVEN,
            wait=True if window is None else window,
            cancel_after=cancel_after,
        )
        sync = True
    else:
        headers = create_headers(prefer=prefer, wait=NOT_GIVEN, cancel_after=cancel_after)
        sync = not isinstance(prefer, NotGiven) and "wait" in prefer
    extra: dict[str, Any] = {}
    if target.version is not None and not target.deployment:
        extra["version"] = target.version
    body = prediction_body(
        input=encoded,
        webhook=webhook,
        webhook_events_filter=webhook_events_filter,
        stream=stream,
        **extra,
    )
    request = client._build("POST", target.path, json=body, headers=headers)
    # In sync mode the server answers within the (clipped) wait window, and the read timeout is
    # extended past it, so the id is always learnt and a deadline can cancel the prediction.
    try:
        response = yield from client._send_flow(
            request,
            timeout=... if sync else deadline.clip(client._config.timeout),
            shield=True,
        )
    except APIConnectionError as exc:
        if not exc.request_sent:
            raise
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
                yield from cancel_flow(client, created.id)
        raise interrupted.interrupt
    prediction: Prediction = response.parse(Prediction)
    complete = prediction.status not in (None, PredictionStatus.STARTING) and (
        _is_terminal(prediction.status)
        or (
            sync
            and response.status_code == 201
            and "preference-applied" in response.headers
            and prediction.status in KNOWN_STATUSES
        )
    )
    return prediction, complete


def _is_terminal(status: str | None) -> bool:
    return status in (
        PredictionStatus.SUCCEEDED,
        PredictionStatus.FAILED,
        PredictionStatus.CANCELED,
        PredictionStatus.ABORTED,
    )


def wait_flow(
    client: Replicate,
    prediction: Prediction,
    *,
    deadline: Deadline,
    watcher: Watcher,
    use_stream: bool = True,
) -> Flow[Prediction]:
    """Wait until the prediction is terminal: over SSE when it streams, else by polling."""
    if use_stream and prediction.urls is not None and prediction.urls.stream:
        from ._stream import stream_events_flow

        try:
            yield from stream_events_flow(client, prediction, deadline=deadline.at)
        except ModelError:
            pass  # the final state, fetched below, says what failed
        except APIConnectionError as exc:
            log.info("replicate: stream for %s failed (%s); polling instead", prediction.id, exc)
    path = f"/predictions/{prediction.id}"
    interval = client.poll_interval
    unknown_since: float | None = None
    first = True
    while True:
        if _is_terminal(prediction.status):
            return prediction
        if prediction.status not in KNOWN_STATUSES:
            now = time.monotonic()
            unknown_since = unknown_since or now
            if now - unknown_since > UNKNOWN_STATUS_LIMIT:
                raise ReplicateError(
                    f"prediction {prediction.id} has stayed in status {prediction.status!r}, "
                    f"unknown to this SDK, for over {UNKNOWN_STATUS_LIMIT:.0f} s; giving up"
                )
        else:
            unknown_since = None
        if not first:
            left = deadline.remaining()
            if left is not None and left <= interval:
                if left > 0:
                    yield Sleep(left)
                raise deadline.error(prediction.id)
            yield Sleep(interval)
        first = False
        if deadline.expired():
            raise deadline.error(prediction.id)
        request = client._build("GET", path)
        try:
            response = yield from client._send_flow(
                request, timeout=deadline.clip(client._config.timeout)
            )
        except APITimeoutError:
            if deadline.expired():
                raise deadline.error(prediction.id) from None
            raise
        prediction = response.parse(Prediction)
        watcher.update(prediction)


def finish(prediction: Prediction) -> Prediction:
    """Raise for a prediction that ended without succeeding."""
    status = prediction.status
    if status == PredictionStatus.FAILED:
        raise ModelError(prediction)
    if status == PredictionStatus.CANCELED:
        raise PredictionCanceledError(prediction, f"Prediction {prediction.id} was canceled")
    if status == PredictionStatus.ABORTED:
        raise PredictionAbortedError(
            prediction,
            f"Prediction {prediction.id} was aborted: its Cancel-After deadline passed "
            "before it started",
        )
    return prediction


def run_flow(
    client: Replicate,
    target: Target,
    input: Mapping[str, Any],
    *,
    timeout: float | None = None,
    wait: bool | int = True,
    on_update: Callable[[Prediction], Any] | None = None,
    schema: dict[str, Any] | None = None,
    use_file_output: bool = True,
    file_encoding_strategy: str | None = None,
    **create: Any,
) -> Flow[Any]:
    """Create a prediction and wait for its output; cancel it if the caller gives up."""
    deadline = Deadline(timeout)
    watcher = Watcher(client, on_update)
    prediction, complete = yield from create_flow(
        client,
        target,
        input,
        deadline=deadline,
        wait=wait,
        file_encoding_strategy=file_encoding_strategy,
        **create,
    )
    watcher.update(prediction)
    if not complete:
        prediction = yield from guarded(
            client,
            prediction.id,
            deadline,
            wait_flow(client, prediction, deadline=deadline, watcher=watcher),
        )
    finish(prediction)
    output_schema = None
    if schema is not None:
        from ._schema import output_schema as find_output

        output_schema = find_output(schema)
    return client._decode_output(prediction.output, output_schema, use_file_output=use_file_output)


def guarded(
    client: Replicate, prediction_id: str, deadline: Deadline, flow: Flow[Any]
) -> Flow[Any]:
    """Run ``flow``; on a deadline or an interrupt, cancel the prediction before raising."""
    try:
        return (yield from flow)
    except PredictionTimeoutError:
        yield from cancel_flow(client, prediction_id)
        raise
    except GeneratorExit:
        raise
    except BaseException as exc:
        if _is_interrupt(exc):
            yield from cancel_flow(client, prediction_id)
        raise


def stream_flow(
    client: Replicate,
    ref: object,
    input: Mapping[str, Any],
    *,
    timeout: float | None = None,
    file_encoding_strategy: str | None = None,
    **create: Any,
) -> Flow[None]:
    """Create a prediction (not in sync mode: the stream URL is wanted at once) and emit its
    events; cancel it on a deadline or an interrupt."""
    from ._stream import stream_events_flow

    deadline = Deadline(timeout)
    target = parse_reference(ref)
    prediction, _ = yield from create_flow(
        client,
        target,
        input,
        deadline=deadline,
        wait=False,
        file_encoding_strategy=file_encoding_strategy,
        **create,
    )
    yield from guarded(
        client,
        prediction.id,
        deadline,
        stream_events_flow(client, prediction, deadline=deadline.at),
    )
