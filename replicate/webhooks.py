"""Verify the signature of a webhook delivery from Replicate.

Replicate signs deliveries the Standard Webhooks way. Each request carries ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (space-separated ``v1,<base64>``
entries). The signature is base64(HMAC-SHA256(key, f"{id}.{timestamp}.".encode() + raw_body)),
where ``key`` is the base64-decoded part after ``whsec_`` of your signing secret (from
``GET /v1/webhooks/default/secret``)::

    from replicate.webhooks import validate, WebhookVerificationError

    try:
        validate(headers=request.headers, body=request.get_data(), secret=secret)
    except WebhookVerificationError:
        return "invalid signature", 400

Pass the raw request body exactly as received: parsing and re-serialising JSON changes bytes and
breaks the signature. By default a delivery whose timestamp is more than 300 seconds away from
the current time (in either direction) is rejected, which limits replays of a captured request;
pass ``tolerance=None`` to skip that check.

This module imports nothing but the standard library, and hmac/hashlib/base64 only when used.
"""

from __future__ import annotations

from .exceptions import ReplicateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .resources.webhooks import DefaultWebhooks

    default: DefaultWebhooks

__all__ = ["WebhookVerificationError", "Webhooks", "validate"]

DEFAULT_TOLERANCE = 300
"""Seconds a delivery's timestamp may differ from the current time."""


class WebhookVerificationError(ReplicateError, ValueError):
    """A webhook delivery failed verification; the message says which check failed.

    Also a :class:`ValueError`, as the v1 SDK's webhook errors were.
    """


