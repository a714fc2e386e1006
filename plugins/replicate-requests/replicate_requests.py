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

import logging
import os
import ssl
import threading
import time
from collections.abc import Iterator
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

from replicate import Request, Response, Timeout, hookimpl

try:  # public once the core exports it
    from replicate import connection_error  # type: ignore[attr-defined]
except ImportError:
    from replicate._http import connection_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from replicate import ClientConfig

__all__ = ["RequestsTransport", "replicate_register_transports"]

log = logging.getLogger("replicate")

_CHUNK = 64 * 1024
_HTTP_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}


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
        total = None
        if deadline is not None:
            total = deadline - time.monotonic()
            if total <= 0:
                raise connection_error(
                    f"The deadline for the request to {_origin(request.url)} passed before it "
                    "was sent",
                    request,
                    sent=False,
                    timeout=True,
                )
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
        version = _HTTP_VERSIONS.get(getattr(resp.raw, "version", 11), "HTTP/1.1")
        body = _RequestsStream(resp, request)
        if stream:
            return Response(
                resp.status_code,
                headers=resp.headers,
                stream=body,
                request=request,
                http_version=version,
            )
        content = body.read_all(deadline)
        return Response(
            resp.status_code,
            headers=resp.headers,
            content=content,
            request=request,
            http_version=version,
        )

    def close(self) -> None:
        """Stop sending; a session the transport made is closed (one of your own is not)."""
        self._closed = True
        if self.owns_session:
            self.session.close()

    def __repr__(self) -> str:
        return f"RequestsTransport(owns_session={self.owns_session})"


class _RequestsStream:
    """The body of a ``requests.Response`` sent with ``stream=True``: a SyncByteStream."""

    __slots__ = ("_request", "_resp")

    def __init__(self, resp: requests.Response, request: Request) -> None:
        self._resp = resp
        self._request = request

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """Chunks as they arrive, decoded of any Content-Encoding: with no ``chunk_size``,
        whatever the socket has (for SSE), else up to ``chunk_size`` bytes at a time."""
        raw = self._resp.raw
        try:
            if chunk_size is None and hasattr(raw, "read1"):
                while True:
                    data = raw.read1(_CHUNK, decode_content=True)
                    if not data:
                        break
                    yield data
            else:
                # requests' own reader (adapters whose raw body is not urllib3's).
                yield from self._resp.iter_content(chunk_size or _CHUNK)
        except Exception as exc:
            _raise_body_error(exc, self._request)

    def read_all(self, deadline: float | None) -> bytes:
        """The whole body; with a ``deadline``, the connection is shut when it passes."""
        timer = None
        cut = threading.Event()
        if deadline is not None:
            timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._cut, (cut,))
            timer.daemon = True
            timer.start()
        try:
            content = b"".join(self.iter_bytes())
        except Exception as exc:
            if cut.is_set():
                raise _past_deadline(self._request) from exc
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self.close()
        if cut.is_set():
            raise _past_deadline(self._request)
        return content

    def _cut(self, cut: threading.Event) -> None:
        cut.set()
        raw = self._resp.raw
        try:
            if hasattr(raw, "shutdown"):  # urllib3 2.3 and later
                raw.shutdown()
            else:  # pragma: no cover - older urllib3
                raw.close()
        except Exception:
            log.debug("error while cutting a response at its deadline", exc_info=True)

    def close(self) -> None:
        try:
            self._resp.close()
        except Exception:  # closing must never raise
            log.debug("error while closing a streamed response", exc_info=True)


