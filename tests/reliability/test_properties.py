"""Property-based tests (hypothesis) of every parser that reads outside input.

Each property holds for any input hypothesis can build, not only for the cases someone thought
of: the SSE decoder gives the events of the WHATWG rules however the bytes are split (and so
does a streamed prediction over loopback HTTP); model references parse exactly in their
documented forms; decoding any bytes as any response type raises only the SDK's own errors;
webhook validation never accepts a tampered, re-keyed, stale or future delivery and raises only
``WebhookVerificationError``; input encoding names the input it cannot encode; the command line
(in process, against nothing, a 404 API or the emulator; and a few runs as a child process)
never shows a traceback.

The default profile (``ci``) runs ``EXAMPLES`` examples per property, enough to catch a
regression in CI in seconds; ``HYPOTHESIS_PROFILE=thorough`` runs 20 times as many (minutes).
No example database is written (``database=None``): a failure prints the example and the
``@reproduce_failure`` line to replay it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import itertools
import math
import os
import re
import socket
import sys
import typing
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import replicate
import replicate.types as rtypes
from replicate import Response
from replicate._drivers import drive_sync
from replicate._http import Request
from replicate._inputs import encode_input_flow
from replicate._reference import parse_reference
from replicate._sse import ServerSentEvent, SSEDecoder
from replicate.exceptions import ReplicateError
from replicate.testing import MockTransport
from replicate.webhooks import WebhookVerificationError, validate

#: Examples per property in the default (CI) profile.
EXAMPLES = 150

settings.register_profile(
    "ci",
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The suite's autouse fixtures (a clean environment) are meant to be shared by all examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("ci"),
    max_examples=EXAMPLES * 20,
)
#: Applied to each test here (not loaded globally, so other test files keep their settings).
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- SSE: the same events for any split of the same bytes --------------------------------------

_BOM = b"\xef\xbb\xbf"
_FIELD_NAMES = [b"data", b"event", b"id", b"retry", b"", b"dat", b"DATA", b"data ", b"x"]
_VALUE_PIECES = [
    b"a",
    b"Z",
    b" ",
    b":",
    b": ",
    b"\0",
    b"1",
    b"42",
    b"\xc3\xa9",  # é
    b"\xf0\x9f\x98\x80",  # an emoji (4 bytes, splittable anywhere)
    b"\xff",  # never valid UTF-8
    b"\xe2\x82",  # a truncated sequence
    _BOM,
    b"\xd9\xa3",  # ARABIC-INDIC DIGIT THREE: a digit for str.isdigit, not for retry
]
_ENDINGS = [b"\n", b"\r\n", b"\r"]

_values = st.lists(st.sampled_from(_VALUE_PIECES), max_size=6).map(b"".join)
_line = st.one_of(
    st.tuples(st.sampled_from(_FIELD_NAMES), st.sampled_from([b":", b": ", b":  "]), _values).map(
        b"".join
    ),
    st.sampled_from(_FIELD_NAMES),  # a field name alone: an empty value
    _values.map(lambda v: b":" + v),  # a comment
    st.just(b""),  # a blank line: dispatch
)
_stream = st.builds(
    lambda bom, lines, tail: (_BOM if bom else b"") + b"".join(lines) + tail,
    st.booleans(),
    st.lists(st.tuples(_line, st.sampled_from(_ENDINGS)).map(b"".join), max_size=24),
    st.sampled_from([b"", b"data: unterminated", b"\r", b"id: 7", b"\n"]),
)


def reference_events(stream: bytes) -> tuple[list[ServerSentEvent], str | None, int | None]:
    """The events, last event id and retry of a whole stream, straight from the WHATWG steps."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)[:-1]  # what follows the last line ending is no line
    events: list[ServerSentEvent] = []
    last_id, retry = "", None
    event_type, data, block_retry = "", None, None
    for line in lines:
        if line == "":
            if data is not None:
                events.append(
                    ServerSentEvent(event_type or "message", data, last_id or None, block_retry)
                )
            event_type, data, block_retry = "", None, None
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data = value if data is None else f"{data}\n{value}"
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value and all("0" <= c <= "9" for c in value):
            retry = block_retry = int(value)
    return events, last_id or None, retry


