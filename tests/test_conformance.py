"""Conformance: recorded API traffic replayed through the resource methods, and the OpenAPI spec.

1. Every recorded exchange (tests/cassettes.py) is served, one at a time, by a loopback server
   that expects exactly the recorded method, path and query; the matching resource method makes
   the call (arguments taken from the recorded request), the server checks the request body, and
   the decoded result is compared field by field with the recorded JSON. Error exchanges raise the
   typed error with the recorded ``detail``.
2. Every operation of the spec (by ``operationId``) resolves to a client method that takes its
   path parameters (and its query, header and body parameters) by name.
3. For every operation, the request our method sends is the one the spec describes: method, path,
   query parameters, headers (``Prefer``, ``Cancel-After``) and the body, validated with
   ``jsonschema`` against the operation's request schema.

(The spec's response examples decoding into our Structs is tests/test_types.py's job.)
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin
from urllib.parse import parse_qsl

import jsonschema
import msgspec
import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from replay import (
    Captured,
    Replay,
    Router,
    assert_request_matches,
    media_type,
    parse_multipart,
    route_key,
    serve,
)
from support import VERSION_ID
from test_types import KNOWN_UNDECLARED, compare, parse_timestamp, route
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._http import Response
from replicate.exceptions import AuthenticationError, NotFoundError
from replicate.pagination import SyncPage
from replicate.types import Page

try:
    from tests import cassettes, reference
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    import cassettes
    import reference

REFERENCE = reference.directory()  # None without the reference data: its tests are skipped

Client = replicate.Replicate
Call = Callable[[Client, cassettes.Exchange, dict[str, str], str], Any]


@pytest.fixture
def replay_client(httpserver: HTTPServer) -> Iterator[replicate.Replicate]:
    """A client on the loopback server that never retries (a mismatch fails at once)."""
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), max_retries=0
    ) as c:
        yield c


# ============================================================================================
# 1. Cassette replay
# ============================================================================================

EXCHANGES = cassettes.load_all()
assert EXCHANGES or REFERENCE is None, f"no recorded cassettes under {REFERENCE}"


def _body(ex: cassettes.Exchange) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(ex.request_body)
    return body


def _prefer_as_wait(ex: cassettes.Exchange) -> dict[str, Any]:
    """``Prefer: wait`` → ``wait=True``, ``Prefer: wait=N`` → ``wait=N``."""
    value = ex.request_header("prefer")
    if value is None:
        return {}
    if value == "wait":
        return {"wait": True}
    m = re.fullmatch(r"wait=(\d+)", value)
    assert m, f"unexpected recorded Prefer {value!r}"
    return {"wait": int(m.group(1))}


def _prefer_verbatim(ex: cassettes.Exchange) -> dict[str, Any]:
    value = ex.request_header("prefer")
    return {} if value is None else {"prefer": value}


def _upload(ex: cassettes.Exchange) -> dict[str, Any]:
    """``files.create`` arguments from a recorded multipart upload."""
    form, files = parse_multipart(ex.request_body, ex.request_header("content-type") or "")
    assert set(files) == {"content"}, files
    filename, content, _part_type = files["content"]
    kwargs: dict[str, Any] = {"content": content, "filename": filename}
    if "type" in form:
        kwargs["type"] = form["type"]
    if "metadata" in form:
        kwargs["metadata"] = json.loads(form["metadata"])
    return kwargs


# (method, route template, SDK call). Templates use the spec's parameter names, which are passed
# to the methods as keywords; ``url`` is the exchange's URL on the loopback server.
REPLAY_CALLS: list[tuple[str, str, Call]] = [
    ("GET", "/collections", lambda c, ex, p, url: c.collections.list()),
    ("GET", "/collections/{collection_slug}", lambda c, ex, p, url: c.collections.get(**p)),
    ("GET", "/files", lambda c, ex, p, url: c.files.list()),
    ("POST", "/files", lambda c, ex, p, url: c.files.create(**_upload(ex))),
    ("GET", "/files/{file_id}", lambda c, ex, p, url: c.files.get(**p)),
    ("DELETE", "/files/{file_id}", lambda c, ex, p, url: c.files.delete(**p)),
    ("GET", "/hardware", lambda c, ex, p, url: c.hardware.list()),
    ("GET", "/models", lambda c, ex, p, url: c.models.list()),
    ("POST", "/models", lambda c, ex, p, url: c.models.create(**_body(ex))),
    (
        "QUERY",
        "/models",
        lambda c, ex, p, url: c.models.search(body=ex.request_body.decode("utf-8")),
    ),
    ("GET", "/models/{model_owner}/{model_name}", lambda c, ex, p, url: c.models.get(**p)),
    (
        "POST",
        "/models/{model_owner}/{model_name}/predictions",
        lambda c, ex, p, url: c.models.predictions.create(**p, **_body(ex), **_prefer_verbatim(ex)),
    ),
    (
        "GET",
        "/models/{model_owner}/{model_name}/versions",
        lambda c, ex, p, url: c.models.versions.list(**p),
    ),
    (
        "GET",
        "/models/{model_owner}/{model_name}/versions/{version_id}",
        lambda c, ex, p, url: c.models.versions.get(**p),
    ),
    (
        "POST",
        "/models/{model_owner}/{model_name}/versions/{version_id}/trainings",
        lambda c, ex, p, url: c.trainings.create(**p, **_body(ex)),
    ),
    (
        "POST",
        "/predictions",
        lambda c, ex, p, url: c.predictions.create(**_body(ex), **_prefer_as_wait(ex)),
    ),
    ("GET", "/predictions/{prediction_id}", lambda c, ex, p, url: c.predictions.get(**p)),
    (
        "POST",
        "/predictions/{prediction_id}/cancel",
        lambda c, ex, p, url: c.predictions.cancel(**p),
    ),
    ("GET", "/trainings/{training_id}", lambda c, ex, p, url: c.trainings.get(**p)),
    ("POST", "/trainings/{training_id}/cancel", lambda c, ex, p, url: c.trainings.cancel(**p)),
    # An output file on the CDN: a raw GET of the absolute URL.
    ("GET", "//replicate.delivery/{file_path*}", lambda c, ex, p, url: c.get(url)),
]
ROUTER = Router(REPLAY_CALLS)

# The typed error for each recorded error status.
ERRORS: dict[int, type[Exception]] = {401: AuthenticationError, 404: NotFoundError}

# How many recorded exchanges each route has: a new or vanished recording changes this table.
EXPECTED_BY_ROUTE = {
    "DELETE /files/{file_id}": 1,
    "GET /collections": 1,
    "GET /collections/{collection_slug}": 1,
    "GET /files": 2,
    "GET /files/{file_id}": 1,
    "GET /hardware": 1,
    "GET /models": 1,
    "GET /models/{model_owner}/{model_name}": 15,
    "GET /models/{model_owner}/{model_name}/versions": 1,
    "GET /models/{model_owner}/{model_name}/versions/{version_id}": 19,
    "GET /predictions/{prediction_id}": 142,
    "GET /trainings/{training_id}": 1,
    "GET //replicate.delivery/{file_path*}": 1,
    "POST /files": 1,
    "POST /models": 1,
    "POST /models/{model_owner}/{model_name}/predictions": 11,
    "POST /models/{model_owner}/{model_name}/versions/{version_id}/trainings": 3,
    "POST /predictions": 20,
    "POST /predictions/{prediction_id}/cancel": 3,
    "POST /trainings/{training_id}/cancel": 1,
    "QUERY /models": 1,
}
EXPECTED_TOTAL = 228


@pytest.mark.reference
def test_every_exchange_has_a_replay_route() -> None:
    unrouted = [f"{ex.id}: {ex.method} {ex.url}" for ex in EXCHANGES if ROUTER.match(ex) is None]
    assert not unrouted, f"no SDK call mapped for: {unrouted}"
    by_route = Counter(f"{m[0]} {m[1]}" for ex in EXCHANGES if (m := ROUTER.match(ex)))
    assert len(EXCHANGES) == EXPECTED_TOTAL == sum(by_route.values())
    assert dict(by_route) == EXPECTED_BY_ROUTE
    # The parametrized replay below covers each exchange exactly once.
    assert [ex.id for ex in EXCHANGES] == REPLAY_IDS
    assert len(set(REPLAY_IDS)) == EXPECTED_TOTAL


@pytest.mark.reference
def test_replay_templates_are_spec_operations() -> None:
    """Each API route of the table is an operation of the spec (same template, same names)."""
    spec_routes = {(op.method, op.path) for op in OPERATIONS}
    for method, template, _ in REPLAY_CALLS:
        if not template.startswith("//"):
            assert (method, template) in spec_routes, (method, template)


def _unwrap(result: Any, tp: Any) -> Any:
    """The decoded value behind a method's return value, checked against the route's type."""
    if get_origin(tp) is Page:
        assert isinstance(result, SyncPage), f"expected a SyncPage, got {type(result).__name__}"
        page = result._page
        assert type(page) is Page
        (item_type,) = get_args(tp)
        assert all(isinstance(item, item_type) for item in page.results)
        return page
    if get_origin(tp) is list:
        (item_type,) = get_args(tp)
        assert isinstance(result, list)
        assert all(isinstance(item, item_type) for item in result)
        return result
    assert isinstance(result, tp), f"expected {tp.__name__}, got {type(result).__name__}"
    return result


def _check_result(ex: cassettes.Exchange, template: str, result: Any) -> None:
    if template.startswith("//"):  # not the API: the raw response, as recorded
        assert isinstance(result, Response)
        assert result.status_code == ex.status
        assert result.headers.get("content-type") == ex.response_header("content-type")
        assert result.content == ex.response_body
        return
    if not ex.response_body:
        assert result is None, f"{ex.status} with no body returned {result!r}"
        return
    tp = route(ex.method, template)
    assert tp is not None, f"test_types.ROUTES has no type for {ex.method} {template}"
    value = _unwrap(result, tp)
    undeclared: set[str] = set()
    compare(value, ex.json(), "$", undeclared)
    assert undeclared <= KNOWN_UNDECLARED, f"not declared: {undeclared - KNOWN_UNDECLARED}"


def replay_one(
    server: HTTPServer, client: replicate.Replicate, ex: cassettes.Exchange
) -> tuple[Any, Captured]:
    """Serve ``ex``, make its SDK call, check the request; the call's result and the request."""
    matched = ROUTER.match(ex)
    assert matched is not None, f"no SDK call mapped for {ex.method} {route_key(ex)}"
    _method, template, params, call = matched
    replay = serve(server, ex)
    url = server.url_for(ex.path)
    if ex.status >= 400:
        error = ERRORS.get(ex.status)
        assert error is not None, f"no typed error listed for status {ex.status}"
        with pytest.raises(error) as info:
            replay.call(lambda: call(client, ex, params, url))
        assert info.value.status_code == ex.status  # type: ignore[attr-defined]
        assert info.value.detail == ex.json()["detail"]  # type: ignore[attr-defined]
        assert info.value.detail in str(info.value)  # type: ignore[attr-defined]
        result = None
    else:
        result = replay.call(lambda: call(client, ex, params, url))
    assert len(replay.captured) == 1, f"the server answered {len(replay.captured)} requests"
    got = replay.captured[0]
    assert_request_matches(ex, got)
    _validate_captured_body(ex.method, template, got)
    if ex.status < 400:
        _check_result(ex, template, result)
    return result, got


