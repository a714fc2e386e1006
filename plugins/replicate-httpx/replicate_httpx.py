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

import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

import httpx

import replicate
from replicate import Request, Response, Timeout, connection_error
from replicate.transports import helpers

if TYPE_CHECKING:
    from typing_extensions import Self

    from replicate._config import ClientConfig

__all__ = ["AsyncHttpxTransport", "HttpxTransport"]
__version__ = "0.1.0"

log = logging.getLogger("replicate")

NAME = "httpx"


# --- the plugin ---------------------------------------------------------------------------------


def _factory(*, sync: bool) -> Callable[..., Any]:
    caller, other = ("Replicate", "AsyncReplicate") if sync else ("AsyncReplicate", "Replicate")

    def factory(config: ClientConfig, *, http_client: Any = None) -> Any:
        cls: Any = HttpxTransport if sync else AsyncHttpxTransport
        if http_client is None:
            return cls.from_config(config)
        if not isinstance(http_client, cls._client_class):
            wrong_colour = isinstance(http_client, (httpx.AsyncClient if sync else httpx.Client))
            raise TypeError(
                f"{caller}(http_client=...) takes an httpx.{cls._client_class.__name__}, not "
                f"{type(http_client).__name__}"
                + (f" (use it with replicate.{other})" if wrong_colour else "")
            )
        return cls(client=http_client)

    factory.__doc__ = (
        f"The factory ``{caller}`` calls: a transport over a client of its own made from the "
        f"config, or over ``http_client`` (an ``httpx.{'Client' if sync else 'AsyncClient'}``, "
        "v2's keyword) when one is given."
    )
    return factory


_sync_factory = _factory(sync=True)
_async_factory = _factory(sync=False)


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
        # True is the system's CAs (as for the urllib3 transport), a path a context loading that
        # bundle or folder (httpx 0.28 deprecates paths).
        "verify": helpers.ssl_context(verify),
        "proxy": proxy,
        "http2": http2,
        "trust_env": trust_env,
        "follow_redirects": False,
        # Like the urllib3 transport (block=False): a send never waits for a free connection;
        # up to pool_maxsize idle ones are kept per client.
        "limits": httpx.Limits(max_connections=None, max_keepalive_connections=pool_maxsize),
        "timeout": httpx.Timeout(**_timeouts(timeout or Timeout())),
    }


def _timeouts(timeout: Timeout) -> dict[str, float | None]:
    """httpx's four timeouts for one request. Writing the body counts as reading (as urllib3's
    socket timeout does); waiting for a pooled connection as connecting. With a deadline each is
    cut to the time left."""
    connect, read = helpers.cut_to_deadline(timeout)
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
        return helpers.iter_reads(content.read)
    return content


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
    return helpers.aiter_chunks(
        helpers.iter_reads(content.read) if hasattr(content, "read") else content
    )


def _mapped(exc: httpx.HTTPError, request: Request, timeout: Timeout) -> Exception:
    """The SDK's error for what httpx raised while sending a request and reading its answer."""
    if isinstance(exc, httpx.ConnectTimeout):
        return connection_error(
            f"Timed out connecting to {helpers.origin(request.url)} "
            f"(connect timeout {timeout.connect} s)",
            request,
            sent=False,
            timeout=True,
        )
    if isinstance(exc, httpx.PoolTimeout):
        return connection_error(
            f"Timed out waiting for a free connection to {helpers.origin(request.url)} from the "
            "httpx client's pool",
            request,
            sent=False,
            timeout=True,
        )
    if isinstance(exc, httpx.ConnectError):  # refused, DNS, TLS handshake and certificates
        return helpers.connect_error(request, str(exc))
    if isinstance(exc, httpx.UnsupportedProtocol):
        return connection_error(
            f"Cannot send to {helpers.origin(request.url)}: {exc}", request, sent=False
        )
    if isinstance(exc, httpx.TimeoutException):  # read and write timeouts
        return helpers.read_timeout_error(request, timeout)
    if isinstance(exc, httpx.ProxyError):
        return helpers.proxy_error(request, str(exc))
    return helpers.exchange_error(request, str(exc))


def _body_error(exc: httpx.HTTPError, request: Request) -> Exception:
    """The SDK's error for what httpx raised while a streamed body was being read."""
    if isinstance(exc, httpx.TimeoutException):
        return helpers.body_timeout_error(request)
    return helpers.body_broken_error(request, str(exc))


def _closed_error() -> Exception:
    # httpx raises RuntimeError for a closed client; copies of a closed SDK client must not send.
    from replicate.exceptions import ReplicateError

    return ReplicateError("this client's connection pool is closed")


