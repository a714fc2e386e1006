"""A ``replicate`` transport over a :class:`requests.Session`.

Installed, it registers the sync transport ``"requests"``::

    client = replicate.Replicate(transport="requests")          # a session of its own
    client = replicate.Replicate(transport=RequestsTransport(session=my_session))

A session of your own keeps everything mounted and set on it: adapters (corporate proxies,
retries you rely on elsewhere), ``session.auth`` (Kerberos, NTLM), ``session.verify``,
``session.cert``, ``session.proxies``, ``trust_env``, its cookie jar and default headers. The
transport never changes it and never closes it: ``close()`` only stops the transport from
sending; the session is yours to close.

A session the transport makes itself (``RequestsTransport()``, or ``transport="requests"``,
which is ``RequestsTransport.from_config(config)``) is set up like the SDK's built-in urllib3
transport: no retries (adapters mounted with ``max_retries=0``), no cookies, no default headers
of requests' own, no ``.netrc`` credentials, ``verify`` and ``proxy`` from the client's options,
``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` honoured when no proxy is given; ``close()`` closes it.

Every send is one exchange (``allow_redirects=False``); the SDK's core does the retries,
redirects and auth.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, NoReturn

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from replicate import Request, Response, Timeout, connection_error, hookimpl
from replicate.transports import helpers

if TYPE_CHECKING:
    from collections.abc import Callable

    from replicate import ClientConfig

__all__ = ["RequestsTransport", "replicate_register_transports"]


class RequestsTransport:
    """A :class:`replicate.SyncTransport` over a :class:`requests.Session`.

    ``session``: a session of your own, used as it is and never closed by the transport (then
    ``verify``, ``proxy``, ``pool_maxsize`` and ``trust_env`` may not be given: set them on the
    session). Without one the transport makes its own, with ``verify`` (True, False, a CA bundle
    path or an ``ssl.SSLContext``), ``proxy`` (one proxy URL for every request; None: the
    environment's, unless ``trust_env`` is False) and ``pool_maxsize`` connections kept per host.
    """

    name = "requests"

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        proxy: str | None = None,
        pool_maxsize: int = 32,
        trust_env: bool = True,
    ) -> None:
        if session is not None:
            if not isinstance(session, requests.Session):
                raise TypeError(f"session must be a requests.Session, not {type(session).__name__}")
            if verify is not True or proxy is not None or pool_maxsize != 32 or not trust_env:
                raise TypeError(
                    "RequestsTransport(session=...) uses the session's own settings: set verify, "
                    "proxies and adapters on the session instead"
                )
            self.session = session
            self.owns_session = False
            self._kwargs: dict[str, Any] = {}
        else:
            self.session = _own_session(verify, pool_maxsize, trust_env)
            self.owns_session = True
            self._kwargs = {}
            if isinstance(verify, bool):
                self._kwargs["verify"] = verify
            elif isinstance(verify, (str, os.PathLike)):
                self._kwargs["verify"] = os.fspath(verify)
            if proxy is not None:
                self._kwargs["proxies"] = {"http": proxy, "https": proxy}
        self._closed = False

    @classmethod
    def from_config(cls, config: ClientConfig) -> RequestsTransport:
        """The transport ``Replicate(transport="requests")`` uses: a session of its own with the
        client's ``verify``, ``proxy`` and ``pool_maxsize``."""
        return cls(verify=config.verify, proxy=config.proxy, pool_maxsize=config.pool_maxsize)

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            from replicate import ReplicateError

            raise ReplicateError("this client's transport (requests) is closed")
        deadline = timeout.deadline
        total = helpers.time_left(request, deadline)
        session = self.session
        try:
            prepared = session.prepare_request(
                requests.Request(
                    request.method,
                    request.url,
                    headers=request.headers.to_dict(),
                    data=_body(request),
                )
            )
            if "content-length" in request.headers:
                # The core's length stands; requests would add chunked framing to an iterable.
                prepared.headers.pop("Transfer-Encoding", None)
            settings = session.merge_environment_settings(
                prepared.url,
                self._kwargs.get("proxies", {}),
                True,
                self._kwargs.get("verify"),
                None,
            )
            resp = session.send(
                prepared,
                allow_redirects=False,
                timeout=urllib3.Timeout(connect=timeout.connect, read=timeout.read, total=total),
                **settings,
            )
        except Exception as exc:
            _raise_mapped(exc, request, timeout)
        body = _RequestsStream(resp, request)
        limit = helpers.MAX_ERROR_BODY if resp.status_code >= 400 else None
        return Response(
            resp.status_code,
            headers=resp.headers,
            content=None if stream else body.read_all(deadline, limit),
            stream=body if stream else None,
            request=request,
            http_version=helpers.http_version(getattr(resp.raw, "version", 11)),
        )

    def close(self) -> None:
        """Stop sending; a session the transport made is closed (one of your own is not)."""
        self._closed = True
        if self.owns_session:
            self.session.close()

    def __repr__(self) -> str:
        return f"RequestsTransport(owns_session={self.owns_session})"


class _RequestsStream(helpers.StreamedBody):
    """The body of a ``requests.Response`` sent with ``stream=True``: a SyncByteStream."""

    __slots__ = ()
    _resp: requests.Response

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Chunks as they arrive, decoded of any Content-Encoding: with no ``chunk_size``,
        whatever the socket has (for SSE), else up to ``chunk_size`` bytes at a time."""
        raw = self._resp.raw
        try:
            if chunk_size is None and hasattr(raw, "read1"):
                yield from helpers.iter_reads(partial(raw.read1, decode_content=True))
            else:
                # requests' own reader (adapters whose raw body is not urllib3's).
                yield from self._resp.iter_content(chunk_size or helpers.CHUNK)
        except Exception as exc:
            _raise_body_error(exc, self._request)

    def read_all(self, deadline: float | None, limit: int | None = None) -> bytes:
        """The whole body; with a ``deadline``, the connection is shut when it passes. With a
        ``limit`` (an error's body), at most that many bytes: the rest is never read, and the
        connection is closed rather than drained."""
        timer = None
        cut = threading.Event()
        if deadline is not None:
            timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._cut, (cut,))
            timer.daemon = True
            timer.start()
        try:
            if limit is None:
                content = b"".join(self.iter_bytes())
            else:
                content = _prefix(self.iter_bytes(), limit)
        except Exception as exc:
            if cut.is_set():
                raise helpers.past_deadline(self._request) from exc
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self.close()
        if cut.is_set():
            raise helpers.past_deadline(self._request)
        return content

    def _cut(self, cut: threading.Event) -> None:
        cut.set()
        raw = self._resp.raw
        with helpers.quietly("cutting a response at its deadline"):
            if hasattr(raw, "shutdown"):  # urllib3 2.3 and later
                raw.shutdown()
            else:  # pragma: no cover - older urllib3
                raw.close()

    def close(self) -> None:
        with helpers.quietly("closing a streamed response"):
            self._resp.close()


def _prefix(chunks: Iterator[bytes], limit: int) -> bytes:
    """The first ``limit`` bytes of ``chunks``, reading no further than the chunk that
    passes it."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(parts)[:limit]


def _own_session(verify: Any, pool_maxsize: int, trust_env: bool) -> requests.Session:
    helpers.check_positive("pool_maxsize", pool_maxsize)
    session = requests.Session()
    session.trust_env = trust_env
    # Exactly the headers the core sends: none of requests' defaults (User-Agent, Accept, ...).
    session.headers = CaseInsensitiveDict()
    # No cookies kept between requests (the API sets none; a CDN's must not follow the client).
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    # A truthy session.auth that does nothing: requests then reads no ~/.netrc credentials,
    # which would replace the SDK's Authorization header.
    session.auth = _no_auth
    if isinstance(verify, ssl.SSLContext):
        adapter: HTTPAdapter = _ContextAdapter(verify, pool_maxsize=pool_maxsize, max_retries=0)
    elif verify is False:
        adapter = _UnverifiedAdapter(pool_maxsize=pool_maxsize, max_retries=0)
    else:
        adapter = HTTPAdapter(pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _no_auth(r: Any) -> Any:
    return r


class _UnverifiedHTTPSPool(urllib3.HTTPSConnectionPool):
    """urllib3's pool without its InsecureRequestWarning on every request: with
    ``verify=False`` the SDK's client warns once, when it is built."""

    def _validate_conn(self, conn: Any) -> None:
        urllib3.HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class _UnverifiedAdapter(HTTPAdapter):
    """The adapter of a ``verify=False`` session: its HTTPS pools do not warn per request."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            **self.poolmanager.pool_classes_by_scheme,
            "https": _UnverifiedHTTPSPool,
        }

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {
            **manager.pool_classes_by_scheme,
            "https": _UnverifiedHTTPSPool,
        }
        return manager


class _ContextAdapter(HTTPAdapter):
    """An adapter whose TLS connections use one ``ssl.SSLContext`` as it is (requests' own
    ``verify`` handling would load its CA bundle into it)."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pass  # the context decides

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        for key in ("cert_reqs", "ca_certs", "ca_cert_dir"):
            pool_kwargs.pop(key, None)
        return host, pool_kwargs


def _body(request: Request) -> Any:
    content = request.content
    if content is None or isinstance(content, (bytes, bytearray)) or hasattr(content, "read"):
        return content
    # An iterable of chunks: requests takes a generator as a streamed body (a list or tuple it
    # would take as form fields).
    return (bytes(chunk) for chunk in content)


def _raise_mapped(exc: Exception, request: Request, timeout: Timeout) -> NoReturn:
    """Raise the SDK's error for what requests raised; anything else is raised as it is."""
    if isinstance(exc, requests.ConnectTimeout):
        raise helpers.connect_error(
            request, f"timed out (connect timeout {timeout.connect} s)", timeout=True
        ) from exc
    if isinstance(exc, requests.ReadTimeout):
        raise helpers.read_timeout_error(request, timeout) from exc
    if isinstance(exc, requests.exceptions.ProxyError):
        original = _reason(exc)
        if isinstance(original, Urllib3ProxyError):
            original = getattr(original, "original_error", None) or original
        refused = isinstance(original, (NewConnectionError, ConnectTimeoutError))
        raise helpers.proxy_error(
            request,
            helpers.error_text(original or exc),
            sent=not refused,
            timeout=refused and not isinstance(original, NewConnectionError),
        ) from exc
    if isinstance(exc, requests.exceptions.SSLError):
        raise helpers.tls_error(
            request,
            helpers.error_text(_reason(exc) or exc),
            sent=not helpers.during_tls_handshake(exc),
        ) from exc
    if isinstance(exc, requests.ConnectionError):
        reason = _reason(exc)
        text = helpers.error_text(reason or exc)
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            timed_out = not isinstance(reason, NewConnectionError)
            raise helpers.connect_error(request, text, timeout=timed_out) from exc
        raise connection_error(
            f"Connection failed: {helpers.origin(request.url)}: {text}", request, sent=True
        ) from exc
    if isinstance(exc, requests.RequestException) and not isinstance(exc, ValueError):
        # ChunkedEncodingError, ContentDecodingError, RetryError ...: after the request went out.
        raise helpers.exchange_error(request, helpers.error_text(_reason(exc) or exc)) from exc
    if isinstance(exc, (Urllib3HTTPError, OSError)) and not isinstance(exc, ValueError):
        raise helpers.exchange_error(request, str(exc)) from exc
    raise exc


def _raise_body_error(exc: Exception, request: Request) -> NoReturn:
    if isinstance(exc, (ReadTimeoutError, requests.ReadTimeout)) or (
        isinstance(exc, requests.ConnectionError) and isinstance(_reason(exc), ReadTimeoutError)
    ):
        raise helpers.body_timeout_error(request) from exc
    if isinstance(exc, (ProtocolError, Urllib3HTTPError, OSError, requests.RequestException)):
        raise helpers.body_broken_error(request, helpers.error_text(exc)) from exc
    raise exc


def _reason(exc: BaseException) -> BaseException | None:
    """The urllib3 error under a requests one (``ConnectionError(MaxRetryError(reason))``)."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
    reason = getattr(inner, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    return inner


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("requests", RequestsTransport.from_config, sync=True)