def _own_session(verify: Any, pool_maxsize: int, trust_env: bool) -> requests.Session:
    if isinstance(pool_maxsize, bool) or not isinstance(pool_maxsize, int) or pool_maxsize < 1:
        raise ValueError(f"pool_maxsize must be a positive integer, got {pool_maxsize!r}")
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
    else:
        adapter = HTTPAdapter(pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _no_auth(r: Any) -> Any:
    return r


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
    origin = _origin(request.url)
    if isinstance(exc, requests.ConnectTimeout):
        raise connection_error(
            f"Could not connect to {origin}: timed out (connect timeout {timeout.connect} s)",
            request,
            sent=False,
            timeout=True,
        ) from exc
    if isinstance(exc, requests.ReadTimeout):
        raise connection_error(
            f"Timed out reading from {origin} (read timeout {timeout.read} s)",
            request,
            sent=True,
            timeout=True,
        ) from exc
    if isinstance(exc, requests.exceptions.ProxyError):
        original = _reason(exc)
        if isinstance(original, Urllib3ProxyError):
            original = getattr(original, "original_error", None) or original
        refused = isinstance(original, (NewConnectionError, ConnectTimeoutError))
        raise connection_error(
            f"Proxy error for {origin}: {_describe(original or exc)}",
            request,
            sent=not refused,
            timeout=refused and not isinstance(original, NewConnectionError),
        ) from exc
    if isinstance(exc, requests.exceptions.SSLError):
        raise connection_error(
            f"TLS error with {origin}: {_describe(_reason(exc) or exc)}",
            request,
            sent=not _during_handshake(exc),
        ) from exc
    if isinstance(exc, requests.ConnectionError):
        reason = _reason(exc)
        never_sent = isinstance(reason, (NewConnectionError, ConnectTimeoutError))
        timed_out = isinstance(reason, ConnectTimeoutError) and not isinstance(
            reason, NewConnectionError
        )
        what = "Could not connect to" if never_sent else "Connection failed:"
        raise connection_error(
            f"{what} {origin}: {_describe(reason or exc)}",
            request,
            sent=not never_sent,
            timeout=timed_out,
        ) from exc
    if isinstance(exc, requests.RequestException) and not isinstance(exc, ValueError):
        # ChunkedEncodingError, ContentDecodingError, RetryError ...: after the request went out.
        raise connection_error(
            f"Connection to {origin} failed: {_describe(_reason(exc) or exc)}", request, sent=True
        ) from exc
    if isinstance(exc, (Urllib3HTTPError, OSError)) and not isinstance(exc, ValueError):
        raise connection_error(f"Connection to {origin} failed: {exc}", request, sent=True) from exc
    raise exc


def _raise_body_error(exc: Exception, request: Request) -> NoReturn:
    origin = _origin(request.url)
    if isinstance(exc, (ReadTimeoutError, requests.ReadTimeout)) or (
        isinstance(exc, requests.ConnectionError) and isinstance(_reason(exc), ReadTimeoutError)
    ):
        raise connection_error(
            f"Timed out reading the body from {origin}", request, sent=True, timeout=True
        ) from exc
    if isinstance(exc, (ProtocolError, Urllib3HTTPError, OSError, requests.RequestException)):
        raise connection_error(
            f"Connection to {origin} broke while reading the body: {_describe(exc)}",
            request,
            sent=True,
        ) from exc
    raise exc


def _reason(exc: BaseException) -> BaseException | None:
    """The urllib3 error under a requests one (``ConnectionError(MaxRetryError(reason))``)."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
    reason = getattr(inner, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    return inner


def _during_handshake(exc: BaseException) -> bool:
    """Whether a TLS error surely came before the request was written: a certificate that
    failed verification, or an error raised inside the handshake."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        err = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ssl.SSLCertVerificationError):
            return True
        if type(err).__name__ == "CertificateError":
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


def _past_deadline(request: Request) -> Exception:
    return connection_error(
        f"The exchange with {_origin(request.url)} did not finish by its deadline (a run's "
        "timeout=); its connection was closed",
        request,
        sent=True,
        timeout=True,
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if reason is None and len(exc.args) > 1 and isinstance(exc.args[-1], str):
        reason = exc.args[-1]
    text = str(reason if reason is not None else exc)
    # urllib3 messages embed the connection object's repr; keep the useful tail.
    if "): " in text:
        text = text.split("): ", 1)[1]
    return text


@hookimpl
def replicate_register_transports(register: Callable[..., None]) -> None:
    register("requests", RequestsTransport.from_config, sync=True)
