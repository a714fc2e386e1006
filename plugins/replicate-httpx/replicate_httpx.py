"""Replicate SDK plugin: transports over httpx, sync and async, registered as ``"httpx"``.

``Replicate(transport="httpx")`` sends through :class:`HttpxTransport` (an ``httpx.Client``),
``AsyncReplicate(transport="httpx")`` through :class:`AsyncHttpxTransport` (an
``httpx.AsyncClient``, awaited on the event loop, no worker threads). ``REPLICATE_TRANSPORT=httpx``
picks them for every client. v2's ``http_client=`` keyword maps here:
``Replicate(http_client=httpx.Client(...))`` is ``Replicate(transport=HttpxTransport(client=...))``.

Each ``send`` is one exchange: httpx never follows a redirect or retries (the SDK does both, the
same way for every transport); a streamed body is handed back unread and decoded of its
Content-Encoding as it is read. httpx's errors become the SDK's ``APIConnectionError`` and
``APITimeoutError``, with ``request_sent=False`` only when the request surely never left (a
connect error or timeout, a TLS handshake failure, a wait for a pooled connection that timed out).

A client the transport makes is its own, closed with it. A client you pass (``client=``, or
``http_client=`` on the SDK's clients) stays yours: the transport sends through it (its headers,
cookies, auth, event hooks, limits and its own transport apply) but never closes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

import replicate
from replicate import Request, Response, Timeout

try:
    from replicate import connection_error
except ImportError:  # pragma: no cover - a core from before the helper was public
    from replicate._http import connection_error

if TYPE_CHECKING:
    from replicate._config import ClientConfig

__all__ = ["AsyncHttpxTransport", "HttpxTransport"]
__version__ = "0.1.0"

log = logging.getLogger("replicate")

NAME = "httpx"
_CHUNK = 64 * 1024


# --- the plugin ---------------------------------------------------------------------------------


def _sync_factory(config: ClientConfig, *, http_client: Any = None) -> HttpxTransport:
    """The factory ``Replicate`` calls: a transport over a client of its own made from the
    config, or over ``http_client`` (an ``httpx.Client``, v2's keyword) when one is given."""
    if http_client is None:
        return HttpxTransport.from_config(config)
    if not isinstance(http_client, httpx.Client):
        raise TypeError(
            "Replicate(http_client=...) takes an httpx.Client, not "
            f"{type(http_client).__name__}"
            + (" (use it with replicate.AsyncReplicate)" if _is_async(http_client) else "")
        )
    return HttpxTransport(client=http_client)


def _async_factory(config: ClientConfig, *, http_client: Any = None) -> AsyncHttpxTransport:
    """The factory ``AsyncReplicate`` calls: the twin of :func:`_sync_factory`, for an
    ``httpx.AsyncClient``."""
    if http_client is None:
        return AsyncHttpxTransport.from_config(config)
    if not isinstance(http_client, httpx.AsyncClient):
        raise TypeError(
            "AsyncReplicate(http_client=...) takes an httpx.AsyncClient, not "
            f"{type(http_client).__name__}"
            + (" (use it with replicate.Replicate)" if _is_sync(http_client) else "")
        )
    return AsyncHttpxTransport(client=http_client)


def _is_async(value: object) -> bool:
    return isinstance(value, httpx.AsyncClient)


def _is_sync(value: object) -> bool:
    return isinstance(value, httpx.Client)


@replicate.hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    # One name, one factory per colour: Replicate makes the sync one, AsyncReplicate the async.
    register(NAME, _sync_factory, sync=True)
    register(NAME, _async_factory, sync=False, async_=True)


# --- what both colours share ----------------------------------------------------------------


def _client_options(
    *,
    verify: Any,
    proxy: str | None,
    pool_maxsize: int,
    http2: bool,
    trust_env: bool,
    timeout: Timeout | None,
) -> dict[str, Any]:
    """The keywords of the httpx client a transport makes for itself."""
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise ImportError(
                "http2=True needs the 'h2' package: pip install 'replicate-httpx[http2]'"
            ) from None
    return {
        "verify": _ssl_context(verify),
        "proxy": proxy,
        "http2": http2,
        "trust_env": trust_env,
        "follow_redirects": False,
        # Like the urllib3 transport (block=False): a send never waits for a free connection;
        # up to pool_maxsize idle ones are kept per client.
        "limits": httpx.Limits(max_connections=None, max_keepalive_connections=pool_maxsize),
        "timeout": _httpx_timeout(timeout or Timeout()),
    }


def _ssl_context(verify: Any) -> ssl.SSLContext | bool:
    """``verify`` as httpx takes it: True is the system's CAs (as for the urllib3 transport, and
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set), a path a context loading that bundle or
    folder (httpx 0.28 deprecates paths), False and contexts as they are."""
    if verify is True:
        return ssl.create_default_context()
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    if verify is False or isinstance(verify, ssl.SSLContext):
        return verify
    raise TypeError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, not "
        f"{type(verify).__name__}"
    )


