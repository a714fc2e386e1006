"""For transport authors: the pieces of the transport contract that every transport repeats,
whatever library it sends through, written once (see :class:`replicate.SyncTransport` for the
contract itself).

- the SDK's errors, worded alike across transports: :func:`connect_error` (``request_sent``
  False), :func:`read_timeout_error`, :func:`exchange_error`, :func:`proxy_error`,
  :func:`tls_error`, :func:`body_timeout_error`, :func:`body_broken_error` and
  :func:`past_deadline`; :func:`origin` (a URL's scheme, host and port, never its credentials)
  and :func:`error_text` (urllib3's reason, without its connection object) for their messages,
  :func:`during_tls_handshake` for a TLS error's ``request_sent``;
- deadlines: :func:`time_left` (raising when the deadline has passed before a send) and
  :func:`cut_to_deadline` (the connect and read timeouts cut to the time left);
- :class:`ProxyChoice`: the proxy a request goes through, the given one or the environment's
  (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``);
- the exchange: :func:`ssl_context` (``verify`` as an ``ssl.SSLContext``),
  :func:`check_positive` (pool sizes), :func:`iter_reads` and :func:`aiter_chunks` (request
  bodies), :func:`merged_headers` (a header received more than once, joined) and
  :func:`http_version`;
- streamed bodies: :class:`StreamedBody`, a base holding the library's response and the SDK's
  request, and :func:`quietly` for the closing that must never raise;
- :data:`MAX_ERROR_BODY`: how much of an error status's body a transport need read.

Nothing here does I/O or imports an HTTP library, and ``import replicate`` never loads it: a
transport does, ``from replicate.transports import helpers``.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._http import MAX_ERROR_BODY, Headers, Request, Timeout, connection_error

if TYPE_CHECKING:
    from ..exceptions import APIConnectionError

__all__ = [
    "CHUNK",
    "MAX_ERROR_BODY",
    "ProxyChoice",
    "StreamedBody",
    "aiter_chunks",
    "body_broken_error",
    "body_timeout_error",
    "check_positive",
    "connect_error",
    "cut_to_deadline",
    "during_tls_handshake",
    "error_text",
    "exchange_error",
    "http_version",
    "iter_reads",
    "merged_headers",
    "origin",
    "past_deadline",
    "proxy_error",
    "quietly",
    "read_timeout_error",
    "ssl_context",
    "time_left",
    "tls_error",
]

log = logging.getLogger("replicate")

#: The size of the chunks the built-in transports read and send at a time.
CHUNK = 64 * 1024


# --- errors -------------------------------------------------------------------------------------


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, with any credentials left out: what an error
    message may say of where a request went."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def _error(
    request: Request, before: str, after: str = "", *, sent: bool, timeout: bool = False
) -> APIConnectionError:
    """The SDK's error for ``request``, its message ``before``, the origin, then ``after``."""
    message = f"{before}{origin(request.url)}{after}"
    return connection_error(message, request, sent=sent, timeout=timeout)


def connect_error(request: Request, detail: str, *, timeout: bool = False) -> APIConnectionError:
    """No connection could be made (refused, DNS, a connect timeout when ``timeout``): the
    server never saw the request (``request_sent=False``)."""
    return _error(request, "Could not connect to ", f": {detail}", sent=False, timeout=timeout)


def read_timeout_error(request: Request, timeout: Timeout) -> APIConnectionError:
    """A wait for the answer outlasted ``timeout.read``, after the request was sent."""
    after = f" (read timeout {timeout.read} s)"
    return _error(request, "Timed out reading from ", after, sent=True, timeout=True)


def exchange_error(request: Request, detail: str) -> APIConnectionError:
    """The connection failed once the request may have gone out (``request_sent=True``)."""
    return _error(request, "Connection to ", f" failed: {detail}", sent=True)


def proxy_error(
    request: Request, detail: str, *, sent: bool = True, timeout: bool = False
) -> APIConnectionError:
    """The proxy failed the request; ``sent=False`` when it surely never reached the proxy
    (it could not be connected to)."""
    return _error(request, "Proxy error for ", f": {detail}", sent=sent, timeout=timeout)


def tls_error(request: Request, detail: str, *, sent: bool) -> APIConnectionError:
    """A TLS failure; ``sent=False`` when it came in the handshake
    (:func:`during_tls_handshake`)."""
    return _error(request, "TLS error with ", f": {detail}", sent=sent)


