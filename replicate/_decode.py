"""Turning response bodies into Python values, structs and typed errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from .exceptions import APIResponseValidationError, APIStatusError, status_error_class
from .types import decoder_for

if TYPE_CHECKING:
    from ._http import Response

_any_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def decode_json(response: Response) -> Any:
    try:
        return _any_decoder.decode(response.content)
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(
            f"{_describe(response)} returned a body that is not JSON: "
            f"{snippet(response.content)!r} ({exc})",
            response=response,
        ) from exc


def decode_into(response: Response, tp: Any) -> Any:
    if tp is Any or tp is object:
        return decode_json(response)
    try:
        return decoder_for(tp).decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        name = getattr(tp, "__name__", None) or repr(tp)
        raise APIResponseValidationError(
            f"{_describe(response)} returned a body that does not fit {name}: {exc}; "
            f"body starts {snippet(response.content)!r}",
            response=response,
        ) from exc


class _Problem(msgspec.Struct):
    """RFC 7807 problem details, every field optional and loosely typed."""

    title: Any = None
    detail: Any = None
    status: Any = None


_problem_decoder = msgspec.json.Decoder(_Problem)


def snippet(body: bytes, limit: int = 200) -> str:
    """A short, single-line, printable start of a body for error messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(response: Response) -> str:
    request = response.request
    if request is None:
        return f"HTTP {response.status_code}"
    return f"{request.method} {urlsplit(request.url).path}"


def status_error(response: Response) -> APIStatusError:
    """The typed error for a non-2xx response, whatever its body holds (JSON, HTML, nothing)."""
    body_bytes = response.content
    body: Any = None
    title = detail = None
    status = None
    try:
        body = _any_decoder.decode(body_bytes) if body_bytes else None
    except msgspec.DecodeError:
        body = body_bytes.decode("utf-8", errors="replace")
    if isinstance(body, dict):
        problem = _problem_decoder.decode(body_bytes)
        title = problem.title if isinstance(problem.title, str) else None
        if isinstance(problem.detail, str):
            detail = problem.detail
        elif problem.detail is not None:
            detail = msgspec.json.encode(problem.detail).decode()
        status = problem.status if isinstance(problem.status, int) else None
    reason = detail or title
    if reason is None:
        reason = snippet(body_bytes) if body_bytes else "(empty body)"
    message = f"{_describe(response)} returned {response.status_code}: {reason}"
    return status_error_class(response.status_code)(
        message, response=response, body=body, title=title, detail=detail, status=status
    )