REPLAY_IDS = [ex.id for ex in EXCHANGES]


@pytest.mark.reference
@pytest.mark.parametrize("ex", EXCHANGES, ids=REPLAY_IDS)
def test_replay(
    httpserver: HTTPServer, replay_client: replicate.Replicate, ex: cassettes.Exchange
) -> None:
    replay_one(httpserver, replay_client, ex)


# --- The recorded flows of v1's run(): create, then poll until done --------------------------


def _flow(name: str) -> list[cassettes.Exchange]:
    return [ex for ex in EXCHANGES if ex.cassette == name]


@pytest.mark.reference
@pytest.mark.parametrize("cassette", ["run.yaml", "run__concurrently.yaml"])
def test_run_flow_create_then_wait(
    httpserver: HTTPServer, replay_client: replicate.Replicate, cassette: str
) -> None:
    """The predictions a recorded ``run`` created, polled with ``predictions.wait`` through the
    recorded GETs in order (per prediction), end in the recorded final state."""
    flow = [ex for ex in _flow(cassette) if ex.method == "POST" or "/predictions/" in ex.path]
    creates = [ex for ex in flow if ex.method == "POST"]
    polls: dict[str, list[cassettes.Exchange]] = {}
    for ex in flow:
        if ex.method == "GET":
            polls.setdefault(ex.path.rsplit("/", 1)[1], []).append(ex)
    replay = Replay(httpserver)
    for ex in flow:
        replay.expect(ex)
    assert len(creates) == len(polls) >= 1
    created = [
        replay.call(lambda ex=ex: replay_client.predictions.create(**_body(ex))) for ex in creates
    ]
    for prediction, ex in zip(created, creates, strict=True):
        assert prediction.id == ex.json()["id"]
        assert prediction.status == "starting"
    for prediction in created:
        final = replay.call(
            lambda p=prediction: replay_client.predictions.wait(p.id, poll_interval=0)
        )
        last = polls[prediction.id][-1]
        undeclared: set[str] = set()
        compare(final, last.json(), "$", undeclared)
        assert final.status == "succeeded"
    assert len(replay.captured) == len(flow), "not every recorded poll was made"
    for got, ex in zip([c for c in replay.captured if c.method == "POST"], creates, strict=True):
        assert got.json() == _body(ex)


