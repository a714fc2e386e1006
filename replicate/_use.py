"""``replicate.use(ref)``: a model as a Python function, checked against its schema.

The schema is fetched once per model version per client, dereferenced once, and its input and
output schemas picked out once (``_resolve``); every call after that is one request (sync
mode). ``client.use`` uses that client's settings and connection pool.

Every keyword of a call is a model input, so the call's own settings live on the function:
``use(ref, timeout=30)``, or ``f.with_options(timeout=30, on_update=print, wait=10)`` for a
configured copy. They are kept as a :class:`~replicate._options.RunOptions`, the object that
carries ``run()``'s options, and handed to ``_run.prepare_create`` the same way.

A :class:`Function` and a :class:`Run` are facade-level objects, as resources are: they hold the
client (the facade, or none for the default client), give its core (``client._core``) to the
flows and drive them with the client's ``_run``/``_iter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from ._deadline import NO_DEADLINE, Deadline
from ._fallback import default_client
from ._options import RunOptions
from ._poll import finish
from ._reference import parse_reference
from ._resolve import Resolved, resolve
from ._run import (
    Watcher,
    cancel_flow,
    create_flow,
    guarded,
    prepare_create,
    run_flow,
    wait_flow,
)
from ._sentinels import NOT_GIVEN, NotGiven, given
from .types import Prediction

if TYPE_CHECKING:
    from ._client import Replicate


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
        core = client._core
        deadline = self._function._deadline(timeout)
        watcher = Watcher(core, self._function._options.on_update)
        flow = guarded(
            core,
            self.id,
            wait_flow(core, self.prediction, deadline=deadline, watcher=watcher),
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
        #: the call settings: ``timeout``, ``on_update`` and ``wait`` (see :meth:`with_options`)
        self._options = RunOptions(timeout=timeout)
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
        options = msgspec.structs.replace(
            self._options,
            **given(timeout=timeout, on_update=on_update, wait=wait),
        )
        Deadline(options.timeout)
        prepare_create({}, options)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._options = options
        return new

    def _client(self) -> Replicate:
        if self._bound is None:
            return default_client()
        return self._bound

    def _resolved(
        self, client: Replicate | None = None, deadline: Deadline = NO_DEADLINE
    ) -> Resolved:
        client = client or self._client()
        memo = self._memo
        if memo is not None and memo[0] is client:
            return memo[1]
        resolved = resolve(client._core, self._ref, deadline, drive=client._run)
        self._memo = (client, resolved)
        return resolved

    def _deadline(self, timeout: float | None) -> Deadline:
        seconds = self._options.timeout if timeout is None else timeout
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
        spec = prepare_create(inputs, options)
        resolved = self._resolved(client, deadline)
        resolved.check(inputs)
        prediction = client._run(
            run_flow(
                client._core,
                resolved.target,
                inputs,
                spec,
                deadline=deadline,
                on_update=options.on_update,
            )
        )
        return client._decode_output(prediction.output, resolved.output_schema)

    def create(self, **inputs: Any) -> Run:
        """Start a prediction and return at once (no waiting, no output decoding yet)."""
        return self._create(inputs, NO_DEADLINE)

    def _create(self, inputs: dict[str, Any], deadline: Deadline) -> Run:
        client = self._client()
        spec = prepare_create(inputs, self._options, sync=False)
        resolved = self._resolved(client, deadline)
        resolved.check(inputs)
        prediction, _ = client._run(
            create_flow(client._core, resolved.target, inputs, spec, deadline=deadline)
        )
        return Run(self, prediction)

    def _stream_items(self, prediction: Prediction, deadline: Deadline) -> Iterator[Any]:
        """The output items as they arrive over SSE, each decoded by the output's item schema.
        Stopping early (``break``) does not cancel the prediction; ``Run.cancel()`` does."""
        from ._stream import stream_events_flow

        client = self._client()
        out = self._resolved(client).output_schema or {}
        item_schema = out.get("items") if isinstance(out, dict) else None
        core = client._core
        flow = guarded(
            core, prediction.id, stream_events_flow(core, prediction, deadline=deadline), deadline
        )
        decode = client._decode_output
        for event in client._iter(flow):
            if event.event == "output":
                yield decode(event.data, item_schema)

    def __repr__(self) -> str:
        return f"<replicate.use({self._ref!r})>"


__all__ = ["Function", "Run", "cancel_flow"]