def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    return httpx.Timeout(**_timeouts(timeout))


def _timeouts(timeout: Timeout) -> dict[str, float | None]:
    """httpx's four timeouts for one request. Writing the body counts as reading (as urllib3's
    socket timeout does); waiting for a pooled connection as connecting. With a deadline each is
    cut to the time left."""
    connect, read = timeout.connect, timeout.read
    deadline = timeout.deadline
    if deadline is not None:
        left = max(0.0, deadline - time.monotonic())
        connect = left if connect is None else min(connect, left)
        read = left if read is None else min(read, left)
    return {"connect": connect, "read": read, "write": read, "pool": connect}


class _Timeouts:
    """The per-request timeout dict, kept for the last Timeout seen (the client's default,
    nearly always): no dict built per request."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple[Timeout | None, dict[str, float | None]] = (None, {})

    def __call__(self, timeout: Timeout) -> dict[str, float | None]:
        if timeout.deadline is not None:
            return _timeouts(timeout)
        last, values = self._last
        if last is not None and (last is timeout or last == timeout):
            return values
        values = _timeouts(timeout)
        self._last = (timeout, values)
        return values


def _sync_body(content: Any) -> Any:
    """``request.content`` as an httpx.Client takes it: bytes or an iterable of bytes. A file is
    read in chunks as it is sent (chunked, unless the SDK set Content-Length, as the urllib3
    transport sends it)."""
    if content is None or isinstance(content, bytes):
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    if hasattr(content, "read"):
        return _read_chunks(content)
    return content


def _read_chunks(file: Any) -> Iterator[bytes]:
    while True:
        chunk = file.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def _async_body(content: Any) -> Any:
    """``request.content`` as an httpx.AsyncClient takes it: bytes or an async iterable. A file
    or an iterable of chunks is read with plain calls, chunk by chunk, as it is sent (the
    :class:`replicate.AsyncTransport` contract)."""
    if content is None or isinstance(content, bytes):
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    if hasattr(content, "__aiter__"):
        return content
    return _aiter_chunks(_read_chunks(content) if hasattr(content, "read") else content)


async def _aiter_chunks(chunks: Any) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _headers(request: Request) -> list[tuple[str, str]]:
    return list(request.headers.to_dict().items())


def _mapped(exc: httpx.HTTPError, request: Request, timeout: Timeout) -> Exception:
    """The SDK's error for what httpx raised while sending a request and reading its answer."""
    origin = _origin(request.url)
    if isinstance(exc, httpx.ConnectTimeout):
        return connection_error(
            f"Timed out connecting to {origin} (connect timeout {timeout.connect} s)",
            request,
            sent=False,
            timeout=True,
        )
    if isinstance(exc, httpx.PoolTimeout):
        return connection_error(
            f"Timed out waiting for a free connection to {origin} from the httpx client's pool",
            request,
            sent=False,
            timeout=True,
        )
    if isinstance(exc, httpx.ConnectError):  # refused, DNS, TLS handshake and certificates
        return connection_error(f"Could not connect to {origin}: {exc}", request, sent=False)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return connection_error(f"Cannot send to {origin}: {exc}", request, sent=False)
    if isinstance(exc, httpx.TimeoutException):  # read and write timeouts
        return connection_error(
            f"Timed out reading from {origin} (read timeout {timeout.read} s)",
            request,
            sent=True,
            timeout=True,
        )
    if isinstance(exc, httpx.ProxyError):
        return connection_error(f"Proxy error for {origin}: {exc}", request, sent=True)
    return connection_error(f"Connection to {origin} failed: {exc}", request, sent=True)


def _body_error(exc: httpx.HTTPError, request: Request) -> Exception:
    """The SDK's error for what httpx raised while a streamed body was being read."""
    origin = _origin(request.url)
    if isinstance(exc, httpx.TimeoutException):
        return connection_error(
            f"Timed out reading the body from {origin}", request, sent=True, timeout=True
        )
    return connection_error(
        f"Connection to {origin} broke while reading the body: {exc}", request, sent=True
    )