@pytest.mark.reference
def test_stream_flow_returns_stream_url(
    httpserver: HTTPServer, replay_client: replicate.Replicate
) -> None:
    """v1's stream(): the create with ``stream: true`` gives back a ``urls.stream`` to read."""
    (create,) = [ex for ex in _flow("predictions-stream.yaml") if ex.method == "POST"]
    prediction, got = replay_one(httpserver, replay_client, create)
    assert got.json()["stream"] is True
    assert (
        prediction.urls is not None and prediction.urls.stream == (create.json()["urls"]["stream"])
    )


# ============================================================================================
# 2. Every spec operation has a client method
# ============================================================================================

SPEC: dict[str, Any] = (
    {"paths": {}}
    if REFERENCE is None
    else json.loads((REFERENCE / reference.SPEC_NAME).read_text())
)
SPEC_URI = "urn:replicate-openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    op: dict[str, Any] = field(repr=False, hash=False, compare=False)

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p, _ in self.params_with_schema(where)]

    def params_with_schema(self, where: str) -> list[tuple[dict[str, Any], str]]:
        """``(parameter, JSON pointer to its schema)`` for the parameters ``in`` ``where``."""
        found = []
        for i, raw in enumerate(self.op.get("parameters", [])):
            if "$ref" in raw:
                pointer = raw["$ref"].removeprefix("#")
            else:
                pointer = _pointer("paths", self.path, self.method.lower(), "parameters", str(i))
            param = _deref(raw)
            if param["in"] == where:
                found.append((param, pointer + "/schema"))
        return found

    @property
    def body_media(self) -> dict[str, Any]:
        content: dict[str, Any] = (self.op.get("requestBody") or {}).get("content", {})
        return content

    def body_pointer(self, media: str) -> str:
        method = self.method.lower()
        return _pointer("paths", self.path, method, "requestBody", "content", media, "schema")

    @property
    def success(self) -> tuple[int, str | None]:
        """The first 2xx status, and its media type (None if it has no content)."""
        for status, response in self.op["responses"].items():
            if status.startswith("2"):
                content = response.get("content") or {}
                return int(status), next(iter(content), None)
        raise AssertionError(f"{self.operation_id} has no 2xx response")


