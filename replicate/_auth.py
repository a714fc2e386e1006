"""Who gets the token: the auth provider protocol, the built-in token auth, and its scope."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ._redact import Secret
from .exceptions import MissingTokenError

if TYPE_CHECKING:
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
    origin and its allowlist), never for other hosts, with ``request.content`` at its start: a
    seekable file body may be read (it is sought back before it is sent), a one-shot body (an
    iterator, a file that cannot seek) must be left unread. It may raise
    :class:`~replicate.MissingTokenError`. An optional ``refresh(request, response) -> bool`` is
    called once when the API answers 401; returning True sends the request again with new headers
    (or, for a one-shot body, raises :class:`~replicate.BodyNotReplayableError` instead). What
    either raises reaches the caller unchanged.

    Both may be plain methods or ``async def``; the sync client takes plain ones only: a request
    that would call an async one raises a TypeError instead (an async ``auth_headers``: before
    anything is sent). See ``replicate.hookspecs.replicate_auth_provider``.
    """

    def auth_headers(self, request: Request) -> Mapping[str, str]: ...


class TokenAuth:
    """``Authorization: Bearer <token>`` from an explicit token, a Cog scope or the environment.

    Without an explicit token it looks again at every request (a Cog model's token changes with
    each prediction's scope; the environment may be set after the client was built), in v2's
    order: the current Cog scope, then ``REPLICATE_API_TOKEN``.
    """

    __slots__ = ("_cache", "_token")

    def __init__(self, token: str | Secret | None = None) -> None:
        if isinstance(token, str):
            token = Secret(token) if token else None
        self._token = token
        self._cache: tuple[str, Mapping[str, str]] | None = None

    @property
    def explicit(self) -> bool:
        return self._token is not None

    def token(self) -> str | None:
        if self._token is not None:
            return self._token.reveal()
        return token_from_cog() or os.environ.get(TOKEN_ENV) or None

    def auth_headers(self, request: Request) -> Mapping[str, str]:
        token = self.token()
        if not token:
            raise MissingTokenError()
        cache = self._cache
        if cache is not None and cache[0] == token:
            return cache[1]
        headers = {"Authorization": f"Bearer {token}"}
        self._cache = (token, headers)
        return headers

    def __repr__(self) -> str:
        source = "explicit" if self._token is not None else "environment"
        return f"TokenAuth({source})"

    def __reduce__(self) -> tuple[type[TokenAuth], tuple[()]]:
        # Never pickle a token: the unpickled provider resolves one as a new client would.
        return (TokenAuth, ())


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