def decode_split(stream: bytes, cuts: list[int], kinds: list[int]) -> tuple[Any, ...]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for i, (start, end) in enumerate(itertools.pairwise(bounds)):
        piece = stream[start:end]
        kind = kinds[i % len(kinds)] if kinds else 0
        chunk: bytes | bytearray | memoryview = (
            piece if kind == 0 else bytearray(piece) if kind == 1 else memoryview(piece)
        )
        events += decoder.feed(chunk)
    events += decoder.flush()
    return events, decoder.last_event_id, decoder.retry


@PROFILE
@given(st.one_of(_stream, st.binary(max_size=200)), st.data())
def test_sse_any_split_gives_the_events_of_the_spec(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts")
    kinds = data.draw(st.lists(st.integers(0, 2), max_size=3), label="chunk types")
    expected = reference_events(stream)
    assert decode_split(stream, [], []) == expected
    assert decode_split(stream, cuts, kinds) == expected


@PROFILE
@given(_stream)
def test_sse_byte_by_byte_is_the_same_as_whole(stream: bytes) -> None:
    assert decode_split(stream, list(range(len(stream))), [0]) == decode_split(stream, [], [])


@PROFILE
@given(_stream, _stream)
def test_sse_decoder_after_flush_reads_a_new_stream_as_fresh(first: bytes, second: bytes) -> None:
    """A reconnected stream on the same decoder: the same events; only the id carries over."""
    decoder = SSEDecoder()
    decoder.feed(first)
    decoder.flush()
    carried = decoder.last_event_id
    events = decoder.feed(second) + decoder.flush()
    fresh, last_id, _ = reference_events(second)
    assert [(e.event, e.data, e.retry) for e in events] == [
        (e.event, e.data, e.retry) for e in fresh
    ]
    if carried is None or _sets_an_id(second):
        assert decoder.last_event_id == last_id
    else:
        assert decoder.last_event_id == carried
        assert all(e.id == carried for e in events)


def _sets_an_id(stream: bytes) -> bool:
    text = stream.decode("utf-8", "replace")
    text = text[1:] if text.startswith("\ufeff") else text
    return any(
        line.partition(":")[0] == "id" and "\0" not in line
        for line in re.split(r"\r\n|\r|\n", text)[:-1]
    )


_event_names = st.sampled_from(["output", "logs", "metrics", "start", None])
_event_data = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r"), max_size=12
)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """An event stream as the API sends it (ids ``<t>:<n>``, ``done`` last) with random line
    endings and comments, and the (event, data) pairs a consumer must see."""
    events = draw(st.lists(st.tuples(_event_names, _event_data), max_size=8))
    out: list[bytes] = []
    for n, (name, data) in enumerate([*events, ("done", "{}")]):
        eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        lines = [] if name is None else [f"event: {name}"]
        lines.append(f"id: 1690212292:{n}")
        lines += [f"data: {line}" for line in data.split("\n")]
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), ": keep-alive")
        out.append((eol.join(lines) + eol + eol).encode())
    expected = [(name or "message", data) for name, data in events]
    return b"".join(out), expected


@pytest.fixture(scope="module")
def stream_server() -> Iterator[Any]:
    from replicate.testing.servers import ScriptServer

    with (
        ScriptServer() as server,
        replicate.Replicate(bearer_token="r8_x", base_url=server.url("/v1")) as client,
    ):
        yield server, client


@PROFILE
@given(event_streams(), st.data())
def test_a_streamed_prediction_yields_the_same_events_for_any_split(
    stream_server: Any, case: tuple[bytes, list[tuple[str, str]]], data: st.DataObject
) -> None:
    """End to end over loopback HTTP: the body written in random pieces, flushed one by one."""
    from replicate.testing.servers import json_response, stream_response

    body, expected = case
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=10)))
    pieces = [body[a:b] for a, b in itertools.pairwise([0, *cuts, len(body)]) if body[a:b]]
    server, client = stream_server
    prediction = {
        "id": "p1",
        "status": "processing",
        "urls": {"get": server.url("/v1/predictions/p1"), "stream": server.url("/stream/p1")},
    }
    server.route("/v1/predictions/p1", json_response(prediction))
    respond = stream_response(*pieces)

    def respond_at_once(handler: Any) -> None:
        # Each piece goes out as written (no Nagle delay waiting for the client's ACK).
        handler.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        respond(handler)

    server.route("/stream/p1", respond_at_once)
    assert [(e.event, e.data) for e in client.predictions.stream("p1")] == expected