class _Mapped:
    """``with _Mapped(...)`` around a send, either colour: httpx's errors become the SDK's, and
    the RuntimeError of a client its owner closed a ReplicateError."""

    __slots__ = ("_client", "_request", "_timeout")

    def __init__(
        self, client: httpx.Client | httpx.AsyncClient, request: Request, timeout: Timeout
    ) -> None:
        self._client = client
        self._request = request
        self._timeout = timeout

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, httpx.HTTPError):
            raise _mapped(exc, self._request, self._timeout) from exc
        if isinstance(exc, RuntimeError) and self._client.is_closed:  # closed by its owner
            raise _closed_error() from exc
        return False


def _socket_of(resp: httpx.Response) -> socket.socket | None:
    stream = resp.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
    except Exception:
        return None
    return sock if isinstance(sock, socket.socket) else None


class _Options(NamedTuple):
    """What a transport that makes its own client was built with: for its client (the keywords
    of :func:`_client_options`), its repr and pickles."""

    verify: Any
    proxy: str | None
    pool_maxsize: int
    http2: bool
    trust_env: bool

    def kwargs(self) -> dict[str, Any]:
        kwargs = self._asdict()
        if isinstance(self.verify, ssl.SSLContext):  # not picklable; the default is safe
            kwargs["verify"] = True
        return kwargs


_C = TypeVar("_C", httpx.Client, httpx.AsyncClient)


class _HttpxTransportBase(Generic[_C]):
    """All of a transport but its sends and closing, for both colours: the client, the request
    as httpx takes it, the Response, pickling and the repr."""

    name = NAME
    #: The httpx client class of this colour, and how it takes a request body.
    _client_class: ClassVar[type[Any]]
    _body: ClassVar[Callable[[Any], Any]]

    def __init__(
        self,
        *,
        client: _C | None = None,
        verify: Any = True,
        proxy: str | None = None,
        pool_maxsize: int = 32,
        http2: bool = False,
        trust_env: bool = True,
        timeout: Timeout | None = None,
    ) -> None:
        cls = self._client_class
        extra = [
            name
            for name, value in {
                "verify": verify is not True,
                "proxy": proxy,
                "http2": http2,
            }.items()
            if value
        ]
        if client is not None and extra:
            raise ValueError(
                f"{', '.join(extra)} configure the httpx client the transport makes; with your "
                "own client=, set them on that client"
            )
        if client is not None and not isinstance(client, cls):
            raise TypeError(f"client must be an httpx.{cls.__name__}, not {type(client).__name__}")
        self._owns_client = client is None
        self._options = _Options(verify, proxy, pool_maxsize, http2, trust_env)
        if client is None:
            client = cls(**_client_options(**self._options._asdict(), timeout=timeout))
        self._client: _C = client
        self._timeouts = _Timeouts()
        self._closed = False

    @classmethod
    def from_config(cls, config: ClientConfig, **options: Any) -> Self:
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
    def client(self) -> _C:
        """The httpx client requests go through."""
        return self._client

    def _start(
        self, request: Request, timeout: Timeout, stream: bool
    ) -> tuple[httpx.Request, float | None]:
        """The request to send and the deadline its exchange must end by (None: none, or a
        stream's, which its reads keep to), after checking the transport may send it."""
        if self._closed:
            raise _closed_error()
        deadline = None if stream else timeout.deadline
        helpers.time_left(request, deadline)
        timeouts = self._timeouts(timeout)
        content = self._body(request.content)
        headers = list(request.headers.to_dict().items())
        if self._owns_client:
            # Nothing of the client's to merge (no headers, cookies, params or auth of its own).
            hx_request = httpx.Request(
                request.method,
                request.url,
                headers=headers,
                content=content,
                extensions={"timeout": timeouts},
            )
        else:
            hx_request = self._client.build_request(
                request.method,
                request.url,
                headers=headers,
                content=content,
                timeout=httpx.Timeout(**timeouts),
            )
        return hx_request, deadline

    def _response(
        self, resp: httpx.Response, request: Request, content: bytes | None, stream: Any
    ) -> Response:
        """The SDK's Response: its body read (``content``) or to be read (``stream``)."""
        return Response(
            resp.status_code,
            headers=resp.headers,
            content=content,
            stream=stream,
            request=request,
            http_version=resp.http_version,
        )

    def __reduce__(self) -> Any:
        if not self._owns_client:
            raise TypeError(
                f"an {type(self).__name__} over your own httpx.{self._client_class.__name__} "
                "cannot be pickled"
            )
        return (_rebuild, (type(self), self._options.kwargs()))

    def __repr__(self) -> str:
        kind = type(self).__name__
        if not self._owns_client:
            return f"{kind}(client={self._client!r})"
        return f"{kind}(http2={self._options.http2!r})"


