"""Tests for replicate.types: decode recorded traffic and the spec's examples into the Structs."""

from __future__ import annotations

import ast
import datetime
import json
import pickle
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

import replicate.types as rt
from replicate.types import (
    TERMINAL_STATUSES,
    Account,
    Collection,
    Deployment,
    File,
    Hardware,
    Model,
    Page,
    Prediction,
    PredictionStatus,
    ReplicateObject,
    SearchResponse,
    Training,
    Version,
    WebhookSecret,
    decoder_for,
    is_terminal,
)

try:
    from tests import cassettes, reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import cassettes
    import reference

REFERENCE = reference.directory()  # None without the reference data: its tests are skipped
MOCK_BODIES_NAME = "fixtures/v1-respx-mock-bodies.json"

# --------------------------------------------------------------------------------------------
# Routes: which Struct each JSON response decodes into (spec path templates, relative to /v1)
# --------------------------------------------------------------------------------------------

ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/account", Account),
    ("GET", "/collections", Page[Collection]),
    ("GET", "/collections/{collection_slug}", Collection),
    ("GET", "/deployments", Page[Deployment]),
    ("POST", "/deployments", Deployment),
    ("GET", "/deployments/{deployment_owner}/{deployment_name}", Deployment),
    ("PATCH", "/deployments/{deployment_owner}/{deployment_name}", Deployment),
    ("POST", "/deployments/{deployment_owner}/{deployment_name}/predictions", Prediction),
    ("GET", "/files", Page[File]),
    ("POST", "/files", File),
    ("GET", "/files/{file_id}", File),
    ("GET", "/hardware", rt.HardwareListResponse),
    ("GET", "/models", Page[Model]),
    ("POST", "/models", Model),
    ("QUERY", "/models", Page[Model]),
    ("GET", "/models/{model_owner}/{model_name}", Model),
    ("PATCH", "/models/{model_owner}/{model_name}", Model),
    ("GET", "/models/{model_owner}/{model_name}/examples", Page[Prediction]),
    ("POST", "/models/{model_owner}/{model_name}/predictions", Prediction),
    ("GET", "/models/{model_owner}/{model_name}/versions", Page[Version]),
    ("GET", "/models/{model_owner}/{model_name}/versions/{version_id}", Version),
    ("POST", "/models/{model_owner}/{model_name}/versions/{version_id}/trainings", Training),
    ("GET", "/predictions", Page[Prediction]),
    ("POST", "/predictions", Prediction),
    ("GET", "/predictions/{prediction_id}", Prediction),
    ("POST", "/predictions/{prediction_id}/cancel", Prediction),
    ("GET", "/search", SearchResponse),
    ("GET", "/trainings", Page[Training]),
    ("GET", "/trainings/{training_id}", Training),
    ("POST", "/trainings/{training_id}/cancel", Training),
    ("GET", "/webhooks/default/secret", WebhookSecret),
]

