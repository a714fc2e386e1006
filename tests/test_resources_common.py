"""What every resource of ``client.deployments``, ``client.models`` and ``client.trainings``
does alike, one table per behaviour: unknown keywords and empty path parameters are refused
before any request, per-call options (extra headers/query/body, timeout, max_retries) reach the
wire, lists of two pages navigate the same way, and ``with_raw_response`` gives the status and
headers with the parsed value."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from support import (
    VERSION_ID,
    WAIT,
    check_two_pages,
    deployment,
    json_response,
    last_request,
    model,
    raw_uri,
    serve_two_pages,
    training,
    wait_for_log,
)
from werkzeug import Request, Response

import replicate
from replicate._response import APIResponse
from replicate.types import Deployment, Model, Prediction, Training, Version

Call = Callable[[replicate.Replicate], Any]
PREDICTION = {"id": "p1", "status": "starting", "input": {}}
TRAININGS_PATH = f"/v1/models/acme/llama/versions/{VERSION_ID}/trainings"


# --- refused before any request ----------------------------------------------------------------

UNKNOWN_KWARG_CALLS: dict[str, Call] = {
    "deployments.get": lambda c: c.deployments.get("acme", "x", bogus=1),
    "deployments.list": lambda c: c.deployments.list(limit=10),
    "deployments.create": lambda c: c.deployments.create(
        hardware="h", max_instances=1, min_instances=0, model="a/b", name="n", version="v", x=1
    ),
    "deployments.update": lambda c: c.deployments.update("acme", "x", model="a/b"),
    "deployments.delete": lambda c: c.deployments.delete("acme", "x", force=True),
    "deployments.predictions.create": lambda c: c.deployments.predictions.create(
        "acme", "x", input={}, version="v"
    ),
    "models.get": lambda c: c.models.get("acme", "x", bogus=1),
    "models.list": lambda c: c.models.list(page_size=10),
    "models.create": lambda c: c.models.create(
        hardware="cpu", name="x", owner="o", visibility="public", x=1
    ),
    "models.update": lambda c: c.models.update("acme", "x", readme_url="u"),
    "models.delete": lambda c: c.models.delete("acme", "x", force=True),
    "models.search": lambda c: c.models.search(body="x", limit=3),
    "models.examples.list": lambda c: c.models.examples.list("acme", "x", bogus=1),
    "models.readme.get": lambda c: c.models.readme.get("acme", "x", bogus=1),
    "models.versions.list": lambda c: c.models.versions.list("acme", "x", bogus=1),
    "models.versions.get": lambda c: c.models.versions.get("acme", "x", "v", bogus=1),
    "models.versions.delete": lambda c: c.models.versions.delete("acme", "x", "v", bogus=1),
    "models.predictions.create": lambda c: c.models.predictions.create(
        "acme", "x", input={}, version="v"
    ),
    "trainings.create": lambda c: c.trainings.create(
        "a", "b", "v", destination="a/b", input={}, hardware="x"
    ),
    "trainings.get": lambda c: c.trainings.get("t", bogus=1),
    "trainings.list": lambda c: c.trainings.list(created_after="2024-01-01"),
    "trainings.cancel": lambda c: c.trainings.cancel("t", force=True),
    "trainings.wait": lambda c: c.trainings.wait("t", timeout_s=3),
}


@pytest.mark.parametrize("call", UNKNOWN_KWARG_CALLS.values(), ids=UNKNOWN_KWARG_CALLS.keys())
def test_unknown_kwargs_rejected(
    httpserver: HTTPServer, client: replicate.Replicate, call: Call
) -> None:
    with pytest.raises(TypeError):
        call(client)
    assert not httpserver.log


EMPTY_PATH_CALLS: list[tuple[str, str, Call]] = [
    ("deployments.get", "deployment_owner", lambda c: c.deployments.get("", "x")),
    ("deployments.get", "deployment_name", lambda c: c.deployments.get("acme", "")),
    (
        "deployments.update",
        "deployment_owner",
        lambda c: c.deployments.update("", "x", min_instances=1),
    ),
    ("deployments.delete", "deployment_name", lambda c: c.deployments.delete("acme", "")),
    (
        "deployments.predictions.create",
        "deployment_owner",
        lambda c: c.deployments.predictions.create("", "x", input={}),
    ),
    (
        "deployments.predictions.create",
        "deployment_name",
        lambda c: c.deployments.predictions.create("acme", "", input={}),
    ),
    ("models.get", "model_owner", lambda c: c.models.get("", "x")),
    ("models.get", "model_name", lambda c: c.models.get("acme", "")),
    ("models.update", "model_owner", lambda c: c.models.update("", "x", description="d")),
    ("models.delete", "model_name", lambda c: c.models.delete("acme", "")),
    ("models.examples.list", "model_owner", lambda c: c.models.examples.list("", "x")),
    ("models.readme.get", "model_name", lambda c: c.models.readme.get("acme", "")),
    ("models.versions.list", "model_name", lambda c: c.models.versions.list("acme", "")),
    ("models.versions.get", "version_id", lambda c: c.models.versions.get("acme", "x", "")),
    ("models.versions.delete", "version_id", lambda c: c.models.versions.delete("acme", "x", "")),
    (
        "models.predictions.create",
        "model_owner",
        lambda c: c.models.predictions.create("", "x", input={}),
    ),
    (
        "models.predictions.create",
        "model_name",
        lambda c: c.models.predictions.create("acme", "", input={}),
    ),
    (
        "trainings.create",
        "model_owner",
        lambda c: c.trainings.create("", "x", "v", destination="a/b", input={}),
    ),
    (
        "trainings.create",
        "model_name",
        lambda c: c.trainings.create("acme", "", "v", destination="a/b", input={}),
    ),
    (
        "trainings.create",
        "version_id",
        lambda c: c.trainings.create("acme", "x", "", destination="a/b", input={}),
    ),
    ("trainings.get", "training_id", lambda c: c.trainings.get("")),
    ("trainings.cancel", "training_id", lambda c: c.trainings.cancel("")),
    ("trainings.wait", "training_id", lambda c: c.trainings.wait("", poll_interval=0.01)),
]


@pytest.mark.parametrize(
    "name, call", [row[1:] for row in EMPTY_PATH_CALLS], ids=[r[0] for r in EMPTY_PATH_CALLS]
)
def test_empty_path_params_rejected(
    httpserver: HTTPServer, client: replicate.Replicate, name: str, call: Call
) -> None:
    with pytest.raises(ValueError, match=name):
        call(client)
    assert not httpserver.log


# --- lists of two pages ------------------------------------------------------------------------


@dataclass
class TwoPages:
    """A list call, what its two pages hold, and how to name (``key``) each item."""

    path: str
    call: Call
    first: list[dict[str, Any]]
    second: list[dict[str, Any]]
    key: Callable[[Any], Any]
    item_type: type
    cursor: str = "cD0yMDI0LTA1LTAxKzEyJTNBMDA%3D"
    #: Checks of the first item that only this list needs.
    check_first: Callable[[Any], None] = field(default=lambda item: None)

    @property
    def expected(self) -> list[Any]:
        return [item.get("id") or item.get("name") for item in self.first + self.second]


def _example_is_a_finished_prediction(example: Any) -> None:
    assert example.output == ["https://x/1.png"]
    assert example.status == "succeeded"


def _version_has_its_cog_version(version: Any) -> None:
    assert version.cog_version == "0.9.4"


TWO_PAGES: dict[str, TwoPages] = {
    "deployments.list": TwoPages(
        "/v1/deployments",
        lambda c: c.deployments.list(),
        [deployment("one")],
        [deployment("two"), deployment("three")],
        lambda d: d.name,
        Deployment,
        cursor="ZGVwbG95bWVudHM%3D",
    ),
    "models.list": TwoPages(
        "/v1/models",
        lambda c: c.models.list(),
        [model("one")],
        [model("two"), model("three")],
        lambda m: m.name,
        Model,
    ),
    "models.examples.list": TwoPages(
        "/v1/models/acme/hot-dog/examples",
        lambda c: c.models.examples.list("acme", "hot-dog"),
        [{**PREDICTION, "id": "p1", "status": "succeeded", "output": ["https://x/1.png"]}],
        [{**PREDICTION, "id": "p2", "status": "succeeded"}],
        lambda p: p.id,
        Prediction,
        check_first=_example_is_a_finished_prediction,
    ),
    "models.versions.list": TwoPages(
        "/v1/models/acme/hot-dog/versions",
        lambda c: c.models.versions.list("acme", "hot-dog"),
        [{"id": "a" * 64, "created_at": "2024-05-02T00:00:00Z", "cog_version": "0.9.4"}],
        [{"id": "b" * 64, "created_at": "2024-05-01T00:00:00Z", "cog_version": "0.8.0"}],
        lambda v: v.id,
        Version,
        check_first=_version_has_its_cog_version,
    ),
    "trainings.list": TwoPages(
        "/v1/trainings",
        lambda c: c.trainings.list(),
        [training("t1")],
        [training("t2"), training("t3")],
        lambda t: t.id,
        Training,
        cursor="dHJhaW5pbmdz%2Bx%3D",
    ),
}


@pytest.mark.parametrize("case", TWO_PAGES.values(), ids=TWO_PAGES.keys())
def test_list_two_pages(
    httpserver: HTTPServer, client: replicate.Replicate, case: TwoPages
) -> None:
    serve_two_pages(httpserver, case.path, case.first, case.second, cursor=case.cursor)
    page = case.call(client)
    check_two_pages(httpserver, page, case.key, case.expected, cursor=case.cursor)
    assert raw_uri(last_request(httpserver)) == f"{case.path}?cursor={case.cursor}"
    assert last_request(httpserver).method == "GET"
    assert all(isinstance(item, case.item_type) for item in page)
    case.check_first(page.results[0])


# --- per-call options --------------------------------------------------------------------------


@dataclass
class Extras:
    """A call given ``extra_headers``, ``extra_query`` and ``extra_body``, and the request the
    server must see for it."""

    path: str
    method: str
    call: Call
    query_string: str
    headers: dict[str, str]
    json: dict[str, Any]
    answer: dict[str, Any]
    status: int = 200


EXTRAS: dict[str, Extras] = {
    "deployments.predictions.create": Extras(
        "/v1/deployments/acme/my-app/predictions",
        "POST",
        lambda c: c.deployments.predictions.create(
            "acme",
            "my-app",
            input={"a": 1},
            extra_headers={"X-Request-Source": "tests"},
            extra_query={"trace": 1},
            extra_body={"metadata": {"k": "v"}},
        ),
        "trace=1",
        {"X-Request-Source": "tests"},
        {"input": {"a": 1}, "metadata": {"k": "v"}},
        PREDICTION,
        201,
    ),
    "models.update": Extras(
        "/v1/models/acme/hot-dog",
        "PATCH",
        lambda c: c.models.update(
            "acme",
            "hot-dog",
            description="d",
            extra_headers={"X-Trace": "abc"},
            extra_query={"dry_run": True},
            extra_body={"visibility": "public"},
        ),
        "dry_run=true",
        {"X-Trace": "abc"},
        {"description": "d", "visibility": "public"},
        model("hot-dog"),
    ),
    "trainings.create": Extras(
        TRAININGS_PATH,
        "POST",
        lambda c: c.trainings.create(
            "acme",
            "llama",
            VERSION_ID,
            destination="acme/tuned",
            input={},
            extra_headers={"X-Team": "ml"},
            extra_query={"debug": True},
            extra_body={"hardware": "gpu-h100"},
        ),
        "debug=true",
        {"X-Team": "ml"},
        {"destination": "acme/tuned", "input": {}, "hardware": "gpu-h100"},
        training(),
        201,
    ),
}


@pytest.mark.parametrize("case", EXTRAS.values(), ids=EXTRAS.keys())
def test_extra_headers_query_and_body(
    httpserver: HTTPServer, client: replicate.Replicate, case: Extras
) -> None:
    httpserver.expect_request(
        case.path,
        method=case.method,
        query_string=case.query_string,
        headers=case.headers,
        json=case.json,
    ).respond_with_json(case.answer, status=case.status)
    case.call(client)
    assert len(httpserver.log) == 1
    sent = last_request(httpserver)
    for name, value in case.headers.items():
        assert sent.headers[name] == value
    assert sent.get_json() == case.json


EXTRA_QUERY_ON_LISTS: dict[str, tuple[str, str, str, Call, Callable[[Any], Any], list[Any]]] = {
    "deployments.list": (
        "/v1/deployments",
        "GET",
        "owner=acme",
        lambda c: c.deployments.list(extra_query={"owner": "acme"}),
        lambda d: d.name,
        [deployment()],
    ),
    "models.search": (
        "/v1/models",
        "QUERY",
        "limit=5",
        lambda c: c.models.search("x", extra_query={"limit": 5}),
        lambda m: m.name,
        [model("x")],
    ),
}


@pytest.mark.parametrize(
    "path, method, query, call, key, items",
    EXTRA_QUERY_ON_LISTS.values(),
    ids=EXTRA_QUERY_ON_LISTS.keys(),
)
def test_extra_query_on_lists(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    path: str,
    method: str,
    query: str,
    call: Call,
    key: Callable[[Any], Any],
    items: list[Any],
) -> None:
    httpserver.expect_request(path, method=method, query_string=query).respond_with_json(
        {"next": None, "results": items}
    )
    assert [key(item) for item in call(client)] == [items[0]["name"]]


#: One GET per resource, given per-call options ``**o``.
GETS: dict[str, tuple[str, Callable[..., Any]]] = {
    "deployments.list": ("/v1/deployments", lambda c, **o: c.deployments.list(**o)),
    "models.get": ("/v1/models/acme/slow", lambda c, **o: c.models.get("acme", "slow", **o)),
    "trainings.get": ("/v1/trainings/t1", lambda c, **o: c.trainings.get("t1", **o)),
}


@pytest.mark.parametrize("path, get", GETS.values(), ids=GETS.keys())
def test_per_call_timeout(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    path: str,
    get: Callable[..., Any],
) -> None:
    release = threading.Event()

    def held(request: Request) -> Response:
        release.wait(WAIT)  # answered only after the client gave up: its timeout fired
        return json_response({})

    httpserver.expect_request(path).respond_with_handler(held)
    started = time.monotonic()
    try:
        with pytest.raises(replicate.APITimeoutError):
            get(client, timeout=0.2, max_retries=0)
    finally:
        release.set()
    assert time.monotonic() - started < WAIT / 2  # the call's 0.2 s, not the client's default
    wait_for_log(httpserver, 1)


@pytest.mark.parametrize("path, get", GETS.values(), ids=GETS.keys())
def test_per_call_max_retries(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    path: str,
    get: Callable[..., Any],
) -> None:
    httpserver.expect_request(path).respond_with_data("", status=503)
    with pytest.raises(replicate.InternalServerError):
        get(client, max_retries=0)
    assert len(httpserver.log) == 1
    httpserver.clear_log()
    with pytest.raises(replicate.InternalServerError):
        get(client, max_retries=1)
    assert len(httpserver.log) == 2


# --- raw responses -----------------------------------------------------------------------------


@dataclass
class Raw:
    """A call through ``with_raw_response`` and the plain call it mirrors."""

    path: str
    method: str
    raw: Call
    plain: Call
    answer: dict[str, Any]
    item_type: type
    key: Callable[[Any], Any]
    expected: Any
    status: int = 200


RAW: dict[str, Raw] = {
    "deployments.get": Raw(
        "/v1/deployments/acme/my-app",
        "GET",
        lambda c: c.deployments.with_raw_response.get("acme", "my-app"),
        lambda c: c.deployments.get("acme", "my-app"),
        deployment(),
        Deployment,
        lambda d: d.name,
        "my-app",
    ),
    "models.get": Raw(
        "/v1/models/acme/hot-dog",
        "GET",
        lambda c: c.models.with_raw_response.get("acme", "hot-dog"),
        lambda c: c.models.get("acme", "hot-dog"),
        model("hot-dog"),
        Model,
        lambda m: m.name,
        "hot-dog",
    ),
    "trainings.get": Raw(
        f"/v1/trainings/{training()['id']}",
        "GET",
        lambda c: c.trainings.with_raw_response.get(training()["id"]),
        lambda c: c.trainings.get(training()["id"]),
        training(),
        Training,
        lambda t: t.id,
        training()["id"],
    ),
    "deployments.predictions.create": Raw(
        "/v1/deployments/acme/my-app/predictions",
        "POST",
        lambda c: c.with_raw_response.deployments.predictions.create("acme", "my-app", input={}),
        lambda c: c.deployments.predictions.create("acme", "my-app", input={}),
        PREDICTION,
        Prediction,
        lambda p: p.id,
        PREDICTION["id"],
        201,
    ),
    "trainings.create": Raw(
        TRAININGS_PATH,
        "POST",
        lambda c: c.with_raw_response.trainings.create(
            "acme", "llama", VERSION_ID, destination="acme/tuned", input={}
        ),
        lambda c: c.trainings.create(
            "acme", "llama", VERSION_ID, destination="acme/tuned", input={}
        ),
        training(),
        Training,
        lambda t: t.id,
        training()["id"],
        201,
    ),
}


@pytest.mark.parametrize("case", RAW.values(), ids=RAW.keys())
def test_with_raw_response(httpserver: HTTPServer, client: replicate.Replicate, case: Raw) -> None:
    httpserver.expect_request(case.path, method=case.method).respond_with_json(
        case.answer, status=case.status, headers={"ratelimit-remaining": "599"}
    )
    raw = case.raw(client)
    assert isinstance(raw, APIResponse)
    assert raw.status_code == case.status
    assert raw.headers["ratelimit-remaining"] == "599"
    parsed = raw.parse()
    assert isinstance(parsed, case.item_type)
    assert case.key(parsed) == case.expected
    # The plain resource still returns plain values.
    plain = case.plain(client)
    assert isinstance(plain, case.item_type) and case.key(plain) == case.expected


def test_a_get_with_options_sends_them(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    # A get without options takes a shorter path than one with them: both send the same request.
    path = f"/v1/models/acme/hot-dog/versions/{VERSION_ID}"
    answer = {"id": VERSION_ID, "created_at": "2024-01-01T00:00:00Z", "openapi_schema": {}}
    httpserver.expect_request(
        path, query_string="debug=true", headers={"X-Team": "ml"}
    ).respond_with_json(answer)
    httpserver.expect_request(path, query_string="").respond_with_json(answer)
    got = client.models.versions.get(
        "acme", "hot-dog", VERSION_ID, extra_headers={"X-Team": "ml"}, extra_query={"debug": True}
    )
    plain = client.models.versions.get("acme", "hot-dog", VERSION_ID)
    assert got == plain and got.id == VERSION_ID
    first, second = (entry[0] for entry in httpserver.log)
    assert first.headers["X-Team"] == "ml" and "X-Team" not in second.headers
    assert first.headers["Authorization"] == second.headers["Authorization"]


def test_a_get_with_max_retries_zero_is_sent_once(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/account").respond_with_json({"detail": "busy"}, status=503)
    with pytest.raises(replicate.APIStatusError) as caught:
        client.account.get(max_retries=0)
    assert caught.value.status_code == 503 and len(httpserver.log) == 1
    with pytest.raises(replicate.APIStatusError):
        client.account.get()  # the client's retries: the same 503 again and again
    assert len(httpserver.log) > 2


def test_the_option_names_checked_are_request_options_keys() -> None:
    """``RequestOptions`` exists for type checkers only; the names calls are checked against
    are its keys, written out."""
    import ast
    import inspect

    from replicate.resources import _base

    tree = ast.parse(inspect.getsource(_base))
    (cls,) = [
        n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "RequestOptions"
    ]
    keys = {
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert keys == _base._OPTION_NAMES
    with pytest.raises(TypeError, match="unexpected keyword argument 'extra_header'"):
        _base.check_options("get", {"extra_header": {}})