def _past_deadline(request: Request, *, sent: bool = True) -> Exception:
    if not sent:
        return connection_error(
            f"The deadline (a run's timeout=) passed before the request to "
            f"{_origin(request.url)} was sent",
            request,
            sent=False,
            timeout=True,
        )
    return connection_error(
        f"The exchange with {_origin(request.url)} did not finish by its deadline (a run's "
        "timeout=); its connection was closed",
        request,
        sent=True,
        timeout=True,
    )


def _closed_error() -> Exception:
    # httpx raises RuntimeError for a closed client; copies of a closed SDK client must not send.
    from replicate.exceptions import ReplicateError

    return ReplicateError("this client's connection pool is closed")


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def _socket_of(resp: httpx.Response) -> socket.socket | None:
    stream = resp.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
    except Exception:
        return None
    return sock if isinstance(sock, socket.socket) else None


class _Options:
    """What a transport that makes its own client was built with: for its repr and pickles."""

    __slots__ = ("http2", "pool_maxsize", "proxy", "trust_env", "verify")

    def __init__(
        self, verify: Any, proxy: str | None, pool_maxsize: int, http2: bool, trust_env: bool
    ) -> None:
        self.verify = verify
        self.proxy = proxy
        self.pool_maxsize = pool_maxsize
        self.http2 = http2
        self.trust_env = trust_env

    def kwargs(self) -> dict[str, Any]:
        verify = self.verify
        if isinstance(verify, ssl.SSLContext):  # not picklable; the default is safe
            verify = True
        return {
            "verify": verify,
            "proxy": self.proxy,
            "pool_maxsize": self.pool_maxsize,
            "http2": self.http2,
            "trust_env": self.trust_env,
        }


def _check_client_only(client: object, given: dict[str, Any]) -> None:
    extra = [name for name, value in given.items() if value]
    if client is not None and extra:
        raise ValueError(
            f"{', '.join(extra)} configure the httpx client the transport makes; with your own "
            "client=, set them on that client"
        )


# --- sync -------------------------------------------------------------------------------------


