"""Building a Request from what a caller passed: URL joining, query strings, JSON bodies."""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from ._http import Body, Headers, Request

_json_encode = msgspec.json.Encoder().encode


def join_url(base_url: str, url: str) -> str:
    """Relative paths (with or without a leading slash) join onto base_url; absolute URLs pass."""
    if "://" in url:
        scheme = url.partition("://")[0]
        if scheme.isalpha():
            return url
    return f"{base_url}/{url.lstrip('/')}" if url else base_url


def _query_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, _dt.datetime):
        # The API's timestamps are UTC; a naive one is taken to be UTC too, never sent bare.
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(_query_value(v) for v in value)
    raise TypeError(
        f"query parameter values must be str, int, float, bool or datetime, not {value!r}"
    )


def encode_query(params: Mapping[str, object]) -> str:
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        parts.append(f"{quote(key, safe='')}={quote(_query_value(value), safe='')}")
    return "&".join(parts)


def add_query(url: str, query: str) -> str:
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


#: The methods every call uses, known good without checking.
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def build_request(
    method: str,
    url: str,
    *,
    base_url: str,
    default_headers: Headers,
    default_query: Mapping[str, object],
    params: Mapping[str, object] | None = None,
    json: Any = msgspec.UNSET,
    content: Body | str = None,
    headers: Mapping[str, str | None] | None = None,
    idempotent: bool | None = None,
) -> Request:
    """The Request a raw call describes. ``None`` in ``headers`` removes a default header."""
    if not (type(method) is str and method in _METHODS) and (
        not isinstance(method, str) or not method or not method.isascii() or " " in method
    ):
        raise ValueError(f"method must be an HTTP method name such as 'GET', got {method!r}")
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, not {type(url).__name__}")
    full_url = join_url(base_url, url)
    if default_query or params:
        merged = {**default_query, **params} if params else default_query
        full_url = add_query(full_url, encode_query(merged))
    req_headers = default_headers.copy()
    body: Body = None
    if json is not msgspec.UNSET:
        if content is not None:
            raise ValueError("pass either json= or content=, not both")
        try:
            body = _json_encode(json)
        except TypeError as exc:
            raise TypeError(f"json= is not JSON-serialisable: {exc}") from None
        req_headers["Content-Type"] = "application/json"
    elif content is not None:
        if isinstance(content, str):
            body = content.encode()
        elif isinstance(content, (bytes, bytearray, memoryview)):
            body = bytes(content)
        elif isinstance(content, io.TextIOBase):
            raise TypeError("content= takes bytes or a binary file; open the file in 'rb' mode")
        else:
            body = content
            size = _remaining_size(content)
            if size is not None:
                req_headers["Content-Length"] = str(size)
    if headers:
        for key, value in headers.items():
            if value is None:
                req_headers.pop(key, None)
            elif not isinstance(value, str):
                raise TypeError(f"header {key!r} must be a string, not {type(value).__name__}")
            else:
                req_headers[key] = value
    if method in _METHODS:  # upper case already
        return Request._built(method, full_url, req_headers, body, idempotent)
    return Request(method, full_url, headers=req_headers, content=body, idempotent=idempotent)


def _remaining_size(content: object) -> int | None:
    """Bytes left in a regular file from its position, so it is sent with a Content-Length
    rather than chunked (some upload endpoints refuse chunked bodies)."""
    fileno = getattr(content, "fileno", None)
    tell = getattr(content, "tell", None)
    if fileno is None or tell is None:
        return None
    try:
        import os
        import stat

        info = os.fstat(fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        remaining: int = info.st_size - tell()
        return max(0, remaining)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
