"""Cursor pagination as the API does it: ``{"next", "previous", "results"}``.

``next`` and ``previous`` are absolute URLs on the request's origin and path, carrying an
opaque ``cursor`` query value; clients follow them verbatim. The cursor is the base64 of the
page's offset plus a short checksum, so a made-up or damaged cursor is a 400, not a silently
wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import urlencode

from .wire import EmuRequest, HTTPError

__all__ = ["DEFAULT_PAGE_SIZE", "decode_cursor", "encode_cursor", "paginate"]

#: Predictions and trainings lists return 100 per page (http-api.md); other lists follow.
DEFAULT_PAGE_SIZE = 100


def _check(offset: int) -> str:
    return hashlib.sha256(f"emulator-cursor:{offset}".encode()).hexdigest()[:8]


def encode_cursor(offset: int) -> str:
    raw = f"{offset}:{_check(offset)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset of a cursor made by :func:`encode_cursor`; HTTPError 400 otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        offset_text, _, check = text.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPError(400, "Invalid cursor.") from None
    if offset < 0 or check != _check(offset):
        raise HTTPError(400, "Invalid cursor.")
    return offset


def _url(req: EmuRequest, offset: int) -> str:
    query = [(k, v) for k, values in req.query.items() if k != "cursor" for v in values]
    query.append(("cursor", encode_cursor(offset)))
    return f"{req.origin}{req.path}?{urlencode(query)}"


def paginate(
    req: EmuRequest, items: list[Any], *, page_size: int = DEFAULT_PAGE_SIZE
) -> dict[str, Any]:
    """The page of ``items`` the request's ``cursor`` points at (the first page without one)."""
    cursor = req.param("cursor")
    offset = decode_cursor(cursor) if cursor else 0
    end = offset + page_size
    return {
        "next": _url(req, end) if end < len(items) else None,
        "previous": _url(req, max(0, offset - page_size)) if offset > 0 else None,
        "results": items[offset:end],
    }
