from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from replicate.exceptions import ReplicateError
from replicate.webhooks import Webhooks, WebhookVerificationError, validate

try:
    from tests import reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import reference

# A delivery made here, signed by ``sign`` below: what most tests check against. ``sign`` itself
# is proven against the published test vector (in the reference data) by the tests marked
# ``reference``.
SECRET = "whsec_" + base64.b64encode(b"a test signing secret, 32 bytes!").decode()
BODY = '{"id": "ufawqhfynnddngldkgtslldrkq", "status": "succeeded", "output": "2432232314"}'
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = "1700000000"
TS = int(TIMESTAMP)


def sign(msg_id: str, timestamp: str, body: bytes, secret: str = SECRET) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


SIGNATURE = sign(MSG_ID, TIMESTAMP, BODY.encode())
HEADERS = {"Webhook-ID": MSG_ID, "Webhook-Timestamp": TIMESTAMP, "Webhook-Signature": SIGNATURE}


def published_vector() -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(reference.path(reference.WEBHOOK_VECTOR_NAME).read_text())
    return vector


def headers(
    msg_id: str = MSG_ID, timestamp: str = TIMESTAMP, signature: str = SIGNATURE
) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}


def check_rejected(match: str, **kwargs: Any) -> WebhookVerificationError:
    kwargs.setdefault("headers", HEADERS)
    kwargs.setdefault("body", BODY)
    kwargs.setdefault("secret", SECRET)
    kwargs.setdefault("now", TS)
    with pytest.raises(WebhookVerificationError, match=match) as info:
        validate(**kwargs)
    message = str(info.value)
    assert SECRET.removeprefix("whsec_") not in message
    assert SIGNATURE.removeprefix("v1,") not in message
    return info.value


@pytest.mark.reference
def test_published_vector() -> None:
    vector = published_vector()
    secret, body, signed = vector["secret_key"], vector["body"], vector["headers"]
    ts = int(signed["Webhook-Timestamp"])
    assert validate(headers=signed, body=body, secret=secret, tolerance=None) is True
    assert validate(headers=signed, body=body, secret=secret, now=ts) is True
    assert validate(headers=signed, body=body.encode(), secret=secret, now=ts + 1.5) is True
    assert Webhooks.validate(headers=signed, body=body, secret=secret, tolerance=None) is True
    # The signer the other tests use gives the published signature.
    expected = sign(signed["Webhook-ID"], signed["Webhook-Timestamp"], body.encode(), secret)
    assert expected == signed["Webhook-Signature"]
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        validate(headers=signed, body=body + " ", secret=secret, now=ts)


@pytest.mark.reference
def test_published_vector_is_stale_with_default_tolerance_and_real_clock() -> None:
    vector = published_vector()
    with pytest.raises(WebhookVerificationError, match="too old"):
        validate(headers=vector["headers"], body=vector["body"], secret=vector["secret_key"])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhooks.validate(
            headers=vector["headers"], body=vector["body"], secret=vector["secret_key"]
        )


def test_a_delivery_signed_here_is_valid() -> None:
    assert validate(headers=HEADERS, body=BODY, secret=SECRET, tolerance=None) is True
    assert validate(headers=HEADERS, body=BODY, secret=SECRET, now=TS) is True
    with pytest.raises(WebhookVerificationError, match="too old"):
        validate(headers=HEADERS, body=BODY, secret=SECRET)


def test_error_class() -> None:
    error = check_rejected("too old", now=time.time())
    assert isinstance(error, ReplicateError)
    assert isinstance(error, ValueError)


def test_tolerance_window() -> None:
    assert validate(headers=HEADERS, body=BODY, secret=SECRET, now=TS + 300)
    assert validate(headers=HEADERS, body=BODY, secret=SECRET, now=TS - 300)
    check_rejected("too old", now=TS + 301)
    check_rejected("too new", now=TS - 301)
    check_rejected("too old", now=TS + 11, tolerance=10)
    check_rejected("too new", now=TS - 11, tolerance=10.5)
    assert validate(headers=HEADERS, body=BODY, secret=SECRET, now=TS + 10**9, tolerance=None)
    with pytest.raises(ValueError, match="tolerance"):
        validate(headers=HEADERS, body=BODY, secret=SECRET, now=TS, tolerance=-1)


