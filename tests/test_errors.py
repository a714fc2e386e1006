"""Typed errors for every status, whatever the body holds; the hierarchy; pickling."""

from __future__ import annotations

import json
import pickle

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer

import replicate
import replicate.exceptions as exc_mod
from replicate import exceptions

STATUS_CLASSES: list[tuple[int, type[replicate.APIStatusError]]] = [
    (400, replicate.BadRequestError),
    (401, replicate.AuthenticationError),
    (403, replicate.PermissionDeniedError),
    (404, replicate.NotFoundError),
    (409, replicate.ConflictError),
    (422, replicate.UnprocessableEntityError),
    (429, replicate.RateLimitError),
    (500, replicate.InternalServerError),
    (502, replicate.InternalServerError),
    (503, replicate.InternalServerError),
    (504, replicate.InternalServerError),
]


def fail_with(
    client: replicate.Replicate, method: str = "GET", path: str = "/things/abc"
) -> replicate.APIStatusError:
    with pytest.raises(replicate.APIStatusError) as info:
        client.request(method, path, max_retries=0)
    return info.value


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_maps_to_class(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    status: int,
    cls: type[replicate.APIStatusError],
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_json(
        {"title": "Oops", "detail": f"detail for {status}", "status": status}, status=status
    )
    err = fail_with(client)
    assert type(err) is cls
    assert err.status_code == status
    assert err.response.status_code == status
    assert err.detail == f"detail for {status}"
    assert len(httpserver.log) == 1  # max_retries=0: no retry even for 429/5xx


@pytest.mark.parametrize("status", [405, 410, 418, 451])
def test_other_4xx_is_plain_api_status_error(
    httpserver: HTTPServer, client: replicate.Replicate, status: int
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_data("teapot", status=status)
    err = fail_with(client)
    assert type(err) is replicate.APIStatusError
    assert err.status_code == status
    assert "teapot" in str(err)


def test_3xx_without_location_is_an_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_data("not modified", status=304)
    err = fail_with(client)
    assert type(err) is replicate.APIStatusError
    assert err.status_code == 304


def test_hierarchy() -> None:
    E = replicate
    for cls in (
        E.BadRequestError,
        E.AuthenticationError,
        E.PermissionDeniedError,
        E.NotFoundError,
        E.ConflictError,
        E.UnprocessableEntityError,
        E.RateLimitError,
        E.InternalServerError,
    ):
        assert issubclass(cls, E.APIStatusError)
    assert issubclass(E.APIStatusError, E.APIError)
    assert issubclass(E.APITimeoutError, E.APIConnectionError)
    assert issubclass(E.APIConnectionError, E.APIError)
    assert issubclass(E.APIResponseValidationError, E.APIError)
    assert issubclass(E.APIError, E.ReplicateError)
    for cls in (E.PredictionCanceledError, E.PredictionAbortedError):
        assert issubclass(cls, E.ModelError)
    for cls in (
        E.ModelError,
        E.PredictionTimeoutError,
        E.MissingTokenError,
        E.PluginError,
    ):
        assert issubclass(cls, E.ReplicateError)
        assert not issubclass(cls, E.APIError)
    assert not issubclass(E.PredictionTimeoutError, E.APITimeoutError)
    assert not issubclass(E.APIStatusError, E.APIConnectionError)
    assert issubclass(E.ReplicateError, Exception)


def test_all_importable_from_both_places() -> None:
    assert replicate.exceptions is exceptions is exc_mod
    for name in exceptions.__all__:
        from_top = getattr(replicate, name)
        assert from_top is getattr(exceptions, name), name
        assert issubclass(from_top, BaseException)
        assert name in replicate.__all__
    assert set(exceptions.__all__) >= {
        "APIStatusError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
        "APIConnectionError",
        "APITimeoutError",
        "APIResponseValidationError",
        "MissingTokenError",
    }


def test_problem_json_fields_and_message(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_data(
        json.dumps(
            {
                "type": "about:blank",
                "title": "Invalid input",
                "detail": "prompt is required",
                "status": 422,
                "invalid_fields": [{"field": "prompt"}],
            }
        ),
        status=422,
        content_type="application/problem+json",
    )
    err = fail_with(client, "POST", "/predictions")
    assert isinstance(err, replicate.UnprocessableEntityError)
    assert err.title == "Invalid input"
    assert err.detail == "prompt is required"
    assert err.status == 422
    assert isinstance(err.body, dict)
    assert err.body["invalid_fields"] == [{"field": "prompt"}]
    msg = str(err)
    for part in ("POST", "/v1/predictions", "422", "prompt is required"):
        assert part in msg, (part, msg)
    assert err.message == msg
    assert err.request is not None
    assert err.request.method == "POST"


def test_title_used_when_no_detail(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_json(
        {"title": "Forbidden thing"}, status=403
    )
    err = fail_with(client)
    assert err.title == "Forbidden thing"
    assert err.detail is None
    assert err.status is None
    assert "Forbidden thing" in str(err)


def test_non_string_detail_is_serialised(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_json(
        {"detail": [{"loc": ["body", "x"], "msg": "field required"}], "status": "400"},
        status=400,
    )
    err = fail_with(client)
    assert isinstance(err, replicate.BadRequestError)
    assert err.detail is not None
    assert "field required" in err.detail
    assert err.status is None  # a non-int status is ignored
    assert "field required" in str(err)


@pytest.mark.parametrize(
    ("body", "content_type", "expect"),
    [
        (
            "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
            "text/html",
            "502 Bad Gateway",
        ),
        ('{"detail": "trunc', "application/json", '{"detail": "trunc'),
        ("", "application/json", "(empty body)"),
        ('[1, 2, "three"]', "application/json", '[1, 2, "three"]'),
        ('"just a string"', "application/json", "just a string"),
        ("null", "application/json", "null"),
        ("\xff\xfe garbage", "application/octet-stream", "garbage"),
    ],
)
@pytest.mark.parametrize("status", [400, 404, 502])
def test_odd_bodies_still_give_typed_errors(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    body: str,
    content_type: str,
    expect: str,
    status: int,
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_data(
        body.encode("latin-1") if "garbage" in body else body,
        status=status,
        content_type=content_type,
    )
    err = fail_with(client)
    assert type(err) is replicate.exceptions.status_error_class(status)
    assert err.status_code == status
    msg = str(err)
    assert str(status) in msg
    assert "/v1/things/abc" in msg
    assert expect in msg, msg
    assert err.detail is None


def test_long_body_is_truncated_to_a_snippet(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_data(
        "<html>" + "x" * 50_000 + "</html>", status=503, content_type="text/html"
    )
    err = fail_with(client)
    assert isinstance(err, replicate.InternalServerError)
    assert len(str(err)) < 400
    assert "\n" not in str(err)


def test_errors_pickle(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_json(
        {"title": "Nope", "detail": "no such thing", "status": 404}, status=404
    )
    err = fail_with(client)
    assert err.request is not None
    assert httpserver.log[-1][0].headers["Authorization"] == f"Bearer {TOKEN}"  # sent with it...
    assert "authorization" not in err.request.headers  # ...but the error's request has none
    data = pickle.dumps(err)
    assert TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is replicate.NotFoundError
    assert copy.status_code == 404
    assert copy.detail == "no such thing"
    assert copy.title == "Nope"
    assert copy.status == 404
    assert copy.body == {"title": "Nope", "detail": "no such thing", "status": 404}
    assert str(copy) == str(err)
    assert copy.message == err.message


@pytest.mark.parametrize(
    "err",
    [
        replicate.APIConnectionError("down", request_sent=False),
        replicate.APITimeoutError("slow"),
        replicate.MissingTokenError(),
        replicate.PredictionTimeoutError("deadline", prediction_id="p1"),
        replicate.PluginError("bad plugin"),
    ],
)
def test_other_errors_pickle(err: Exception) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert str(copy) == str(err)
    if isinstance(err, replicate.APIConnectionError):
        assert copy.request_sent == err.request_sent


def test_connection_error_pickle_drops_request_and_token() -> None:
    from replicate._http import Request

    req = Request("GET", "http://x/v1", headers={"Authorization": f"Bearer {TOKEN}"})
    err = replicate.APIConnectionError("down", request=req, request_sent=True)
    data = pickle.dumps(err)
    assert TOKEN.encode() not in data
    assert pickle.loads(data).request_sent is True


def test_missing_token_error_message() -> None:
    msg = str(replicate.MissingTokenError())
    assert "REPLICATE_API_TOKEN" in msg
    assert "bearer_token" in msg


def test_validation_error_pickles_with_its_type(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/things/abc").respond_with_data("<html>not json</html>")
    resp = client.get("/things/abc")
    with pytest.raises(replicate.APIResponseValidationError) as info:
        resp.json()
    data = pickle.dumps(info.value)
    assert TOKEN.encode() not in data
    copy = pickle.loads(data)
    assert type(copy) is replicate.APIResponseValidationError
    assert copy.status_code == 200
    assert str(copy) == str(info.value)
    assert copy.message == info.value.message
