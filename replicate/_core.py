"""The client core: what every flow is given, whichever facade drives it.

A :class:`ClientCore` holds a client's configuration, its resolved plugins, the
:class:`~replicate._send.Sender` (auth, retry policy, preparers, observers), the default
headers and the per-client caches (resolved schemas, file hosts). It builds requests
(:meth:`~ClientCore.build`), makes the send flow (:meth:`~ClientCore.send_flow`) and decodes
outputs (:meth:`~ClientCore.decode_output`). It does no I/O and knows no transport and no
driver: the facade (:class:`~replicate.Replicate`) holds a core, a transport and a driver,
hands the core to the flows and drives what they return.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ._auth import AuthProvider, StaticAuth, TokenAuth, check_auth_provider
from ._build import build_request
from ._config import ClientConfig, user_agent
from ._http import Body, Headers, Request, Response, Timeout
from ._send import Sender, send_flow
from ._sentinels import NOT_GIVEN, NotGiven
from .exceptions import ReplicateError

if TYPE_CHECKING:
    from ._deadline import Deadline
    from ._drivers import Flow
    from ._outputs import FileHosts
    from ._plugins import Plugins
    from ._redact import Secret
    from ._resolve import SchemaCache
    from ._retry import RetryPolicy

__all__ = ["ClientCore", "resolve_auth"]

AUTH_CHOICE_ENV = "REPLICATE_AUTH"
POLL_INTERVAL_ENV = "REPLICATE_POLL_INTERVAL"
DEFAULT_POLL_INTERVAL = 0.5
RETRY_CHOICE_ENV = "REPLICATE_RETRY_POLICY"
#: Held while a core makes its schema cache, so that concurrent first uses share one.
_CACHE_LOCK = threading.Lock()
#: Numbers the clients of this process, for their ids (``client_id``; ``Event.client``).
_CLIENT_NUMBERS = itertools.count(1)


class ClientCore:
    """A client's configuration, plugins, sender and caches; request building, the send flow
    and output decoding. No I/O: the facade that holds it drives the flows it makes.

    One core per client: a ``with_options`` copy gets a core of its own (:meth:`replace`)
    that shares the plugins, the auth provider (unless the token changed) and the retry
    policy, with its own caches, as a new client would have.
    """

    __slots__ = (
        "_file_hosts",
        "_schema_cache",
        "auth_name",
        "client_id",
        "client_plugins",
        "closed",
        "config",
        "default_headers",
        "given_retry_policy",
        "plugins",
        "sender",
        "token",
    )

    def __init__(
        self,
        config: ClientConfig,
        *,
        token: Secret | None,
        client_plugins: list[object],
        plugins: Plugins,
        auth: AuthProvider,
        policy: RetryPolicy,
        client_id: str | None = None,
        auth_name: str | None = None,
    ) -> None:
        self.config = config
        self.token = token
        #: the installed auth plugin chosen by name (``auth="name"``), kept for pickling
        self.auth_name = auth_name
        #: This client's id in observer events (``Event.client``): ``"client-<n>"``, numbered
        #: in the order clients are built in this process, and kept by ``with_options`` copies.
        #: Never derived from the token.
        self.client_id = client_id or f"client-{next(_CLIENT_NUMBERS)}"
        #: the plugin objects passed to the client itself (kept for copies and pickling)
        self.client_plugins = client_plugins
        #: the ``retry_policy=`` object the client was given, if any (kept for pickling; a
        #: plugin's policy is chosen again in the new process)
        self.given_retry_policy: RetryPolicy | None = None
        self.plugins = plugins
        #: set by the facade's ``close()``: a closed client's flows refuse to send
        self.closed = False
        self.sender = Sender(
            config=config,
            auth=auth,
            retry_policy=policy,
            preparers=plugins.callers("replicate_prepare_request", ("request", "config")),
            observers=plugins.callers("replicate_observe", ("event",)),
            client_id=self.client_id,
        )
        headers = Headers({"User-Agent": user_agent(), "Accept": "application/json"})
        # An Authorization default header is auth (StaticAuth), scoped like the token.
        headers.update(
            {k: v for k, v in config.default_headers.items() if k.lower() != "authorization"}
        )
        self.default_headers = headers
        self._schema_cache: SchemaCache | None = None
        self._file_hosts: FileHosts | None = None

    @classmethod
    def resolve(
        cls,
        config: ClientConfig,
        *,
        token: Secret | None,
        client_plugins: list[object],
        plugins: Plugins,
        auth: AuthProvider | str | None,
        retry_policy: RetryPolicy | None,
        placeholder_token: str | None = None,
    ) -> ClientCore:
        """A new client's core: the auth provider and retry policy chosen (see
        :func:`resolve_auth` for the auth's precedence)."""
        auth_provider = resolve_auth(
            config, token=token, auth=auth, plugins=plugins, placeholder_token=placeholder_token
        )
        if retry_policy is not None:
            check_retry_policy(retry_policy, "retry_policy")
            policy: RetryPolicy = retry_policy
        else:
            policy = plugins.one_answer(
                "replicate_retry_policy",
                {"config": config},
                choice_env=RETRY_CHOICE_ENV,
                check=check_retry_policy,
            )
        core = cls(
            config,
            token=token,
            client_plugins=client_plugins,
            plugins=plugins,
            auth=auth_provider,
            policy=policy,
            auth_name=auth if isinstance(auth, str) else None,
        )
        core.given_retry_policy = retry_policy
        return core

    def replace(self, config: ClientConfig, *, token: Secret | None) -> ClientCore:
        """The core of a ``with_options`` copy: ``config``, the same plugins and retry policy,
        and this core's auth provider unless ``token`` is a new one or the ``Authorization``
        default header changed (then the auth is resolved again, as a new client's would be)."""
        auth = self.sender.auth
        auth_name = self.auth_name
        if token is not None and token is not self.token:
            auth, auth_name = TokenAuth(token), None
        elif _authorization(config.default_headers) != _authorization(self.config.default_headers):
            auth = resolve_auth(config, token=token, auth=None, plugins=self.plugins)
            auth_name = None
        core = ClientCore(
            config,
            token=token,
            client_plugins=self.client_plugins,
            plugins=self.plugins,
            auth=auth,
            policy=self.sender.retry_policy,
            client_id=self.client_id,
            auth_name=auth_name,
        )
        core.given_retry_policy = self.given_retry_policy
        return core

    # --- requests -----------------------------------------------------------------------------

    def build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, object] | None = None,
        json: Any = msgspec.UNSET,
        content: Body | str = None,
        headers: Mapping[str, str | None] | None = None,
        idempotent: bool | None = None,
        add_default_query: bool = True,
    ) -> Request:
        """A request under ``base_url`` with the default headers and query."""
        return build_request(
            method,
            url,
            base_url=self.config.base_url,
            default_headers=self.default_headers,
            default_query=self.config.default_query if add_default_query else {},
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
        )

    def send_flow(
        self,
        request: Request,
        *,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | None = None,
        stream: bool = False,
        raise_for_status: bool = True,
        shield: bool = False,
        deadline: Deadline | None = None,
    ) -> Flow[Response]:
        """The flow that sends ``request`` with this client's retries, redirects and auth;
        ``timeout``/``max_retries`` not given are the client's."""
        if self.closed:
            raise ReplicateError("this client is closed")
        if isinstance(timeout, NotGiven):
            resolved_timeout = self.config.timeout
        elif isinstance(timeout, Timeout):
            resolved_timeout = timeout
        else:
            resolved_timeout = Timeout(timeout)
        if max_retries is None:
            max_retries = self.config.max_retries
        elif isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        return send_flow(
            self.sender,
            request,
            timeout=resolved_timeout,
            max_retries=max_retries,
            stream=stream,
            raise_for_status=raise_for_status,
            shield=shield,
            deadline=deadline,
        )

    # --- outputs ------------------------------------------------------------------------------

    def file_hosts(self) -> FileHosts:
        """Hosts whose URLs in a schema-less output are files (plugins asked once per client)."""
        hosts = self._file_hosts
        if hosts is None:
            from ._outputs import collect_file_hosts

            hosts = self._file_hosts = collect_file_hosts(self)
        return hosts

    def decode_output(
        self, value: Any, schema: Any = None, *, client: Any, use_file_output: bool = True
    ) -> Any:
        """A prediction's output through the ``replicate_decode_output`` hooks (plugins first,
        the built-in decoder last); ``schema`` is the version's output schema, if known.
        ``client`` is the facade the decoded files download through (and the hooks'
        ``context.client``)."""
        if value is None:
            return None
        from ._outputs import OutputContext, decode_output

        if self.plugins.only_builtin("replicate_decode_output"):  # the common case: no hook call
            return decode_output(
                value, schema, core=self, client=client, use_file_output=use_file_output
            )
        context = OutputContext(client, self, use_file_output=use_file_output)
        decoded = self.plugins.pm.hook.replicate_decode_output(
            value=value, schema=schema, context=context
        )
        return value if decoded is None else decoded

    # --- caches and waiting -------------------------------------------------------------------

    @property
    def schema_cache(self) -> SchemaCache:
        """Resolved references (``_resolve``), made on first use."""
        cache = self._schema_cache
        if cache is None:
            from ._resolve import SchemaCache

            with _CACHE_LOCK:
                cache = self._schema_cache
                if cache is None:
                    cache = self._schema_cache = SchemaCache()
        return cache

    @property
    def poll_interval(self) -> float:
        """Seconds between polls while waiting: ``REPLICATE_POLL_INTERVAL``, default 0.5."""
        value = os.environ.get(POLL_INTERVAL_ENV)
        if not value:
            return DEFAULT_POLL_INTERVAL
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{POLL_INTERVAL_ENV} must be a number of seconds, got {value!r}")
        if not seconds > 0:  # 0 would turn every wait into a tight request loop
            raise ValueError(f"{POLL_INTERVAL_ENV} must be > 0 seconds, got {value!r}")
        return seconds

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def __repr__(self) -> str:
        return f"<replicate ClientCore base_url={self.config.base_url!r}>"


