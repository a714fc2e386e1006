"""What ``Replicate`` and ``AsyncReplicate`` share: one facade over a
:class:`~replicate._core.ClientCore`, written once.

A facade holds a core (configuration, plugins, sender, caches), a transport and its driver. Every
public method here builds a flow from the core and hands it to the driver methods each client
defines: ``_run(flow, then)`` (drive to the end; ``then`` maps the result, so that what follows a
flow needs no second copy for ``await``), ``_iter(flow)`` (what it emits, as an iterator or an
async iterator), and the classes it hands results back in (pages, file outputs, raw responses).
On ``Replicate`` those return values; on ``AsyncReplicate`` awaitables and async iterators. The
resources, pages, ``use()`` functions and file outputs hold the facade the same way.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

import msgspec

from . import _logging, builtin
from ._auth import AuthProvider
from ._cast import Deferred
from ._config import ClientConfig
from ._core import ClientCore
from ._http import AsyncTransport, Body, Response, SyncTransport, Timeout
from ._plugins import TRANSPORT_ENV, Plugins
from ._redact import Secret
from ._retry import RetryPolicy
from ._sentinels import NOT_GIVEN, NotGiven, given
from .builtin import DEFAULT_TRANSPORT

#: The registered transport v2's ``http_client=`` keyword stands for (plugins/replicate-httpx).
HTTPX_TRANSPORT = "httpx"

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._batch import BatchPlan
    from ._drivers import Flow
    from ._files import FileOutput
    from ._options import RunOptions
    from ._plugins import TransportEntry
    from ._response import APIResponse
    from ._sse import ServerSentEvent
    from ._use import Function
    from .resources.account import AccountResource
    from .resources.collections import Collections
    from .resources.deployments import Deployments
    from .resources.files import Files
    from .resources.hardware import HardwareResource
    from .resources.models import Models
    from .resources.predictions import Predictions
    from .resources.trainings import Trainings
    from .resources.webhooks import Webhooks
    from .types import BatchResult, Prediction, SearchResponse

log = logging.getLogger("replicate")

R = TypeVar("R")


class _Resource(Generic[R]):
    """A client attribute whose resource module loads on first access, then stays cached on
    the instance (a non-data descriptor: the instance's own attribute wins afterwards)."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    @overload
    def __get__(self, client: None, owner: type) -> _Resource[R]: ...

    @overload
    def __get__(self, client: BaseClient, owner: type) -> R: ...

    def __get__(self, client: BaseClient | None, owner: type) -> R | _Resource[R]:
        if client is None:
            return self
        from ._importing import import_paused

        resource: R = getattr(import_paused(self.module, __package__), self.name)(client)
        client.__dict__[self.attr] = resource
        return resource


class _LazyClass:
    """A class attribute naming a class that is imported when first read: ``FileOutput``'s
    module (and the ``_save`` it needs), or ``APIResponse``'s, would cost every first client,
    most of which never return a file or a raw response, a fraction of a millisecond each."""

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def __get__(self, client: object, owner: type) -> Any:
        from importlib import import_module

        return getattr(import_module(self.module, __package__), self.name)


class BaseClient:
    """The facade both clients are (see the module docstring); not used on its own."""

    _core: ClientCore
    _transport: Any
    #: The wrappers a call's results come back in (each client names its colour's classes).
    _api_response: ClassVar[type[APIResponse[Any]]] = _LazyClass("._response", "APIResponse")  # type: ignore[assignment]
    _file_output: ClassVar[type[FileOutput]] = _LazyClass("._files", "FileOutput")  # type: ignore[assignment]
    _is_async: ClassVar[bool] = False
    _name: ClassVar[str] = "Replicate"

    def __init__(
        self,
        *,
        bearer_token: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        transport: str | SyncTransport | AsyncTransport | None = None,
        plugins: Iterable[object] = (),
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        auth: AuthProvider | str | None = None,
        retry_policy: RetryPolicy | None = None,
        auth_hosts: Iterable[str] | None = None,
        proxy: str | None = None,
        http_client: Any = None,
    ) -> None:
        if bearer_token is not None and not isinstance(bearer_token, str):
            raise TypeError(f"bearer_token must be a string, not {type(bearer_token).__name__}")
        if isinstance(plugins, (str, bytes)) or not isinstance(plugins, Iterable):
            raise TypeError("plugins must be a list of plugin objects")
        _logging.setup_from_env()
        config = ClientConfig(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            verify=verify,
            proxy=proxy,
            auth_hosts=auth_hosts,
        )
        self._setup(
            config,
            token=Secret(bearer_token) if bearer_token else None,
            transport=transport,
            plugins=list(plugins),
            auth=auth,
            retry_policy=retry_policy,
            http_client=http_client,
        )

    def _setup(
        self,
        config: ClientConfig,
        *,
        token: Secret | None,
        transport: Any,
        plugins: list[object],
        auth: AuthProvider | str | None,
        retry_policy: RetryPolicy | None,
        http_client: Any = None,
    ) -> None:
        manager = Plugins(plugins, builtin=builtin)
        chosen, name = self._choose_transport(manager, config, transport, http_client)
        core = ClientCore.resolve(
            config,
            token=token,
            client_plugins=plugins,
            plugins=manager,
            auth=auth,
            retry_policy=retry_policy,
            placeholder_token=_placeholder_token(chosen),
        )
        self._adopt(core, transport=(chosen, name, True))
        if config.verify is False or _insecure(chosen):
            log.warning(
                "TLS certificate verification is turned off for this replicate client "
                "(verify=False): responses could come from anyone on the network path"
            )

    def _adopt(self, core: ClientCore, *, transport: tuple[Any, str, bool]) -> None:
        """Set every piece of a client's state: the one place both constructors go through."""
        self._core = core
        self._transport, self._transport_name, self._owns_transport = transport
        self._raw = False
        self._streamed = False

    def _choose_transport(
        self, plugins: Plugins, config: ClientConfig, transport: Any, http_client: Any = None
    ) -> tuple[Any, str]:
        """The transport object and its name: an object given, else the registered one named
        (``transport=``, ``REPLICATE_TRANSPORT``, else urllib3), made by :meth:`_make_transport`.

        v2's ``http_client=`` (an ``httpx.Client``, or ``httpx.AsyncClient`` for the async
        client) means the ``"httpx"`` transport over that client: its factory is called with
        ``http_client=`` (the replicate-httpx plugin's factory checks the client's type)."""
        if http_client is not None:
            if transport is not None and transport != HTTPX_TRANSPORT:
                raise ValueError(
                    "http_client= sends through the 'httpx' transport: pass http_client= or "
                    "transport=, not both"
                )
            entry = plugins.transports.get(HTTPX_TRANSPORT)
            if entry is None:
                raise ValueError(
                    "http_client= needs the httpx transport, from the replicate-httpx plugin: "
                    "install it (pip install replicate-httpx) or pass transport= instead; "
                    f"installed transports: {', '.join(sorted(plugins.transports)) or 'none'}"
                )
            return self._make_transport(entry, config, http_client=http_client), HTTPX_TRANSPORT
        if transport is not None and not isinstance(transport, str):
            return self._given_transport(transport), getattr(
                transport, "name", type(transport).__name__
            )
        name = transport or os.environ.get(TRANSPORT_ENV) or DEFAULT_TRANSPORT
        entry = plugins.transports.get(name)
        if entry is None:
            source = "transport=" if transport else f"{TRANSPORT_ENV}="
            raise ValueError(
                f"{source}{name!r} is not an installed transport; installed: "
                f"{', '.join(sorted(plugins.transports)) or 'none'}"
            )
        return self._make_transport(entry, config), name

    # --- configuration ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._core.config.base_url

    @property
    def timeout(self) -> Timeout:
        return self._core.config.timeout

    @property
    def max_retries(self) -> int:
        return self._core.config.max_retries

    @property
    def default_headers(self) -> Mapping[str, str]:
        return self._core.default_headers.to_dict()

    @property
    def default_query(self) -> Mapping[str, object]:
        return dict(self._core.config.default_query)

    @property
    def bearer_token(self) -> str | None:
        """The token this client sends (explicit, else from the Cog scope or the environment)."""
        core = self._core
        if core.token is not None:
            return core.token.reveal()
        token = getattr(core.sender.auth, "token", None)
        return token() if callable(token) else None

    @property
    def config(self) -> ClientConfig:
        return self._core.config

    @property
    def client_id(self) -> str:
        """This client's id in observer events (``Event.client``): ``"client-1"``,
        ``"client-2"``..., in the order clients are built in this process; a ``with_options``
        copy keeps it. Never derived from the token."""
        return self._core.client_id

    def with_options(
        self,
        *,
        bearer_token: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        http_client: Any = None,
    ) -> Self:
        """A copy with some settings changed, sharing this client's connection pool and plugins.

        ``default_headers``/``default_query`` merge into the current ones; ``set_...`` replace
        them. Closing the copy does not close the pool this client owns. ``http_client=`` (v2's
        keyword: an ``httpx.Client``, or ``httpx.AsyncClient`` for the async client) gives the
        copy a transport of its own over that client, through the ``replicate-httpx`` plugin, as
        the constructor's keyword does; the httpx client stays the caller's to close.
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError("pass default_headers= (merge) or set_default_headers= (replace)")
        if default_query is not None and set_default_query is not None:
            raise ValueError("pass default_query= (merge) or set_default_query= (replace)")
        changes: dict[str, Any] = {}
        if base_url is not None:
            changes["base_url"] = base_url
        if not isinstance(timeout, NotGiven):
            changes["timeout"] = timeout
        if max_retries is not None:
            changes["max_retries"] = max_retries
        config = self._core.config
        if default_headers is not None:
            changes["default_headers"] = {**config.default_headers, **default_headers}
        if set_default_headers is not None:
            changes["default_headers"] = set_default_headers
        if default_query is not None:
            changes["default_query"] = {**config.default_query, **default_query}
        if set_default_query is not None:
            changes["default_query"] = set_default_query
        if bearer_token is not None and not isinstance(bearer_token, str):
            raise TypeError(f"bearer_token must be a string, not {type(bearer_token).__name__}")
        token = Secret(bearer_token) if bearer_token else self._core.token
        new_config = config.replace(**changes)
        transport: tuple[Any, str, bool] = (self._transport, self._transport_name, False)
        if http_client is not None:
            chosen, name = self._choose_transport(self._core.plugins, new_config, None, http_client)
            transport = (chosen, name, True)
        new = object.__new__(type(self))
        new._adopt(self._core.replace(new_config, token=token), transport=transport)
        return new

    copy = with_options

    # --- what each client defines (its transport and its driver) -------------------------------

    if TYPE_CHECKING:

        def _given_transport(self, transport: Any) -> Any:
            """The transport to use for an object passed as ``transport=`` (checked)."""

        def _make_transport(
            self, entry: TransportEntry, config: ClientConfig, **options: Any
        ) -> Any:
            """The transport to use for a registered one (``options``: keywords for its
            factory, such as ``http_client=``)."""

        def _run(self, flow: Flow[Any], then: Callable[[Any], Any] | None = None) -> Any:
            """Drive a flow made from this client's core to its end; its result (mapped by
            ``then``), or on an async client an awaitable of it."""

        def _iter(self, flow: Flow[Any]) -> Any:
            """Drive a flow lazily, handing over what it emits: an iterator, or an async one."""

        def _response_manager(self, open: Callable[[], Any]) -> Any:
            """What a ``with_streaming_response`` call returns: a context manager (``with``,
            or ``async with``) that calls ``open`` on entering."""

        def _paginate(self, first: Callable[[], Any]) -> Any:
            """What a list call returns, given the call that fetches its first page."""

        def _streamed_events(self, events: Any) -> Any:
            """What ``stream()`` returns, given the driven events."""

        def _batch(self, plan: BatchPlan) -> Any:
            """What ``batch()`` returns: its results as they complete, an iterator or an
            async one."""

    # --- raw HTTP -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, object] | None = None,
        json: Any = msgspec.UNSET,
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | None = None,
        stream: bool = False,
        idempotent: bool | None = None,
    ) -> Response:
        """Send any HTTP method to a path under ``base_url`` (or an absolute URL).

        ``json`` is encoded as JSON; ``content`` is sent as-is (bytes, str, a binary file or an
        iterable of bytes). ``headers`` add to (or, with a None value, remove) the defaults.
        POST and PATCH count as not idempotent for retries unless ``idempotent=True``. With
        ``stream=True`` the body is not read yet: iterate ``response.iter_bytes()`` and close it.
        Non-2xx statuses raise the typed errors in :mod:`replicate.exceptions`.
        """
        req = self._core.build(
            method,
            url,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
        )
        flow = self._core.send_flow(req, timeout=timeout, max_retries=max_retries, stream=stream)
        return self._run(flow)  # type: ignore[no-any-return]

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)

    def query(self, url: str, **kwargs: Any) -> Response:
        """The HTTP QUERY method (a safe, idempotent request with a body)."""
        return self.request("QUERY", url, **kwargs)

    def _execute(self, flow: Flow[tuple[Response, Any]]) -> Any:
        """Drive a resource call's flow; hand back the value, or the raw response with it, or
        (``with_streaming_response``) a context manager that drives the flow on entering."""
        if self._streamed:
            return self._response_manager(lambda: self._run(flow, self._wrap))
        if not self._raw:
            return self._run(flow, _value)
        return self._run(flow, self._wrap)

    def _wrap(self, result: tuple[Response, Any]) -> Any:
        response, value = result
        if not self._raw or isinstance(value, self._api_response):  # a download already is one
            return value
        if isinstance(value, Deferred):  # streamed: decoded when asked
            return self._api_response(response, deferred=value)
        return self._api_response(response, value)

    def _plain(self) -> Self:
        """This client, or a copy of it that returns plain values if this one is raw or
        streamed."""
        return self.with_options() if self._raw else self

    def _decode_output(
        self, value: Any, schema: Any = None, *, use_file_output: bool = True
    ) -> Any:
        """A prediction's output decoded by the core's hooks, its files downloading through
        this client; ``schema`` is the version's output schema, if known."""
        return self._core.decode_output(value, schema, client=self, use_file_output=use_file_output)

    @property
    def poll_interval(self) -> float:
        """Seconds between polls while waiting: ``REPLICATE_POLL_INTERVAL``, default 0.5."""
        return self._core.poll_interval

    @property
    def with_raw_response(self) -> Any:
        """This client, but resource methods return :class:`~replicate.APIResponse` (the HTTP
        response, plus ``.parse()`` for the object): ``client.with_raw_response.predictions.get(
        prediction_id=...)``. Typed ``Any``, like the resources' ``with_raw_response``: its
        methods return responses, not what this client's methods are typed to return."""
        raw = self.with_options()
        raw._raw = True
        return raw

    @property
    def with_streaming_response(self) -> Any:
        """This client, but resource methods return a context manager whose ``__enter__``
        sends the request and gives an :class:`~replicate.APIResponse` with the body not read
        yet (read it with ``iter_bytes()``, ``iter_lines()``, ``read()``, ``parse()``...) and
        whose ``__exit__`` closes the connection: ``with client.with_streaming_response.files
        .download(...) as response:``. A list's response is its first page's
        (``parse()`` gives the page, which iterates on across pages). Typed ``Any``, as
        ``with_raw_response`` is."""
        streamed = self.with_options()
        streamed._raw = streamed._streamed = True
        return streamed

    # --- running models -----------------------------------------------------------------------

    def run(
        self,
        ref: Any,
        *,
        input: Mapping[str, Any] | None = None,
        wait: bool | int | NotGiven = NOT_GIVEN,
        timeout: float | None = None,
        on_update: Callable[[Prediction], Any] | None = None,
        use_file_output: bool = True,
        file_encoding_strategy: str | None = None,
        prefer: str | NotGiven = NOT_GIVEN,
        cancel_after: str | int | NotGiven = NOT_GIVEN,
        webhook: str | NotGiven = NOT_GIVEN,
        webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
        stream: bool | NotGiven = NOT_GIVEN,
    ) -> Any:
        """Run a model and return its finished output.

        ``ref`` is ``"owner/name"``, ``"owner/name:<version>"``, a 64-hex version id, or a
        Model, Version or Deployment object. Sync mode (``Prefer: wait``) by default; ``wait=N``
        holds the request up to N s; ``wait=False`` sends no ``Prefer`` header and polls (as in
        v2) — to start without waiting use ``predictions.create`` or ``use(ref).create``.
        ``timeout`` bounds the whole call: when it passes, or on Ctrl-C, the prediction is
        canceled on the server and :class:`~replicate.PredictionTimeoutError` (or the interrupt)
        is raised. ``cancel_after`` sets the server-side deadline. ``on_update(prediction)`` is
        called with each new state. A failed prediction raises ModelError; canceled and aborted
        ones raise their subclasses. Inputs are checked against the version's schema when the
        reference names a version (fetched once per client).
        """
        from ._options import RunOptions

        return self._run_with(
            ref,
            RunOptions(
                input=input,
                wait=wait,
                timeout=timeout,
                on_update=on_update,
                use_file_output=use_file_output,
                file_encoding_strategy=file_encoding_strategy,
                prefer=prefer,
                cancel_after=cancel_after,
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
                stream=stream,
            ),
        )

    def _run_with(self, ref: Any, options: RunOptions) -> Any:
        """:meth:`run` (and the module-level ``replicate.run``) with its options built."""
        from ._run import prepare_run

        use_file_output = options.use_file_output

        def decode(result: tuple[Prediction, Any]) -> Any:
            prediction, output_schema = result
            return self._decode_output(
                prediction.output, output_schema, use_file_output=use_file_output
            )

        return self._run(prepare_run(self._core, ref, options), decode)

    def use(
        self,
        ref: Any,
        *,
        hint: Any = None,
        streaming: bool = False,
        use_async: bool = False,
        timeout: float | None = None,
    ) -> Function:
        """A model as a Python function bound to this client (its settings and pool).

        ``timeout`` bounds each call as it does ``run``'s; ``.with_options(timeout=,
        on_update=, wait=)`` gives a copy with other settings (every keyword of a call is a
        model input).
        """
        from ._use import make_function

        return make_function(
            ref, client=self, use_async=use_async, streaming=streaming, hint=hint, timeout=timeout
        )

    def stream(
        self,
        ref: Any,
        *,
        input: Mapping[str, Any],
        timeout: float | None = None,
        cancel_after: str | int | NotGiven = NOT_GIVEN,
        webhook: str | NotGiven = NOT_GIVEN,
        webhook_events_filter: list[str] | NotGiven = NOT_GIVEN,
        file_encoding_strategy: str | None = None,
    ) -> Iterator[ServerSentEvent]:
        """Run a model and yield its Server-Sent Events (``output``, ``logs``...) as they come.

        ``str(event)`` is the data of an ``output`` event and ``""`` for any other, so
        ``print(str(event), end="")`` prints the output alone (``event.event`` and
        ``event.data`` give logs and the rest). An ``error`` event raises ModelError. The reference
        and options are checked now (a ValueError before any request); the prediction is
        created when iteration starts. On ``timeout`` or Ctrl-C the prediction is canceled
        before the error propagates. Stopping early (``break``, ``close()``) does not cancel
        it: call ``client.predictions.cancel(id)`` for that.
        """
        from ._options import RunOptions

        return self._stream_with(
            ref,
            RunOptions(
                input=input,
                timeout=timeout,
                cancel_after=cancel_after,
                webhook=webhook,
                webhook_events_filter=webhook_events_filter,
                file_encoding_strategy=file_encoding_strategy,
            ),
        )

    def _stream_with(self, ref: Any, options: RunOptions) -> Iterator[ServerSentEvent]:
        """:meth:`stream` (and the module-level ``replicate.stream``) with its options built."""
        from ._run import prepare_stream

        return self._streamed_events(self._iter(prepare_stream(self._core, ref, options)))  # type: ignore[no-any-return]

    def batch(
        self,
        ref: Any,
        inputs: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        rate_limit: float | None = 600,
        timeout: float | None = None,
        wait: bool | int | NotGiven = NOT_GIVEN,
        use_file_output: bool = True,
        journal: str | os.PathLike[str] | None = None,
        progress: bool = False,
        file_encoding_strategy: str | None = None,
    ) -> Iterator[BatchResult]:
        """Run a model once per input, ``concurrency`` at a time, and yield a
        :class:`~replicate.BatchResult` for each as it completes (not in input order: each
        has its ``index``). One input's failure is its result's ``error``; the batch goes on.

        ``rate_limit`` keeps creates under that many a minute (the API's limit is 600; None:
        no limit) and slows down when the API answers 429. ``timeout`` bounds each prediction
        as ``run(timeout=)`` does. ``journal=path`` records each create in a JSON Lines file:
        run the same batch again with it and inputs whose prediction id was received are
        waited on (or fetched, if finished), never created again; one whose create was in
        flight when the batch stopped is reported ``"uncertain"``
        (:class:`~replicate.PredictionUncertainError`) and not sent again. ``wait`` is each
        create's sync-mode window (default 5 s; False: none, polling at once). On Ctrl-C, or
        when the loop is left early, no create is sent anymore, the creates in flight are
        waited for (their window at most: a second Ctrl-C leaves at once) and every prediction
        started is canceled on the server before the interrupt propagates. ``progress=True``
        draws a progress line on stderr when it is a terminal. On ``AsyncReplicate`` this is an
        async iterator (``async for``), and canceling the task that iterates cancels the
        predictions.
        """
        from ._batch import BatchPlan

        def decode(output: Any, schema: Any) -> Any:
            return self._decode_output(output, schema, use_file_output=use_file_output)

        plan = BatchPlan(
            self._core,
            ref,
            inputs,
            concurrency=concurrency,
            rate_limit=rate_limit,
            timeout=timeout,
            wait=wait,
            journal=journal,
            progress=progress,
            file_encoding_strategy=file_encoding_strategy,
            decode=decode,
        )
        return self._batch(plan)  # type: ignore[no-any-return]

    # --- resources (each module loads on first access) ----------------------------------------

    predictions: _Resource[Predictions] = _Resource(".resources.predictions", "Predictions")
    models: _Resource[Models] = _Resource(".resources.models", "Models")
    deployments: _Resource[Deployments] = _Resource(".resources.deployments", "Deployments")
    trainings: _Resource[Trainings] = _Resource(".resources.trainings", "Trainings")
    files: _Resource[Files] = _Resource(".resources.files", "Files")
    collections: _Resource[Collections] = _Resource(".resources.collections", "Collections")
    hardware: _Resource[HardwareResource] = _Resource(".resources.hardware", "HardwareResource")
    account: _Resource[AccountResource] = _Resource(".resources.account", "AccountResource")
    webhooks: _Resource[Webhooks] = _Resource(".resources.webhooks", "Webhooks")

    def search(
        self, *, query: str, limit: int | NotGiven = NOT_GIVEN, **options: Any
    ) -> SearchResponse:
        """Search models, collections and docs (``GET /search``, a beta endpoint)."""
        from .resources._base import Resource, check_options
        from .types import SearchResponse

        check_options("search", options)
        if not isinstance(query, str) or not query:
            raise ValueError("query must be a non-empty string")
        return Resource(self)._call(  # type: ignore[no-any-return]
            "GET",
            "/search",
            cast=SearchResponse,
            options=options,
            params=given(query=query, limit=limit),
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def is_closed(self) -> bool:
        return self._core.closed

    def _closing(self) -> bool:
        """Mark the client closed; whether its transport is now to be closed (not for a copy,
        whose pool belongs to the client it was copied from, nor twice)."""
        if self._core.closed:
            return False
        self._core.closed = True
        return self._owns_transport

    def __repr__(self) -> str:
        return (
            f"<replicate.{self._name} base_url={self._core.config.base_url!r} "
            f"transport={self._transport_name!r}>"
        )

    def __getstate__(self) -> dict[str, Any]:
        core = self._core
        return {
            "config": core.config,
            "transport": self._transport_name
            if self._transport_name in core.plugins.transports
            else None,
            "plugins": core.client_plugins,
            # An auth plugin chosen by name is chosen again by it (a name, never a token).
            "auth": core.auth_name,
            "retry_policy": core.given_retry_policy,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(
            state["config"],
            token=None,
            transport=state["transport"],
            plugins=state["plugins"],
            auth=state.get("auth"),
            retry_policy=state.get("retry_policy"),
        )


def _insecure(transport: object) -> bool:
    """Whether a transport given as an object skips TLS verification (``insecure``, as
    ``Urllib3Transport(verify=False)`` says; a ThreadedTransport asks the one it wraps)."""
    inner = getattr(transport, "sync", transport)
    return any(getattr(t, "insecure", False) is True for t in (transport, inner))


def _placeholder_token(transport: object) -> str | None:
    """The token a transport that answers requests itself offers for clients without one."""
    token = getattr(transport, "placeholder_token", None)
    return token if isinstance(token, str) and token else None


def _value(result: tuple[Response, Any]) -> Any:
    """A plain call's value (without its response)."""
    return result[1]
