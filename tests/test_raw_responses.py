"""``with_raw_response`` and ``with_streaming_response`` against a loopback server: v2's
``APIResponse`` surface, bodies that stay unread until asked for, connections closed on exit,
and both prefixes on every resource."""

from __future__ import annotations

import datetime
import json
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import replicate
from replicate._facade import _Resource
from replicate._http import _rebuild_response
from replicate._response import (
    APIResponse,
    BinaryAPIResponse,
    ResponseContextManager,
    StreamAlreadyConsumed,
)
from replicate.pagination import SyncPage
from replicate.resources._base import Resource
from replicate.testing import MockTransport
from replicate.types import File, Prediction

PREDICTION = {"id": "p1", "status": "succeeded", "input": {}, "output": "hi"}
FILE = {
    "id": "f1",
    "name": "a.txt",
    "content_type": "text/plain",
    "size": 3,
    "checksums": {"sha256": "x"},
    "metadata": {},
    "created_at": "2025-01-02T03:04:05.678Z",
    "expires_at": "2025-01-02T04:04:05.678Z",
    "urls": {"get": "https://api.replicate.com/v1/files/f1"},
}
DOWNLOAD = {"expiry": 1708515345, "owner": "mattt", "signature": "zuo/gh+q=="}

#: Every public name of v2's sync ``APIResponse`` (``replicate==2.0.0b4``): all offered here.
V2_NAMES = {
    "close", "elapsed", "headers", "http_request", "http_response", "http_version",
    "is_closed", "iter_bytes", "iter_lines", "iter_text", "json", "method", "parse", "read",
    "retries_taken", "status_code", "text", "url",
}  # fmt: skip


class Tiny(msgspec.Struct):
    id: str
    status: str


# --- with_raw_response: v2's attributes -------------------------------------------------------


