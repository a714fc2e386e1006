"""``replicate.use(ref)``: a model as a Python function, checked against its schema.

The schema is fetched once per model version per client, dereferenced once, and its input and
output schemas picked out once (:class:`Resolved`); every call after that is one request (sync
mode). ``client.use`` uses that client's settings and connection pool.

Every keyword of a call is a model input, so the call's own settings live on the function:
``use(ref, timeout=30)``, or ``f.with_options(timeout=30, on_update=print, wait=10)`` for a
configured copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._deadline import NO_DEADLINE, Deadline
from ._drivers import iter_sync
from ._reference import Target, parse_reference
from ._run import (
    Watcher,
    cancel_flow,
    create_flow,
    finish,
    guarded,
    prepare_create,
    run_flow,
    wait_flow,
)
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import APIConnectionError
from .types import Deployment, Model, Prediction, Version

if TYPE_CHECKING:
    from ._client import Replicate
    from ._drivers import Flow


class Resolved:
    """Where to create predictions for a reference, and the version's schemas: the whole
    dereferenced document, and its input and output schemas, each computed once."""

    __slots__ = ("input_schema", "output_schema", "schema", "target")

    def __init__(
        self, target: Target, schema: dict[str, Any] | None, cog_version: str | None = None
    ) -> None:
        self.target = target
        self.schema: dict[str, Any] | None = None
        self.input_schema: dict[str, Any] | None = None
        self.output_schema: dict[str, Any] | None = None
        if schema:
            from ._schema import _component, dereference

            self.schema = dereference(schema, cog_version=cog_version)
            found = _component(self.schema, "Input")
            self.input_schema = found if isinstance(found, dict) else None
            found = _component(self.schema, "Output")
            self.output_schema = found if isinstance(found, dict) else None

    def check(self, input: Mapping[str, Any]) -> None:
        """Check an input against the version's input schema, when known (ValueError)."""
        if self.input_schema is not None:
            from ._schema import validate_input

            validate_input(input, self.input_schema)


class SchemaCache:
    """Per-client cache of resolved references (one metadata request per version, then none).

    Concurrent first uses of a reference wait for one fetch (a lock per key being resolved),
    each for no longer than its own deadline allows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Any, Resolved] = {}
        self._pending: dict[Any, threading.Lock] = {}

    def get(self, key: Any) -> Resolved | None:
        return self._entries.get(key)

    def get_or_resolve(
        self, key: Any, make: Callable[[], Resolved], deadline: Deadline = NO_DEADLINE
    ) -> Resolved:
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        with self._lock:
            lock = self._pending.setdefault(key, threading.Lock())
        try:
            left = deadline.remaining()
            if not lock.acquire(timeout=-1 if left is None else max(left, 0.0)):
                # Another call's fetch of the same schema outlasted this call's deadline.
                raise deadline.not_created("fetching the model's schema")
            try:
                hit = self._entries.get(key)
                if hit is None:
                    hit = self._entries[key] = make()
                return hit
            finally:
                lock.release()
        finally:
            with self._lock:
                if self._pending.get(key) is lock:
                    del self._pending[key]


def _key(ref: object) -> Any:
    """The cache key of a reference: the string, or what an object names (never its id(),
    which a new object may reuse once the old one is freed)."""
    if isinstance(ref, str):
        return ref.strip()
    return parse_reference(ref).key()


def resolve(client: Replicate, ref: object, deadline: Deadline = NO_DEADLINE) -> Resolved:
    """The target and schema of a reference, fetching model/version metadata once per client
    (under a ``deadline``, each fetch ends by it: PredictionTimeoutError, nothing created)."""
    cache: SchemaCache = client._schema_cache
    key = _key(ref)
    hit = cache.get(key)
    if hit is not None:
        return hit
    return cache.get_or_resolve(key, lambda: _resolve(client, ref, deadline), deadline)


def _get_flow(client: Replicate, path: str, cast: Any, deadline: Deadline) -> Flow[Any]:
    """One metadata GET under a call's deadline (a timeout cut by it is its error)."""
    try:
        response = yield from client._send_flow(client._build("GET", path), deadline=deadline)
    except APIConnectionError as exc:
        if deadline.expired(slack=0.01):
            raise deadline.not_created("fetching the model's schema") from exc
        raise
    return response.parse(cast)


def _model_path(owner: str, name: str) -> str:
    return f"/models/{quote(owner, safe='')}/{quote(name, safe='')}"