# --- model references: exactly the documented forms --------------------------------------------

_NAME_START = "abcXYZ019"
_NAME_REST = "abcXYZ019._-"
_names = st.builds(
    lambda a, b: a + b, st.sampled_from(_NAME_START), st.text(_NAME_REST, max_size=12)
)
_hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
_DOCUMENTED = re.compile(
    r"(?:[0-9a-f]{64})|(?:[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9a-f]{64})?)"
)
_space = st.sampled_from(["", " ", "\t", "\n", " \r\n"])


@PROFILE
@given(
    st.one_of(
        _hex64,
        st.builds(lambda o, n: f"{o}/{n}", _names, _names),
        st.builds(lambda o, n, v: f"{o}/{n}:{v}", _names, _names, _hex64),
    ),
    _space,
    _space,
)
def test_documented_references_parse_into_their_parts(ref: str, before: str, after: str) -> None:
    target = parse_reference(before + ref + after)
    if "/" in ref:
        owner_name, _, version = ref.partition(":")
        owner, name = owner_name.split("/")
        assert (target.owner, target.name, target.version) == (owner, name, version or None)
        assert not target.deployment
    else:
        assert (target.owner, target.name, target.version) == (None, None, ref)


_near_miss_pieces = st.sampled_from(
    ["a", "Z", "0", "f", "/", ":", ".", "-", "_", " ", "é", "\0", "\n", "A" * 3, "0" * 63]
)


@PROFILE
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(_near_miss_pieces, max_size=12).map("".join),
        st.builds(
            lambda o, n, v: f"{o}/{n}:{v}",
            _names,
            _names,
            st.text("0123456789abcdefABCDEF:", max_size=70),
        ),
        st.builds(lambda h: h.upper(), _hex64),
        st.builds(lambda o, n: f"{o}/{n}/x", _names, _names),
        st.builds(lambda h: h + "0", _hex64),
    )
)
def test_anything_else_is_rejected_naming_the_forms(ref: str) -> None:
    documented = _DOCUMENTED.fullmatch(ref.strip()) is not None
    try:
        parse_reference(ref)
    except ValueError as exc:
        assert not documented, f"{ref!r} is a documented form but was rejected: {exc}"
        assert f"Invalid model reference {ref!r}" in str(exc)
        assert "owner/name" in str(exc)
    else:
        assert documented, f"{ref!r} is no documented form but was accepted"


# --- decoding any bytes as any response type ---------------------------------------------------

_STRUCTS = [
    getattr(rtypes, name)
    for name in rtypes.__all__
    if isinstance(getattr(rtypes, name), type)
    and issubclass(getattr(rtypes, name), msgspec.Struct)
    and not getattr(getattr(rtypes, name), "__parameters__", ())
]
_RESPONSE_TYPES: list[Any] = [
    *_STRUCTS,
    rtypes.Page[rtypes.Model],
    rtypes.Page[rtypes.Prediction],
    rtypes.Page[rtypes.Training],
    rtypes.HardwareListResponse,
    list[rtypes.Prediction],
]
_FIELD_KEYS = sorted(
    {f.encode_name for tp in _STRUCTS for f in msgspec.structs.fields(tp)} | {"results", "next"}
)
#: Strings that mean something to a response type (timestamps, valid and not, a status, a URL).
_SPECIAL_STRINGS = [
    "2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05.123456+05:30",
    "2024-13-40T99:99:99",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00",
    "succeeded",
    "https://example.invalid/x",
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(_SPECIAL_STRINGS),
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(_FIELD_KEYS), st.text(max_size=8)), inner, max_size=6
        ),
    ),
    max_leaves=30,
)
_bodies = st.one_of(
    _json_values.map(lambda v: msgspec.json.encode(v)),
    st.binary(max_size=64),
    _json_values.map(lambda v: msgspec.json.encode(v)[:-1]),  # truncated
    st.sampled_from([b"", b"null", b"<html>502</html>", b"\xef\xbb\xbf{}", b'{"id": 1e999}']),
)