def test_raw_response_has_v2s_attributes(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    body = json.dumps(PREDICTION).encode()
    httpserver.expect_request("/v1/predictions/p1").respond_with_data(
        body, content_type="application/json", headers={"ratelimit-remaining": "42"}
    )
    raw = client.with_raw_response.predictions.get(prediction_id="p1")
    assert isinstance(raw, APIResponse)
    missing = {name for name in V2_NAMES if not hasattr(raw, name)}
    assert missing == set()

    assert raw.status_code == 200
    assert raw.headers["RateLimit-Remaining"] == "42"
    request = raw.http_request
    assert isinstance(request, replicate.Request)
    assert request.method == raw.method == "GET"
    assert request.url == raw.url == httpserver.url_for("/v1/predictions/p1")
    # The request as attached to the response never carries the token.
    assert "authorization" not in request.headers
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert raw.is_closed  # a raw response's body is read already

    assert raw.read() == raw.content == body
    assert raw.text() == body.decode()
    assert raw.json() == PREDICTION
    assert b"".join(raw.iter_bytes()) == body
    assert list(raw.iter_bytes(10)) == [body[i : i + 10] for i in range(0, len(body), 10)]
    assert "".join(raw.iter_text()) == body.decode()
    assert list(raw.iter_lines()) == [body.decode()]

    parsed = raw.parse()
    assert isinstance(parsed, Prediction) and parsed.id == "p1"
    assert raw.parse() is parsed
    tiny = raw.parse(to=Tiny)
    assert tiny == Tiny(id="p1", status="succeeded")
    assert raw.parse(to=Tiny) is tiny  # kept per type, as v2 does
    assert raw.parse(to=dict) == PREDICTION
    assert raw.parse(to=dict[str, Any]) == PREDICTION
    assert raw.parse(to=str) == body.decode()
    assert raw.parse(to=bytes) == body
    assert raw.parse(to=type(None)) is None
    assert raw.parse(to=replicate.Response) is raw.http_response
    with pytest.raises(replicate.APIResponseValidationError):
        raw.parse(to=list[int])
    raw.close()  # nothing left to release; still readable
    assert raw.read() == body
    assert repr(raw) == "<APIResponse [200] Prediction>"


def test_raw_response_on_the_resource_and_on_the_client(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/files/f1").respond_with_json(FILE)
    for raw in (client.files.with_raw_response.get("f1"), client.with_raw_response.files.get("f1")):
        assert isinstance(raw, APIResponse)
        assert isinstance(raw.parse(), File)
    # The client itself still returns plain values.
    assert isinstance(client.files.get("f1"), File)


def test_files_delete_raw_response_is_returned(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/files/f1", method="DELETE").respond_with_data(
        "", status=204, headers={"ratelimit-remaining": "5"}
    )
    for raw in (
        client.files.with_raw_response.delete("f1"),
        client.with_raw_response.files.delete(file_id="f1"),
    ):
        assert isinstance(raw, APIResponse)
        assert raw.status_code == 204
        assert raw.headers["ratelimit-remaining"] == "5"
        assert raw.parse() is None
        assert raw.read() == b""
        assert raw.method == "DELETE"


def test_raw_response_error_status_raises(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/nope").respond_with_json(
        {"detail": "Not found"}, status=404
    )
    with pytest.raises(replicate.NotFoundError):
        client.with_raw_response.predictions.get("nope")


# --- with_raw_response: retries_taken, elapsed, http_version ---------------------------------


def answers(server: HTTPServer, path: str, *steps: tuple[int, dict[str, str]]) -> None:
    """``path`` answers with each ``(status, headers)`` of ``steps`` in turn, then with the last
    one again; a 2xx carries PREDICTION as its body."""
    seen: list[int] = []

    def handler(request: WRequest) -> WResponse:
        status, headers = steps[min(len(seen), len(steps) - 1)]
        seen.append(status)
        body = json.dumps(PREDICTION) if status < 300 else ""
        return WResponse(body, status=status, headers=headers, content_type="application/json")

    server.expect_request(path).respond_with_handler(handler)


def test_raw_response_first_try_records_no_retry_its_time_and_version(
    tserver: HTTPServer, tclient: replicate.Replicate
) -> None:
    tserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    raw = tclient.with_raw_response.predictions.get("p1")
    assert raw.retries_taken == 0
    assert raw.http_version == "HTTP/1.1"
    assert isinstance(raw.elapsed, datetime.timedelta)
    assert raw.elapsed > datetime.timedelta(0)
    assert raw.elapsed == raw.http_response.elapsed


def test_http_version_is_the_servers() -> None:
    # The fixtures' werkzeug servers switch to HTTP/1.1 for good once a threaded one exists, so
    # an HTTP/1.0 server is made here: http.server's handlers answer in HTTP/1.0 by default.
    from http.server import BaseHTTPRequestHandler
    from http.server import HTTPServer as StdHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(PREDICTION).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = StdHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with replicate.Replicate(bearer_token=TOKEN, base_url=base_url) as c:
            raw = c.with_raw_response.predictions.get("p1")
        assert raw.http_version == "HTTP/1.0"
        assert raw.parse().id == "p1"
    finally:
        thread.join(5)
        server.server_close()


def test_raw_response_counts_the_retries_before_it(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    answers(httpserver, "/v1/predictions/p1", (503, {}), (503, {}), (200, {}))
    raw = client.with_raw_response.predictions.get("p1")
    assert raw.status_code == 200
    assert raw.retries_taken == 2
    assert len(httpserver.log) == 3


def test_the_error_after_the_last_retry_carries_the_count(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    answers(httpserver, "/v1/predictions/p1", (503, {}))
    with pytest.raises(replicate.InternalServerError) as caught:
        client.with_raw_response.predictions.get("p1")
    assert caught.value.response.retries_taken == 2  # the default max_retries, all used
    assert len(httpserver.log) == 3


def test_redirects_are_not_retries(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    answers(httpserver, "/v1/predictions/old", (307, {"Location": "/v1/predictions/p1"}))
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    raw = client.with_raw_response.predictions.get("old")
    assert raw.url == httpserver.url_for("/v1/predictions/p1")
    assert raw.retries_taken == 0


def test_a_retry_after_a_redirect_counts_once(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    answers(httpserver, "/v1/predictions/old", (307, {"Location": "/v1/predictions/p1"}))
    answers(httpserver, "/v1/predictions/p1", (503, {}), (200, {}))
    raw = client.with_raw_response.predictions.get("old")
    assert raw.status_code == 200
    # One redirect, then one retry (of the redirected request): three exchanges.
    assert raw.retries_taken == 1
    assert len(httpserver.log) == 3


def test_elapsed_covers_the_servers_delay(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    def slow(request: WRequest) -> WResponse:
        time.sleep(0.2)
        return WResponse(json.dumps(PREDICTION), content_type="application/json")

    httpserver.expect_request("/v1/predictions/p1").respond_with_handler(slow)
    raw = client.with_raw_response.predictions.get("p1")
    assert datetime.timedelta(seconds=0.2) <= raw.elapsed < datetime.timedelta(seconds=5)


def test_elapsed_of_a_streamed_body_ends_with_the_body(
    tserver: HTTPServer, tclient: replicate.Replicate
) -> None:
    text = json.dumps(PREDICTION).encode()
    release, _finished = held_back_body(
        tserver, "/v1/predictions/p1", text[:10], text[10:], "application/json"
    )
    with tclient.with_streaming_response.predictions.get("p1") as response:
        # As httpx (and so v2) has it: the clock runs until the body is read or closed.
        with pytest.raises(RuntimeError, match="read or closed"):
            response.elapsed  # noqa: B018
        time.sleep(0.2)
        release.set()
        assert response.parse().id == "p1"
        assert datetime.timedelta(seconds=0.2) <= response.elapsed < datetime.timedelta(seconds=5)
        assert response.http_version == "HTTP/1.1"
        assert response.retries_taken == 0


def test_elapsed_of_a_streamed_body_closed_unread(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    with client.with_streaming_response.predictions.get("p1") as response:
        pass
    assert response.elapsed > datetime.timedelta(0)


def test_http_version_comes_from_the_transport() -> None:
    def http2(request: replicate.Request) -> replicate.Response:
        body = json.dumps(PREDICTION).encode()
        headers = {"Content-Type": "application/json"}
        return replicate.Response(200, headers=headers, content=body, http_version="HTTP/2")

    with replicate.Replicate(bearer_token=TOKEN, transport=MockTransport(http2)) as c:
        raw = c.with_raw_response.predictions.get("p1")
    assert raw.http_version == "HTTP/2"
    assert raw.elapsed >= datetime.timedelta(0)


def test_a_response_built_by_hand_was_not_timed() -> None:
    response = replicate.Response(200, headers={})
    assert response.http_version == "HTTP/1.1"
    assert response.retries_taken == 0
    with pytest.raises(RuntimeError, match="not timed"):
        response.elapsed  # noqa: B018


def test_a_response_pickles_with_its_version_retries_and_time(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    answers(httpserver, "/v1/predictions/p1", (503, {}), (200, {}))
    response = client.with_raw_response.predictions.get("p1").http_response
    copy = pickle.loads(pickle.dumps(response))
    assert (copy.status_code, copy.content) == (200, response.content)
    assert copy.http_version == "HTTP/1.1"
    assert copy.retries_taken == 1
    assert copy.elapsed == response.elapsed
    assert copy.request is None  # the request stays behind, as before
    # A pickle from before these were recorded still loads.
    old = _rebuild_response(200, {"a": "b"}, b"x")
    assert (old.http_version, old.retries_taken, old.content) == ("HTTP/1.1", 0, b"x")


# --- with_streaming_response ------------------------------------------------------------------


def test_streaming_response_sends_on_enter_and_closes_on_exit(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(
        PREDICTION, headers={"ratelimit-remaining": "9"}
    )
    manager = client.with_streaming_response.predictions.get(prediction_id="p1")
    assert isinstance(manager, ResponseContextManager)
    assert httpserver.log == []  # nothing is sent until the block is entered
    with manager as response:
        assert len(httpserver.log) == 1
        assert isinstance(response, APIResponse)
        assert response.status_code == 200
        assert response.headers["ratelimit-remaining"] == "9"
        assert response.url == httpserver.url_for("/v1/predictions/p1")
        # Entering read no byte of the body: it is still on the connection.
        assert not response.http_response.is_stream_consumed
        assert not response.is_closed
        prediction = response.parse()
        assert isinstance(prediction, Prediction) and prediction.id == "p1"
        assert response.is_closed  # parsing read it whole
        assert response.json() == PREDICTION  # and kept it
    assert response.is_closed
    with pytest.raises(RuntimeError, match="once"):
        manager.__enter__()


def test_streaming_response_closes_an_unread_body_on_exit(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    with client.predictions.with_streaming_response.get("p1") as response:
        assert not response.is_closed
    assert response.is_closed
    assert response.http_response.is_stream_consumed
    with pytest.raises(StreamAlreadyConsumed):
        response.read()
    with pytest.raises(StreamAlreadyConsumed):
        response.parse()
    # The connection went back to the pool in a usable state.
    assert client.predictions.get("p1").id == "p1"


def test_streaming_response_closes_on_an_exception(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    seen: list[APIResponse[Any]] = []
    with (
        pytest.raises(KeyError),
        client.with_streaming_response.predictions.get("p1") as response,
    ):
        seen.append(response)
        raise KeyError("boom")
    assert seen[0].is_closed


def test_streaming_response_error_status_raises_on_enter(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/nope").respond_with_json(
        {"detail": "Not found"}, status=404
    )
    manager = client.with_streaming_response.predictions.get("nope")
    with pytest.raises(replicate.NotFoundError, match="Not found"), manager:
        pass


def held_back_body(
    server: HTTPServer, path: str, first: bytes, rest: bytes, content_type: str
) -> tuple[threading.Event, threading.Event]:
    """``path`` answers ``first`` at once, then ``rest`` only once ``release`` is set (or after
    10 s); ``finished`` is set once the server has sent everything."""
    release = threading.Event()
    finished = threading.Event()

    def handler(request: WRequest) -> WResponse:
        def body() -> Iterator[bytes]:
            yield first
            release.wait(10)
            yield rest
            finished.set()

        return WResponse(body(), content_type=content_type, direct_passthrough=True)

    server.expect_request(path).respond_with_handler(handler)
    return release, finished


def test_streaming_response_does_not_read_the_body_before_asked(
    tserver: HTTPServer, tclient: replicate.Replicate
) -> None:
    text = json.dumps(PREDICTION).encode()
    release, finished = held_back_body(
        tserver, "/v1/predictions/p1", text[:10], text[10:], "application/json"
    )
    started = time.monotonic()
    with tclient.with_streaming_response.predictions.get("p1") as response:
        # Entering returned with the server still holding back most of the body: had the
        # SDK read it, entering would have waited for the server's 10 s timeout.
        assert time.monotonic() - started < 5
        assert not finished.is_set()
        assert response.status_code == 200
        release.set()
        assert response.parse().id == "p1"
    assert finished.wait(5)


def test_streaming_download_yields_chunks_as_they_arrive(
    tserver: HTTPServer, tclient: replicate.Replicate
) -> None:
    first, rest = b"a" * 1000, b"b" * 200_000
    release, finished = held_back_body(
        tserver, "/v1/files/f1/download", first, rest, "application/octet-stream"
    )
    with tclient.with_streaming_response.files.download("f1", **DOWNLOAD) as response:
        assert isinstance(response, BinaryAPIResponse)
        chunks = response.iter_bytes()
        got = next(chunks)  # arrives while the server still holds back the rest
        assert first.startswith(got) and got
        assert not finished.is_set()
        assert not response.is_closed
        release.set()
        body = got + b"".join(chunks)
        assert body == first + rest
        assert response.is_closed  # streamed to its end
        with pytest.raises(StreamAlreadyConsumed):
            response.read()
    request = tserver.log[0][0]
    assert request.headers["Accept"] == "application/octet-stream"
    assert {k: request.args[k] for k in DOWNLOAD} == {k: str(v) for k, v in DOWNLOAD.items()}


def test_streaming_download_closed_midway_releases_the_connection(
    tserver: HTTPServer, tclient: replicate.Replicate
) -> None:
    release, _finished = held_back_body(
        tserver, "/v1/files/f1/download", b"x" * 100, b"y" * 100, "application/octet-stream"
    )
    with tclient.with_streaming_response.files.download("f1", **DOWNLOAD) as response:
        chunks = response.iter_bytes()
        assert next(chunks)
        assert not response.is_closed
    # Leaving the block closed the connection, even with the iterator still referenced.
    assert response.is_closed
    assert list(chunks) == []
    release.set()


def test_streaming_download_to_file(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Any
) -> None:
    body = bytes(range(256)) * 1000
    httpserver.expect_request("/v1/files/f1/download").respond_with_data(
        body, content_type="application/octet-stream"
    )
    target = tmp_path / "out.bin"
    with client.with_streaming_response.files.download("f1", **DOWNLOAD) as response:
        response.stream_to_file(target, chunk_size=4096)
    assert target.read_bytes() == body


def test_streaming_iter_text_and_lines(tserver: HTTPServer, tclient: replicate.Replicate) -> None:
    text = "héllo wörld ✓\r\nsecond\n\nthird\rfourth\r\nlast"
    data = text.encode("utf-8")

    def handler(request: WRequest) -> WResponse:
        def body() -> Iterator[bytes]:
            for i in range(0, len(data), 3):  # splits multi-byte characters and "\r\n"
                yield data[i : i + 3]
                time.sleep(0.002)

        return WResponse(body(), content_type="text/plain; charset=utf-8")

    tserver.expect_request("/v1/models/acme/m/readme").respond_with_handler(handler)
    readme = tclient.with_streaming_response.models.readme
    with readme.get("acme", "m") as response:
        assert list(response.iter_lines()) == text.splitlines()
    with readme.get("acme", "m") as response:
        pieces = list(response.iter_text(4))
        assert "".join(pieces) == text
        assert all(len(p) == 4 for p in pieces[:-1]) and 0 < len(pieces[-1]) <= 4
    with readme.get("acme", "m") as response:
        assert response.parse() == text
        assert response.text() == text


class Chunks:
    """A body that arrives in exactly these chunks (a transport's ``SyncByteStream``)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "chunks",
    [
        [b"a\r", b"\nb"],  # "\r\n" split across chunks: one line break
        [b"a\r", b"b\r", b"\r\n", b"c"],
        [b"a", b"", b"\n", b"\n", b"b\n"],
        [b"\n\n"],
        [b"x\xc3", b"\xa9\n\xe2\x9c", b"\x93"],  # UTF-8 split inside characters
        [b"no newline at all"],
        [b"trailing\r"],
    ],
)
def test_iter_lines_across_chunk_boundaries(chunks: list[bytes]) -> None:
    stream = Chunks(chunks)
    response = APIResponse[Any](replicate.Response(200, headers=replicate.Headers(), stream=stream))
    text = b"".join(chunks).decode("utf-8")
    assert list(response.iter_lines()) == text.splitlines()
    assert stream.closed and response.is_closed


def test_streaming_list_returns_the_first_pages_response(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    second = httpserver.url_for("/v1/predictions") + "?cursor=c2"
    httpserver.expect_request("/v1/predictions", query_string="cursor=c2").respond_with_json(
        {"next": None, "results": [{**PREDICTION, "id": "p2"}]}
    )
    first = {"next": second, "results": [PREDICTION]}
    httpserver.expect_request("/v1/predictions", query_string="").respond_with_json(
        first, headers={"ratelimit-remaining": "3"}
    )
    with client.with_streaming_response.predictions.list() as response:
        assert len(httpserver.log) == 1
        assert response.headers["ratelimit-remaining"] == "3"
        page = response.parse()
        assert isinstance(page, SyncPage)
        assert response.json() == first
    # The page goes on across pages through a plain client.
    assert [p.id for p in page] == ["p1", "p2"]
    assert len(httpserver.log) == 2


def test_streaming_create_uploads_then_streams_the_create(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(FILE, status=201)
    httpserver.expect_request("/v1/predictions", method="POST").respond_with_json(
        {**PREDICTION, "status": "starting"}, status=201
    )
    manager = client.with_streaming_response.predictions.create(
        version=VERSION_ID, input={"a": b"abc"}
    )
    assert httpserver.log == []
    with manager as response:
        assert response.status_code == 201
        assert not response.is_closed
        assert response.parse().status == "starting"
    sent = json.loads(httpserver.log[-1][0].get_data())
    assert sent["input"] == {"a": FILE["urls"]["get"]}  # type: ignore[index]


def test_streaming_wait_gives_the_last_polls_response(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/predictions/p1").respond_with_json(PREDICTION)
    with client.with_streaming_response.predictions.wait("p1", poll_interval=0.01) as response:
        assert response.parse().status == "succeeded"
        assert response.status_code == 200


def test_streaming_search_on_the_client(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/search").respond_with_json(
        {"query": "x", "models": [], "collections": [], "pages": []}
    )
    with client.with_streaming_response.search(query="x") as response:
        assert response.parse().query == "x"
    raw = client.with_raw_response.search(query="x")
    assert isinstance(raw, APIResponse) and raw.parse().query == "x"


# --- every resource ---------------------------------------------------------------------------


def walk(resource: Resource, path: str) -> Iterator[tuple[str, Resource]]:
    """``resource`` and every sub-resource under it, with its attribute path."""
    yield path, resource
    for name in dir(type(resource)):
        if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
            continue
        if isinstance(getattr(type(resource), name), property):
            sub = getattr(resource, name)
            if isinstance(sub, Resource):
                yield from walk(sub, f"{path}.{name}")


def all_resources(client: replicate.Replicate) -> list[tuple[str, Resource]]:
    """Every resource of the client (its lazily loaded attributes) and all their sub-resources."""
    found: list[tuple[str, Resource]] = []
    for name in dir(replicate.Replicate):
        if isinstance(getattr(replicate.Replicate, name), _Resource):
            found.extend(walk(getattr(client, name), name))
    return found


def resolve(root: Any, path: str) -> Any:
    for name in path.split("."):
        root = getattr(root, name)
    return root


def test_every_resource_has_both_prefixes(client: replicate.Replicate) -> None:
    resources = all_resources(client)
    paths = {path for path, _ in resources}
    assert {
        "predictions", "models", "models.examples", "models.readme", "models.versions",
        "models.predictions", "deployments", "deployments.predictions", "trainings", "files",
        "collections", "hardware", "account", "webhooks", "webhooks.default",
        "webhooks.default.secret",
    } <= paths  # fmt: skip
    for path, resource in resources:
        for prefixed in (
            resource.with_streaming_response,
            resolve(client.with_streaming_response, path),
        ):
            assert type(prefixed) is type(resource), path
            assert prefixed._client._streamed and prefixed._client._raw, path
        for prefixed in (resource.with_raw_response, resolve(client.with_raw_response, path)):
            assert type(prefixed) is type(resource), path
            assert prefixed._client._raw and not prefixed._client._streamed, path
        assert not resource._client._raw and not resource._client._streamed


#: One call of every resource method that sends a request, with the path it sends to and what
#: ``parse()`` gives. Every one goes through ``with_streaming_response`` below.
CALLS: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {
    "predictions.get": ("GET", "/v1/predictions/p1", lambda c: c.predictions.get("p1"), PREDICTION),
    "predictions.cancel": (
        "POST", "/v1/predictions/p1/cancel", lambda c: c.predictions.cancel("p1"), PREDICTION,
    ),
    "predictions.create": (
        "POST", "/v1/predictions",
        lambda c: c.predictions.create(version=VERSION_ID, input={}), PREDICTION,
    ),
    "models.get": ("GET", "/v1/models/a/m", lambda c: c.models.get("a", "m"), {"owner": "a"}),
    "models.create": (
        "POST", "/v1/models",
        lambda c: c.models.create(hardware="cpu", name="m", owner="a", visibility="public"),
        {"owner": "a"},
    ),
    "models.update": (
        "PATCH", "/v1/models/a/m", lambda c: c.models.update("a", "m", description="d"),
        {"owner": "a"},
    ),
    "models.delete": ("DELETE", "/v1/models/a/m", lambda c: c.models.delete("a", "m"), None),
    "models.readme.get": (
        "GET", "/v1/models/a/m/readme", lambda c: c.models.readme.get("a", "m"), "# hi",
    ),
    "models.versions.get": (
        "GET", f"/v1/models/a/m/versions/{VERSION_ID}",
        lambda c: c.models.versions.get("a", "m", VERSION_ID), {"id": VERSION_ID},
    ),
    "models.versions.delete": (
        "DELETE", f"/v1/models/a/m/versions/{VERSION_ID}",
        lambda c: c.models.versions.delete("a", "m", VERSION_ID), None,
    ),
    "models.predictions.create": (
        "POST", "/v1/models/a/m/predictions",
        lambda c: c.models.predictions.create("a", "m", input={}), PREDICTION,
    ),
    "deployments.get": (
        "GET", "/v1/deployments/a/d", lambda c: c.deployments.get("a", "d"), {"owner": "a"},
    ),
    "deployments.delete": (
        "DELETE", "/v1/deployments/a/d", lambda c: c.deployments.delete("a", "d"), None,
    ),
    "deployments.predictions.create": (
        "POST", "/v1/deployments/a/d/predictions",
        lambda c: c.deployments.predictions.create("a", "d", input={}), PREDICTION,
    ),
    "trainings.get": ("GET", "/v1/trainings/t1", lambda c: c.trainings.get("t1"), {"id": "t1"}),
    "trainings.cancel": (
        "POST", "/v1/trainings/t1/cancel", lambda c: c.trainings.cancel("t1"), {"id": "t1"},
    ),
    "files.get": ("GET", "/v1/files/f1", lambda c: c.files.get("f1"), FILE),
    "files.delete": ("DELETE", "/v1/files/f1", lambda c: c.files.delete("f1"), None),
    "files.create": ("POST", "/v1/files", lambda c: c.files.create(content=b"abc"), FILE),
    "collections.get": (
        "GET", "/v1/collections/c", lambda c: c.collections.get("c"),
        {"name": "C", "slug": "c", "description": ""},
    ),
    "hardware.list": ("GET", "/v1/hardware", lambda c: c.hardware.list(), []),
    "account.get": (
        "GET", "/v1/account", lambda c: c.account.get(), {"type": "user", "username": "u"},
    ),
    "webhooks.default.secret.get": (
        "GET", "/v1/webhooks/default/secret", lambda c: c.webhooks.default.secret.get(),
        {"key": "whsec_x"},
    ),
}  # fmt: skip
LISTS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "predictions.list": ("/v1/predictions", lambda c: c.predictions.list()),
    "models.list": ("/v1/models", lambda c: c.models.list()),
    "models.search": ("/v1/models", lambda c: c.models.search(query="x")),
    "models.examples.list": ("/v1/models/a/m/examples", lambda c: c.models.examples.list("a", "m")),
    "models.versions.list": ("/v1/models/a/m/versions", lambda c: c.models.versions.list("a", "m")),
    "deployments.list": ("/v1/deployments", lambda c: c.deployments.list()),
    "trainings.list": ("/v1/trainings", lambda c: c.trainings.list()),
    "files.list": ("/v1/files", lambda c: c.files.list()),
    "collections.list": ("/v1/collections", lambda c: c.collections.list()),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_method_streams(
    httpserver: HTTPServer, client: replicate.Replicate, name: str
) -> None:
    method, path, call, body = CALLS[name]
    if body is None:
        httpserver.expect_request(path, method=method).respond_with_data("", status=204)
    elif isinstance(body, str):
        httpserver.expect_request(path, method=method).respond_with_data(
            body, content_type="text/plain"
        )
    else:
        httpserver.expect_request(path, method=method).respond_with_json(body)
    manager = call(client.with_streaming_response)
    assert isinstance(manager, ResponseContextManager), name
    assert httpserver.log == []
    with manager as response:
        assert isinstance(response, APIResponse)
        assert response.method == method
        assert not response.http_response.is_stream_consumed  # nothing read on entering
        parsed = response.parse()
        if body is None or isinstance(body, str):
            assert parsed == body
        else:
            assert msgspec.to_builtins(parsed) == msgspec.to_builtins(
                msgspec.convert(body, type=type(parsed))
            )
            assert response.json() == body
    assert response.is_closed
    # The same call through with_raw_response gives the same object.
    raw = call(client.with_raw_response)
    assert isinstance(raw, APIResponse) and raw.is_closed
    assert msgspec.to_builtins(raw.parse()) == msgspec.to_builtins(parsed)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_streams_its_first_page(
    httpserver: HTTPServer, client: replicate.Replicate, name: str
) -> None:
    path, call = LISTS[name]
    httpserver.expect_request(path).respond_with_json({"next": None, "results": []})
    with call(client.with_streaming_response) as response:
        assert not response.http_response.is_stream_consumed
        page = response.parse()
        assert isinstance(page, SyncPage) and list(page) == []
    assert response.is_closed
