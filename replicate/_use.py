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
flows and drive them with the client's ``_run``/``_iter``. Each method is one flow handed to the
client's driver, so the same code serves both clients: on an :class:`~replicate.AsyncReplicate`
(or with ``use(ref, use_async=True)``) a call returns an awaitable (:class:`AsyncFunction`,
:class:`AsyncRun`), and a streaming function's output is an async iterator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ._deadline import NO_DEADLINE, Deadline
from ._fallback import default_async_client, default_client
from ._options import RunOptions
from ._poll import finish, prediction_fetch
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
    from typing_extensions import Self

    from ._drivers import Flow
    from ._facade import BaseClient


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

        ``timeout`` (default: the function's) bounds the wait: when it passes, or on Ctrl-C
        (or the task's cancellation), the prediction is canceled and
        :class:`~replicate.PredictionTimeoutError` (or the interrupt) is raised. Errors talking
        to the API are raised too, after the cancel.
        """
        return self._function._client()._run(self._wait_flow(timeout))  # type: ignore[no-any-return]

    def _wait_flow(self, timeout: float | None) -> Flow[Prediction]:
        function = self._function
        core = function._client()._core
        deadline = function._deadline(timeout)
        watcher = Watcher(core, function._options.on_update)
        self.prediction = yield from guarded(
            core,
            self.id,
            wait_flow(core, self.prediction, deadline=deadline, watcher=watcher),
            deadline,
        )
        return self.prediction

    def output(self, *, timeout: float | None = None) -> Any:
        """The decoded output once finished (raising ModelError and friends), or, for a
        streaming function, an iterator of output items as they are produced. ``timeout`` as
        in :meth:`wait`."""
        function = self._function
        client = function._client()
        if function.streaming:
            deadline = function._deadline(timeout)
            return client._run(
                function._resolved_flow(client, deadline),
                lambda resolved: function._stream_items(client, self.prediction, deadline),
            )
        return client._run(self._output_flow(client, timeout), function._decode_with(client))

    def _output_flow(self, client: BaseClient, timeout: float | None) -> Flow[tuple[Any, Any]]:
        resolved = yield from self._function._resolved_flow(client)
        prediction = finish((yield from self._wait_flow(timeout)))
        return prediction.output, resolved.output_schema

    def logs(self) -> str | None:
        """The prediction's logs so far (fetched now)."""
        return self._function._client()._run(self._fetch_flow(), _logs)  # type: ignore[no-any-return]

    def _fetch_flow(self) -> Flow[Prediction]:
        _, self.prediction = yield from prediction_fetch(self._function._client()._core, self.id)()
        return self.prediction

    def cancel(self) -> Prediction:
        """Ask the server to cancel the prediction; returns its state as the API answers."""
        return self._function._client()._run(self._cancel_flow())  # type: ignore[no-any-return]

    def _cancel_flow(self) -> Flow[Prediction]:
        core = self._function._client()._core
        request = core.build("POST", f"/predictions/{_quote(self.id)}/cancel", idempotent=True)
        response = yield from core.send_flow(request)
        self.prediction = response.parse(Prediction)
        return self.prediction

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.prediction.status}>"


class Function:
    """A model as a callable: ``f(**inputs)`` returns its output; ``f.create(**inputs)`` starts
    it and returns a :class:`Run` at once.

    Every keyword of a call is a model input. The call's settings are the function's: pass
    ``timeout=`` to ``use()``, or make a configured copy with :meth:`with_options`.
    """

    _run_class: type[Run] = Run

    def __init__(
        self,
        ref: object,
        *,
        client: BaseClient | None = None,
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
        self._memo: tuple[BaseClient, Resolved] | None = None

    def with_options(
        self,
        *,
        timeout: float | NotGiven | None = NOT_GIVEN,
        on_update: Callable[[Prediction], Any] | NotGiven | None = NOT_GIVEN,
        wait: bool | int | NotGiven = NOT_GIVEN,
    ) -> Self:
        """A copy of this function with other call settings (the schema cache is shared):

        - ``timeout``: seconds bounding each call, as in ``run(timeout=)`` (None: no bound);
          when it passes, or on Ctrl-C, the prediction is canceled and
          :class:`~replicate.PredictionTimeoutError` (or the interrupt) raised;
        - ``on_update``: called with each new state of the prediction, as in ``run()`` (on an
          async function it may be an ``async def``);
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

    def _client(self) -> BaseClient:
        if self._bound is None:
            return default_client()
        return self._bound

    def _resolved_flow(
        self, client: BaseClient, deadline: Deadline = NO_DEADLINE
    ) -> Flow[Resolved]:
        memo = self._memo
        if memo is not None and memo[0] is client:
            return memo[1]
        resolved = yield from resolve(client._core, self._ref, deadline)
        self._memo = (client, resolved)
        return resolved

    def _deadline(self, timeout: float | None) -> Deadline:
        seconds = self._options.timeout if timeout is None else timeout
        return NO_DEADLINE if seconds is None else Deadline(seconds)

    def openapi_schema(self) -> dict[str, Any]:
        """The version's OpenAPI schema with every $ref resolved (fetched once per client)."""
        client = self._client()
        return client._run(self._resolved_flow(client), self._schema_of)  # type: ignore[no-any-return]

    def _schema_of(self, resolved: Resolved) -> dict[str, Any]:
        if resolved.schema is None:
            raise ValueError(f"no schema is available for {self._ref!r}")
        return resolved.schema

    @staticmethod
    def _decode_with(client: BaseClient) -> Callable[[tuple[Any, Any]], Any]:
        """Decodes an (output, output schema) pair as the client decodes outputs."""
        return lambda pair: client._decode_output(pair[0], pair[1])

    def __call__(self, **inputs: Any) -> Any:
        """Run the model with these inputs and return its decoded output (for a streaming
        function, an iterator of output items as they are produced)."""
        client = self._client()
        deadline = self._deadline(None)
        if self.streaming:
            return client._run(
                self._create_flow(client, inputs, deadline),
                lambda prediction: self._stream_items(client, prediction, deadline),
            )
        spec = prepare_create(inputs, self._options)
        return client._run(
            self._call_flow(client, inputs, spec, deadline), self._decode_with(client)
        )

    def _call_flow(
        self, client: BaseClient, inputs: dict[str, Any], spec: Any, deadline: Deadline
    ) -> Flow[tuple[Any, Any]]:
        resolved = yield from self._resolved_flow(client, deadline)
        resolved.check(inputs)
        prediction = yield from run_flow(
            client._core,
            resolved.target,
            inputs,
            spec,
            deadline=deadline,
            on_update=self._options.on_update,
        )
        return prediction.output, resolved.output_schema

    def create(self, **inputs: Any) -> Run:
        """Start a prediction and return at once (no waiting, no output decoding yet)."""
        client = self._client()
        return client._run(  # type: ignore[no-any-return]
            self._create_flow(client, inputs, NO_DEADLINE),
            lambda prediction: self._run_class(self, prediction),
        )

    def _create_flow(
        self, client: BaseClient, inputs: dict[str, Any], deadline: Deadline
    ) -> Flow[Prediction]:
        spec = prepare_create(inputs, self._options, sync=False)
        resolved = yield from self._resolved_flow(client, deadline)
        resolved.check(inputs)
        prediction, _ = yield from create_flow(
            client._core, resolved.target, inputs, spec, deadline=deadline
        )
        return prediction

    def _stream_items(self, client: BaseClient, prediction: Prediction, deadline: Deadline) -> Any:
        """The output items as they arrive over SSE, each decoded by the output's item schema
        (an iterator, or an async one on an async client). Stopping early (``break``) does not
        cancel the prediction; ``Run.cancel()`` does."""
        from ._drivers import map_emits
        from ._stream import stream_events_flow

        memo = self._memo
        out = (memo[1].output_schema if memo is not None else None) or {}
        item_schema = out.get("items") if isinstance(out, dict) else None
        core = client._core
        decode = client._decode_output

        def items(events: Any) -> Flow[list[Any]]:
            return [decode(e.data, item_schema) for e in events if e.event == "output"]
            yield  # a flow that needs no action

        flow = guarded(
            core, prediction.id, stream_events_flow(core, prediction, deadline=deadline), deadline
        )
        return client._iter(map_emits(flow, items))

    def __repr__(self) -> str:
        return f"<replicate.use({self._ref!r})>"


class AsyncRun(Run):
    """A prediction started by :meth:`AsyncFunction.create`: ``await run.wait()``, ``await
    run.output()`` (for a streaming function, an async iterator of output items), ``await
    run.logs()``, ``await run.cancel()``."""

    if TYPE_CHECKING:

        async def wait(self, *, timeout: float | None = None) -> Prediction: ...  # type: ignore[override]
        async def output(self, *, timeout: float | None = None) -> Any: ...
        async def logs(self) -> str | None: ...  # type: ignore[override]
        async def cancel(self) -> Prediction: ...  # type: ignore[override]


class AsyncFunction(Function):
    """A model as an async callable: ``await f(**inputs)`` returns its output (for a streaming
    function, an async iterator of output items); ``await f.create(**inputs)`` starts it and
    gives an :class:`AsyncRun`. Canceling the awaiting task cancels the prediction."""

    _run_class = AsyncRun

    def _client(self) -> BaseClient:
        if self._bound is None:
            return default_async_client()
        return self._bound

    if TYPE_CHECKING:

        async def __call__(self, **inputs: Any) -> Any: ...
        async def create(self, **inputs: Any) -> AsyncRun: ...  # type: ignore[override]
        async def openapi_schema(self) -> dict[str, Any]: ...  # type: ignore[override]


def make_function(
    ref: object,
    *,
    client: BaseClient | None,
    use_async: bool,
    streaming: bool = False,
    hint: Any = None,
    timeout: float | None = None,
) -> Function:
    """``use()``'s function: async on an async client, or without one when ``use_async``."""
    is_async = use_async if client is None else client._is_async
    if client is not None and use_async and not is_async:
        raise TypeError(
            "use_async=True needs an async client: AsyncReplicate().use(...), or "
            "replicate.use(..., use_async=True) for the default one"
        )
    cls = AsyncFunction if is_async else Function
    return cls(ref, client=client, streaming=streaming, hint=hint, timeout=timeout)


def _logs(prediction: Prediction) -> str | None:
    return prediction.logs


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


__all__ = ["AsyncFunction", "AsyncRun", "Function", "Run", "cancel_flow", "make_function"]