def validate(
    *,
    headers: Mapping[str, str] | Any,
    body: bytes | bytearray | memoryview | str,
    secret: str,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Check a webhook delivery's signature and timestamp; return True or raise.

    :param headers: the request headers: any mapping (dict, or the header objects of Flask /
        werkzeug, Django, Starlette / FastAPI, httpx...), an object with ``.items()``, or a list
        of ``(name, value)`` pairs. Names are matched case-insensitively.
    :param body: the raw request body. A ``str`` is encoded as UTF-8.
    :param secret: the signing secret, ``whsec_<base64>``. The bare base64 key (without the
        ``whsec_`` prefix) is accepted too.
    :param tolerance: how many seconds the ``webhook-timestamp`` may be older or newer than
        ``now``; None disables the check.
    :param now: the current Unix time (defaults to ``time.time()``), for tests.
    :raises WebhookVerificationError: a header is missing, the timestamp is malformed or outside
        the tolerance, the secret is malformed, or no ``v1`` signature matches.
    """
    key = _decode_secret(secret)
    msg_id = _get_header(headers, "webhook-id")
    timestamp = _get_header(headers, "webhook-timestamp")
    signatures = _get_header(headers, "webhook-signature")

    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20):
        raise WebhookVerificationError(
            f"Malformed webhook-timestamp header {timestamp[:40]!r}: expected Unix seconds"
        )
    if tolerance is not None:
        if not tolerance >= 0:  # also NaN, which would let every timestamp through
            raise ValueError(f"tolerance must be a number >= 0 or None, not {tolerance!r}")
        if now is None:
            import time

            now = time.time()
        age = now - int(timestamp)
        if age > tolerance:
            raise WebhookVerificationError(
                f"Webhook timestamp too old: {timestamp} is {age:.0f} s before now "
                f"(tolerance {tolerance} s)"
            )
        if -age > tolerance:
            raise WebhookVerificationError(
                f"Webhook timestamp too new: {timestamp} is {-age:.0f} s after now "
                f"(tolerance {tolerance} s)"
            )

    if isinstance(body, str):
        payload = _utf8(body, "webhook body", "; pass the raw request body as bytes")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        payload = bytes(body)
    else:
        raise TypeError(f"body must be bytes or str, not {type(body).__name__}")

    import base64
    import hashlib
    import hmac

    signed = _utf8(f"{msg_id}.{timestamp}.", "webhook-id header") + payload
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    found_v1 = False
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # another scheme (e.g. v1a, asymmetric): not ours to check
        found_v1 = True
        if hmac.compare_digest(value.encode("ascii", "replace"), expected):
            return True
    if not found_v1:
        raise WebhookVerificationError(
            "No matching signature: the webhook-signature header has no v1 entry"
        )
    raise WebhookVerificationError(
        "No matching signature: no v1 entry of webhook-signature matches the body "
        "(wrong secret, or the body was modified, e.g. re-serialised JSON)"
    )


class Webhooks:
    """The v1 SDK's spelling: ``Webhooks.validate(request=..., secret=...)``."""

    @staticmethod
    def validate(
        request: Any = None,
        headers: Mapping[str, str] | Any = None,
        body: bytes | bytearray | memoryview | str | None = None,
        secret: str | Any = None,
        tolerance: float | None = DEFAULT_TOLERANCE,
        *,
        now: float | None = None,
    ) -> bool:
        """Like :func:`validate`, taking the headers and body from ``request`` if given.

        ``request`` is any object with ``.headers`` and the raw body as bytes or str in
        ``.body``, ``.content`` or ``.data`` (httpx, requests, Django, werkzeug/Flask);
        ``headers=``/``body=`` override it. ``secret`` may also be an object with a ``.key``
        attribute (v1's ``WebhookSigningSecret``). Unlike v1, the timestamp is checked by
        default (300 s); pass ``tolerance=None`` for v1's behaviour.
        """
        if request is not None:
            if headers is None:
                headers = getattr(request, "headers", None)
            if body is None:
                for attr in ("body", "content", "data"):
                    value = getattr(request, attr, None)
                    if isinstance(value, (bytes, bytearray, memoryview, str)):
                        body = value
                        break
        if headers is None:
            raise WebhookVerificationError("Missing webhook headers: pass request= or headers=")
        if body is None:
            raise WebhookVerificationError(
                "Missing webhook body: pass the raw request body as body= (bytes or str)"
            )
        if secret is None:
            raise WebhookVerificationError("Missing webhook signing secret: pass secret=")
        if not isinstance(secret, str):
            secret = getattr(secret, "key", secret)
        return validate(headers=headers, body=body, secret=secret, tolerance=tolerance, now=now)


def __getattr__(name: str) -> Any:
    """``replicate.webhooks.default.secret.get()``: the default client's ``webhooks.default``,
    looked up on each access (as v2's module-level ``replicate.webhooks`` proxy does)."""
    if name == "default":
        from ._fallback import default_client

        return default_client().webhooks.default
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _utf8(text: str, what: str, hint: str = "") -> bytes:
    """``text`` as the bytes it was decoded from: UTF-8, with the lone surrogates that
    ``errors="surrogateescape"`` decoding leaves for undecodable bytes turned back into them."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise WebhookVerificationError(
            f"Malformed {what}: it holds lone surrogates, so it is not the text received{hint}"
        ) from None


def _decode_secret(secret: str) -> bytes:
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    encoded = secret[6:] if secret.startswith("whsec_") else secret
    import base64
    import binascii

    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise WebhookVerificationError(
            "Bad webhook secret format: expected 'whsec_' followed by base64 "
            "(the 'key' of GET /v1/webhooks/default/secret)"
        )
    return key


def _get_header(headers: Any, name: str) -> str:
    """The value of header ``name`` (lowercase), matched case-insensitively; raise if absent."""
    value: Any = None
    get = getattr(headers, "get", None)
    if callable(get):
        try:
            value = get(name)
        except Exception:  # e.g. a mapping keyed by bytes, or an odd get() signature
            value = None
    if not value:
        items = headers.items() if callable(getattr(headers, "items", None)) else headers
        try:
            for key, item in items:
                if isinstance(key, (bytes, bytearray)):
                    key = key.decode("latin-1")
                if isinstance(key, str) and key.lower() == name:
                    value = item
                    break
        except (TypeError, ValueError):
            raise TypeError(
                "headers must be a mapping, an object with .items(), or (name, value) pairs"
            ) from None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None  # a multi-valued mapping
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("latin-1")
    # Only HTTP's optional whitespace (space, tab) is trimmed: str.strip() would also drop
    # characters such as U+00A0 that belong to the signed id.
    text: str | None = value.strip(" \t") if isinstance(value, str) else None
    if not text:
        raise WebhookVerificationError(f"Missing required header: {name}")
    return text