def _get_version(
    client: Replicate, owner: str, name: str, version_id: str, deadline: Deadline
) -> Version:
    path = f"{_model_path(owner, name)}/versions/{quote(version_id, safe='')}"
    version: Version = client._run(_get_flow(client, path, Version, deadline))
    return version


def _resolve(client: Replicate, ref: object, deadline: Deadline = NO_DEADLINE) -> Resolved:
    target = parse_reference(ref)
    schema = target.schema
    cog_version = getattr(ref, "cog_version", None)
    if target.deployment:
        deployment = ref if isinstance(ref, Deployment) else None
        release = deployment.current_release if deployment is not None else None
        if release is not None and release.model and release.version:
            owner, _, name = release.model.partition("/")
            version = _get_version(client, owner, name, release.version, deadline)
            schema, cog_version = version.openapi_schema, version.cog_version
    elif target.version is not None and schema is None and target.owner and target.name:
        version = _get_version(client, target.owner, target.name, target.version, deadline)
        schema, cog_version = version.openapi_schema, version.cog_version
    elif target.version is None and target.owner and target.name:
        model = ref if isinstance(ref, Model) and ref.latest_version is not None else None
        if model is None:
            path = _model_path(target.owner, target.name)
            model = client._run(_get_flow(client, path, Model, deadline))
        latest = model.latest_version
        if latest is not None:
            schema, cog_version = latest.openapi_schema, latest.cog_version
            if latest.id and not model.is_official:
                target = Target(owner=target.owner, name=target.name, version=latest.id)
    return Resolved(target, schema, cog_version if isinstance(cog_version, str) else None)


class Run:
    """A prediction started by :meth:`Function.create`; it returns at once."""

    def __init__(self, function: Function, prediction: Prediction) -> None:
        self._function = function
        self.prediction = prediction

    @property
    def id(self) -> str:
        return self.prediction.id

    def wait(self, *, timeout: float | None = None) -> Prediction:
        """Wait until the prediction is terminal and return its final state, whatever the
        status (a failed or canceled prediction is returned, not raised).

        ``timeout`` (default: the function's) bounds the wait: when it passes, or on Ctrl-C,
        the prediction is canceled and :class:`~replicate.PredictionTimeoutError` (or the
        interrupt) is raised. Errors talking to the API are raised too, after the cancel.
        """
        client = self._function._client()
        deadline = self._function._deadline(timeout)
        watcher = Watcher(client, self._function._options["on_update"])
        flow = guarded(
            client,
            self.id,
            wait_flow(client, self.prediction, deadline=deadline, watcher=watcher),
            deadline,
        )
        self.prediction = client._run(flow)
        return self.prediction

    def output(self, *, timeout: float | None = None) -> Any:
        """The decoded output once finished (raising ModelError and friends), or, for a
        streaming function, an iterator of output items as they are produced. ``timeout`` as
        in :meth:`wait`."""
        if self._function.streaming:
            return self._function._stream_items(self.prediction, self._function._deadline(timeout))
        prediction = finish(self.wait(timeout=timeout))
        return self._function._decode(prediction.output)

    def logs(self) -> str | None:
        """The prediction's logs so far (fetched now)."""
        client = self._function._client()
        self.prediction = client.predictions.get(self.id)
        return self.prediction.logs

    def cancel(self) -> Prediction:
        """Ask the server to cancel the prediction; returns its state as the API answers."""
        client = self._function._client()
        self.prediction = client.predictions.cancel(self.id)
        return self.prediction

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.prediction.status}>"