def _rebuild(cls: type[Any], kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


# --- sync -------------------------------------------------------------------------------------


class HttpxTransport(_HttpxTransportBase[httpx.Client]):
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

    _client_class = httpx.Client
    _body = staticmethod(_sync_body)

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        hx_request, deadline = self._start(request, timeout, stream)
        client = self._client
        with _Mapped(client, request, timeout):
            resp = client.send(hx_request, stream=True, follow_redirects=False)
            content = None if stream else _read_by(resp, deadline, request)
        body = _HttpxStream(resp, request) if stream else None
        return self._response(resp, request, content, body)

    def close(self) -> None:
        """Close the client the transport made (one passed as ``client=`` stays open); later
        sends raise ``ReplicateError``."""
        self._closed = True
        if self._owns_client:
            self._client.close()


def _read_by(resp: httpx.Response, deadline: float | None, request: Request) -> bytes:
    """The body of a response, its connection then released. Under a deadline it is read
    chunk by chunk and given up at the deadline (each wait is bounded by the read timeout,
    already cut to fit it); of an error status, only the first ``MAX_ERROR_BODY`` bytes are
    read, the connection closed on the rest."""
    limit = helpers.MAX_ERROR_BODY if resp.status_code >= 400 else None
    chunks = []
    size = 0
    try:
        if deadline is None and limit is None:
            return resp.read()
        if deadline is not None and time.monotonic() >= deadline:
            raise helpers.past_deadline(request)
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if deadline is not None and time.monotonic() >= deadline:
                raise helpers.past_deadline(request)
            if limit is not None and size > limit:
                break
    finally:
        resp.close()
    body = b"".join(chunks)
    return body if limit is None else body[:limit]


async def _aread(resp: httpx.Response) -> bytes:
    """:func:`_read_by` without a deadline (``asyncio.wait_for`` holds one), for an async
    response."""
    limit = helpers.MAX_ERROR_BODY if resp.status_code >= 400 else None
    chunks = []
    size = 0
    try:
        if limit is None:
            return await resp.aread()
        async for chunk in resp.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    finally:
        await resp.aclose()
    return b"".join(chunks)[:limit]


class _HttpxStream(helpers.StreamedBody):
    """A streamed body: httpx's decoded chunks, its errors mapped to the SDK's."""

    __slots__ = ()
    _resp: httpx.Response

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
        # OSError: the connection is already gone, nothing is blocked on it.
        with helpers.quietly("shutting down a streamed response"):
            sock.shutdown(socket.SHUT_RD)

    def close(self) -> None:
        with helpers.quietly("closing a streamed response"):
            self._resp.close()


# --- async ------------------------------------------------------------------------------------


class AsyncHttpxTransport(_HttpxTransportBase[httpx.AsyncClient]):
    """A :class:`replicate.AsyncTransport` over an ``httpx.AsyncClient``: the options of
    :class:`HttpxTransport`, awaited. ``client=`` takes your own ``httpx.AsyncClient``, which
    the transport never closes.

    A ``Timeout.deadline`` (a ``run(timeout=...)`` call's) ends the whole exchange at the
    deadline, however slowly the server answers. Like the httpx client under it, the transport
    belongs to the event loop it is first used in.
    """

    #: An httpx.AsyncClient's connections belong to one event loop (AsyncReplicate checks).
    loop_bound = True
    _client_class = httpx.AsyncClient
    _body = staticmethod(_async_body)

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        hx_request, deadline = self._start(request, timeout, stream)
        client = self._client
        with _Mapped(client, request, timeout):
            if stream:
                resp = await client.send(hx_request, stream=True, follow_redirects=False)
                return self._response(resp, request, None, _AsyncHttpxStream(resp, request))
            if deadline is None:
                resp, content = await _asend(client, hx_request)
            else:
                import asyncio  # loaded already, in a running loop; not at import (~20 ms)

                try:
                    # The whole exchange, to the end of the body, bounded by the deadline.
                    resp, content = await asyncio.wait_for(
                        _asend(client, hx_request), max(0.0, deadline - time.monotonic())
                    )
                except asyncio.TimeoutError as exc:  # the deadline's (httpx's are HTTPErrors)
                    raise helpers.past_deadline(request) from exc
        return self._response(resp, request, content, None)

    async def aclose(self) -> None:
        """Close the client the transport made (one passed as ``client=`` stays open); later
        sends raise ``ReplicateError``."""
        self._closed = True
        if self._owns_client:
            await self._client.aclose()


async def _asend(
    client: httpx.AsyncClient, hx_request: httpx.Request
) -> tuple[httpx.Response, bytes]:
    """Send and read the body (of an error, a bounded prefix: :func:`_aread`)."""
    resp = await client.send(hx_request, stream=True, follow_redirects=False)
    return resp, await _aread(resp)


class _AsyncHttpxStream(helpers.StreamedBody):
    """A streamed body read with ``await``: httpx's decoded chunks, its errors mapped."""

    __slots__ = ()
    _resp: httpx.Response

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Chunks as they arrive, decoded of any Content-Encoding."""
        try:
            async for chunk in self._resp.aiter_bytes(chunk_size):
                yield chunk
        except httpx.HTTPError as exc:
            raise _body_error(exc, self._request) from exc

    async def aclose(self) -> None:
        with helpers.quietly("closing a streamed response"):
            await self._resp.aclose()
