"""``replicate.use(ref)``: a model as a Python function, checked against its schema.

The schema is fetched once per model version per client and cached; every call after that is
one request (sync mode). ``client.use`` uses that client's settings and connection pool.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._drivers import iter_sync
from ._run import (
    Deadline,
    Target,
    Watcher,
    cancel_flow,
    create_flow,
    finish,
    guarded,
    parse_reference,
    wait_flow,
)
from .types import Deployment, Model, Prediction, Version

if TYPE_CHECKING:
    from ._client import Replicate


class Resolved:
    """Where to create predictions for a reference, and the version's dereferenced schema."""

    __slots__ = ("schema", "target")

    def __init__(self, target: Target, schema: dict[str, Any] | None) -> None:
        self.target = target
        self.schema = schema


class SchemaCache:
    """Per-client cache of resolved references (one metadata request per version, then none)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Any, Resolved] = {}

    def get(self, key: Any) -> Resolved | None:
        return self._entries.get(key)

    def put(self, key: Any, value: Resolved) -> Resolved:
        with self._lock:
            return self._entries.setdefault(key, value)


def _key(ref: object) -> Any:
    if isinstance(ref, str):
        return ref.strip()
    if isinstance(ref, Version):
        return ("version-object", ref.id)
    if isinstance(ref, (Model, Deployment)):
        return (type(ref).__name__, ref.owner, ref.name)
    return ("object", id(ref))


def resolve(client: Replicate, ref: object) -> Resolved:
    """The target and schema of a reference, fetching model/version metadata once per client."""
    from ._schema import dereference

    cache: SchemaCache = client._schema_cache
    key = _key(ref)
    hit = cache.get(key)
    if hit is not None:
        return hit
    target = parse_reference(ref)
    schema = target.schema
    if target.deployment:
        deployment = ref if isinstance(ref, Deployment) else None
        release = deployment.current_release if deployment is not None else None
        if release is not None and release.model and release.version:
            owner, _, name = release.model.partition("/")
            schema = client.models.versions.get(owner, name, release.version).openapi_schema
    elif target.version is not None and schema is None and target.owner and target.name:
        schema = client.models.versions.get(
            target.owner, target.name, target.version
        ).openapi_schema
    elif target.version is None and target.owner and target.name:
        model = ref if isinstance(ref, Model) and ref.latest_version is not None else None
        if model is None:
            model = client.models.get(target.owner, target.name)
        latest = model.latest_version
        if latest is not None:
            schema = latest.openapi_schema
            if latest.id and not model.is_official:
                target = Target(owner=target.owner, name=target.name, version=latest.id)
    return cache.put(key, Resolved(target, dereference(schema) if schema else None))


class Run:
    """A prediction started by :meth:`Function.create`; it returns at once."""

    def __init__(self, function: Function, prediction: Prediction) -> None:
        self._function = function
        self.prediction = prediction

    @property
    def id(self) -> str:
        return self.prediction.id

    def wait(self, *, timeout: float | None = None) -> Prediction:
        """Wait until the prediction is terminal and return its final state (no raising)."""
        client = self._function._client()
        deadline = Deadline(timeout)
        flow = guarded(
            client,
            self.id,
            deadline,
            wait_flow(client, self.prediction, deadline=deadline, watcher=Watcher(client, None)),
        )
        self.prediction = client._run(flow)
        return self.prediction

    def output(self, *, timeout: float | None = None) -> Any:
        """The decoded output once finished (raising ModelError and friends), or, for a
        streaming function, an iterator of output items as they are produced."""
        if self._function.streaming:
            return self._function._stream_items(self.prediction, timeout)
        prediction = self.wait(timeout=timeout)
        finish(prediction)
        return self._function._decode(prediction.output)

    def logs(self) -> str | None:
        """The prediction's logs so far (fetched now)."""
        client = self._function._client()
        self.prediction = client.predictions.get(self.id)
        return self.prediction.logs

    def cancel(self) -> Prediction:
        client = self._function._client()
        self.prediction = client.predictions.cancel(self.id)
        return self.prediction

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.prediction.status}>"


class Function:
    """A model as a callable: ``f(**inputs)`` returns its output; ``f.create(**inputs)`` starts
    it and returns a :class:`Run` at once."""

    def __init__(
        self,
        ref: object,
        *,
        client: Replicate | None = None,
        streaming: bool = False,
        hint: Any = None,
    ) -> None:
        parse_reference(ref)  # a malformed reference fails here, before any request
        self._ref = ref
        self._bound = client
        self.streaming = streaming
        self.hint = hint

    def _client(self) -> Replicate:
        if self._bound is None:
            from ._default import default_client

            return default_client()
        return self._bound

    def _resolved(self) -> Resolved:
        return resolve(self._client(), self._ref)

    def openapi_schema(self) -> dict[str, Any]:
        """The version's OpenAPI schema with every $ref resolved (fetched once per client)."""
        schema = self._resolved().schema
        if schema is None:
            raise ValueError(f"no schema is available for {self._ref!r}")
        return schema

    def _check(self, inputs: dict[str, Any]) -> Resolved:
        resolved = self._resolved()
        if resolved.schema is not None:
            from ._schema import input_schema, validate_input

            schema = input_schema(resolved.schema)
            if schema is not None:
                validate_input(inputs, schema)
        return resolved

    def _decode(self, output: Any) -> Any:
        from ._schema import output_schema

        resolved = self._resolved()
        schema = output_schema(resolved.schema) if resolved.schema else None
        return self._client()._decode_output(output, schema)

    def __call__(self, **inputs: Any) -> Any:
        if self.streaming:
            return self.create(**inputs).output()
        from ._run import run_flow

        resolved = self._check(inputs)
        client = self._client()
        return client._run(run_flow(client, resolved.target, inputs, schema=resolved.schema))

    def create(self, **inputs: Any) -> Run:
        """Start a prediction and return at once (no waiting, no output decoding yet)."""
        resolved = self._check(inputs)
        client = self._client()
        prediction, _ = client._run(
            create_flow(client, resolved.target, inputs, deadline=Deadline(None), wait=False)
        )
        return Run(self, prediction)

    def _stream_items(self, prediction: Prediction, timeout: float | None) -> Iterator[Any]:
        from ._stream import stream_events_flow

        client = self._client()
        deadline = Deadline(timeout)
        resolved = self._resolved()
        item_schema = None
        if resolved.schema is not None:
            from ._schema import output_schema

            out = output_schema(resolved.schema) or {}
            item_schema = out.get("items") if isinstance(out, dict) else None
        flow = guarded(
            client,
            prediction.id,
            deadline,
            stream_events_flow(client, prediction, deadline=deadline.at),
        )
        for event in iter_sync(flow, client._transport):
            if getattr(event, "event", None) == "output":
                yield client._decode_output(event.data, item_schema)

    def __repr__(self) -> str:
        return f"<replicate.use({self._ref!r})>"


__all__ = ["Function", "Run", "cancel_flow"]
