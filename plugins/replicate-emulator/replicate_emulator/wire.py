"""The emulator's own request and response types, free of any transport.

The API (:class:`replicate_emulator.app.Emulator`) takes an :class:`EmuRequest` and returns an
:class:`EmuResponse`; the in-process transport and the loopback server are the only code that
turns them into, and out of, real HTTP. A response may carry fault directives (``drop``,
``truncate``, ``stall``) that only those two carry out, each in its own medium.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import msgspec

__all__ = [
    "EmuRequest",
    "EmuResponse",
    "HTTPError",
    "Router",
    "json_response",
    "problem",
]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


@dataclass(slots=True)
class EmuRequest:
    """One request as the emulator sees it.

    ``origin`` is where the request was addressed (``https://api.replicate.com`` in process,
    ``http://127.0.0.1:8787`` when served): URLs in answers (``urls.get``, streams, files) are
    built on it, so a client finds them where it sent the request.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    #: Lower-case names; a repeated header's values joined with ", ".
    headers: dict[str, str]
    body: bytes
    origin: str

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        origin: str,
    ) -> EmuRequest:
        """From a request line's target (``/v1/x?y=1``) and raw headers."""
        path, _, qs = target.partition("?")
        merged: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return cls(
            method.upper(),
            path or "/",
            parse_qs(qs, keep_blank_values=True),
            merged,
            body,
            origin.rstrip("/"),
        )

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body decoded as JSON; a problem+json 400 when it is not JSON."""
        if not self.body:
            return None
        try:
            return _decode(self.body)
        except msgspec.DecodeError as exc:
            raise HTTPError(400, f"The request body is not valid JSON: {exc}") from None


@dataclass
class EmuResponse:
    """One answer: ``body`` is bytes, or an iterator of byte chunks for a stream (SSE, large
    downloads) produced while the client reads.

    Fault directives, carried out by the transport or the server: ``drop="before"`` closes the
    connection without an answer, ``drop="mid"`` after part of the body; ``truncate=n`` sends
    only the first ``n`` bytes of a body while announcing its full length; ``stall=s`` stops a
    stream for ``s`` seconds after its first chunk.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterator[bytes] = b""
    drop: Literal["before", "mid"] | None = None
    truncate: int | None = None
    stall: float | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


class HTTPError(Exception):
    """Raised by a handler to answer with a problem+json error."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = list(headers)
        self.extra = extra or {}

    def response(self) -> EmuResponse:
        return problem(
            self.status, self.detail, title=self.title, headers=self.headers, extra=self.extra
        )


_TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request entity too large",
    422: "Input validation failed",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def json_response(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> EmuResponse:
    body = _encode(obj)
    return EmuResponse(
        status,
        [("Content-Type", "application/json"), *headers],
        body,
    )


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    extra: dict[str, Any] | None = None,
) -> EmuResponse:
    """An RFC 7807 error, as the API answers them (``title``, ``detail``, ``status``)."""
    doc: dict[str, Any] = {
        "title": title or _TITLES.get(status, "Error"),
        "detail": detail,
        "status": status,
    }
    if extra:
        doc.update(extra)
    return EmuResponse(
        status,
        [("Content-Type", "application/problem+json"), *headers],
        _encode(doc),
    )


#: A handler: ``handler(emulator, request, **path_params)``; returns an EmuResponse, or any
#: JSON-encodable object (answered with 200), or raises HTTPError.
Handler = Callable[..., Any]


class Router:
    """Routes of one module: ``@routes.route("GET", "/v1/predictions/{id}")``.

    A ``{name}`` segment matches one path segment; ``{name:path}`` the rest of the path.
    """

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile(
            "^"
            + re.sub(
                r"\{(\w+)(:path)?\}",
                lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
                pattern,
            )
            + "/?$"
        )

        def add(handler: Handler) -> Handler:
            self.routes.append((method.upper(), regex, pattern, handler))
            return handler

        return add
