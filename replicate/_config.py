"""A client's settings, checked once at construction and read-only afterwards."""

from __future__ import annotations

import os
import platform
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from ._auth import DEFAULT_AUTH_HOSTS
from ._http import Timeout
from ._redact import is_sensitive_header
from ._sentinels import NOT_GIVEN, NotGiven
from ._version import __version__

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
DEFAULT_MAX_RETRIES = 2
#: The timeout of a client built without ``timeout``: 5 s to connect, 60 s to read (as in v2).
DEFAULT_TIMEOUT = Timeout()
BASE_URL_ENV = "REPLICATE_BASE_URL"


def user_agent() -> str:
    return f"replicate-python/{__version__} (Python {platform.python_version()})"


class ClientConfig:
    """Everything a client was configured with, after validation; plugins read it.

    ``verify`` is True, False, a CA bundle path or an ``ssl.SSLContext``; ``proxy`` an explicit
    proxy URL (None: the ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` environment is honoured).
    """

    __slots__ = (
        "auth_hosts",
        "base_url",
        "default_headers",
        "default_query",
        "max_retries",
        "pool_maxsize",
        "proxy",
        "timeout",
        "verify",
    )

    base_url: str
    timeout: Timeout
    max_retries: int
    default_headers: Mapping[str, str]
    default_query: Mapping[str, object]
    verify: bool | str | ssl.SSLContext
    proxy: str | None
    auth_hosts: tuple[str, ...]
    pool_maxsize: int

    def __init__(
        self,
        *,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        proxy: str | None = None,
        auth_hosts: Iterable[str] | None = None,
        pool_maxsize: int = 32,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self.max_retries = check_max_retries(max_retries)
        self.default_headers = check_headers("default_headers", default_headers)
        self.default_query = check_query(default_query)
        self.verify = check_verify(verify)
        if proxy is not None and (not isinstance(proxy, str) or "://" not in proxy):
            raise ValueError(f"proxy must be a URL such as 'http://proxy:3128', got {proxy!r}")
        self.proxy = proxy
        if auth_hosts is None:
            self.auth_hosts = DEFAULT_AUTH_HOSTS
        elif isinstance(auth_hosts, str) or not all(isinstance(h, str) for h in auth_hosts):
            raise TypeError("auth_hosts must be a list of host names such as ['*.example.com']")
        else:
            self.auth_hosts = tuple(auth_hosts)
        if isinstance(pool_maxsize, bool) or not isinstance(pool_maxsize, int) or pool_maxsize < 1:
            raise ValueError(f"pool_maxsize must be a positive integer, got {pool_maxsize!r}")
        self.pool_maxsize = pool_maxsize

    def replace(self, **changes: Any) -> ClientConfig:
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return ClientConfig(**values)

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__slots__}
        if isinstance(state["verify"], ssl.SSLContext):  # not picklable; the default is safe
            state["verify"] = True
        # A credential put in default_headers stays behind too, like bearer_token.
        state["default_headers"] = {
            k: v for k, v in state["default_headers"].items() if not is_sensitive_header(k)
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"ClientConfig(base_url={self.base_url!r}, timeout={self.timeout!r})"


def check_base_url(base_url: str | None) -> str:
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a string, not {type(base_url).__name__}")
    scheme, sep, rest = base_url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest.strip("/"):
        raise ValueError(
            f"base_url must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, "
            f"got {base_url!r}"
        )
    return base_url.rstrip("/")


def check_timeout(timeout: Any) -> Timeout:
    if isinstance(timeout, NotGiven):
        return Timeout()
    if isinstance(timeout, Timeout):
        return timeout
    try:
        return Timeout(timeout)
    except TypeError:
        raise TypeError(
            "timeout must be a number of seconds, None or replicate.Timeout(connect=, read=), "
            f"not {type(timeout).__name__}"
        ) from None


def check_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries must be an integer, not {type(max_retries).__name__}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    return max_retries


def check_headers(name: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"{name} must be a mapping of header names to strings")
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{name}: header {key!r} must map a string to a string, got {value!r}")
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name}: header {key!r} contains a line break")
    return dict(headers)


def check_query(query: Mapping[str, object] | None) -> dict[str, object]:
    if query is None:
        return {}
    if not isinstance(query, Mapping):
        raise TypeError("default_query must be a mapping of parameter names to values")
    return dict(query)


def check_verify(verify: object) -> bool | str | ssl.SSLContext:
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if not isinstance(path, str) or not os.path.exists(path):
            raise ValueError(f"verify: CA bundle {path!r} does not exist")
        return path
    raise TypeError(
        "verify must be True, False, a CA bundle path or an ssl.SSLContext, "
        f"not {type(verify).__name__}"
    )