def test_fresh_delivery_with_real_clock() -> None:
    now = str(int(time.time()))
    body = b'{"id": "abc", "status": "succeeded"}'
    signed = headers("msg_1", now, sign("msg_1", now, body))
    assert validate(headers=signed, body=body, secret=SECRET)


def test_tampered_body() -> None:
    check_rejected("No matching signature", body=BODY.replace("2432232314", "2432232315"))
    check_rejected("No matching signature", body=BODY + " ")
    check_rejected("No matching signature", body=json.dumps(json.loads(BODY)).replace(" ", ""))


def test_tampered_id_and_timestamp() -> None:
    check_rejected("No matching signature", headers=headers(msg_id=MSG_ID + "x"))
    check_rejected("No matching signature", headers=headers(timestamp=str(TS + 1)), tolerance=None)


def test_wrong_secret() -> None:
    other = "whsec_" + base64.b64encode(b"another secret key 32 bytes long").decode()
    check_rejected("No matching signature", secret=other)


def test_tampered_signature() -> None:
    check_rejected("No matching signature", headers=headers(signature="v1,invalid_signature"))
    check_rejected("No matching signature", headers=headers(signature=SIGNATURE[:-2] + "A="))


def test_secret_without_prefix_is_accepted() -> None:
    raw = SECRET.removeprefix("whsec_")
    assert validate(headers=HEADERS, body=BODY, secret=raw, now=TS)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_abc"])
def test_bad_secret_format(secret: str) -> None:
    check_rejected("Bad webhook secret format", secret=secret)


def test_secret_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        validate(headers=HEADERS, body=BODY, secret=None, now=TS)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(name: str) -> None:
    incomplete = {k: v for k, v in headers().items() if k != name}
    error = check_rejected(f"Missing required header: {name}", headers=incomplete)
    assert name in str(error)
    empty = {**headers(), name: ""}
    check_rejected(f"Missing required header: {name}", headers=empty)


@pytest.mark.parametrize(
    "timestamp", ["abc", "1614265330.5", "-1614265330", "1e9", "١٢", "1" * 5000]
)
def test_malformed_timestamp(timestamp: str) -> None:
    check_rejected("Malformed webhook-timestamp", headers=headers(timestamp=timestamp))
    check_rejected(
        "Malformed webhook-timestamp", headers=headers(timestamp=timestamp), tolerance=None
    )


def test_multiple_signatures_one_matches() -> None:
    other = sign(MSG_ID, TIMESTAMP, BODY.encode(), secret="whsec_" + "A" * 32)
    for signature in (
        f"{other} {SIGNATURE}",
        f"{SIGNATURE} {other}",
        f"v1,bogus {other}  {SIGNATURE} v1,",
        f"v1a,{SIGNATURE[3:]} {SIGNATURE}",
    ):
        assert validate(headers=headers(signature=signature), body=BODY, secret=SECRET, now=TS)
    check_rejected("No matching signature", headers=headers(signature=f"{other} v1,x"))


def test_other_versions_are_ignored() -> None:
    sig = SIGNATURE.removeprefix("v1,")
    error = check_rejected("no v1 entry", headers=headers(signature=f"v1a,{sig} v2,{sig}"))
    assert "v1a" not in str(error)
    check_rejected("no v1 entry", headers=headers(signature=sig))  # no version prefix


@pytest.mark.parametrize(
    "names",
    [
        ("webhook-id", "webhook-timestamp", "webhook-signature"),
        ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"),
        ("WEBHOOK-ID", "WEBHOOK-TIMESTAMP", "WEBHOOK-SIGNATURE"),
        ("Webhook-ID", "webhook-TIMESTAMP", "wEbHoOk-SiGnAtUrE"),
    ],
)
def test_header_name_case(names: tuple[str, str, str]) -> None:
    mapping = dict(zip(names, (MSG_ID, TIMESTAMP, SIGNATURE), strict=True))
    assert validate(headers=mapping, body=BODY, secret=SECRET, now=TS)
    pairs = list(mapping.items())
    assert validate(headers=pairs, body=BODY, secret=SECRET, now=TS)
    raw = [(k.encode(), v.encode()) for k, v in pairs]  # ASGI scope["headers"] style
    assert validate(headers=raw, body=BODY, secret=SECRET, now=TS)