def _from_schema(node: Any, defs: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that fit a JSON schema (the subset ``msgspec.json.schema`` writes)."""
    if "$ref" in node:
        return st.deferred(lambda: _from_schema(defs[node["$ref"].rsplit("/", 1)[1]], defs, depth))
    if "anyOf" in node:
        return st.one_of(*(_from_schema(option, defs, depth) for option in node["anyOf"]))
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object" and "properties" in node and depth < 4:
        required = set(node.get("required", ()))
        fields = {
            name: _from_schema(sub, defs, depth + 1) for name, sub in node["properties"].items()
        }
        return st.fixed_dictionaries(
            {name: fields[name] for name in required},
            optional={name: value for name, value in fields.items() if name not in required},
        )
    if kind == "array":
        return st.lists(_from_schema(node.get("items", {}), defs, depth + 1), max_size=3)
    if kind == "string":
        return st.one_of(st.text(max_size=10), st.sampled_from(_SPECIAL_STRINGS))
    if kind == "integer":
        return st.integers(-(2**63), 2**63)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return _json_values


def _shaped_bodies(tp: Any) -> st.SearchStrategy[bytes]:
    """JSON bodies that fit ``tp``'s schema, one value in three swapped for any JSON value."""
    schema = msgspec.json.schema(tp)
    fitting = _from_schema(schema, schema.get("$defs", {}))

    def spoil(value: Any, draw_any: Any) -> Any:
        if isinstance(value, dict) and value and draw_any[0] % 3 == 0:
            key = sorted(value)[draw_any[0] % len(value)]
            return {**value, key: draw_any[1]}
        return value

    return st.builds(spoil, fitting, st.tuples(st.integers(0, 99), _json_values)).map(
        msgspec.json.encode
    )


@PROFILE
@given(st.data())
def test_decoding_bodies_shaped_like_each_type_raises_only_the_sdks_errors(
    data: st.DataObject,
) -> None:
    tp = data.draw(st.sampled_from(_RESPONSE_TYPES), label="type")
    body = data.draw(_shaped_bodies(tp), label="body")
    try:
        value = _response(200, body).parse(tp)
    except ReplicateError as exc:
        event("refused")
        assert isinstance(exc, replicate.APIResponseValidationError)
    else:
        event("decoded")
        assert isinstance(value, typing.get_origin(tp) or tp)


def _response(status: int, body: bytes) -> Response:
    request = Request("GET", "https://api.replicate.com/v1/predictions/p")
    return Response(
        status, headers={"content-type": "application/json"}, content=body, request=request
    )


@PROFILE
@given(st.sampled_from(_RESPONSE_TYPES), _bodies)
def test_decoding_raises_only_the_sdks_errors(tp: Any, body: bytes) -> None:
    response = _response(200, body)
    try:
        value = response.parse(tp)
    except ReplicateError as exc:
        assert isinstance(exc, replicate.APIResponseValidationError)
        assert str(exc)
    else:
        origin = typing.get_origin(tp) or tp
        assert isinstance(value, origin)
    try:
        response.json()
    except ReplicateError as exc:
        assert isinstance(exc, replicate.APIResponseValidationError)


@PROFILE
@given(st.integers(400, 599), _bodies)
def test_any_error_body_becomes_a_status_error(status: int, body: bytes) -> None:
    from replicate._decode import status_error

    error = status_error(_response(status, body))
    assert isinstance(error, replicate.APIStatusError)
    assert error.status_code == status
    assert "\n" not in str(error)


# --- webhooks -----------------------------------------------------------------------------------

_NOW = 1_700_000_000
_keys = st.binary(min_size=1, max_size=40)


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def secret_of(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


def headers_for(msg_id: str, timestamp: str, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}


_msg_ids = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=30)


@PROFILE
@given(_keys, _msg_ids, st.binary(max_size=200), st.integers(-300, 300))
def test_a_genuine_delivery_is_accepted(key: bytes, msg_id: str, body: bytes, skew: int) -> None:
    ts = str(_NOW + skew)
    headers = headers_for(msg_id, ts, f"v1a,xyz {sign(key, msg_id, ts, body)}")
    assert validate(headers=headers, body=body, secret=secret_of(key), now=_NOW) is True


@PROFILE
@given(_keys, _msg_ids, st.binary(max_size=200), st.binary(max_size=200))
def test_a_tampered_body_is_refused(key: bytes, msg_id: str, body: bytes, other: bytes) -> None:
    assume(body != other)
    ts = str(_NOW)
    headers = headers_for(msg_id, ts, sign(key, msg_id, ts, body))
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        validate(headers=headers, body=other, secret=secret_of(key), now=_NOW)


@PROFILE
@given(_keys, _keys, _msg_ids, st.binary(max_size=100))
def test_a_wrong_secret_is_refused(key: bytes, wrong: bytes, msg_id: str, body: bytes) -> None:
    assume(key != wrong)
    ts = str(_NOW)
    headers = headers_for(msg_id, ts, sign(key, msg_id, ts, body))
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        validate(headers=headers, body=body, secret=secret_of(wrong), now=_NOW)


@PROFILE
@given(
    _keys,
    st.binary(max_size=50),
    st.one_of(st.integers(301, 10**12), st.integers(-(10**12), -301)),
    st.sampled_from([300, 0, 1, 60.5]),
)
def test_a_stale_or_future_timestamp_is_refused(
    key: bytes, body: bytes, skew: int, tolerance: float
) -> None:
    assume(abs(skew) > tolerance)
    ts = str(max(0, _NOW + skew))
    assume(abs(int(ts) - _NOW) > tolerance)
    headers = headers_for("msg_1", ts, sign(key, "msg_1", ts, body))  # correctly signed
    with pytest.raises(WebhookVerificationError, match=r"too old|too new"):
        validate(headers=headers, body=body, secret=secret_of(key), now=_NOW, tolerance=tolerance)


_header_names = st.sampled_from(
    ["webhook-id", "Webhook-Id", "webhook-timestamp", "WEBHOOK-TIMESTAMP", "webhook-signature", "x"]
)
#: Text with lone surrogates among other characters (what surrogateescape decoding leaves).
_any_text = st.lists(
    st.one_of(
        st.characters(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=[]),
    ),
    max_size=20,
).map("".join)
_header_values = st.one_of(
    st.text(max_size=40),
    _any_text,
    st.sampled_from(
        ["", " ", str(_NOW), f" {_NOW} ", "-1", "1e9", "٣", "v1,", "v1, v1,,", "v2,abc"]
    ),
    st.binary(max_size=20),
    st.lists(st.text(max_size=10), max_size=2),
)


@PROFILE
@given(
    st.one_of(
        st.dictionaries(_header_names, _header_values, max_size=6),
        st.lists(
            st.tuples(st.one_of(_header_names, _header_names.map(str.encode)), _header_values),
            max_size=6,
        ),
    ),
    st.one_of(st.binary(max_size=50), st.text(max_size=50), _any_text),
    st.one_of(st.text(max_size=40), _any_text, _keys.map(secret_of), st.just("whsec_")),
    st.sampled_from([300, None]),
)
def test_malformed_deliveries_raise_only_the_webhook_error(
    headers: Any, body: Any, secret: str, tolerance: int | None
) -> None:
    try:
        accepted = validate(
            headers=headers, body=body, secret=secret, now=_NOW, tolerance=tolerance
        )
    except WebhookVerificationError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:  # only with a signature hypothesis could not forge
        pytest.fail(f"accepted an unsigned delivery: {headers!r} (returned {accepted!r})")


@PROFILE
@given(_keys, st.binary(max_size=100), _any_text, _any_text)
def test_text_bodies_and_ids_verify_as_the_bytes_they_came_from(
    key: bytes, raw: bytes, text: str, msg_id: str
) -> None:
    """A body given as str (decoded with surrogateescape when not UTF-8) verifies as its bytes;
    any other str, or an id holding lone surrogates, is only ever refused."""
    ts = str(_NOW)
    headers = headers_for("msg_1", ts, sign(key, "msg_1", ts, raw))
    as_text = raw.decode("utf-8", "surrogateescape")
    assert validate(headers=headers, body=as_text, secret=secret_of(key), now=_NOW) is True
    try:
        same = text.encode("utf-8", "surrogateescape") == raw
    except UnicodeEncodeError:
        same = False
    if not same:
        with pytest.raises(WebhookVerificationError):
            validate(headers=headers, body=text, secret=secret_of(key), now=_NOW)
    if msg_id.strip(" \t") != "msg_1":
        signed_for_another = headers_for(msg_id, ts, sign(key, "msg_1", ts, raw))
        with pytest.raises(WebhookVerificationError):
            validate(headers=signed_for_another, body=raw, secret=secret_of(key), now=_NOW)


def test_a_nan_tolerance_is_refused_rather_than_accepting_any_timestamp() -> None:
    key = b"k"
    ts = "1"  # decades old
    headers = headers_for("m", ts, sign(key, "m", ts, b""))
    with pytest.raises(ValueError, match="tolerance"):
        validate(headers=headers, body=b"", secret=secret_of(key), now=_NOW, tolerance=math.nan)


# --- input encoding names the input it cannot encode -------------------------------------------


class Opaque:
    """A type with no JSON form and no encoder."""


#: (value, where inside it the problem is, the complaint)
_UNENCODABLE: list[tuple[Any, str, str]] = [
    (Opaque(), "", "Opaque is not JSON-serialisable"),
    ({1, 2}, "", "set is not JSON-serialisable"),
    (complex(1, 2), "", "complex is not JSON-serialisable"),
    (float("nan"), "", "is not a JSON number"),
    (float("inf"), "", "is not a JSON number"),
    (-float("inf"), "", "is not a JSON number"),
    (numpy.float64("nan"), "", "is not a JSON number"),
    (numpy.array([1.0, float("inf")]), "[1]", "is not a JSON number"),
    ({1: "a"}, "", "object keys must be strings"),
]


def _created(request: Request) -> Response:
    return Response(
        201,
        headers={"content-type": "application/json"},
        content=b'{"id": "p", "status": "starting"}',
    )


@pytest.fixture(scope="module")
def offline_client() -> Iterator[replicate.Replicate]:
    """A client whose transport answers in process: nothing here reaches a network."""
    client = replicate.Replicate(bearer_token="r8_x", transport=MockTransport(_created))
    yield client
    client.close()


_input_keys = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=8)
_plain_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(_input_keys, inner, max_size=3),
    ),
    max_leaves=12,
)


