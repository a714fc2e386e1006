"""A native ``asyncio`` transport for ``replicate.AsyncReplicate``, over aiohttp.

Installed, it registers the async transport ``"aiohttp"``::

    async with replicate.AsyncReplicate(transport="aiohttp") as client:
        prediction = await client.predictions.get(prediction_id="...")

One ``aiohttp.ClientSession`` per client, made inside the running event loop on the first
request and closed with the client (``await client.close()`` or ``async with``). Like every
aiohttp session it belongs to that event loop: using the client from another loop is a
RuntimeError saying so (``AsyncReplicate`` checks; ``loop_bound = True``).

``AiohttpTransport(session=my_session)`` sends through a session of your own instead, with its
connector, TLS settings, proxies, ``trust_env`` and default headers as you set them; the
transport never closes it.

Every send is one exchange (``allow_redirects=False``); the SDK's core does the retries,
redirects and auth. Bodies are decoded of their Content-Encoding (``auto_decompress``).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn

import aiohttp

from replicate import Request, Response, Timeout, connection_error, hookimpl
from replicate.transports import helpers

if TYPE_CHECKING:
    from collections.abc import Callable

    from replicate import ClientConfig

__all__ = ["AiohttpTransport", "replicate_register_transports"]

#: Connections open at once, at least (aiohttp's default limit): ``pool_maxsize`` if larger.
DEFAULT_LIMIT = 100
# aiohttp 3.10 split ServerTimeoutError into connect and read timeouts.
_ConnectTimeout: Any = getattr(aiohttp, "ConnectionTimeoutError", None)


class AiohttpTransport:
    """A :class:`replicate.AsyncTransport` over one :class:`aiohttp.ClientSession`.

    ``session``: a session of your own, used as it is and never closed by the transport (then
    ``verify``, ``proxy``, ``limit`` and ``trust_env`` may not be given: set them on the
    session). Without one, the transport makes its own in the event loop of its first send:
    ``verify`` (True, False, a CA bundle path or an ``ssl.SSLContext``), ``proxy`` (one proxy
    URL for every request; None: ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, unless
    ``trust_env`` is False), at most ``limit`` connections open at once.
    """

    name = "aiohttp"
    #: The session belongs to the event loop it was made in.
    loop_bound = True

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        proxy: str | None = None,
        limit: int = DEFAULT_LIMIT,
        trust_env: bool = True,
    ) -> None:
        if session is not None:
            if not isinstance(session, aiohttp.ClientSession):
                raise TypeError(
                    f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
                )
            if verify is not True or proxy is not None or limit != DEFAULT_LIMIT or not trust_env:
                raise TypeError(
                    "AiohttpTransport(session=...) uses the session's own settings: set TLS, "
                    "proxies and limits on the session and its connector instead"
                )
        self._limit = helpers.check_positive("limit", limit)
        self._session = session
        self.owns_session = session is None
        # aiohttp's own default for True.
        self._ssl = True if verify is True else helpers.ssl_context(verify)
        # Environment proxies are looked up here, not through aiohttp's trust_env, which would
        # also read ~/.netrc on every request (in a thread) and clash with the SDK's auth.
        self._proxies = helpers.ProxyChoice(proxy, trust_env=trust_env)
        #: Whether a request may go through a proxy the transport chooses (its own session).
        self._proxied = self.owns_session and self._proxies.active
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._closed = False

    @classmethod
    def from_config(cls, config: ClientConfig) -> AiohttpTransport:
        """The transport ``AsyncReplicate(transport="aiohttp")`` uses: a session of its own with
        the client's ``verify`` and ``proxy``, at most ``max(100, pool_maxsize)`` connections."""
        return cls(
            verify=config.verify, proxy=config.proxy, limit=max(DEFAULT_LIMIT, config.pool_maxsize)
        )

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session: yours, or the transport's own once its first send made it."""
        return self._session

    def _open(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl)
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return session

    def _timeout(self, timeout: Timeout, total: float | None) -> aiohttp.ClientTimeout:
        if total is not None:
            return aiohttp.ClientTimeout(
                total=total, sock_connect=timeout.connect, sock_read=timeout.read
            )
        key = (timeout.connect, timeout.read)
        value = self._timeouts.get(key)
        if value is None:
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            value = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, sock_connect=timeout.connect, sock_read=timeout.read
            )
        return value

    async def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            from replicate import ReplicateError

            raise ReplicateError("this client's transport (aiohttp) is closed")
        total = helpers.time_left(request, None if stream else timeout.deadline)
        session = self._session or self._open()
        content = request.content
        # Keywords given one by one (no dict built and unpacked), a body or proxy only if any.
        extra: dict[str, Any] = {}
        if content is not None:
            extra["data"] = _body(content)
        if self._proxied:
            proxy = self._proxies.for_url(request.url)
            if proxy is not None:
                extra["proxy"] = proxy
        try:
            resp = await session.request(
                request.method,
                request.url,
                headers=request.headers.to_dict(),
                allow_redirects=False,
                timeout=self._timeout(timeout, total),
                **extra,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _raise_mapped(exc, request, timeout, total)
        body = None
        if not stream:
            try:
                # a success's body read directly: one coroutine less on every get
                body = await (resp.read() if resp.status < 400 else _read(resp))
            except asyncio.CancelledError:
                resp.close()
                raise
            except Exception as exc:
                resp.close()
                _raise_body_error(exc, request, total)
            resp.release()
        version = resp.version
        return Response(
            resp.status,
            headers=_headers(resp.headers),
            content=body,
            stream=_AiohttpStream(resp, request) if stream else None,
            request=request,
            http_version="HTTP/1.1" if version is None else _version(version),
        )

    async def aclose(self) -> None:
        """Stop sending; the transport's own session is closed (one of yours is not)."""
        self._closed = True
        session = self._session
        if self.owns_session and session is not None and not session.closed:
            await session.close()

    def __repr__(self) -> str:
        return f"AiohttpTransport(owns_session={self.owns_session})"


async def _read(resp: aiohttp.ClientResponse) -> bytes:
    """The whole body; of an error status, only its first ``MAX_ERROR_BODY`` bytes, the
    connection closed on the rest (never drained)."""
    if resp.status < 400:
        return await resp.read()
    limit = helpers.MAX_ERROR_BODY
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            resp.close()
            break
    return b"".join(parts)[:limit]


class _AiohttpStream(helpers.StreamedBody):
    """The unread body of an aiohttp response: an AsyncByteStream."""

    __slots__ = ()
    _resp: aiohttp.ClientResponse

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """Chunks as they arrive, decoded: with no ``chunk_size``, whatever has arrived (for
        SSE), else ``chunk_size`` bytes at a time (the last may be shorter)."""
        content = self._resp.content
        chunks = content.iter_any() if chunk_size is None else content.iter_chunked(chunk_size)
        try:
            async for chunk in chunks:
                yield chunk
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _raise_body_error(exc, self._request, None)

    async def aclose(self) -> None:
        resp = self._resp
        with helpers.quietly("closing a streamed response"):
            if resp.content.at_eof():
                resp.release()
            else:  # a body left unread can't be reused on a keep-alive connection
                resp.close()


_VERSIONS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0", (2, 0): "HTTP/2"}


def _version(version: tuple[int, int]) -> str:
    """httpx's spelling of aiohttp's ``HttpVersion`` (a named ``(major, minor)`` tuple)."""
    return _VERSIONS.get(version) or f"HTTP/{version[0]}.{version[1]}"


def _keys_are_unique() -> bool:
    from multidict import CIMultiDict

    return len(CIMultiDict([("a", "1"), ("A", "2")]).keys()) == 1


#: Whether a multidict's ``keys()`` holds each name once (multidict 6.1 and later), so that
#: ``len(keys()) < len()`` tells repeated headers apart cheaply.
_UNIQUE_KEYS = _keys_are_unique()


def _headers(raw: Any) -> Any:
    """The response headers; repeated ones merged into one comma-separated value, as urllib3
    and httpx give them (aiohttp's multidict would give the first only)."""
    if _UNIQUE_KEYS:
        if len(raw) == len(raw.keys()):  # len() counts every item, keys() each name once
            return raw  # a case-insensitive mapping already
    elif len(raw) == len({k.lower() for k in raw}):
        return raw
    return helpers.merged_headers(raw.items())


def _body(content: Any) -> Any:
    if isinstance(content, (bytes, bytearray)) or hasattr(content, "read"):
        return content
    return helpers.aiter_chunks(content)


def _raise_mapped(
    exc: Exception, request: Request, timeout: Timeout, total: float | None
) -> NoReturn:
    """Raise the SDK's error for what aiohttp raised; anything else is raised as it is."""
    if isinstance(exc, aiohttp.ClientConnectorError) or (
        _ConnectTimeout is not None and isinstance(exc, _ConnectTimeout)
    ):
        timed_out = isinstance(exc, asyncio.TimeoutError) or isinstance(
            getattr(exc, "os_error", None), (asyncio.TimeoutError, TimeoutError)
        )
        raise helpers.connect_error(request, str(exc), timeout=timed_out) from exc
    if isinstance(exc, aiohttp.ServerTimeoutError):
        if _ConnectTimeout is None and str(exc).startswith("Connection timeout"):
            # aiohttp < 3.10
            raise helpers.connect_error(request, "timed out", timeout=True) from exc
        raise helpers.read_timeout_error(request, timeout) from exc
    if isinstance(exc, asyncio.TimeoutError):
        raise (
            helpers.past_deadline(request)
            if total is not None
            else connection_error(
                f"Timed out talking to {helpers.origin(request.url)}",
                request,
                sent=True,
                timeout=True,
            )
        ) from exc
    if isinstance(exc, (aiohttp.ClientError, OSError)) and not isinstance(exc, ValueError):
        raise helpers.exchange_error(request, str(exc) or type(exc).__name__) from exc
    raise exc


def _raise_body_error(exc: Exception, request: Request, total: float | None) -> NoReturn:
    if isinstance(exc, asyncio.TimeoutError):
        if total is not None and not isinstance(exc, aiohttp.ServerTimeoutError):
            raise helpers.past_deadline(request) from exc
        raise helpers.body_timeout_error(request) from exc
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        raise helpers.body_broken_error(request, str(exc) or type(exc).__name__) from exc
    raise exc


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("aiohttp", AiohttpTransport.from_config, sync=False, async_=True)
