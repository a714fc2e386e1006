"""The default transport: urllib3, one pool manager per client, no retries, no redirects.

Imported only when a client that uses it is built; ``import replicate`` never loads urllib3.
"""

from __future__ import annotations

import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.url import parse_url

from .._http import MAX_ERROR_BODY, Request, Response, Timeout
from . import helpers

if TYPE_CHECKING:
    from .._config import ClientConfig

_NO_RETRIES = urllib3.Retry(total=False, redirect=False, raise_on_redirect=False)

# A request target (path and query) that urllib3's URL parsing leaves exactly as it is: only
# characters it never encodes, percent-escapes already in upper case, no fragment. Such a target
# goes straight to its origin's connection pool (see ``Urllib3Transport._direct``). Checked
# with ``str.translate`` rather than a regular expression, whose compiling would cost a new
# process a third of a millisecond before its first request, and whose matching is slower.
_DROP_PLAIN = str.maketrans("", "", string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?")
_HEX = frozenset("0123456789ABCDEF")


def _plain_target(target: str) -> bool:
    if target[:1] != "/":
        return False
    rest = target.translate(_DROP_PLAIN)
    if not rest:
        return True
    if rest.strip("%"):
        return False
    return all(len(p) >= 2 and p[0] in _HEX and p[1] in _HEX for p in target.split("%")[1:])


class Urllib3Transport:
    """A :class:`replicate.SyncTransport` over urllib3.

    - one ``PoolManager`` (and one ``ProxyManager`` per proxy in use), safe to share across
      threads; ``pool_maxsize`` connections kept per host (32 by default, so 16 threads on one
      client never see "connection pool is full");
    - ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` are honoured unless an explicit
      ``proxy`` is given;
    - ``verify``: True (system CAs), False, a CA bundle path or an ``ssl.SSLContext``.
    """

    name = "urllib3"

    def __init__(
        self,
        *,
        verify: Any = True,
        proxy: str | None = None,
        pool_maxsize: int = 32,
        num_pools: int = 10,
        trust_env: bool = True,
    ) -> None:
        pool_kw: dict[str, Any] = {"maxsize": pool_maxsize, "block": False}
        if verify is False:
            pool_kw["cert_reqs"] = "CERT_NONE"
        elif isinstance(verify, str):
            pool_kw["ca_certs"] = verify
        elif verify is not True:
            pool_kw["ssl_context"] = verify
        self._pool_kw = pool_kw
        self._num_pools = num_pools
        #: Whether TLS certificates go unchecked (``verify=False``). The client warns once when
        #: it is built; urllib3's own warning, which would come with every request, is not made.
        self.insecure = verify is False
        self._pool = _watched(
            urllib3.PoolManager(num_pools=num_pools, **pool_kw), insecure=self.insecure
        )
        self._proxies = helpers.ProxyChoice(proxy, trust_env=trust_env)
        self._proxied = self._proxies.active
        self._proxy_managers: dict[str, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()
        self._closed = False
        #: urllib3 Timeouts by (connect, read), made once: urllib3 copies the one it is given.
        self._timeouts: dict[tuple[float | None, float | None], urllib3.Timeout] = {}
        #: The pool manager's pool of each origin (``scheme://host:port``) sent to, or None for
        #: one that must go through the manager (see ``_direct``).
        self._origins: dict[str, HTTPConnectionPool | None] = {}

    @classmethod
    def from_config(cls, config: ClientConfig) -> Urllib3Transport:
        return cls(verify=config.verify, proxy=config.proxy, pool_maxsize=config.pool_maxsize)

    def _manager(self, url: str) -> urllib3.PoolManager:
        if not self._proxied:
            return self._pool
        proxy_url = self._proxies.for_url(url)
        if proxy_url is None:
            return self._pool
        manager = self._proxy_managers.get(proxy_url)
        if manager is None:
            with self._lock:
                manager = self._proxy_managers.get(proxy_url)
                if manager is None:
                    manager = _proxy_manager(
                        proxy_url, self._num_pools, self._pool_kw, insecure=self.insecure
                    )
                    self._proxy_managers[proxy_url] = manager
        return manager

    def _direct(self, url: str) -> tuple[HTTPConnectionPool | None, str]:
        """The pool and request target of ``url`` when the manager's routing can be skipped.

        ``PoolManager.urlopen`` parses every URL, looks its pool up by a normalised key and
        sends the request target it parsed: about 100,000 of the 800,000 instructions of a
        keep-alive GET here (valgrind). Without a proxy, the pool depends only on the origin,
        so it is looked up once per origin (the manager still owns it, and closes it if it
        evicts it: a closed pool is looked up again); the target is sent as it is when parsing
        would leave it as it is (``_plain_target``, no dot segments). Anything else goes
        through the manager."""
        start = url.find("://") + 3
        slash = url.find("/", start)
        if start < 3 or slash < 0:
            return None, ""
        origin = url[:slash]
        origins = self._origins
        pool: Any = origins.get(origin, _UNSEEN)
        if pool is _UNSEEN or (pool is not None and pool.pool is None):
            pool = self._origin_pool(origin)
        if pool is None:
            return None, ""
        target = url[slash:]
        if not _plain_target(target) or "/." in target.partition("?")[0]:
            return None, ""
        return pool, target

    def _origin_pool(self, origin: str) -> HTTPConnectionPool | None:
        pool: HTTPConnectionPool | None = None
        if not any(c in origin for c in "?#@\\") and origin[: origin.find(":")] in _SCHEMES:
            try:
                u = parse_url(origin)
            except ValueError:  # LocationParseError: the manager raises it for the request
                u = None
            if u is not None and u.host:
                pool = self._pool.connection_from_host(u.host, port=u.port, scheme=u.scheme)
        if len(self._origins) >= 2 * self._num_pools:
            self._origins.clear()
        self._origins[origin] = pool
        return pool

    def send(self, request: Request, *, timeout: Timeout, stream: bool = False) -> Response:
        if self._closed:
            # urllib3 would quietly open new pools; copies of a closed client must not.
            from ..exceptions import ReplicateError

            raise ReplicateError("this client's connection pool is closed")
        # A whole-exchange deadline is held by a watch that ends the connection at it (not for
        # a stream: its reader checks the deadline between chunks, within its read timeout).
        watch = None if stream or timeout.deadline is None else _Watch(timeout.deadline)
        try:
            if watch is not None:
                _local.watch = watch
                watch.start()
            url = request.url
            pool, target = (None, "") if self._proxied else self._direct(url)
            kw: dict[str, Any] = {
                "body": request.content,
                "headers": request.headers.to_dict(),
                "retries": _NO_RETRIES,
                "redirect": False,
                "assert_same_host": False,
                "timeout": self._urllib3_timeout(timeout),
                "preload_content": False,
                "decode_content": True,
                "chunked": _needs_chunked(request),
            }
            resp = None
            if pool is not None:
                try:
                    resp = pool.urlopen(request.method, target, **kw)
                except ClosedPoolError:  # evicted by the manager meanwhile: nothing was sent
                    self._origins.pop(url[: len(url) - len(target)], None)
            if resp is None:
                resp = self._manager(url).urlopen(request.method, url, **kw)
            content = None if stream else _read_content(resp)
        except Exception as exc:
            if watch is not None and watch.expired and not isinstance(exc, ConnectTimeoutError):
                raise helpers.past_deadline(request) from exc
            self._raise_mapped(exc, request, timeout)
        finally:
            if watch is not None:
                watch.stop()
                _local.watch = None
        if watch is not None and watch.cut:
            # Cut mid-answer: what urllib3 parsed (a status line, no body) is not the answer.
            resp.release_conn()
            raise helpers.past_deadline(request)
        return Response(
            resp.status,
            headers=resp.headers,
            content=content,
            stream=_Urllib3Stream(resp, request) if stream else None,
            request=request,
            # 20 only when urllib3's experimental HTTP/2 support has been injected.
            http_version=helpers.http_version(resp.version),
        )

    def _urllib3_timeout(self, timeout: Timeout) -> urllib3.Timeout:
        key = (timeout.connect, timeout.read)
        made = self._timeouts.get(key)
        if made is None:
            if len(self._timeouts) >= 64:  # deadlines cut timeouts to ever new values
                self._timeouts.clear()
            made = self._timeouts[key] = urllib3.Timeout(connect=key[0], read=key[1])
        return made

    @staticmethod
    def _raise_mapped(exc: Exception, request: Request, timeout: Timeout) -> NoReturn:
        """Raise the SDK's error for what urllib3 raised (anything else is raised as it is)."""
        try:
            raise exc
        except ConnectTimeoutError as exc:  # includes NewConnectionError and DNS failures
            timed_out = not isinstance(exc, NewConnectionError)
            raise helpers.connect_error(
                request, helpers.error_text(exc), timeout=timed_out
            ) from exc
        except ReadTimeoutError as exc:
            raise helpers.read_timeout_error(request, timeout) from exc
        except ProxyError as exc:
            original = getattr(exc, "original_error", None)
            raise helpers.proxy_error(
                request,
                helpers.error_text(original or exc),
                sent=not isinstance(original, (NewConnectionError, ConnectTimeoutError)),
                timeout=isinstance(original, ConnectTimeoutError)
                and not isinstance(original, NewConnectionError),
            ) from exc
        except SSLError as exc:
            raise helpers.tls_error(
                request, helpers.error_text(exc), sent=not helpers.during_tls_handshake(exc)
            ) from exc
        except (ProtocolError, HTTPError) as exc:
            raise helpers.exchange_error(request, helpers.error_text(exc)) from exc
        except OSError as exc:
            raise helpers.exchange_error(request, str(exc)) from exc

    def close(self) -> None:
        self._closed = True
        self._origins.clear()
        self._pool.clear()
        with self._lock:
            for manager in self._proxy_managers.values():
                manager.clear()
            self._proxy_managers.clear()

    def __repr__(self) -> str:
        return "Urllib3Transport()"


_SCHEMES = frozenset({"http", "https"})
_UNSEEN = object()


class _Urllib3Stream(helpers.StreamedBody):
    __slots__ = ("max_read",)
    _resp: urllib3.BaseHTTPResponse

    def __init__(self, resp: Any, request: Request) -> None:
        super().__init__(resp, request)
        #: The largest read of ``iter_bytes()`` without a ``chunk_size``: 64 KiB, unless the
        #: core asks for more (``Response._prefer_large_reads``, for a download to disk).
        self.max_read = helpers.CHUNK

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Chunks as they arrive: with no ``chunk_size``, whatever the socket has (for SSE)."""
        resp = self._resp
        try:
            if chunk_size is None and hasattr(resp, "read1"):
                read1 = resp.read1
                if (resp.headers.get("content-encoding") or "identity").lower() == "identity":
                    # Nothing to decode: the bytes as read, not copied through urllib3's queue
                    # of decoded bytes (a copy of every read that comes back short).
                    read1 = partial(resp.read1, decode_content=False)
                yield from _iter_read1(read1, self.max_read)
            else:
                yield from resp.stream(chunk_size or helpers.CHUNK)
        except ReadTimeoutError as exc:
            raise helpers.body_timeout_error(self._request) from exc
        except (ProtocolError, HTTPError, OSError) as exc:
            raise helpers.body_broken_error(self._request, helpers.error_text(exc)) from exc

    def shutdown(self) -> None:
        """End a read blocked in another thread (the socket is shut for reading; ``close``
        still releases it): for a reader that has stopped waiting."""
        resp = self._resp
        # An error: the connection is already gone, nothing is blocked on it.
        with helpers.quietly("shutting down a streamed response"):
            if hasattr(resp, "shutdown"):  # urllib3 2.3 and later
                resp.shutdown()
            else:  # pragma: no cover - older urllib3 2.x
                sock = getattr(getattr(resp, "connection", None), "sock", None)
                if sock is not None:
                    sock.shutdown(socket.SHUT_RD)

    def close(self) -> None:
        resp = self._resp
        with helpers.quietly("closing a streamed response"):
            if resp.isclosed() if hasattr(resp, "isclosed") else False:
                resp.release_conn()
            else:
                # A body left unread can't be reused on a keep-alive connection.
                resp.close()
                resp.release_conn()


# --- whole-exchange deadlines ----------------------------------------------------------------
#
# urllib3's timeouts bound each socket operation, not an exchange. A request whose Timeout has a
# deadline is sent under a _Watch: a timer that, at the deadline, shuts down the socket of the
# connection the request is using, which ends whatever blocking send or receive is under way.
# The connection registers with the watch of its thread when the request starts on it; it is
# released from the watch (under _OWNERSHIP) before it goes back to the pool, so a late timer
# can never touch a connection that another request may be using. Without a deadline none of
# this runs, beyond one thread-local look-up per request.

_local = threading.local()
_OWNERSHIP = threading.Lock()


class _Watch:
    __slots__ = ("conn", "cut", "expired", "timer")

    def __init__(self, deadline: float) -> None:
        self.conn: _WatchedConnection | None = None
        self.expired = False  # the deadline has passed
        self.cut = False  # ... and the exchange was under way: its connection was shut down
        # (At most TIMEOUT_MAX, about 292 years: a longer wait overflows in the timer's thread.)
        wait = min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX)
        self.timer = threading.Timer(wait, self._expire)
        self.timer.daemon = True

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.cancel()

    def _expire(self) -> None:
        with _OWNERSHIP:
            self.expired = True
            conn = self.conn
            if conn is None or conn.watch is not self or conn.sock is None:
                return
            self.cut = True
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _WatchedConnection:
    """Mixed into urllib3's connection classes: a request started on the connection joins its
    thread's watch, if there is one."""

    watch: _Watch | None = None
    sock: Any

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch: _Watch | None = getattr(_local, "watch", None)
        if watch is not None:
            with _OWNERSHIP:
                self.watch = watch
                watch.conn = self
                expired = watch.expired
            if expired:  # the deadline passed before anything was sent on this connection
                raise TimeoutError("the deadline passed before the request was sent")
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool:
    """Mixed into urllib3's pools: a connection leaves its watch before it is pooled again."""

    def _put_conn(self, conn: Any) -> None:
        if conn is not None and getattr(conn, "watch", None) is not None:
            with _OWNERSHIP:
                conn.watch = None
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_WatchedPool, HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _UnverifiedHTTPSPool(_HTTPSPool):
    """The pool of a ``verify=False`` transport: as urllib3's, without its
    InsecureRequestWarning on every request (the client warned once, when it was built)."""

    def _validate_conn(self, conn: Any) -> None:
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


_M = TypeVar("_M", bound=urllib3.PoolManager)


def _watched(manager: _M, *, insecure: bool = False) -> _M:
    https = _UnverifiedHTTPSPool if insecure else _HTTPSPool
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": https}
    return manager


def _proxy_manager(
    proxy_url: str, num_pools: int, pool_kw: dict[str, Any], *, insecure: bool = False
) -> urllib3.ProxyManager:
    """A ProxyManager; credentials in the proxy URL (``http://user:pw@proxy:3128``) become a
    ``Proxy-Authorization`` header, which urllib3 does not derive from the URL itself."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(proxy_url)
    headers = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=credentials)
        host = parts.netloc.rpartition("@")[2]
        proxy_url = parts._replace(netloc=host).geturl()
    return _watched(
        urllib3.ProxyManager(proxy_url, num_pools=num_pools, proxy_headers=headers, **pool_kw),
        insecure=insecure,
    )


def _read_content(resp: urllib3.BaseHTTPResponse) -> bytes:
    """The whole body; of an error status, at most ``MAX_ERROR_BODY`` bytes, the connection
    closed rather than drained when there is more (a multi-gigabyte error page stays unread)."""
    if resp.status < 400:
        return resp.data
    data = resp.read(MAX_ERROR_BODY + 1)
    if len(data) > MAX_ERROR_BODY:
        resp.close()
        data = data[:MAX_ERROR_BODY]
    resp.release_conn()
    return data


def _iter_read1(read1: Callable[[int], bytes], largest: int) -> Iterator[bytes]:
    """What has arrived, read by read: reads start at ``helpers.CHUNK`` and double while they
    come back full, up to ``largest`` (a download at full speed: 64 KiB reads cost it about half
    its speed in calls), and halve again when they come back mostly empty (small SSE events,
    for which a large read buffer costs more than it brings)."""
    size = smallest = min(helpers.CHUNK, largest)
    while True:
        chunk = read1(size)
        if not chunk:
            return
        yield chunk
        got = len(chunk)
        if got == size:
            if size < largest:
                size = min(size * 2, largest)
        elif got < size >> 2 and size > smallest:
            size >>= 1


def _needs_chunked(request: Request) -> bool:
    content = request.content
    if content is None or isinstance(content, bytes) or hasattr(content, "read"):
        return False
    return "content-length" not in request.headers
