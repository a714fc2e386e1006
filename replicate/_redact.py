"""Keeping secrets out of reprs, logs, errors and pickles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

_SENSITIVE_HEADER_WORDS = ("authorization", "token", "secret", "key", "cookie", "signature")
_SENSITIVE_QUERY_WORDS = ("token", "secret", "signature", "key", "sig")
REDACTED = "[redacted]"


class Secret:
    """Holds a credential so that it never shows in ``repr``/``str``/pickles.

    The value is reached only through :meth:`reveal`, at the moment a header is built.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; the new process resolves its own token")


def is_sensitive_header(name: str) -> bool:
    lower = name.lower()
    return any(word in lower for word in _SENSITIVE_HEADER_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if is_sensitive_header(k) else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """The URL with user info and sensitive query values (signature=, token=) hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = REDACTED + "@" + authority.rpartition("@")[2]
    path, qmark, query = path.partition("?")
    if qmark:
        parts = []
        for pair in query.split("&"):
            name, eq, _value = pair.partition("=")
            if eq and any(word in name.lower() for word in _SENSITIVE_QUERY_WORDS):
                pair = f"{name}={REDACTED}"
            parts.append(pair)
        query = "&".join(parts)
    return f"{scheme}://{authority}{slash}{path}{qmark}{query}"