def _operations() -> list[Operation]:
    ops = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                ops.append(Operation(op["operationId"], method.upper(), path, op))
    return ops


OPERATIONS = _operations()
OPERATIONS_BY_ID = {op.operation_id: op for op in OPERATIONS}


@pytest.mark.reference
def test_spec_has_37_operations() -> None:
    assert len(OPERATIONS) == len(OPERATIONS_BY_ID) == 37


def _resolve_method(client: replicate.Replicate, operation_id: str) -> Any:
    """``models.versions.get`` → ``client.models.versions.get``; ``search`` → ``client.search``."""
    target: Any = client
    for part in operation_id.split("."):
        target = getattr(target, part)
    return target


def _named_parameters(fn: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def _argument_name(param: dict[str, Any]) -> str:
    """A spec parameter's Python name: ``Cancel-After`` → ``cancel_after``."""
    return str(param["name"]).lower().replace("-", "_")


def _documented_arguments(op: Operation) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {
        where: {_argument_name(p) for p in op.params(where)} for where in ("query", "header")
    }
    body: set[str] = set()
    for media in op.body_media:
        schema = _deref(op.body_media[media]["schema"])
        if schema.get("type") == "object":
            body |= set(schema.get("properties", {}))
        else:  # a bare text/plain body: v2 calls the argument ``body``
            body.add("body")
    kinds["body"] = body
    return kinds


@pytest.mark.reference
def test_every_operation_has_a_client_method(replay_client: replicate.Replicate) -> None:
    problems: list[str] = []
    for op in OPERATIONS:
        try:
            fn = _resolve_method(replay_client, op.operation_id)
        except Exception as exc:  # a missing module or attribute
            problems.append(f"{op.operation_id}: no client method ({type(exc).__name__}: {exc})")
            continue
        if not callable(fn):
            problems.append(f"{op.operation_id}: client.{op.operation_id} is not callable")
            continue
        missing = {p["name"] for p in op.params("path")} - _named_parameters(fn)
        if missing:
            problems.append(f"{op.operation_id}: missing path parameters {sorted(missing)}")
    assert not problems, "\n".join(problems)


@pytest.mark.reference
def test_every_operation_takes_its_documented_arguments(
    replay_client: replicate.Replicate,
) -> None:
    """The query, header (``Prefer`` → ``prefer``) and body parameters, by the spec's names."""
    problems: list[str] = []
    for op in OPERATIONS:
        try:
            fn = _resolve_method(replay_client, op.operation_id)
        except Exception as exc:
            problems.append(f"{op.operation_id}: no client method ({type(exc).__name__})")
            continue
        named = _named_parameters(fn)
        for where, names in _documented_arguments(op).items():
            missing = names - named
            if missing:
                problems.append(f"{op.operation_id}: missing {where} arguments {sorted(missing)}")
    assert not problems, "\n".join(problems)


# ============================================================================================
# 3. The requests our methods send are the ones the spec describes
# ============================================================================================

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=AssertionError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or isinstance(parse_timestamp(value), dt.datetime)


def _validator(pointer: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": SPEC_URI + "#" + pointer}, registry=REGISTRY, format_checker=FORMATS
    )


def _validate(instance: Any, pointer: str, what: str) -> None:
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{what} does not match the spec: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '$'}: {e.message}" for e in errors
    )