def _child(path: str, key: str) -> str:
    return (f"{path}.{key}" if path else key) if key.isidentifier() else f"{path}[{key!r}]"


@st.composite
def inputs_with_a_bad_value(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """An input with one unencodable value buried in it, its path, and the expected complaint."""
    bad, inside, complaint = draw(st.sampled_from(_UNENCODABLE))
    key = draw(_input_keys)
    path = key
    value: Any = bad
    steps = draw(st.lists(st.one_of(st.integers(0, 2), _input_keys), max_size=4))
    for step in reversed(steps):  # wrap from the inside out, building the path from the top
        value = [None] * step + [value] if isinstance(step, int) else {step: value}
    for step in steps:
        path = f"{path}[{step}]" if isinstance(step, int) else _child(path, step)
    others = draw(st.dictionaries(_input_keys, _plain_json, max_size=3))
    others.pop(key, None)
    return {**others, key: value}, path + inside, complaint


@PROFILE
@given(inputs_with_a_bad_value())
def test_unencodable_inputs_are_refused_naming_the_input(
    offline_client: replicate.Replicate, case: tuple[dict[str, Any], str, str]
) -> None:
    value, path, complaint = case
    sent = len(offline_client.transport.requests)  # type: ignore[attr-defined]
    with pytest.raises((TypeError, ValueError)) as info:
        offline_client.predictions.create(version="a" * 64, input=value)
    assert str(info.value).startswith(f"input {path!r}: ")
    assert complaint in str(info.value)
    assert len(offline_client.transport.requests) == sent  # type: ignore[attr-defined]


@PROFILE
@given(st.dictionaries(_input_keys, _plain_json, max_size=4))
def test_plain_json_inputs_are_sent_as_they_are(
    offline_client: replicate.Replicate, value: dict[str, Any]
) -> None:
    encoded = drive_sync(encode_input_flow(offline_client._core, value), offline_client.transport)
    # Tuples become lists; everything else is unchanged and encodes as JSON.
    assert msgspec.json.decode(msgspec.json.encode(encoded)) == msgspec.json.decode(
        msgspec.json.encode(value)
    )


@pytest.mark.parametrize("shape", ["cycle", "deep"])
def test_a_cyclic_or_absurdly_deep_input_is_refused_naming_it(
    offline_client: replicate.Replicate, shape: str
) -> None:
    value: Any
    if shape == "cycle":
        value = {"x": [1]}
        value["x"].append(value)
    else:
        value = []
        for _ in range(100_000):
            value = [value]
    with pytest.raises(TypeError) as info:
        drive_sync(
            encode_input_flow(offline_client._core, {"cfg": value}), offline_client.transport
        )
    assert str(info.value).startswith("input 'cfg")


# --- the command line never shows a traceback --------------------------------------------------

_ARGV_WORDS = [
    "run",
    "stream",
    "predictions",
    "list",
    "get",
    "show",
    "cancel",
    "models",
    "schema",
    "versions",
    "plugins",
    "auth",
    "login",
    "logout",
    "help",
    "--help",
    "-h",
    "--transport",
    "--token-stdin",
    "--json",
    "-o",
    "--output",
    "--wait",
    "--no-wait",
    "-i",
    "--input",
    "owner/name",
    "owner/name:" + "a" * 64,
    "a" * 64,
    "x=1",
    "x=@missing.png",
    "=",
    "x=",
    "-",
    "--",
    "--cursor",
    "--limit",
    "-1",
    "0",
    "1e999",
    "emulator",
    "nope",
    "'",
    '"',
    "\x00",
    "é",
    "--version",
    "--base-url=http://127.0.0.1:9/v1",
    "--transport=nope",
]
_argv = st.lists(st.one_of(st.sampled_from(_ARGV_WORDS), st.text(max_size=12)), max_size=8)


@contextlib.contextmanager
def _captured_stdio() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


@pytest.fixture(scope="module")
def not_found_server() -> Iterator[str]:
    """A loopback API that answers every request 404 (not retried: each command ends fast)."""
    from replicate.testing.servers import ScriptServer

    with ScriptServer() as server:
        yield server.url("/v1")


@pytest.fixture(params=["no token", "token"])
def offline_cli(
    request: pytest.FixtureRequest,
    not_found_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """Without a token (commands stop before any request), or with one and an API on loopback
    that answers 404 to everything; a scratch directory for any file written."""
    monkeypatch.setenv("REPLICATE_BASE_URL", not_found_server)
    if request.param == "token":
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_cli")
    monkeypatch.chdir(tmp_path)


@PROFILE
@given(_argv)
def test_cli_never_shows_a_traceback(offline_cli: None, argv: list[str]) -> None:
    from replicate.cli import main

    with _captured_stdio() as (out, err):
        code = main(argv)
    errors = err.getvalue()
    assert "Traceback" not in errors and "Traceback" not in out.getvalue()
    assert code in (0, 1, 2), (argv, code, errors)
    if code != 0:
        last = errors.rstrip("\n").rsplit("\n", 1)[-1]
        # One line of ours ("replicate: ..."), or argparse's usage and "replicate run: error: ..."
        assert last.startswith("replicate") or last.startswith("usage: "), (argv, errors)
        assert len(last) < 2000


_HELLO_VERSION = "9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426"
_MODELS = [
    "replicate/hello-world",
    "replicate/stream-tokens",
    "replicate/png-image",
    _HELLO_VERSION,
    "replicate/hello-world:" + _HELLO_VERSION,
    "replicate/hello-world:" + "0" * 64,
    "replicate/nope",
    "not a model",
]
_KEYS = ["text", "prompt", "max_tokens", "delay", "width", "height", "color", "seed", "nope", ""]
_VALUES = [
    *("0", "1", "-1", "2.5", "4097", "abc", "1e999", "nan", "inf", "[1,2]", "[", "true"),
    *("", "@missing.png", "@.", "{}", "null", '"q"', "é", "a,b", "\n", "\x00"),
]
_key_values = st.builds(
    lambda key, sep, value: f"{key}{sep}{value}",
    st.sampled_from(_KEYS),
    st.sampled_from(["=", ":=", "=@"]),
    st.one_of(st.sampled_from(_VALUES), st.text(max_size=8)),
)
_run_options = st.sampled_from(
    [
        *("--json", "--no-wait", "--wait", "--stream", "-q", "--timeout", "--timeout=0"),
        *("--timeout=-1", "--timeout=nan", "--timeout=1e999", "--timeout=30", "-o", "out"),
        *("-o=/dev/null/x", "--limit", "--limit=0", "--limit=-1", "--limit=x", "--limit=3"),
    ]
)
_commands = st.one_of(
    st.builds(
        lambda command, model, rest: [command, model, *rest],
        st.sampled_from(["run", "stream"]),
        st.sampled_from(_MODELS),
        st.lists(st.one_of(_key_values, _run_options), max_size=5),
    ),
    st.builds(
        lambda group, rest: [*group, *rest],
        st.sampled_from(
            [
                ["predictions", "list"],
                ["predictions", "get"],
                ["predictions", "cancel"],
                ["models", "get"],
                ["models", "list"],
                ["models", "schema"],
            ]
        ),
        st.lists(
            st.one_of(st.sampled_from(_MODELS), _run_options, st.text(max_size=10)), max_size=3
        ),
    ),
)


_prop_schemas = st.recursive(
    st.one_of(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["integer", "number", "boolean", "string", "object"])},
            optional={
                "minimum": st.integers(-5, 5),
                "maximum": st.integers(-5, 5),
                "exclusiveMaximum": st.floats(-5, 5),
                "enum": st.lists(st.one_of(st.integers(-2, 2), st.text(max_size=3)), max_size=3),
                "minLength": st.integers(0, 3),
                "format": st.just("uri"),
            },
        ),
        st.just({}),
    ),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": inner}),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=2)}),
        st.fixed_dictionaries({"allOf": st.lists(inner, min_size=1, max_size=1)}),
        st.fixed_dictionaries(
            {"type": st.lists(st.sampled_from(["integer", "string", "null", "array"]), max_size=2)}
        ),
    ),
    max_leaves=4,
)
_input_schemas = st.builds(
    lambda props, required: {
        "type": "object",
        "properties": props,
        "required": [k for k in required if k in props],
    },
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _prop_schemas, max_size=3),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
)
_raw_values = st.one_of(
    st.sampled_from(_VALUES),
    st.text(max_size=10),
    st.sampled_from(
        ["[" * 5000, "[" * 3000 + "]" * 3000, "1" * 5000, "x," * 3000, "1e400", "NaN", "١٢", "²"]
    ),
)
_assignments = st.builds(
    lambda key, sep, value: f"{key}{sep}{value}",
    st.sampled_from(["a", "b", "c", "d", ":", ""]),
    st.sampled_from(["=", ":=", "=@", ""]),
    _raw_values,
)