class Function:
    """A model as a callable: ``f(**inputs)`` returns its output; ``f.create(**inputs)`` starts
    it and returns a :class:`Run` at once.

    Every keyword of a call is a model input. The call's settings are the function's: pass
    ``timeout=`` to ``use()``, or make a configured copy with :meth:`with_options`.
    """

    def __init__(
        self,
        ref: object,
        *,
        client: Replicate | None = None,
        streaming: bool = False,
        hint: Any = None,
        timeout: float | None = None,
    ) -> None:
        parse_reference(ref)  # a malformed reference fails here, before any request
        Deadline(timeout)  # and so does a bad timeout
        self._ref = ref
        self._bound = client
        self.streaming = streaming
        self.hint = hint
        self._options: dict[str, Any] = {"timeout": timeout, "on_update": None, "wait": True}
        self._memo: tuple[Replicate, Resolved] | None = None

    def with_options(
        self,
        *,
        timeout: float | NotGiven | None = NOT_GIVEN,
        on_update: Callable[[Prediction], Any] | NotGiven | None = NOT_GIVEN,
        wait: bool | int | NotGiven = NOT_GIVEN,
    ) -> Function:
        """A copy of this function with other call settings (the schema cache is shared):

        - ``timeout``: seconds bounding each call, as in ``run(timeout=)`` (None: no bound);
          when it passes, or on Ctrl-C, the prediction is canceled and
          :class:`~replicate.PredictionTimeoutError` (or the interrupt) raised;
        - ``on_update``: called with each new state of the prediction, as in ``run()``;
        - ``wait``: the sync-mode window, as in ``run()`` (True, 1..60 seconds, or False to
          create without holding the request and then wait).
        """
        changes: dict[str, Any] = {
            name: value
            for name, value in (("timeout", timeout), ("on_update", on_update), ("wait", wait))
            if not isinstance(value, NotGiven)
        }
        if "timeout" in changes:
            Deadline(changes["timeout"])
        if "wait" in changes:
            prepare_create({}, wait=changes["wait"])
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._options = {**self._options, **changes}
        return new

    def _client(self) -> Replicate:
        if self._bound is None:
            from ._default import default_client

            return default_client()
        return self._bound

    def _resolved(
        self, client: Replicate | None = None, deadline: Deadline = NO_DEADLINE
    ) -> Resolved:
        client = client or self._client()
        memo = self._memo
        if memo is not None and memo[0] is client:
            return memo[1]
        resolved = resolve(client, self._ref, deadline)
        self._memo = (client, resolved)
        return resolved

    def _deadline(self, timeout: float | None) -> Deadline:
        seconds = self._options["timeout"] if timeout is None else timeout
        return NO_DEADLINE if seconds is None else Deadline(seconds)

    def openapi_schema(self) -> dict[str, Any]:
        """The version's OpenAPI schema with every $ref resolved (fetched once per client)."""
        schema = self._resolved().schema
        if schema is None:
            raise ValueError(f"no schema is available for {self._ref!r}")
        return schema

    def _decode(self, output: Any) -> Any:
        client = self._client()
        return client._decode_output(output, self._resolved(client).output_schema)

    def __call__(self, **inputs: Any) -> Any:
        """Run the model with these inputs and return its decoded output (for a streaming
        function, an iterator of output items as they are produced)."""
        if self.streaming:
            deadline = self._deadline(None)
            run = self._create(inputs, deadline)
            return self._stream_items(run.prediction, deadline)
        client = self._client()
        deadline = self._deadline(None)
        options = self._options
        spec = prepare_create(inputs, wait=options["wait"])
        resolved = self._resolved(client, deadline)
        resolved.check(inputs)
        return client._run(
            run_flow(
                client,
                resolved.target,
                inputs,
                spec,
                deadline=deadline,
                on_update=options["on_update"],
                output_schema=resolved.output_schema,
            )
        )

    def create(self, **inputs: Any) -> Run:
        """Start a prediction and return at once (no waiting, no output decoding yet)."""
        return self._create(inputs, NO_DEADLINE)

    def _create(self, inputs: dict[str, Any], deadline: Deadline) -> Run:
        client = self._client()
        spec = prepare_create(inputs, wait=False)
        resolved = self._resolved(client, deadline)
        resolved.check(inputs)
        prediction, _ = client._run(
            create_flow(client, resolved.target, inputs, spec, deadline=deadline)
        )
        return Run(self, prediction)

    def _stream_items(self, prediction: Prediction, deadline: Deadline) -> Iterator[Any]:
        """The output items as they arrive over SSE, each decoded by the output's item schema.
        Stopping early (``break``) does not cancel the prediction; ``Run.cancel()`` does."""
        from ._stream import stream_events_flow

        client = self._client()
        out = self._resolved(client).output_schema or {}
        item_schema = out.get("items") if isinstance(out, dict) else None
        flow = guarded(
            client,
            prediction.id,
            stream_events_flow(client, prediction, deadline=deadline),
            deadline,
        )
        decode = client._decode_output
        for event in iter_sync(flow, client._transport):
            if event.event == "output":
                yield decode(event.data, item_schema)

    def __repr__(self) -> str:
        return f"<replicate.use({self._ref!r})>"


__all__ = ["Function", "Run", "cancel_flow"]