class HttpxTransport:
    """A :class:`replicate.SyncTransport` over an ``httpx.Client``.

    Without ``client``, it makes one of its own and closes it in :meth:`close`:

    - ``verify``: True (the system's CAs), False, a CA bundle path (file or folder) or an
      ``ssl.SSLContext``;
    - ``proxy``: a proxy URL; None honours ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and
      ``NO_PROXY`` (unless ``trust_env=False``);
    - ``pool_maxsize`` idle connections are kept; a send never waits for a free one;
    - ``http2=True`` offers HTTP/2 (needs ``h2``: ``pip install 'replicate-httpx[http2]'``);
      the server picks, and ``Response.http_version`` says which it was.

    ``client=`` sends through your own ``httpx.Client`` instead (the options above are then
    yours to set on it). The transport never closes it: close it yourself when done. Redirects
    are never followed, whatever the client's ``follow_redirects``.
    """

    name = NAME

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        verify: Any = True,
        proxy: str | None = None,
        pool_maxsize: int = 32,
        http2: bool = False,
        trust_env: bool = True,
        timeout: Timeout | None = None,
    ) -> None:
        _check_client_only(client, {"verify": verify is not True, "proxy": proxy, "http2": http2})
        if client is not None and not isinstance(client, httpx.Client):
            raise TypeError(f"client must be an httpx.Client, not {type(client).__name__}")
        self._owns_client = client is None
        self._options = _Options(verify, proxy, pool_maxsize, http2, trust_env)
        if client is None:
            options = _client_options(
                verify=verify,
                proxy=proxy,
                pool_maxsize=pool_maxsize,
                http2=http2,
                trust_env=trust_env,
                timeout=timeout,
            )
            client = httpx.Client(**options)
        self._client = client
        self._timeouts = _Timeouts()
        self._closed = False

    @classmethod
    def from_config(cls, config: ClientConfig, **options: Any) -> HttpxTransport:
        """A transport with a client of its own, set up from a client's config (``verify``,
        ``proxy``, ``pool_maxsize``, ``timeout``); ``options`` add ``http2``/``trust_env``."""
        return cls(
            verify=config.verify,
            proxy=config.proxy,
            pool_maxsize=config.pool_maxsize,
            timeout=config.timeout,
            **options,
        )

    @property
    def client(self) -> httpx.Client:
        """The httpx client requests go through."""
        return self._client

    def _build(self, request: Request, timeout: Timeout) -> httpx.Request:
        timeouts = self._timeouts(timeout)
        content = _sync_body(request.content)
        if self._owns_client:
            # Nothing of the client's to merge (no headers, cookies, params or auth of its own).
            return httpx.Request(
                request.method,
                request.url,
                headers=_headers(request),
                content=content,
                extensions={"timeout": timeouts},
            )
        return self._client.build_request(
            request.method,
            request.url,
            headers=_headers(request),
            content=content,
            timeout=httpx.Timeout(**timeouts),
        )

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            raise _closed_error()
        deadline = None if stream else timeout.deadline
        if deadline is not None and time.monotonic() >= deadline:
            raise _past_deadline(request, sent=False)
        hx_request = self._build(request, timeout)
        client = self._client
        try:
            if deadline is None:
                resp = client.send(hx_request, stream=stream, follow_redirects=False)
                content = None if stream else resp.content
            else:
                resp = client.send(hx_request, stream=True, follow_redirects=False)
                content = _read_by(resp, deadline, request)
        except httpx.HTTPError as exc:
            raise _mapped(exc, request, timeout) from exc
        except RuntimeError as exc:
            if client.is_closed:  # closed by its owner
                raise _closed_error() from exc
            raise
        if stream:
            body: Any = _HttpxStream(resp, request)
            return Response(
                resp.status_code,
                headers=resp.headers,
                stream=body,
                request=request,
                http_version=resp.http_version,
            )
        return Response(
            resp.status_code,
            headers=resp.headers,
            content=content,
            request=request,
            http_version=resp.http_version,
        )

    def close(self) -> None:
        """Close the client the transport made (one passed as ``client=`` stays open); later
        sends raise ``ReplicateError``."""
        self._closed = True
        if self._owns_client:
            self._client.close()

    def __reduce__(self) -> Any:
        if not self._owns_client:
            raise TypeError("an HttpxTransport over your own httpx.Client cannot be pickled")
        return (_rebuild, (HttpxTransport, self._options.kwargs()))

    def __repr__(self) -> str:
        return _repr(self)


def _read_by(resp: httpx.Response, deadline: float, request: Request) -> bytes:
    """The body of a response sent under a deadline, read chunk by chunk and given up at the
    deadline (each wait is bounded by the read timeout, already cut to fit it)."""
    chunks = []
    try:
        if time.monotonic() >= deadline:
            raise _past_deadline(request)
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            if time.monotonic() >= deadline:
                raise _past_deadline(request)
    finally:
        resp.close()
    return b"".join(chunks)