@PROFILE
@given(st.lists(_assignments, max_size=5), st.one_of(st.none(), _input_schemas))
def test_cli_inputs_are_converted_or_refused_as_usage_errors(
    items: list[str], schema: dict[str, Any] | None
) -> None:
    """``key=value`` arguments against any input schema: an input, or one usage line."""
    from replicate.cli._context import CommandError
    from replicate.cli._inputs import build_input

    try:
        result = build_input(items, schema)
    except CommandError as exc:
        assert exc.exit_code == 2
        assert exc.message and "\n" not in exc.message
    else:
        assert isinstance(result, dict)


@pytest.fixture(scope="module")
def fast_emulator_url() -> Iterator[str]:
    """The emulator on loopback, its models' waits divided by 10,000 (rate limits off)."""
    from replicate_emulator.app import Emulator
    from replicate_emulator.server import serve

    emulator = Emulator(rate_limits=False, speed=10_000)
    server = serve(emulator, port=0)
    try:
        yield server.base_url
    finally:
        server.close()
        emulator.close()


@PROFILE
@given(_commands)
def test_cli_commands_against_the_emulator_never_show_a_traceback(
    fast_emulator_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, argv: list[str]
) -> None:
    """Commands that get as far as the API (the emulator), with inputs of every shape."""
    from replicate.cli import main

    monkeypatch.setenv("REPLICATE_BASE_URL", fast_emulator_url)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_cli")
    monkeypatch.chdir(tmp_path)
    with _captured_stdio() as (out, err):
        code = main(argv)
    errors = err.getvalue()
    event(f"exit status {code}")  # shown by --hypothesis-show-statistics
    assert "Traceback" not in errors + out.getvalue(), errors
    assert code in (0, 1, 2), (argv, code, errors)
    if code != 0:
        last = errors.rstrip("\n").rsplit("\n", 1)[-1]
        assert last.startswith("replicate") or last.startswith("usage: "), (argv, errors)


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["predictions", "get"],
        ["run", "not a reference", "x=1"],
        ["models", "schema", "owner/name", "--limit", "\udcff"],
        ["--transport", "nope", "--token-stdin", "predictions", "list"],
    ],
)
def test_cli_process_never_shows_a_traceback(offline_cli: None, argv: list[str]) -> None:
    """The real console entry point, in a child: the same one line, through a real stderr."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "replicate.cli", *argv],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode in (1, 2), done.stderr
    assert done.stderr.rstrip("\n").rsplit("\n", 1)[-1].startswith("replicate")