def body_timeout_error(request: Request) -> APIConnectionError:
    """A read of the response body outlasted the read timeout."""
    return _error(request, "Timed out reading the body from ", sent=True, timeout=True)


def body_broken_error(request: Request, detail: str) -> APIConnectionError:
    """The connection broke while the response body was read (a reset, a short body, bad
    compressed data)."""
    after = f" broke while reading the body: {detail}"
    return _error(request, "Connection to ", after, sent=True)


def past_deadline(request: Request, *, sent: bool = True) -> APIConnectionError:
    """The APITimeoutError of a ``Timeout.deadline`` (a run's ``timeout=``): with ``sent`` the
    exchange was cut off at it, else it had passed before the request was sent."""
    if not sent:
        before, after = "The deadline for the request to ", " passed before it was sent"
    else:
        before = "The exchange with "
        after = " did not finish by its deadline (a run's timeout=); its connection was closed"
    return _error(request, before, after, sent=sent, timeout=True)


def error_text(exc: BaseException) -> str:
    """What went wrong, for a message: the ``reason`` of a urllib3 error (or the message of a
    ``ConnectTimeoutError(conn, message)``, whose ``str()`` is the tuple's repr), without the
    connection object's repr urllib3 puts in front."""
    reason = getattr(exc, "reason", None)
    if reason is None and len(exc.args) > 1 and isinstance(exc.args[-1], str):
        reason = exc.args[-1]
    text = str(reason if reason is not None else exc)
    if "): " in text:
        text = text.split("): ", 1)[1]
    return text


def during_tls_handshake(exc: BaseException) -> bool:
    """Whether a TLS error surely came before the request was written: a certificate that
    failed verification, or an error raised inside the handshake, anywhere in what ``exc``
    wraps (its arguments, cause, context and ``reason``). A TLS error while reading the answer
    (a corrupt record) comes after the server may have acted on the request."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ssl.SSLCertVerificationError):
            return True
        if type(err).__name__ == "CertificateError":  # urllib3's hostname mismatch
            return True
        tb = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name == "do_handshake":
                return True
            tb = tb.tb_next
        todo.extend(a for a in err.args if isinstance(a, BaseException))
        for linked in (err.__cause__, err.__context__, getattr(err, "reason", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)
    return False


# --- deadlines ----------------------------------------------------------------------------------


def time_left(request: Request, deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (a ``time.monotonic()`` reading; None: no deadline,
    None back). A deadline already passed raises :func:`past_deadline` (``request_sent``
    False): call it before sending."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise past_deadline(request, sent=False)
    return left


def cut_to_deadline(timeout: Timeout) -> tuple[float | None, float | None]:
    """``timeout.connect`` and ``timeout.read``, each cut to the time left before
    ``timeout.deadline`` when there is one (0.0 once it has passed): for a library that has no
    whole-exchange timeout of its own."""
    connect, read = timeout.connect, timeout.read
    deadline = timeout.deadline
    if deadline is not None:
        left = max(0.0, deadline - time.monotonic())
        connect = left if connect is None else min(connect, left)
        read = left if read is None else min(read, left)
    return connect, read


# --- proxies ------------------------------------------------------------------------------------


def _environment_proxies() -> dict[str, str]:
    """The environment's proxies as urllib reads them. ``urllib.request`` costs a first client
    about 2 ms to import, so it is imported only when some ``*_proxy`` variable is set (without
    one, urllib finds none either)."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return {}
    import urllib.request

    return urllib.request.getproxies_environment()