def _request_body_instance(op: Operation, got: Captured) -> tuple[str, Any]:
    """(media type, the body as a JSON instance of the request schema)."""
    sent = media_type(got.content_type)
    assert sent in op.body_media, (
        f"{op.operation_id}: sent Content-Type {got.content_type!r}, "
        f"the spec takes {sorted(op.body_media)}"
    )
    if sent == "application/json":
        return sent, got.json()
    if sent == "multipart/form-data":
        form, files = parse_multipart(got.body, got.content_type)
        instance: dict[str, Any] = {name: "<binary>" for name in files}
        for name, value in form.items():
            assert not name.endswith("]"), f"bracketed form field {name!r} (send JSON instead)"
            instance[name] = json.loads(value) if name == "metadata" else value
        return sent, instance
    return sent, got.body.decode("utf-8")


def _validate_captured_body(method: str, template: str, got: Captured) -> None:
    """The body of a captured request validates against the spec's request schema, if any."""
    op = next((o for o in OPERATIONS if o.method == method and o.path == template), None)
    if op is None or not op.body_media:
        return
    media, instance = _request_body_instance(op, got)
    _validate(instance, op.body_pointer(media), f"{op.operation_id} body")


PATH_VALUES = {
    "collection_slug": "super-resolution",
    "deployment_owner": "acme",
    "deployment_name": "hot-dog-prod",
    "file_id": "cneqzikepnug6xezperrr4z55o",
    "model_owner": "acme",
    "model_name": "hot-dog",
    "prediction_id": "gm3qorzdhgbfurvjtvhg6dckhu",
    "training_id": "zz4ibbonubfz7carwiefibzgga",
    "version_id": VERSION_ID,
}
PATH = PATH_VALUES
MODEL = {"model_owner": PATH["model_owner"], "model_name": PATH["model_name"]}
DEPLOYMENT = {k: PATH[k] for k in ("deployment_owner", "deployment_name")}
INPUT = {"prompt": "a hot dog", "steps": 4, "image": "https://example.com/in.png"}
WEBHOOK = {"webhook": "https://example.com/hook", "webhook_events_filter": ["start", "completed"]}


@dataclass
class Case:
    """A call of one operation, with what the spec (or the caller) says must be sent."""

    id: str
    operation_id: str
    call: Callable[[replicate.Replicate], Any]
    headers: dict[str, str | None] = field(default_factory=dict)
    """Headers that must be sent (a None value: must not be)."""
    query: dict[str, str] = field(default_factory=dict)
    """The exact query parameters that must be sent."""
    body: Any = None
    """If given, the exact JSON body (or text) that must be sent."""