# --- choosing the auth provider -----------------------------------------------------------------


def resolve_auth(
    config: ClientConfig,
    *,
    token: Secret | None,
    auth: AuthProvider | str | None,
    plugins: Plugins,
    placeholder_token: str | None = None,
) -> AuthProvider:
    """A client's auth provider, first that applies:

    1. ``auth=``: a provider object (checked: it must have ``auth_headers``), or a string naming
       an installed plugin (by entry-point name) whose ``replicate_auth_provider`` answers it;
    2. an ``Authorization`` in ``default_headers`` (sent as is, scoped like the token: v2 lets
       it win over ``bearer_token`` too);
    3. ``bearer_token=``;
    4. the ``replicate_auth_provider`` hook: the client's own plugins, then installed ones
       (``REPLICATE_AUTH=<name>`` picks one), then the built-in token auth, which falls back
       on ``placeholder_token`` (the transport's, when it answers requests itself) when neither
       the Cog scope nor the environment has a token.

    ``auth=`` together with ``bearer_token=`` or an ``Authorization`` default header is a
    ValueError: one of them would be silently ignored.
    """
    header = _authorization(config.default_headers)
    if auth is not None:
        if token is not None or header:
            other = "bearer_token=" if token is not None else "an Authorization default header"
            raise ValueError(
                f"pass either auth= or {other}, not both: the client sends one credential"
            )
        if isinstance(auth, str):
            name = auth.strip()
            if not name:
                raise ValueError("auth= must be an auth provider or the name of an auth plugin")
            provider: AuthProvider = plugins.named_answer(
                "replicate_auth_provider",
                name,
                {"config": config, "chosen": False},
                source=f"auth={name!r}",
                check=check_auth_provider,
            )
            return provider
        check_auth_provider(auth, "auth")
        return auth
    if header:
        return StaticAuth(header)
    if token is not None:
        return TokenAuth(token)
    provider = plugins.one_answer(
        "replicate_auth_provider",
        {"config": config, "chosen": False},
        choice_env=AUTH_CHOICE_ENV,
        check=check_auth_provider,
    )
    if placeholder_token and type(provider) is TokenAuth and not provider.explicit:
        return TokenAuth(placeholder=placeholder_token)
    return provider


def check_retry_policy(policy: object, source: str = "retry_policy") -> None:
    """Raise a TypeError unless ``policy`` has a ``retry_delay(...)`` method."""
    if not callable(getattr(policy, "retry_delay", None)):
        raise TypeError(f"{source} must have a retry_delay(...) method")


def _authorization(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``Authorization`` entry of a header mapping, as a one-item dict (empty without)."""
    return {k: v for k, v in headers.items() if k.lower() == "authorization"}