class ProxyChoice:
    """The proxy each request goes through: ``proxy`` when one is given, else the
    environment's (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, read once, as urllib reads
    them; none for a host ``NO_PROXY`` names), unless ``trust_env`` is False. A proxy without a
    scheme is ``http://``. Choices are kept per scheme and host."""

    __slots__ = ("_choices", "environment", "proxy")

    #: Choices kept at most (downloads from many hosts): then they are made afresh.
    MAX_KEPT = 256

    def __init__(self, proxy: str | None = None, *, trust_env: bool = True) -> None:
        self.proxy = proxy
        #: The environment's proxies by scheme ("all" and "no" too): empty when not consulted.
        self.environment: dict[str, str] = (
            _environment_proxies() if trust_env and proxy is None else {}
        )
        self._choices: dict[tuple[str, str], str | None] = {}

    @property
    def active(self) -> bool:
        """Whether any request may go through a proxy (else :meth:`for_url` is always None)."""
        return self.proxy is not None or bool(self.environment)

    def for_url(self, url: str) -> str | None:
        """The proxy URL for a request to ``url``, or None to connect directly."""
        if self.proxy is not None or not self.environment:
            return self.proxy
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        key = (scheme.lower(), host.lower())
        try:
            return self._choices[key]
        except KeyError:
            pass
        proxies = self.environment
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        import urllib.request  # loaded by _environment_proxies already

        bypass: Callable[..., bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        proxy: str | None
        if bypass(hostname, proxies):
            proxy = None
        else:
            proxy = proxies.get(key[0]) or proxies.get("all") or None
            if proxy and "://" not in proxy:
                proxy = "http://" + proxy
        if len(self._choices) >= self.MAX_KEPT:
            self._choices.clear()
        self._choices[key] = proxy
        return proxy


# --- the exchange -------------------------------------------------------------------------------


def ssl_context(verify: Any) -> ssl.SSLContext | bool:
    """A transport's ``verify`` option as a library takes it: True the system's CAs (a default
    context, which honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``), a path a context loading that
    CA bundle (a file) or folder, False and an ``ssl.SSLContext`` as they are."""
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


def check_positive(name: str, value: object) -> int:
    """``value`` when it is a positive integer (a pool size, a connection limit), else
    ValueError naming the option ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def iter_reads(read: Callable[[int], bytes], size: int = CHUNK) -> Iterator[bytes]:
    """``read(size)`` called until it gives nothing: a file's chunks (``iter_reads(file.read)``)
    or a body's as they arrive (``iter_reads(raw.read1)``)."""
    while True:
        chunk = read(size)
        if not chunk:
            return
        yield chunk


def read_body(content: object) -> bytes | None:
    """A request body (a :data:`~replicate.Body`) read whole, as a transport would send it, for
    one that answers without a network (a mock, an emulator): bytes, a binary file read from
    where it stands to its end, or an iterable's chunks joined (a one-shot iterator is
    consumed, as sending consumes it). None stays None; a str or a text file is a TypeError."""
    if content is None or isinstance(content, bytes):
        return content
    if isinstance(content, (bytearray, memoryview)):
        return bytes(content)
    read = getattr(content, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes):
            raise TypeError(f"a file body must be opened in binary mode, got {type(data).__name__}")
        return data
    if isinstance(content, str):
        raise TypeError("a request body must be bytes, a binary file or an iterable of bytes")
    return b"".join(bytes(chunk) for chunk in content)  # type: ignore[attr-defined]


async def aiter_chunks(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """A sync iterable of chunks (a request body) as the async iterable an async library
    streams, read with plain calls as the :class:`replicate.AsyncTransport` contract says."""
    for chunk in chunks:
        yield bytes(chunk)


def merged_headers(items: Iterable[tuple[str, str]]) -> Headers:
    """Response headers from ``(name, value)`` pairs, a header received more than once joined
    into one value with ``", "`` in the order received, under the first name's spelling (as
    urllib3 and httpx give them; aiohttp's multidict would give the first only)."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in items:
        key = name.lower()
        seen = merged.get(key)
        merged[key] = (name, value) if seen is None else (seen[0], f"{seen[1]}, {value}")
    return Headers(merged.values())


_HTTP_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}


def http_version(version: int | None) -> str:
    """``Response.http_version`` for a version number as urllib3 and http.client give it (10,
    11, 20); "HTTP/1.1" for anything else."""
    return _HTTP_VERSIONS.get(version or 11, "HTTP/1.1")


# --- streamed bodies ----------------------------------------------------------------------------


class StreamedBody:
    """A base for the unread body a transport hands back with ``stream=True``: it holds the
    library's response (``_resp``) and the SDK's request (``_request``, for the errors).
    Subclasses add ``iter_bytes`` and ``close`` (sync) or ``aiter_bytes`` and ``aclose``
    (async), see :class:`replicate.SyncByteStream`."""

    __slots__ = ("_request", "_resp")

    def __init__(self, resp: Any, request: Request) -> None:
        self._resp = resp
        self._request = request


class quietly:
    """``with quietly("closing a streamed response"): ...``: any Exception in the block is
    logged at debug level (as ``error while <what>``) and goes no further, for the closing that
    must never raise. Works around ``await`` too; cancellation still propagates."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if isinstance(exc, Exception):
            log.debug("error while %s", self._what, exc_info=(kind, exc, tb))  # type: ignore[arg-type]
            return True
        return False