CASES = [
    Case("account.get", "account.get", lambda c: c.account.get()),
    Case("collections.list", "collections.list", lambda c: c.collections.list()),
    Case(
        "collections.get",
        "collections.get",
        lambda c: c.collections.get(collection_slug=PATH["collection_slug"]),
    ),
    Case("deployments.list", "deployments.list", lambda c: c.deployments.list()),
    Case(
        "deployments.create",
        "deployments.create",
        lambda c: c.deployments.create(
            name="hot-dog-prod",
            model="acme/hot-dog",
            version=VERSION_ID,
            hardware="gpu-t4",
            min_instances=0,
            max_instances=3,
        ),
        body={
            "name": "hot-dog-prod",
            "model": "acme/hot-dog",
            "version": VERSION_ID,
            "hardware": "gpu-t4",
            "min_instances": 0,
            "max_instances": 3,
        },
    ),
    Case("deployments.delete", "deployments.delete", lambda c: c.deployments.delete(**DEPLOYMENT)),
    Case("deployments.get", "deployments.get", lambda c: c.deployments.get(**DEPLOYMENT)),
    Case(
        "deployments.update",
        "deployments.update",
        lambda c: c.deployments.update(
            **DEPLOYMENT, hardware="gpu-a40-large", min_instances=1, max_instances=5
        ),
        body={"hardware": "gpu-a40-large", "min_instances": 1, "max_instances": 5},
    ),
    Case(
        "deployments.update-version",
        "deployments.update",
        lambda c: c.deployments.update(**DEPLOYMENT, version=VERSION_ID),
        body={"version": VERSION_ID},
    ),
    Case(
        "deployments.predictions.create",
        "deployments.predictions.create",
        lambda c: c.deployments.predictions.create(
            **DEPLOYMENT, input=INPUT, **WEBHOOK, prefer="wait=5", cancel_after="1h30m"
        ),
        headers={"Prefer": "wait=5", "Cancel-After": "1h30m"},
        body={"input": INPUT, **WEBHOOK},
    ),
    Case(
        "deployments.predictions.create-wait",
        "deployments.predictions.create",
        lambda c: c.deployments.predictions.create(**DEPLOYMENT, input=INPUT, wait=True),
        headers={"Prefer": "wait", "Cancel-After": None},
        body={"input": INPUT},
    ),
    Case("files.list", "files.list", lambda c: c.files.list()),
    Case(
        "files.create",
        "files.create",
        lambda c: c.files.create(
            content=b"hello\x00world",
            filename="hello.bin",
            type="application/octet-stream",
            metadata={"purpose": "test", "n": 1},
        ),
    ),
    Case(
        "files.create-minimal",
        "files.create",
        lambda c: c.files.create(content=b"just bytes"),
    ),
    Case("files.delete", "files.delete", lambda c: c.files.delete(file_id=PATH["file_id"])),
    Case("files.get", "files.get", lambda c: c.files.get(file_id=PATH["file_id"])),
    Case(
        "files.download",
        "files.download",
        lambda c: c.files.download(
            file_id=PATH["file_id"], owner="acme", expiry=1735689600, signature="c2lnbmF0dXJl"
        ),
        query={"owner": "acme", "expiry": "1735689600", "signature": "c2lnbmF0dXJl"},
    ),
    Case("hardware.list", "hardware.list", lambda c: c.hardware.list()),
    Case("models.list", "models.list", lambda c: c.models.list()),
    Case(
        "models.list-sorted",
        "models.list",
        lambda c: c.models.list(sort_by="model_created_at", sort_direction="asc"),
        query={"sort_by": "model_created_at", "sort_direction": "asc"},
    ),
    Case(
        "models.create",
        "models.create",
        lambda c: c.models.create(
            owner="acme",
            name="hot-dog",
            visibility="public",
            hardware="cpu",
            description="Detect hot dogs",
            github_url="https://github.com/acme/hot-dog",
            paper_url="https://arxiv.org/abs/2504.17639",
            license_url="https://example.com/license",
            cover_image_url="https://example.com/cover.png",
        ),
        body={
            "owner": "acme",
            "name": "hot-dog",
            "visibility": "public",
            "hardware": "cpu",
            "description": "Detect hot dogs",
            "github_url": "https://github.com/acme/hot-dog",
            "paper_url": "https://arxiv.org/abs/2504.17639",
            "license_url": "https://example.com/license",
            "cover_image_url": "https://example.com/cover.png",
        },
    ),
    Case(
        "models.search",
        "models.search",
        lambda c: c.models.search(body="hot dog detector"),
        headers={"Content-Type": "text/plain"},
        body="hot dog detector",
    ),
    Case("models.delete", "models.delete", lambda c: c.models.delete(**MODEL)),
    Case("models.get", "models.get", lambda c: c.models.get(**MODEL)),
    Case(
        "models.update",
        "models.update",
        lambda c: c.models.update(
            **MODEL,
            description="Detect hot dogs better",
            readme="# Hot dog\n",
            github_url="https://github.com/acme/hot-dog",
            paper_url="https://arxiv.org/abs/2504.17639",
            license_url="https://example.com/license",
            weights_url="https://huggingface.co/acme/hot-dog",
        ),
        body={
            "description": "Detect hot dogs better",
            "readme": "# Hot dog\n",
            "github_url": "https://github.com/acme/hot-dog",
            "paper_url": "https://arxiv.org/abs/2504.17639",
            "license_url": "https://example.com/license",
            "weights_url": "https://huggingface.co/acme/hot-dog",
        },
    ),
    Case("models.examples.list", "models.examples.list", lambda c: c.models.examples.list(**MODEL)),
    Case(
        "models.predictions.create",
        "models.predictions.create",
        lambda c: c.models.predictions.create(
            **MODEL, input=INPUT, **WEBHOOK, stream=True, wait=60, cancel_after=90
        ),
        headers={"Prefer": "wait=60", "Cancel-After": "90s"},
        body={"input": INPUT, "stream": True, **WEBHOOK},
    ),
    Case(
        "models.predictions.create-plain",
        "models.predictions.create",
        lambda c: c.models.predictions.create(**MODEL, input={}),
        headers={"Prefer": None, "Cancel-After": None},
        body={"input": {}},
    ),
    Case("models.readme.get", "models.readme.get", lambda c: c.models.readme.get(**MODEL)),
    Case("models.versions.list", "models.versions.list", lambda c: c.models.versions.list(**MODEL)),
    Case(
        "models.versions.delete",
        "models.versions.delete",
        lambda c: c.models.versions.delete(**MODEL, version_id=VERSION_ID),
    ),
    Case(
        "models.versions.get",
        "models.versions.get",
        lambda c: c.models.versions.get(**MODEL, version_id=VERSION_ID),
    ),
    Case(
        "trainings.create",
        "trainings.create",
        lambda c: c.trainings.create(
            **MODEL,
            version_id=VERSION_ID,
            destination="acme/hot-dog-tuned",
            input={"train_data": "https://example.com/data.zip", "steps": 100},
            **WEBHOOK,
        ),
        body={
            "destination": "acme/hot-dog-tuned",
            "input": {"train_data": "https://example.com/data.zip", "steps": 100},
            **WEBHOOK,
        },
    ),
    Case("predictions.list", "predictions.list", lambda c: c.predictions.list()),
    Case(
        "predictions.list-filtered",
        "predictions.list",
        lambda c: c.predictions.list(
            created_after=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
            created_before="2025-02-01T00:00:00Z",
            source="web",
        ),
    ),
    Case(
        "predictions.create",
        "predictions.create",
        lambda c: c.predictions.create(
            version=VERSION_ID, input=INPUT, **WEBHOOK, stream=True, wait=10, cancel_after="5m"
        ),
        headers={"Prefer": "wait=10", "Cancel-After": "5m"},
        body={"version": VERSION_ID, "input": INPUT, "stream": True, **WEBHOOK},
    ),
    Case(
        "predictions.create-wait",
        "predictions.create",
        lambda c: c.predictions.create(version="acme/hot-dog", input=INPUT, wait=True),
        headers={"Prefer": "wait", "Cancel-After": None},
        body={"version": "acme/hot-dog", "input": INPUT},
    ),
    Case(
        "predictions.create-prefer",
        "predictions.create",
        lambda c: c.predictions.create(
            version=f"acme/hot-dog:{VERSION_ID}", input=INPUT, prefer="wait=1"
        ),
        headers={"Prefer": "wait=1"},
        body={"version": f"acme/hot-dog:{VERSION_ID}", "input": INPUT},
    ),
    Case(
        "predictions.create-nowait",
        "predictions.create",
        lambda c: c.predictions.create(version=VERSION_ID, input=INPUT, wait=False),
        headers={"Prefer": None},
        body={"version": VERSION_ID, "input": INPUT},
    ),
    Case(
        "predictions.get",
        "predictions.get",
        lambda c: c.predictions.get(prediction_id=PATH["prediction_id"]),
    ),
    Case(
        "predictions.cancel",
        "predictions.cancel",
        lambda c: c.predictions.cancel(prediction_id=PATH["prediction_id"]),
    ),
    Case(
        "search",
        "search",
        lambda c: c.search(query="nano banana", limit=10),
        query={"query": "nano banana", "limit": "10"},
    ),
    Case("trainings.list", "trainings.list", lambda c: c.trainings.list()),
    Case(
        "trainings.get",
        "trainings.get",
        lambda c: c.trainings.get(training_id=PATH["training_id"]),
    ),
    Case(
        "trainings.cancel",
        "trainings.cancel",
        lambda c: c.trainings.cancel(training_id=PATH["training_id"]),
    ),
    Case(
        "webhooks.default.secret.get",
        "webhooks.default.secret.get",
        lambda c: c.webhooks.default.secret.get(),
    ),
]