class _HttpxStream:
    """A streamed body: httpx's decoded chunks, its errors mapped to the SDK's."""

    __slots__ = ("_request", "_resp")

    def __init__(self, resp: httpx.Response, request: Request) -> None:
        self._resp = resp
        self._request = request

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Chunks as they arrive (with no ``chunk_size``, whatever the socket has: for SSE),
        decoded of any Content-Encoding."""
        try:
            yield from self._resp.iter_bytes(chunk_size)
        except httpx.HTTPError as exc:
            raise _body_error(exc, self._request) from exc

    def shutdown(self) -> None:
        """End a read blocked in another thread (the socket is shut for reading; ``close``
        still releases it): what ``AsyncReplicate`` calls when a task reading a sync stream
        through worker threads is canceled."""
        sock = _socket_of(self._resp)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:  # the connection is already gone: nothing is blocked on it
            log.debug("error while shutting down a streamed response", exc_info=True)

    def close(self) -> None:
        try:
            self._resp.close()
        except Exception:  # closing must never raise
            log.debug("error while closing a streamed response", exc_info=True)


# --- async ------------------------------------------------------------------------------------


class AsyncHttpxTransport:
    """A :class:`replicate.AsyncTransport` over an ``httpx.AsyncClient``: the options of
    :class:`HttpxTransport`, awaited. ``client=`` takes your own ``httpx.AsyncClient``, which
    the transport never closes.

    A ``Timeout.deadline`` (a ``run(timeout=...)`` call's) ends the whole exchange at the
    deadline, however slowly the server answers. Like the httpx client under it, the transport
    belongs to the event loop it is first used in.
    """

    name = NAME
    #: An httpx.AsyncClient's connections belong to one event loop (AsyncReplicate checks).
    loop_bound = True

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        verify: Any = True,
        proxy: str | None = None,
        pool_maxsize: int = 32,
        http2: bool = False,
        trust_env: bool = True,
        timeout: Timeout | None = None,
    ) -> None:
        _check_client_only(client, {"verify": verify is not True, "proxy": proxy, "http2": http2})
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise TypeError(f"client must be an httpx.AsyncClient, not {type(client).__name__}")
        self._owns_client = client is None
        self._options = _Options(verify, proxy, pool_maxsize, http2, trust_env)
        if client is None:
            options = _client_options(
                verify=verify,
                proxy=proxy,
                pool_maxsize=pool_maxsize,
                http2=http2,
                trust_env=trust_env,
                timeout=timeout,
            )
            client = httpx.AsyncClient(**options)
        self._client = client
        self._timeouts = _Timeouts()
        self._closed = False

    @classmethod
    def from_config(cls, config: ClientConfig, **options: Any) -> AsyncHttpxTransport:
        """As :meth:`HttpxTransport.from_config`."""
        return cls(
            verify=config.verify,
            proxy=config.proxy,
            pool_maxsize=config.pool_maxsize,
            timeout=config.timeout,
            **options,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client requests go through."""
        return self._client

    def _build(self, request: Request, timeout: Timeout) -> httpx.Request:
        timeouts = self._timeouts(timeout)
        content = _async_body(request.content)
        if self._owns_client:
            return httpx.Request(
                request.method,
                request.url,
                headers=_headers(request),
                content=content,
                extensions={"timeout": timeouts},
            )
        return self._client.build_request(
            request.method,
            request.url,
            headers=_headers(request),
            content=content,
            timeout=httpx.Timeout(**timeouts),
        )

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            raise _closed_error()
        deadline = None if stream else timeout.deadline
        if deadline is not None and time.monotonic() >= deadline:
            raise _past_deadline(request, sent=False)
        hx_request = self._build(request, timeout)
        client = self._client
        try:
            if deadline is None:
                resp = await client.send(hx_request, stream=stream, follow_redirects=False)
            else:
                # The whole exchange, to the end of the body, bounded by the deadline.
                resp = await asyncio.wait_for(
                    client.send(hx_request, follow_redirects=False),
                    max(0.0, deadline - time.monotonic()),
                )
        except httpx.HTTPError as exc:
            raise _mapped(exc, request, timeout) from exc
        except asyncio.TimeoutError as exc:  # the deadline's (httpx's own are HTTPErrors)
            raise _past_deadline(request) from exc
        except RuntimeError as exc:
            if client.is_closed:
                raise _closed_error() from exc
            raise
        if stream:
            body: Any = _AsyncHttpxStream(resp, request)
            return Response(
                resp.status_code,
                headers=resp.headers,
                stream=body,
                request=request,
                http_version=resp.http_version,
            )
        return Response(
            resp.status_code,
            headers=resp.headers,
            content=resp.content,
            request=request,
            http_version=resp.http_version,
        )

    async def aclose(self) -> None:
        """Close the client the transport made (one passed as ``client=`` stays open); later
        sends raise ``ReplicateError``."""
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    def __reduce__(self) -> Any:
        if not self._owns_client:
            raise TypeError(
                "an AsyncHttpxTransport over your own httpx.AsyncClient cannot be pickled"
            )
        return (_rebuild, (AsyncHttpxTransport, self._options.kwargs()))

    def __repr__(self) -> str:
        return _repr(self)


class _AsyncHttpxStream:
    """A streamed body read with ``await``: httpx's decoded chunks, its errors mapped."""

    __slots__ = ("_request", "_resp")

    def __init__(self, resp: httpx.Response, request: Request) -> None:
        self._resp = resp
        self._request = request

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Chunks as they arrive, decoded of any Content-Encoding."""
        try:
            async for chunk in self._resp.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise _body_error(exc, self._request) from exc

    async def aclose(self) -> None:
        try:
            await self._resp.aclose()
        except Exception:  # closing must never raise
            log.debug("error while closing a streamed response", exc_info=True)


def _rebuild(cls: type[Any], kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


def _repr(transport: HttpxTransport | AsyncHttpxTransport) -> str:
    kind = type(transport).__name__
    if not transport._owns_client:
        return f"{kind}(client={transport._client!r})"
    return f"{kind}(http2={transport._options.http2!r})"
