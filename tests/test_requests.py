"""Raw HTTP calls through the client: methods, bodies, query strings, responses, streaming."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import last_request, wait_for_log
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._http import Request


class Item(msgspec.Struct):
    id: str
    count: int
    tags: list[str] = []


# --- methods and bodies ------------------------------------------------------------------------


def test_get_custom_endpoint(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/custom/endpoint", method="GET").respond_with_json({"a": 1})
    resp = client.get("/custom/endpoint")
    assert resp.status_code == 200
    assert resp.json() == {"a": 1}
    req = last_request(httpserver)
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.headers["Accept"] == "application/json"
    assert req.get_data() == b""


def test_post_json(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/custom/endpoint",
        method="POST",
        json={"key": "value"},
        headers={"Content-Type": "application/json"},
    ).respond_with_json({"created": True}, status=201)
    resp = client.post("/custom/endpoint", json={"key": "value"})
    assert resp.status_code == 201
    assert resp.json() == {"created": True}


def test_request_patch_with_headers(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/custom/endpoint",
        method="PATCH",
        json={"name": "new"},
        headers={"X-Custom-Header": "value"},
    ).respond_with_json({"patched": True})
    resp = client.request(
        method="PATCH",
        url="/custom/endpoint",
        json={"name": "new"},
        headers={"X-Custom-Header": "value"},
    )
    assert resp.json() == {"patched": True}
    assert last_request(httpserver).headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST", "GET"])
def test_each_method_helper(
    httpserver: HTTPServer, client: replicate.Replicate, method: str
) -> None:
    httpserver.expect_request("/v1/thing", method=method).respond_with_data(method)
    helper = getattr(client, method.lower())
    assert helper("thing").text == method
    assert last_request(httpserver).method == method


def test_put_with_json_and_delete_without_body(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/x", method="PUT", json=[1, 2, 3]).respond_with_data("")
    httpserver.expect_request("/v1/x", method="DELETE").respond_with_data("", status=204)
    assert client.put("/x", json=[1, 2, 3]).status_code == 200
    resp = client.delete("/x")
    assert resp.status_code == 204
    assert resp.content == b""


def test_headers_none_removes_a_default(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/x").respond_with_data("ok")
    client.get("/x", headers={"Accept": None, "X-Extra": "1"})
    req = last_request(httpserver)
    assert "Accept" not in req.headers
    assert req.headers["X-Extra"] == "1"


def test_json_and_content_together_rejected(client: replicate.Replicate) -> None:
    with pytest.raises(ValueError, match="json= or content="):
        client.post("/x", json={}, content=b"x")


def test_unserialisable_json_rejected(client: replicate.Replicate) -> None:
    with pytest.raises(TypeError, match="json="):
        client.post("/x", json={"x": object()})


def test_bad_method_rejected(client: replicate.Replicate) -> None:
    with pytest.raises(ValueError, match="method"):
        client.request("GE T", "/x")


def test_content_bytes(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/up", method="POST", data=b"\x00\x01raw").respond_with_data("k")
    client.post("/up", content=b"\x00\x01raw", headers={"Content-Type": "application/x-raw"})
    req = last_request(httpserver)
    assert req.headers["Content-Type"] == "application/x-raw"
    assert req.headers["Content-Length"] == "5"


def test_content_str_is_utf8(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/up", method="POST").respond_with_data("k")
    client.post("/up", content="héllo")
    assert last_request(httpserver).get_data() == "héllo".encode()


def test_content_binary_file(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    payload = bytes(range(256)) * 40
    path.write_bytes(payload)
    httpserver.expect_request("/v1/up", method="PUT").respond_with_data("k")
    with path.open("rb") as f:
        client.put("/up", content=f)
    assert last_request(httpserver).get_data() == payload


def test_content_text_file_rejected(client: replicate.Replicate) -> None:
    with pytest.raises(TypeError, match="rb"):
        client.put("/up", content=io.StringIO("text"))  # type: ignore[arg-type]


def test_content_iterable_of_bytes(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/up", method="POST").respond_with_data("k")

    def chunks() -> Iterator[bytes]:
        yield b"first-"
        yield b"second-"
        yield b"third"

    client.post("/up", content=chunks())
    req = last_request(httpserver)
    assert req.get_data() == b"first-second-third"
    assert req.headers.get("Transfer-Encoding") == "chunked"


# --- query strings ---------------------------------------------------------------------------


def test_params_encoding(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/search").respond_with_data("ok")
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    client.get(
        "/search",
        params={
            "limit": 10,
            "ratio": 0.5,
            "flag": True,
            "off": False,
            "since": when,
            "day": dt.date(2024, 5, 6),
            "ids": ["a", "b", 3],
            "q": "a b&c=d",
            "skip": None,
        },
    )
    args = last_request(httpserver).args
    assert args.to_dict() == {
        "limit": "10",
        "ratio": "0.5",
        "flag": "true",
        "off": "false",
        "since": "2024-01-02T03:04:05+00:00",
        "day": "2024-05-06",
        "ids": "a,b,3",
        "q": "a b&c=d",
    }


def test_params_bad_value_rejected(client: replicate.Replicate) -> None:
    with pytest.raises(TypeError, match="query parameter"):
        client.get("/x", params={"x": object()})


def test_default_query_merged(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/q").respond_with_data("ok")
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=httpserver.url_for("/v1"),
        default_query={"team": "alpha", "page_size": 5},
    ) as c:
        c.get("/q")
        assert last_request(httpserver).args.to_dict() == {"team": "alpha", "page_size": "5"}
        c.get("/q", params={"page_size": 50, "extra": "y"})
        assert last_request(httpserver).args.to_dict() == {
            "team": "alpha",
            "page_size": "50",
            "extra": "y",
        }
        c2 = c.with_options(default_query={"more": 1})
        c2.get("/q")
        assert last_request(httpserver).args.to_dict() == {
            "team": "alpha",
            "page_size": "5",
            "more": "1",
        }
        c3 = c.with_options(set_default_query={"only": "me"})
        c3.get("/q")
        assert last_request(httpserver).args.to_dict() == {"only": "me"}


def test_params_appended_to_existing_query(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/q").respond_with_data("ok")
    client.get("/q?cursor=abc", params={"limit": 2})
    assert last_request(httpserver).args.to_dict() == {"cursor": "abc", "limit": "2"}


# --- per-call timeout and retries --------------------------------------------------------------


def test_per_call_timeout(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    release = threading.Event()

    def slow(request: WRequest) -> WResponse:
        release.wait(2)
        return WResponse("late")

    httpserver.expect_request("/v1/slow").respond_with_handler(slow)
    try:
        with pytest.raises(replicate.APITimeoutError):
            client.get("/slow", timeout=0.2, max_retries=0)
    finally:
        release.set()
        wait_for_log(httpserver, 1)


def test_per_call_timeout_object(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    release = threading.Event()

    def slow(request: WRequest) -> WResponse:
        release.wait(2)
        return WResponse("late")

    httpserver.expect_request("/v1/slow").respond_with_handler(slow)
    try:
        with pytest.raises(replicate.APITimeoutError):
            client.get("/slow", timeout=replicate.Timeout(connect=1, read=0.2), max_retries=0)
    finally:
        release.set()
        wait_for_log(httpserver, 1)


def test_per_call_max_retries(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/busy").respond_with_data("busy", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.get("/busy", max_retries=0)
    assert len(httpserver.log) == 1
    httpserver.clear_log()
    with pytest.raises(replicate.InternalServerError):
        client.get("/busy", max_retries=3)
    assert len(httpserver.log) == 4
    httpserver.clear_log()
    with pytest.raises(replicate.InternalServerError):
        client.get("/busy")  # the client's default: 2
    assert len(httpserver.log) == 3


def test_per_call_max_retries_validated(client: replicate.Replicate) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        client.get("/x", max_retries=-1)
    with pytest.raises(ValueError, match="max_retries"):
        client.get("/x", max_retries=True)


def test_post_is_not_retried_on_5xx(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/create", method="POST").respond_with_data("x", status=503)
    with pytest.raises(replicate.InternalServerError):
        client.post("/create", json={})
    assert len(httpserver.log) == 1
    httpserver.clear_log()
    httpserver.expect_oneshot_request("/v1/create2", method="POST").respond_with_data(
        "x", status=503
    )
    httpserver.expect_request("/v1/create2", method="POST").respond_with_data("ok")
    assert client.post("/create2", json={}, idempotent=True).text == "ok"
    assert len(httpserver.log) == 2


# --- QUERY method ----------------------------------------------------------------------------


def test_query_method(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/search", method="QUERY").respond_with_json({"hits": 2})
    resp = client.query(
        "/search", content="select * where x = 1", headers={"Content-Type": "text/plain"}
    )
    assert resp.json() == {"hits": 2}
    req = last_request(httpserver)
    assert req.method == "QUERY"
    assert req.get_data() == b"select * where x = 1"
    assert req.headers["Content-Type"] == "text/plain"

    resp = client.request("QUERY", "search", content=b"q2")
    assert resp.json() == {"hits": 2}
    assert last_request(httpserver).get_data() == b"q2"


def test_query_method_is_retried(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_oneshot_request("/v1/search", method="QUERY").respond_with_data(
        "", status=503
    )
    httpserver.expect_request("/v1/search", method="QUERY").respond_with_data("ok")
    assert client.query("/search", content="body").text == "ok"
    assert [r.get_data() for r, _ in httpserver.log] == [b"body", b"body"]


# --- URL joining -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/custom/endpoint", "custom/endpoint"])
def test_relative_paths_join_base_url(
    httpserver: HTTPServer, client: replicate.Replicate, path: str
) -> None:
    httpserver.expect_request("/v1/custom/endpoint").respond_with_data("ok")
    assert client.get(path).text == "ok"
    assert last_request(httpserver).path == "/v1/custom/endpoint"


def test_base_url_with_trailing_slash(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/custom/endpoint").respond_with_data("ok")
    with replicate.Replicate(bearer_token=TOKEN, base_url=httpserver.url_for("/v1/")) as c:
        assert c.base_url == httpserver.url_for("/v1")
        assert c.get("/custom/endpoint").text == "ok"
        assert c.get("custom/endpoint").text == "ok"


def test_absolute_url_passes_through(
    httpserver: HTTPServer, httpserver_ipv4: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/elsewhere").respond_with_data("same-origin")
    httpserver_ipv4.expect_request("/other/path").respond_with_data("other")
    assert client.get(httpserver.url_for("/elsewhere")).text == "same-origin"
    assert last_request(httpserver).path == "/elsewhere"
    assert client.get(httpserver_ipv4.url_for("/other/path")).text == "other"
    assert last_request(httpserver_ipv4).path == "/other/path"


# --- responses -------------------------------------------------------------------------------


def test_response_attributes(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/item").respond_with_data(
        json.dumps({"id": "abc", "count": 3, "tags": ["x"], "extra": "kept"}),
        content_type="application/json; charset=utf-8",
        headers={"X-Request-Id": "req-1"},
    )
    resp = client.get("/item")
    assert resp.status_code == 200
    assert resp.is_success
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert resp.headers["x-request-id"] == resp.headers["X-REQUEST-ID"] == "req-1"
    assert resp.content.startswith(b'{"id":')
    assert json.loads(resp.text)["extra"] == "kept"
    assert resp.json()["count"] == 3
    item = resp.parse(Item)
    assert item == Item(id="abc", count=3, tags=["x"])
    assert resp.parse(dict[str, object])["extra"] == "kept"
    assert resp.request is not None
    assert resp.request.method == "GET"


def test_response_text_uses_charset(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/latin").respond_with_data(
        "café".encode("latin-1"), content_type="text/plain; charset=latin-1"
    )
    resp = client.get("/latin")
    assert resp.encoding == "latin-1"
    assert resp.text == "café"


def test_parse_mismatch_raises_validation_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/item").respond_with_json({"id": "abc", "count": "many"})
    resp = client.get("/item")
    with pytest.raises(replicate.APIResponseValidationError, match="Item") as info:
        resp.parse(Item)
    assert info.value.status_code == 200
    assert "count" in str(info.value)
    assert isinstance(info.value, replicate.APIError)


def test_json_of_non_json_raises_validation_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/html").respond_with_data("<html>hi</html>")
    resp = client.get("/html")
    with pytest.raises(replicate.APIResponseValidationError, match="not JSON"):
        resp.json()
    with pytest.raises(replicate.APIResponseValidationError, match="Item"):
        resp.parse(Item)


# --- streaming -------------------------------------------------------------------------------


def test_stream_returns_before_body_is_read(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    release = threading.Event()
    first = b"a" * 100_000
    rest = b"b" * 400_000

    def body() -> Iterator[bytes]:
        yield first
        release.wait(5)
        for i in range(0, len(rest), 50_000):
            yield rest[i : i + 50_000]

    httpserver.expect_request("/v1/big").respond_with_handler(
        lambda request: WResponse(body(), content_type="application/octet-stream")
    )
    try:
        resp = client.get("/big", stream=True)
        # The server has not sent the rest yet: returning here proves the body was not read.
        assert resp.status_code == 200
        assert not resp.is_stream_consumed
    finally:
        release.set()
    with resp:
        chunks = list(resp.iter_bytes())
    assert len(chunks) > 1
    assert b"".join(chunks) == first + rest
    assert resp.is_stream_consumed


def test_stream_with_chunk_size(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    payload = bytes(range(256)) * 1000
    httpserver.expect_request("/v1/big").respond_with_data(payload)
    resp = client.get("/big", stream=True)
    chunks = list(resp.iter_bytes(chunk_size=10_000))
    assert len(chunks) > 1
    assert all(len(c) <= 10_000 for c in chunks)
    assert b"".join(chunks) == payload


def test_a_stream_is_read_only_when_asked(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/big").respond_with_json({"id": "x", "count": 1})
    resp = client.get("/big", stream=True)
    with pytest.raises(replicate.ResponseNotRead, match=r"response\.read\(\)"):
        resp.parse(Item)
    assert not resp.is_stream_consumed
    resp.read()
    assert resp.is_stream_consumed
    assert resp.parse(Item) == Item(id="x", count=1)


def test_stream_error_status_still_raises_typed_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/missing").respond_with_json({"detail": "gone"}, status=404)
    with pytest.raises(replicate.NotFoundError, match="gone"):
        client.get("/missing", stream=True)


def test_custom_transport_receives_request() -> None:
    seen: list[Request] = []

    class Fake:
        def send(
            self, request: Request, *, timeout: replicate.Timeout, stream: bool = False
        ) -> replicate.Response:
            seen.append(request)
            return replicate.Response(
                200, headers=replicate.Headers({"Content-Type": "text/plain"}), content=b"fake"
            )

        def close(self) -> None:
            pass

    with replicate.Replicate(
        bearer_token=TOKEN, base_url="https://api.example.test/v1", transport=Fake()
    ) as c:
        assert c.post("models", json={"a": 1}).text == "fake"
    (req,) = seen
    assert req.url == "https://api.example.test/v1/models"
    assert req.content == b'{"a":1}'
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.idempotent is False


def test_response_text_with_unknown_charset(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/odd").respond_with_data(
        "héllo".encode(), content_type="text/plain; charset=x-no-such-codec"
    )
    resp = client.get("/odd")
    assert resp.text == "héllo"


def test_naive_datetimes_in_queries_are_sent_as_utc(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    import datetime as dt

    httpserver.expect_request("/v1/predictions").respond_with_json({"results": [], "next": None})
    list(client.predictions.list(created_after=dt.datetime(2024, 1, 2, 3, 4, 5)))
    assert httpserver.log[0][0].args["created_after"] == "2024-01-02T03:04:05+00:00"