_ROUTE_RES = [
    (method, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$"), tp)
    for method, template, tp in ROUTES
]


def route(method: str, path: str) -> Any:
    """The Struct type for a response to ``method path`` (``path`` relative to /v1), or None."""
    for m, rx, tp in _ROUTE_RES:
        if m == method and rx.match(path):
            return tp
    return None


# Fields seen in real responses that the Structs deliberately do not declare (legacy fields).
KNOWN_UNDECLARED = {
    "ExamplePrediction.webhook",  # old default_example objects
    "ExamplePrediction.webhook_completed",
    "Prediction.webhook_completed",
    "Prediction.stream",  # POST /predictions with "stream": true, 2023
    "Training.webhook_completed",
}

# --------------------------------------------------------------------------------------------
# Field-by-field comparison of a decoded object against the JSON it came from
# --------------------------------------------------------------------------------------------

_TS = re.compile(
    r"^(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)?$",
)


def parse_timestamp(text: str) -> datetime.datetime:
    """Independent RFC 3339 parser (any number of fractional digits, rounded to microseconds)."""
    m = _TS.match(text)
    assert m, f"not an RFC 3339 timestamp: {text!r}"
    date, clock, frac, offset = m.groups()
    base = datetime.datetime.fromisoformat(f"{date}T{clock}")
    micro = round(Decimal("0." + frac) * 1_000_000) if frac else 0
    if offset in (None, "Z", "z"):
        tz = datetime.timezone.utc
    else:
        sign = 1 if offset[0] == "+" else -1
        tz = datetime.timezone(
            sign * datetime.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        )
    return base.replace(tzinfo=tz) + datetime.timedelta(microseconds=int(micro))


def compare(value: Any, raw: Any, path: str, undeclared: set[str]) -> None:
    """Assert that ``value`` (decoded) matches ``raw`` (the JSON), recursing through Structs.

    Every key of a JSON object that the Struct declares must round-trip; keys it does not declare
    are collected into ``undeclared`` as ``"StructName.key"``.
    """
    if isinstance(value, msgspec.Struct):
        assert isinstance(raw, dict), f"{path}: decoded a Struct from {type(raw).__name__}"
        by_key = {f.encode_name: f.name for f in msgspec.structs.fields(value)}
        for key, raw_value in raw.items():
            if key in by_key:
                compare(getattr(value, by_key[key]), raw_value, f"{path}.{key}", undeclared)
            else:
                undeclared.add(f"{type(value).__name__}.{key}")
    elif isinstance(value, datetime.datetime):
        assert isinstance(raw, str), f"{path}: datetime from {raw!r}"
        assert value.tzinfo is not None and value.utcoffset() is not None, f"{path}: naive"
        assert value == parse_timestamp(raw), f"{path}: {value!r} != {raw!r}"
    elif isinstance(value, list):
        assert isinstance(raw, list), f"{path}: list from {type(raw).__name__}"
        assert len(value) == len(raw), f"{path}: length {len(value)} != {len(raw)}"
        for i, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
            compare(item, raw_item, f"{path}[{i}]", undeclared)
    else:
        # Free-form JSON (input, output, openapi_schema, metadata) and scalars.
        assert msgspec.to_builtins(value) == raw, f"{path}: {value!r} != {raw!r}"
        if isinstance(raw, bool) or raw is None:
            assert value is raw, f"{path}: {value!r} is not {raw!r}"


def decode_and_compare(tp: Any, body: bytes | str) -> tuple[Any, set[str]]:
    decoded = decoder_for(tp).decode(body)
    undeclared: set[str] = set()
    compare(decoded, json.loads(body), "$", undeclared)
    return decoded, undeclared


# --------------------------------------------------------------------------------------------
# Recorded traffic
# --------------------------------------------------------------------------------------------

EXCHANGES = cassettes.load_all()
# With the reference directory there, its cassettes must be found: never an empty pass.
assert EXCHANGES or REFERENCE is None, f"no recorded cassettes under {REFERENCE}"

API_PREFIX = "/v1"


def _api_path(ex: cassettes.Exchange) -> str | None:
    if ex.host != "api.replicate.com" or not ex.path.startswith(API_PREFIX):
        return None
    return ex.path[len(API_PREFIX) :]


def _classify(ex: cassettes.Exchange) -> str:
    path = _api_path(ex)
    if path is None:
        return "not-api"
    if ex.status == 204 or (not ex.response_body and ex.status < 300):
        return "empty"
    if ex.status >= 400:
        return "error"
    if ex.is_json and route(ex.method, path) is not None:
        return "decodable"
    return "unrouted"


DECODABLE = [ex for ex in EXCHANGES if _classify(ex) == "decodable"]


@pytest.mark.reference
def test_every_exchange_is_accounted_for() -> None:
    counts: dict[str, int] = {}
    for ex in EXCHANGES:
        kind = _classify(ex)
        counts[kind] = counts.get(kind, 0) + 1
    unrouted = [f"{ex.id} {ex.method} {ex.url}" for ex in EXCHANGES if _classify(ex) == "unrouted"]
    assert not unrouted, unrouted
    assert sum(counts.values()) == len(EXCHANGES)
    assert set(counts) <= {"decodable", "empty", "error", "not-api"}
    # The reference set: 228 exchanges in 35 files (see tests/cassettes.py).
    if len(EXCHANGES) == 228:
        assert counts == {"decodable": 224, "empty": 1, "error": 2, "not-api": 1}
    # The error bodies are problem+json (handled by replicate.exceptions, not by these Structs).
    for ex in EXCHANGES:
        if _classify(ex) == "error":
            assert ex.content_type == "application/problem+json"
            assert "detail" in ex.json()


@pytest.mark.reference
@pytest.mark.parametrize("ex", DECODABLE, ids=[ex.id for ex in DECODABLE])
def test_cassette_response_round_trips(ex: cassettes.Exchange) -> None:
    path = _api_path(ex)
    assert path is not None
    tp = route(ex.method, path)
    decoded, undeclared = decode_and_compare(tp, ex.response_body)
    assert undeclared <= KNOWN_UNDECLARED, f"fields not declared: {undeclared - KNOWN_UNDECLARED}"
    # Encoding back and decoding again gives an equal object.
    again = decoder_for(tp).decode(msgspec.json.encode(decoded))
    assert again == decoded


@pytest.mark.reference
def test_cassette_timestamp_formats_all_decode() -> None:
    """The recordings use Z with 0, 2-9 fractional digits; all must decode tz-aware."""
    shapes: set[str] = set()
    for ex in DECODABLE:
        for stamp in re.findall(
            rb'"(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?)"', ex.response_body
        ):
            shapes.add(re.sub(r"\d", "9", stamp.decode()))
            value = msgspec.json.decode(b'"' + stamp + b'"', type=datetime.datetime)
            assert value.tzinfo is not None
            assert value == parse_timestamp(stamp.decode())
    assert "9999-99-99T99:99:99.999999999Z" in shapes  # nanoseconds (Go-style)
    assert "9999-99-99T99:99:99.999Z" in shapes  # milliseconds (files API)
    assert "9999-99-99T99:99:99Z" in shapes


@pytest.mark.reference
def test_cassettes_cover_each_struct() -> None:
    covered = {route(ex.method, _api_path(ex) or "") for ex in DECODABLE}
    expected: list[Any] = [Prediction, Model, Version, Training, File, Collection]
    expected += [rt.HardwareListResponse, Page[Model], Page[Version], Page[File], Page[Collection]]
    for tp in expected:
        assert tp in covered, tp


@pytest.mark.reference
def test_known_undeclared_fields_are_current() -> None:
    """KNOWN_UNDECLARED lists exactly what the recordings send beyond the Structs."""
    undeclared: set[str] = set()
    for ex in DECODABLE:
        undeclared |= decode_and_compare(route(ex.method, _api_path(ex) or ""), ex.response_body)[1]
    assert undeclared == KNOWN_UNDECLARED


# --------------------------------------------------------------------------------------------
# Hand-written mock bodies from the v1 tests (deployments, account: no recordings exist)
# --------------------------------------------------------------------------------------------


def _mock_entries() -> list[dict[str, Any]]:
    root = cassettes.cassette_dir()
    if root is None or not (root / MOCK_BODIES_NAME).is_file():
        return []
    entries: list[dict[str, Any]] = json.loads((root / MOCK_BODIES_NAME).read_text())["entries"]
    return entries


@pytest.mark.reference
def test_v1_mock_bodies_decode() -> None:
    decoded = 0
    for entry in _mock_entries():
        body = entry.get("json_body")
        path = entry.get("path_under_v1")
        if not isinstance(body, (dict, list)) or not path or entry["status"] >= 400:
            continue
        tp = route(entry["method"], path)
        assert tp is not None, entry
        raw = json.dumps(body)
        if body.get("created_at") == "" if isinstance(body, dict) else False:
            # A hand-written fixture with "created_at": "" - not a timestamp, so rejected.
            with pytest.raises(msgspec.ValidationError, match="created_at"):
                decoder_for(tp).decode(raw)
            continue
        _, undeclared = decode_and_compare(tp, raw)
        assert not undeclared, undeclared
        decoded += 1
    assert decoded >= 8


# --------------------------------------------------------------------------------------------
# The OpenAPI spec: every declared response field exists, with a compatible type
# --------------------------------------------------------------------------------------------


def _load_spec() -> dict[str, Any] | None:
    if REFERENCE is None:
        return None
    spec: dict[str, Any] = json.loads((REFERENCE / reference.SPEC_NAME).read_text())
    return spec


SPEC = _load_spec()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    assert SPEC is not None
    while "$ref" in schema:
        node: Any = SPEC
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _json_responses() -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(METHOD, path, status, media-type object, operation) for each 2xx JSON response."""
    if SPEC is None:
        return []
    found = []
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            for status, response in op.get("responses", {}).items():
                media = (response.get("content") or {}).get("application/json")
                if status.startswith("2") and media:
                    found.append((method.upper(), path, status, media, op))
    return found


JSON_RESPONSES = _json_responses()


def _unwrap(t: mi.Type) -> list[mi.Type]:
    """The non-None members of a (possibly union) type."""
    if isinstance(t, mi.UnionType):
        return [m for m in t.types if not isinstance(m, mi.NoneType)]
    return [t]


def _check_schema(schema: dict[str, Any], t: mi.Type, where: str) -> None:
    schema = _resolve(schema)
    members = _unwrap(t)
    if any(isinstance(m, mi.AnyType) for m in members):
        return  # free-form (output)
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string" and fmt == "date-time":
        assert any(isinstance(m, mi.DateTimeType) for m in members), f"{where}: not datetime"
    elif kind == "string":
        assert any(isinstance(m, mi.StrType) for m in members), f"{where}: not str"
    elif kind == "integer":
        assert any(isinstance(m, mi.IntType) for m in members), f"{where}: not int"
    elif kind == "number":
        assert any(isinstance(m, (mi.FloatType, mi.IntType)) for m in members), f"{where}"
    elif kind == "boolean":
        assert any(isinstance(m, mi.BoolType) for m in members), f"{where}: not bool"
    elif kind == "array":
        lists = [m for m in members if isinstance(m, mi.ListType)]
        assert lists, f"{where}: not a list"
        if "items" in schema:
            _check_schema(schema["items"], lists[0].item_type, where + "[]")
    elif kind == "object" or "properties" in schema:
        structs = [m for m in members if isinstance(m, mi.StructType)]
        if not structs:
            assert any(isinstance(m, mi.DictType) for m in members), f"{where}: not an object"
            return
        declared = {f.encode_name: f for f in structs[0].fields}
        for prop, prop_schema in schema.get("properties", {}).items():
            assert prop in declared, f"{where}.{prop} is declared by the spec but not the Struct"
            _check_schema(prop_schema, declared[prop].type, f"{where}.{prop}")
        for prop in schema.get("required", []):
            # Required in the spec never means required in the Struct, except identifiers.
            assert prop in declared, f"{where}.{prop}"


@pytest.mark.reference
def test_every_spec_json_response_has_a_route() -> None:
    missing = [
        f"{m} {p} {s}" for m, p, s, _, _ in JSON_RESPONSES if route(m, p.rstrip("/")) is None
    ]
    assert not missing
    assert len({(m, p) for m, p, _, _, _ in JSON_RESPONSES}) == len(ROUTES)


@pytest.mark.reference
@pytest.mark.parametrize(
    ("method", "path", "status", "media"),
    [(m, p, s, media) for m, p, s, media, _ in JSON_RESPONSES],
    ids=[f"{m} {p} {s}" for m, p, s, _, _ in JSON_RESPONSES],
)
def test_spec_response_fields_are_declared(
    method: str, path: str, status: str, media: dict[str, Any]
) -> None:
    tp = route(method, path)
    _check_schema(media["schema"], mi.type_info(tp), f"{method} {path}")


def _doc_example(op: dict[str, Any]) -> str | None:
    """The JSON response example in an operation's description, made valid JSON.

    The docs' examples have trailing commas and ``{...}``/``[...]`` placeholders.
    """
    m = re.search(
        r"The response will be[^\n]*\n\s*```json\n(.*?)```", op.get("description", ""), re.S
    )
    if not m:
        return None
    text = m.group(1)
    text = re.sub(r"\{\s*\.\.\.\s*\}", "null", text)
    text = re.sub(r"\[\s*\.\.\.\s*\]", "[]", text)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    return text


@pytest.mark.reference
def test_spec_examples_decode() -> None:
    seen = 0
    operations: set[str] = set()
    for method, path, _status, media, op in JSON_RESPONSES:
        tp = route(method, path)
        examples = []
        if "example" in media:
            examples.append(json.dumps(media["example"]))
        examples.extend(ex["value"] for ex in media.get("examples", {}).values())
        doc = _doc_example(op)
        if doc is not None:
            examples.append(doc)
        for example in examples:
            body = example if isinstance(example, str) else json.dumps(example)
            _, undeclared = decode_and_compare(tp, body)
            assert not undeclared, f"{method} {path}: {undeclared}"
            seen += 1
            operations.add(op["operationId"])
    # Every operation that documents a JSON response example (the search schema example, and the
    # "The response will be ..." blocks of the descriptions).
    assert operations >= {
        "account.get",
        "collections.get",
        "collections.list",
        "deployments.create",
        "deployments.get",
        "deployments.list",
        "deployments.update",
        "hardware.list",
        "models.create",
        "models.examples.list",
        "models.get",
        "models.versions.get",
        "models.versions.list",
        "predictions.get",
        "predictions.list",
        "search",
        "trainings.create",
        "trainings.get",
        "trainings.list",
        "webhooks.default.secret.get",
    }
    assert seen >= len(operations)


# --------------------------------------------------------------------------------------------
# Behaviour
# --------------------------------------------------------------------------------------------

PREDICTION = b"""{
  "id": "gm3qorzdhgbfurvjtvhg6dckhu", "model": "replicate/hello-world",
  "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
  "input": {"text": "Alice"}, "logs": "", "output": "hello Alice", "error": null,
  "status": "succeeded", "created_at": "2023-09-08T16:19:34.765994Z", "source": "api",
  "data_removed": false, "started_at": "2023-09-08T16:19:34.779176Z",
  "completed_at": "2023-09-08T16:19:34.791859Z", "metrics": {"predict_time": 0.012683},
  "urls": {"web": "https://replicate.com/p/gm3qorzdhgbfurvjtvhg6dckhu",
           "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu",
           "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel"}
}"""


def _prediction(**changes: Any) -> bytes:
    data = json.loads(PREDICTION)
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize("status", ["aborted", "some_future_status", "starting", "canceled"])
def test_open_status_values_decode(status: str) -> None:
    p = decoder_for(Prediction).decode(_prediction(status=status))
    assert p.status == status
    t = decoder_for(Training).decode(b'{"id": "t", "status": "%s"}' % status.encode())
    assert t.status == status


def test_open_enums_everywhere() -> None:
    m = decoder_for(Model).decode(b'{"visibility": "unlisted"}')
    assert m.visibility == "unlisted"
    a = decoder_for(Account).decode(b'{"username": "u", "type": "team"}')
    assert a.type == "team"
    p = decoder_for(Prediction).decode(_prediction(source="cli", version="hidden"))
    assert (p.source, p.version) == ("cli", "hidden")


def test_status_constants_and_is_terminal() -> None:
    assert PredictionStatus.ABORTED == "aborted"
    assert {"succeeded", "failed", "canceled", "aborted"} == TERMINAL_STATUSES
    assert all(is_terminal(s) for s in TERMINAL_STATUSES)
    for s in ("starting", "processing", "some_future_status", None):
        assert not is_terminal(s)


def test_unknown_fields_are_ignored() -> None:
    body = _prediction(
        brand_new=1, urls={"get": "g", "cancel": "c", "extra": "x"}, metrics={"new_metric": 3}
    )
    p = decoder_for(Prediction).decode(body)
    assert p.urls is not None and p.urls.get == "g"
    assert p.metrics is not None and p.metrics.predict_time is None
    assert "brand_new" not in p.to_dict()


def test_metrics_fields() -> None:
    p = decoder_for(Prediction).decode(
        _prediction(
            metrics={
                "predict_time": 1,
                "total_time": 2.5,
                "input_token_count": 12,
                "output_token_count": 34,
                "tokens_per_second": 10.5,
                "time_to_first_token": 0.25,
            }
        )
    )
    m = p.metrics
    assert m is not None
    assert (m.predict_time, m.total_time) == (1, 2.5)
    assert (m.input_token_count, m.output_token_count) == (12, 34)
    assert isinstance(m.input_token_count, int)
    assert (m.tokens_per_second, m.time_to_first_token) == (10.5, 0.25)


def test_timestamps_are_timezone_aware() -> None:
    p = decoder_for(Prediction).decode(
        _prediction(
            created_at="2023-09-08T16:32:56.990893084Z",  # nanoseconds
            started_at="2024-08-22T12:26:51.079Z",  # milliseconds
            completed_at="2024-08-22T12:26:51",  # no offset: taken as UTC
            deadline="2024-08-22T14:26:51+02:00",
        )
    )
    utc = datetime.timezone.utc
    assert p.created_at == datetime.datetime(2023, 9, 8, 16, 32, 56, 990893, tzinfo=utc)
    assert p.started_at == datetime.datetime(2024, 8, 22, 12, 26, 51, 79000, tzinfo=utc)
    assert p.completed_at == datetime.datetime(2024, 8, 22, 12, 26, 51, tzinfo=utc)
    assert p.deadline == datetime.datetime(2024, 8, 22, 12, 26, 51, tzinfo=utc)
    for value in (p.created_at, p.started_at, p.completed_at, p.deadline):
        assert value is not None and value.tzinfo is not None
    f = decoder_for(File).decode(
        b'{"id": "f", "created_at": "2024-01-01T00:00:00", "expires_at": null}'
    )
    assert f.created_at is not None and f.created_at.tzinfo is utc


def test_required_identifiers() -> None:
    with pytest.raises(msgspec.ValidationError, match="id"):
        decoder_for(Prediction).decode(b'{"status": "starting"}')
    required = {
        cls.__name__: {f.name for f in msgspec.structs.fields(cls) if f.required}
        for cls in _struct_classes()
    }
    assert {k: v for k, v in required.items() if v} == {
        "Account": {"username"},
        "Collection": {"slug"},
        "File": {"id"},
        "Prediction": {"id"},
        "SearchCollection": {"slug"},
        "Training": {"id"},
        "Version": {"id"},
    }


def test_lenient_numbers() -> None:
    m = decoder_for(Model).decode(b'{"run_count": 10000000000.0}')
    assert m.run_count == 10_000_000_000 and isinstance(m.run_count, int)
    f = decoder_for(File).decode(b'{"id": "f", "size": "14"}')
    assert f.size == 14


def test_free_json_fields_are_plain_python() -> None:
    p = decoder_for(Prediction).decode(
        _prediction(input={"a": [1, {"b": None}]}, output=[{"x": 1.5}, "s", True, None])
    )
    assert p.input == {"a": [1, {"b": None}]}
    assert p.output == [{"x": 1.5}, "s", True, None]
    v = decoder_for(Version).decode(b'{"id": "v", "openapi_schema": {"openapi": "3.0.2"}}')
    assert type(v.openapi_schema) is dict


def test_to_dict_and_to_json() -> None:
    p = decoder_for(Prediction).decode(PREDICTION)
    d = p.to_dict()
    assert d["created_at"] == "2023-09-08T16:19:34.765994Z"
    assert d["urls"]["get"].endswith("/gm3qorzdhgbfurvjtvhg6dckhu")
    assert "error" not in d  # None fields are left out
    assert d["data_removed"] is False
    text = p.to_json()
    assert isinstance(text, str)
    assert "\n  " in text  # indented by default, like v2
    assert json.loads(text) == d
    compact = p.to_json(indent=None)
    assert "\n" not in compact and json.loads(compact) == d
    assert Prediction.from_json(text) == p
    assert Prediction.from_dict(d) == p
    assert Prediction.from_dict(json.loads(PREDICTION)) == p


def test_repr_is_readable() -> None:
    p = decoder_for(Prediction).decode(b'{"id": "abc", "status": "starting"}')
    assert repr(p) == "Prediction(id='abc', status='starting')"


def test_pickle_round_trips() -> None:
    objs: list[Any] = [
        decoder_for(Prediction).decode(PREDICTION),
        decoder_for(Page[Prediction]).decode(b'{"next": "n", "results": [%s]}' % PREDICTION),
        decoder_for(SearchResponse).decode(
            b'{"query": "q", "models": [{"model": {"owner": "o", "latest_version": {"id": "v"}},'
            b' "metadata": {"score": 1.5, "tags": ["t"]}}], "collections": [{"slug": "s",'
            b' "models": ["a/b"]}], "pages": [{"name": "n", "href": "/h"}]}'
        ),
        decoder_for(Deployment).decode(
            b'{"owner": "o", "current_release": {"number": 1, "created_at": "2024-02-15T16:32:57Z",'
            b' "created_by": {"username": "u", "type": "user"},'
            b' "configuration": {"hardware": "cpu", "min_instances": 0, "max_instances": 1}}}'
        ),
    ]
    objs.extend(cls() for cls in _struct_classes() if not _required(cls))
    for obj in objs:
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj and type(again) is type(obj)


def test_mutable() -> None:
    p = decoder_for(Prediction).decode(PREDICTION)
    p.status = "canceled"
    assert msgspec.structs.replace(p, logs="x").logs == "x"
    assert p.status == "canceled"


def test_page_is_generic() -> None:
    page = decoder_for(Page[Model]).decode(
        b'{"next": "https://api.replicate.com/v1/models?cursor=x", "previous": null,'
        b' "results": [{"owner": "a", "name": "b", "default_example": null}]}'
    )
    assert page.next == "https://api.replicate.com/v1/models?cursor=x"
    assert page.previous is None
    assert isinstance(page.results[0], Model) and page.results[0].owner == "a"
    assert decoder_for(Page[Model]).decode(b"{}").results == []
    hw = decoder_for(rt.HardwareListResponse).decode(b'[{"name": "CPU", "sku": "cpu"}]')
    assert hw == [Hardware(name="CPU", sku="cpu")]


def test_decoder_cache() -> None:
    assert decoder_for(Prediction) is decoder_for(Prediction)
    assert decoder_for(Page[Model]) is decoder_for(Page[Model])
    assert decoder_for(list[Hardware]) is decoder_for(rt.HardwareListResponse)
    models: Any = decoder_for(Page[Model])
    assert models is not decoder_for(Page[Version])


V2_ALIASES = {
    "ModelGetResponse": Model,
    "ModelCreateResponse": Model,
    "ModelUpdateResponse": Model,
    "ModelListResponse": Model,
    "ModelSearchResponse": Model,
    "VersionGetResponse": Version,
    "VersionListResponse": Version,
    "TrainingGetResponse": Training,
    "TrainingCreateResponse": Training,
    "TrainingListResponse": Training,
    "TrainingCancelResponse": Training,
    "FileGetResponse": File,
    "FileCreateResponse": File,
    "FileListResponse": File,
    "DeploymentGetResponse": Deployment,
    "DeploymentCreateResponse": Deployment,
    "DeploymentUpdateResponse": Deployment,
    "DeploymentListResponse": Deployment,
    "CollectionGetResponse": Collection,
    "CollectionListResponse": Collection,
    "HardwareListResponse": list[Hardware],
    "HardwareListResponseItem": Hardware,
    "AccountGetResponse": Account,
    "SecretGetResponse": WebhookSecret,
    "SearchResponse": SearchResponse,
    "Prediction": Prediction,
}


def test_v2_names() -> None:
    for name, target in V2_ALIASES.items():
        assert getattr(rt, name) == target, name
        assert name in rt.__all__
    assert sorted(rt.__all__) == sorted(set(rt.__all__))
    for name in rt.__all__:
        assert hasattr(rt, name), name


# --------------------------------------------------------------------------------------------
# Module-level rules
# --------------------------------------------------------------------------------------------


def _struct_classes() -> list[type[ReplicateObject]]:
    # Through __all__: most classes load on first use, so vars() holds only those used so far.
    found = {getattr(rt, name) for name in rt.__all__}
    return [
        obj
        for obj in found
        if isinstance(obj, type) and issubclass(obj, ReplicateObject) and obj is not ReplicateObject
    ]


def _required(cls: type[msgspec.Struct]) -> bool:
    return any(f.required for f in msgspec.structs.fields(cls))


def _walk_types(t: mi.Type, seen: set[type]) -> list[mi.Type]:
    out = [t]
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return out
        seen.add(t.cls)
        for f in t.fields:
            out += _walk_types(f.type, seen)
    elif isinstance(t, mi.UnionType):
        for m in t.types:
            out += _walk_types(m, seen)
    elif isinstance(t, (mi.ListType, mi.DictType)):
        if isinstance(t, mi.DictType):
            out += _walk_types(t.value_type, seen)
        else:
            out += _walk_types(t.item_type, seen)
    return out


def test_struct_config() -> None:
    classes = _struct_classes()
    assert len(classes) >= 20
    for cls in classes:
        config = cls.__struct_config__
        assert not config.forbid_unknown_fields, cls
        assert not config.array_like, cls
        assert config.omit_defaults, cls
        for t in _walk_types(mi.type_info(cls), set()):
            assert not isinstance(t, (mi.RawType, mi.LiteralType, mi.EnumType)), (cls, t)


def test_module_imports_nothing_else_from_replicate() -> None:
    package = Path(rt.__file__).parent
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent.parent).with_suffix("").parts
        here = parts[:-1]  # the package a relative import starts from
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                ok = module == "replicate._version" or module.startswith("replicate.types")
                assert ok or not module.startswith("replicate"), (path, ast.dump(node))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    ok = alias.name.startswith("replicate.types")
                    assert ok or not alias.name.startswith("replicate"), alias.name


def test_a_first_get_builds_only_the_prediction_structs() -> None:
    """The other objects' module loads on first use of one of its names."""
    import subprocess
    import sys

    code = (
        "import sys, replicate.types as t; t.decoder_for(t.Page[t.Prediction]);"
        "loaded = 'replicate.types._objects' in sys.modules; t.Model;"
        "print(loaded, 'replicate.types._objects' in sys.modules, t.Model.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "Model"]
