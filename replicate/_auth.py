"""Who gets the token: the auth provider protocol, the built-in token auth, and its scope;
the checks an auth provider passes, and the re-readable view of a request's body that a
provider signing bodies reads (public as :mod:`replicate.auth`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ._redact import Secret
from .exceptions import BodyNotReplayableError, MissingTokenError

if TYPE_CHECKING:
    import hashlib

    from ._http import Request

TOKEN_ENV = "REPLICATE_API_TOKEN"

#: Hosts besides the API's own origin that receive the token by default: Replicate serves SSE
#: streams from hosts under these domains (streaming.api.replicate.com, stream.replicate.com,
#: streaming-api.svc.*.replicate.net). File delivery hosts (replicate.delivery) are not here.
DEFAULT_AUTH_HOSTS: tuple[str, ...] = (
    "replicate.com",
    "*.replicate.com",
    "replicate.net",
    "*.replicate.net",
)


@runtime_checkable
class AuthProvider(Protocol):
    """Supplies the headers that authenticate a request.

    ``auth_headers`` is called for each attempt whose URL is in the client's auth scope (the API
    origin and its allowlist), never for other hosts. It receives the request as it will be
    sent, less the headers it returns: the final method, the exact URL (query included), the
    headers set by the core and the ``replicate_prepare_request`` hooks, and the body at its
    start. To sign the body, read it through :func:`body_bytes`/:func:`body_digest` (or, in an
    ``async def auth_headers``, :func:`abody_bytes`/:func:`abody_digest`): they give exactly the
    bytes the transport will send, and leave the body to be sent. A one-shot body (an iterator,
    a file that cannot seek) cannot be read twice: they raise
    :class:`~replicate.BodyNotReplayableError` for it, the request unsent.

    ``auth_headers`` may raise :class:`~replicate.MissingTokenError`. An optional
    ``refresh(request, response) -> bool`` is called once when the API answers 401; returning
    True sends the request again with new headers (or, for a one-shot body, raises
    :class:`~replicate.BodyNotReplayableError` instead). What either raises reaches the caller
    unchanged.

    Both may be plain methods or ``async def``; the sync client takes plain ones only: a request
    that would call an async one raises a TypeError instead (an async ``auth_headers``: before
    anything is sent). See ``replicate.hookspecs.replicate_auth_provider``.
    """

    def auth_headers(self, request: Request) -> Mapping[str, str]: ...


def check_auth_provider(auth: object, source: str = "auth") -> None:
    """Raise a TypeError unless ``auth`` can be used as an auth provider: ``auth_headers``
    callable, and ``refresh`` callable when present. ``source`` says where it came from
    (``"auth"`` for the constructor argument, a plugin's hook otherwise)."""
    if not callable(getattr(auth, "auth_headers", None)):
        got = "None" if auth is None else f"a {type(auth).__name__}"
        raise TypeError(f"{source} must have an auth_headers(request) method; got {got}")
    refresh = getattr(auth, "refresh", None)
    if refresh is not None and not callable(refresh):
        raise TypeError(
            f"{source}: refresh must be a method refresh(request, response) -> bool, "
            f"not a {type(refresh).__name__}"
        )


class TokenAuth:
    """``Authorization: Bearer <token>`` from an explicit token, a Cog scope or the environment.

    Without an explicit token it looks again at every request (a Cog model's token changes with
    each prediction's scope; the environment may be set after the client was built), in v2's
    order: the current Cog scope, then ``REPLICATE_API_TOKEN``, then ``placeholder``: the
    ``placeholder_token`` of a transport that answers requests itself (an offline emulator),
    so that a client of one needs no account.
    """

    __slots__ = ("_cache", "_placeholder", "_token")

    def __init__(
        self, token: str | Secret | None = None, *, placeholder: str | None = None
    ) -> None:
        if isinstance(token, str):
            token = Secret(token) if token else None
        self._token = token
        self._placeholder = placeholder or None
        self._cache: tuple[str, Mapping[str, str]] | None = None

    @property
    def explicit(self) -> bool:
        return self._token is not None

    def token(self) -> str | None:
        if self._token is not None:
            return self._token.reveal()
        return token_from_cog() or os.environ.get(TOKEN_ENV) or self._placeholder

    def auth_headers(self, request: Request) -> Mapping[str, str]:
        cache = self._cache
        if cache is not None and self._token is not None:
            return cache[1]  # an explicit token's header, made once
        token = self.token()
        if not token:
            raise MissingTokenError()
        if cache is not None and cache[0] == token:
            return cache[1]
        headers = {"Authorization": f"Bearer {token}"}
        self._cache = (token, headers)
        return headers

    def __repr__(self) -> str:
        source = "explicit" if self._token is not None else "environment"
        return f"TokenAuth({source})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Never pickle a token: the unpickled provider resolves one as a new client would. A
        # placeholder is no secret (the transport offering it publishes it).
        if self._placeholder is None:
            return (TokenAuth, ())
        return (_token_auth, (self._placeholder,))


def _token_auth(placeholder: str) -> TokenAuth:
    return TokenAuth(placeholder=placeholder)


class StaticAuth:
    """Fixed credential headers (an ``Authorization`` given in ``default_headers``), sent only
    where the token would be: the API origin and the auth allowlist."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = {k: Secret(v) for k, v in headers.items()}

    def auth_headers(self, request: Request) -> Mapping[str, str]:
        return {k: v.reveal() for k, v in self._headers.items()}

    def __repr__(self) -> str:
        return f"StaticAuth({sorted(self._headers)})"


def token_from_cog() -> str | None:
    """The token of the current Cog prediction's scope, when running inside a Cog model."""
    cog = sys.modules.get("cog")
    if cog is None:
        return None
    try:
        context = cog.current_scope().context
        token = context.get(TOKEN_ENV) if hasattr(context, "get") else context[TOKEN_ENV]
    except Exception:
        return None
    return token if isinstance(token, str) and token else None


class AuthScope:
    """Decides which URLs may carry credentials: the API origin plus an allowlist of hosts.

    Allowlist entries are host names (``"api.example.com"``) or ``"*.domain"`` for any subdomain.
    Allowlisted hosts get the token over HTTPS on the default port only.
    """

    __slots__ = ("_cache", "_origin", "_prefix", "hosts")

    def __init__(self, base_url: str, hosts: Iterable[str] = DEFAULT_AUTH_HOSTS) -> None:
        self._origin = origin_of(base_url)
        scheme, host, port = self._origin
        self._prefix = f"{scheme}://{host}" + ("" if port == _DEFAULT_PORTS[scheme] else f":{port}")
        self.hosts = tuple(h.lower() for h in hosts)
        self._cache: dict[tuple[str, str, int], bool] = {}

    def allows(self, url: str) -> bool:
        prefix = self._prefix
        if url.startswith(prefix) and url[len(prefix) : len(prefix) + 1] in ("/", "?", ""):
            return True
        try:
            origin = origin_of(url)
        except ValueError:
            return False
        cached = self._cache.get(origin)
        if cached is None:
            cached = self._cache[origin] = self._decide(origin)
        return cached

    def _decide(self, origin: tuple[str, str, int]) -> bool:
        if origin == self._origin:
            return True
        scheme, host, port = origin
        if scheme != "https" or port != 443:
            return False
        return any(host_matches(host, pattern) for pattern in self.hosts)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_matches(host: str, pattern: str) -> bool:
    """Whether ``host`` is what ``pattern`` names: the host itself, or for ``"*.domain"`` any
    subdomain of ``domain`` at any depth (never ``domain`` itself). Both lower-case, no port.

    The one rule for the auth allowlist (:class:`AuthScope`) and the output file hosts
    (``_outputs.FileHosts``)."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in; raises ValueError if not http(s)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return (scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])


# --- the body, for a provider that signs it -----------------------------------------------------

#: Chunk size for reading a file body (as the multipart uploads read theirs).
_CHUNK = 64 * 1024


def iter_body(request: Request) -> Iterator[bytes]:
    """The body of ``request`` as it will be sent, in chunks, without consuming it.

    For an auth provider (or a prepare hook) that signs or hashes the body: the chunks joined
    are exactly the bytes the transport sends. ``None`` is no chunk; bytes are one chunk; a
    seekable binary file is read from where it stands to its end and sought back there once the
    iteration ends (or is abandoned); a re-iterable body (a list of chunks, the multipart body of
    ``files.create`` and uploads, which re-reads its file from the file's start) is iterated
    once more. Nothing is kept in memory but one chunk: hash a large upload this way.

    A body that can be read only once (an iterator, ``iter(body) is body``, or a file whose
    ``seekable()`` is False) would be used up by reading it: that is a
    :class:`~replicate.BodyNotReplayableError` (raised here, before anything is read). Send
    such a request through a provider that does not read the body, or make the body bytes, a
    seekable file or a re-iterable.
    """
    content: Any = request.content
    if content is None:
        return iter(())
    if isinstance(content, (bytes, bytearray, memoryview)):
        return iter((bytes(content),) if content else ())
    if hasattr(content, "read"):
        try:
            start = content.tell() if content.seekable() else None
        except (AttributeError, OSError, ValueError):
            start = None
        if start is None:
            raise _unreadable(request, "it is a file that cannot seek, read only once")
        return _file_chunks(content, start)
    if iter(content) is content:
        raise _unreadable(request, "it is a one-shot iterator, read only once")
    return _chunks(content)


def body_bytes(request: Request) -> bytes:
    """The exact bytes ``request`` will send as its body (``b""`` for none), read without
    consuming it: see :func:`iter_body`, which this joins. For large uploads prefer
    :func:`body_digest`, which never holds the whole body."""
    content = request.content
    if content is None:
        return b""
    if type(content) is bytes:
        return content
    return b"".join(iter_body(request))


def body_digest(request: Request, algorithm: str = "sha256") -> hashlib._Hash:
    """A :mod:`hashlib` hash (``algorithm``, default SHA-256) fed with the body of ``request``
    as it will be sent, read without consuming it (see :func:`iter_body`): call ``hexdigest()``
    or ``digest()`` on it. The body of no request hashes as the empty string."""
    import hashlib

    digest = hashlib.new(algorithm)
    for chunk in iter_body(request):
        digest.update(chunk)
    return digest


async def abody_bytes(request: Request) -> bytes:
    """:func:`body_bytes` for an ``async def auth_headers``: a body in memory (bytes, a list
    or tuple of chunks) is joined at once; any other (a file, an upload read from disk) is read
    in a worker thread, so the event loop never waits on the disk."""
    if _in_memory(request.content):
        return body_bytes(request)
    import asyncio

    return await asyncio.to_thread(body_bytes, request)


async def abody_digest(request: Request, algorithm: str = "sha256") -> hashlib._Hash:
    """:func:`body_digest` for an ``async def auth_headers``; reads as :func:`abody_bytes`."""
    if _in_memory(request.content):
        return body_digest(request, algorithm)
    import asyncio

    return await asyncio.to_thread(body_digest, request, algorithm)


def _in_memory(content: object) -> bool:
    return content is None or isinstance(content, (bytes, bytearray, memoryview, list, tuple))


def _file_chunks(f: Any, start: int) -> Iterator[bytes]:
    try:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(
                    "a request body file must be binary (opened in 'rb' mode), "
                    f"but read() returned {type(chunk).__name__}"
                )
            yield bytes(chunk)
    finally:
        f.seek(start)


def _chunks(content: Iterable[Any]) -> Iterator[bytes]:
    for chunk in content:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"a request body's chunks must be bytes, not {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)


def _unreadable(request: Request, why: str) -> BodyNotReplayableError:
    from ._redact import redact_url

    return BodyNotReplayableError(
        f"the body of {request.method} {redact_url(request.url)} cannot be read before it is "
        f"sent: {why}. Bytes, a seekable file or a re-iterable body can be read (and signed)",
        request,
    )