class CaseInsensitiveHeaders:
    """Like werkzeug/Starlette/httpx headers: case-insensitive get() and items()."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self._pairs.items():
            if key.lower() == name.lower():
                return value
        return default

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs.items())


class ItemsOnly:
    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs.items())


def test_header_objects() -> None:
    assert validate(headers=CaseInsensitiveHeaders(HEADERS), body=BODY, secret=SECRET, now=TS)
    assert validate(headers=ItemsOnly(HEADERS), body=BODY, secret=SECRET, now=TS)
    multi = {k: [v] for k, v in HEADERS.items()}  # e.g. a multi-valued mapping
    assert validate(headers=multi, body=BODY, secret=SECRET, now=TS)
    with pytest.raises(TypeError, match="headers must be"):
        validate(headers=42, body=BODY, secret=SECRET, now=TS)


def test_str_and_bytes_bodies() -> None:
    for body in (BODY, BODY.encode(), bytearray(BODY.encode()), memoryview(BODY.encode())):
        assert validate(headers=HEADERS, body=body, secret=SECRET, now=TS)
    text = '{"output": "héllo 🦙"}'
    signed = headers(signature=sign(MSG_ID, TIMESTAMP, text.encode("utf-8")))
    assert validate(headers=signed, body=text, secret=SECRET, now=TS)
    assert validate(headers=signed, body=text.encode(), secret=SECRET, now=TS)
    check_rejected("No matching signature", headers=signed, body=text.encode("utf-16"))
    with pytest.raises(TypeError, match="body"):
        validate(headers=HEADERS, body=json.loads(BODY), secret=SECRET, now=TS)


class FakeRequest:
    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)


def test_webhooks_class_with_request() -> None:
    for attr in ("body", "content", "data"):
        request = FakeRequest(headers=HEADERS, **{attr: BODY.encode()})
        assert Webhooks.validate(request=request, secret=SECRET, now=TS) is True
        assert Webhooks.validate(request, secret=SECRET, tolerance=None) is True
    # A callable .body (Starlette's async method) is skipped in favour of .content.
    request = FakeRequest(headers=HEADERS, body=lambda: b"", content=BODY)
    assert Webhooks.validate(request=request, secret=SECRET, tolerance=None)
    # Explicit headers/body override the request's.
    request = FakeRequest(headers={}, body=b"tampered")
    assert Webhooks.validate(request, HEADERS, BODY, SECRET, None)


def test_webhooks_class_with_parts_and_secret_object() -> None:
    class WebhookSigningSecret:
        key = SECRET

    assert Webhooks.validate(headers=HEADERS, body=BODY, secret=SECRET, tolerance=None)
    assert Webhooks.validate(
        headers=HEADERS, body=BODY, secret=WebhookSigningSecret(), tolerance=None
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhooks.validate(headers=HEADERS, body=BODY, secret=SECRET, tolerance=300)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhooks.validate(headers=HEADERS, body=BODY + "x", secret=SECRET, tolerance=None)


def test_webhooks_class_missing_parts() -> None:
    with pytest.raises(WebhookVerificationError, match="headers"):
        Webhooks.validate(body=BODY, secret=SECRET)
    with pytest.raises(WebhookVerificationError, match="body"):
        Webhooks.validate(headers=HEADERS, secret=SECRET)
    with pytest.raises(WebhookVerificationError, match="body"):
        Webhooks.validate(request=FakeRequest(headers=HEADERS), secret=SECRET)
    with pytest.raises(WebhookVerificationError, match="secret"):
        Webhooks.validate(headers=HEADERS, body=BODY)


def test_import_is_light() -> None:
    code = (
        "import sys, replicate; before = set(sys.modules); import replicate.webhooks; "
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    loaded = set(eval(out))
    assert "replicate.webhooks" in loaded
    # Only replicate's own modules and __future__: no hmac/hashlib/base64/typing until used.
    assert {m for m in loaded if m.split(".")[0] not in ("replicate", "__future__")} == set()