@pytest.mark.reference
def test_every_operation_has_a_request_case() -> None:
    assert {case.operation_id for case in CASES} == set(OPERATIONS_BY_ID)
    assert len({case.id for case in CASES}) == len(CASES)


def _minimal(tp: Any) -> Any:
    """The smallest JSON value that decodes as ``tp`` (required fields only)."""
    if get_origin(tp) is Page:
        return {"results": []}
    if get_origin(tp) is list:
        return []
    return {f.encode_name: "x" for f in msgspec.structs.fields(tp) if f.required}


def _success_response(op: Operation) -> WResponse:
    status, media = op.success
    if media is None:
        return WResponse(b"", status=status)
    if media == "application/json":
        tp = route(op.method, op.path)
        assert tp is not None, op
        return WResponse(json.dumps(_minimal(tp)), status=status, content_type=media)
    if media == "text/plain":
        return WResponse("# README\n", status=status, content_type="text/plain; charset=utf-8")
    return WResponse(b"\x89PNG\x00\x01", status=status, content_type=media)


def _path_regex(template: str) -> re.Pattern[str]:
    return re.compile(
        "^/v1" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
    )


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query string value as the JSON type its schema declares."""
    if schema.get("type") == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_request_matches_spec(
    httpserver: HTTPServer, replay_client: replicate.Replicate, case: Case
) -> None:
    op = OPERATIONS_BY_ID[case.operation_id]
    captured: list[Captured] = []

    def handler(request: WRequest) -> WResponse:
        captured.append(
            Captured(
                method=request.method,
                path=request.path,
                query_string=request.query_string,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.get_data(cache=True),
            )
        )
        return _success_response(op)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    result = case.call(replay_client)
    assert len(captured) == 1, f"{len(captured)} requests"
    got = captured[0]

    # Method and path: the operation's, with the path parameters in place.
    assert got.method == op.method
    m = _path_regex(op.path).match(got.path)
    assert m, f"{got.path} is not {op.path}"
    for name, value in m.groupdict().items():
        assert value == PATH[name], f"{name}={value!r}"

    # Query: only the spec's parameters, each valid; required ones present.
    pairs = parse_qsl(
        got.query_string.decode("ascii"), keep_blank_values=True, strict_parsing=False
    )
    query = dict(pairs)
    assert len(query) == len(pairs), f"repeated query parameters: {pairs}"
    spec_query = {p["name"]: (p, pointer) for p, pointer in op.params_with_schema("query")}
    assert set(query) <= set(spec_query), f"undocumented query {set(query) - set(spec_query)}"
    for name, (param, pointer) in spec_query.items():
        if param.get("required"):
            assert name in query, f"required query parameter {name} missing"
        if name in query:
            _validate(_coerce(query[name], _deref(param["schema"])), pointer, f"query {name}")
    for name, value in case.query.items():
        assert query.get(name) == value, f"query {name}={query.get(name)!r}, expected {value!r}"
    if case.id == "predictions.list-filtered":
        assert parse_timestamp(query["created_after"]) == dt.datetime(
            2025, 1, 1, tzinfo=dt.timezone.utc
        )
        assert query["created_before"] == "2025-02-01T00:00:00Z"
        assert query["source"] == "web"

    # Headers: the spec's header parameters are valid when sent; the expected ones are sent.
    for param, pointer in op.params_with_schema("header"):
        value = got.headers.get(param["name"].lower())
        if value is not None:
            _validate(value, pointer, f"header {param['name']}")
    for name, expected in case.headers.items():
        assert got.headers.get(name.lower()) == expected, f"header {name}"

    # Body: valid against the request schema; none when the operation takes none.
    if not op.body_media:
        assert got.body == b"", f"{op.operation_id} takes no body, sent {got.body[:100]!r}"
    else:
        media, instance = _request_body_instance(op, got)
        _validate(instance, op.body_pointer(media), f"{op.operation_id} body")
        if case.body is not None:
            assert instance == case.body
        if media == "multipart/form-data":
            _, files = parse_multipart(got.body, got.content_type)
            assert "content" in files

    # And the answer decodes into what the method returns.
    _status, media = op.success
    if media == "application/json":
        tp = route(op.method, op.path)
        _unwrap(result, tp)
    elif media is None:
        assert result is None
    elif media == "text/plain":
        assert result == "# README\n"
    else:  # a download: the bytes as served
        with result:
            assert result.read() == b"\x89PNG\x00\x01"


def test_file_upload_parts(httpserver: HTTPServer, replay_client: replicate.Replicate) -> None:
    """``files.create`` sends the bytes as the ``content`` part, named by ``filename``, with the
    ``type`` and JSON ``metadata`` the spec describes."""
    captured: list[bytes] = []
    content_types: list[str] = []

    def handler(request: WRequest) -> WResponse:
        captured.append(request.get_data(cache=True))
        content_types.append(request.headers.get("Content-Type", ""))
        return WResponse(json.dumps({"id": "f"}), status=201, content_type="application/json")

    httpserver.expect_request("/v1/files", method="POST").respond_with_handler(handler)
    replay_client.files.create(
        content=b"\x00\x01binary\xff",
        filename="weights.bin",
        type="application/x-weights",
        metadata={"a": [1, 2], "b": None},
    )
    form, files = parse_multipart(captured[0], content_types[0])
    assert files["content"][:2] == ("weights.bin", b"\x00\x01binary\xff")
    assert form.get("filename", "weights.bin") == "weights.bin"
    assert form["type"] == "application/x-weights"
    assert json.loads(form["metadata"]) == {"a": [1, 2], "b": None}


@pytest.mark.parametrize("wait", [0, 61, -1, 1.5, "10"])
def test_wait_outside_the_prefer_pattern_is_refused(
    httpserver: HTTPServer, replay_client: replicate.Replicate, wait: Any
) -> None:
    """``Prefer`` must match ``^wait(=([1-9]|[1-9][0-9]|60))?$``: out-of-range waits never leave."""
    calls: list[Callable[[], Any]] = [
        lambda: replay_client.predictions.create(version=VERSION_ID, input={}, wait=wait),
        lambda: replay_client.models.predictions.create(**MODEL, input={}, wait=wait),
        lambda: replay_client.deployments.predictions.create(**DEPLOYMENT, input={}, wait=wait),
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError)):
            call()
    assert not httpserver.log


@pytest.mark.reference
@pytest.mark.parametrize("wait", [True, 1, 9, 10, 59, 60])
def test_wait_values_give_valid_prefer_headers(
    httpserver: HTTPServer, replay_client: replicate.Replicate, wait: Any
) -> None:
    pattern = re.compile(
        _deref({"$ref": "#/components/parameters/parameters_prefer_header"})["schema"]["pattern"]
    )
    httpserver.expect_request(re.compile(".*"), method="POST").respond_with_json(
        {"id": "p"}, status=201
    )
    replay_client.predictions.create(version=VERSION_ID, input={}, wait=wait)
    replay_client.models.predictions.create(**MODEL, input={}, wait=wait)
    replay_client.deployments.predictions.create(**DEPLOYMENT, input={}, wait=wait)
    sent = [req.headers.get("Prefer") for req, _ in httpserver.log]
    assert len(sent) == 3
    for value in sent:
        assert value is not None and pattern.match(value), value
    assert sent[0] == ("wait" if wait is True else f"wait={wait}")
