"""Every resend (a retry, a redirect, a 401 refresh) sends the whole body again, and the auth
provider sees it whole first; a body that can be read only once is sent once, never again.

Table-driven: each body kind (bytes, str, JSON, a list of chunks, a BytesIO, a file on disk,
the multipart body of ``files.create`` sent raw and through ``files.create`` from a file object
or a path, a generator, an iterator, a pipe) meets each resend cause (a retry after a 5xx or a
429, a retry after a connection reset, a 307 and a 308 redirect, a 401 refresh), through the
built-in urllib3 transport against a loopback server, with an auth provider that signs the body
as a plugin author would write one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

import replicate
from replicate._multipart import upload_body
from replicate.testing.servers import (
    Handler,
    RecordedRequest,
    Responder,
    ScriptServer,
    raw_response,
)

DATA = b"file-body " + bytes(range(256)) * 300  # ~77 KiB: more than one 64 KiB chunk
UNSIGNED = "unsigned"

FILE_JSON = {
    "id": "f-abc",
    "name": "upload",
    "content_type": "application/octet-stream",
    "size": len(DATA),
    "checksums": {"sha256": hashlib.sha256(DATA).hexdigest()},
    "metadata": {},
    "created_at": "2025-01-02T03:04:05.678Z",
    "expires_at": "2025-01-02T04:04:05.678Z",
    "urls": {"get": "https://api.replicate.com/v1/files/f-abc"},
}


def body_signature(content: Any) -> str:
    """What a body-signing provider computes: the SHA-256 of the bytes it reads from
    ``request.content``, following the documented contract (a one-shot body is left unread)."""
    if content is None:
        data = b""
    elif isinstance(content, bytes):
        data = content
    elif hasattr(content, "read"):
        if not content.seekable():
            return UNSIGNED
        data = content.read()  # the core seeks it back
    elif iter(content) is content:
        return UNSIGNED
    else:
        data = b"".join(content)  # starts over each time
    return hashlib.sha256(data).hexdigest()


class SigningAuth:
    """An auth provider as a plugin author writes one: a bearer token plus a body signature,
    and a ``refresh`` that swaps a stale token for a fresh one."""

    def __init__(self) -> None:
        self.token = "r8_stale"
        self.refreshes = 0
        self.signed: list[str] = []

    def auth_headers(self, request: replicate.Request) -> dict[str, str]:
        signature = body_signature(request.content)
        self.signed.append(signature)
        return {"Authorization": f"Bearer {self.token}", "X-Body-Sha256": signature}

    def refresh(self, request: replicate.Request, response: replicate.Response) -> bool:
        self.refreshes += 1
        self.token = "r8_fresh"
        return True


# --- body kinds ------------------------------------------------------------------------------

JSON_BODY = {"input": {"prompt": "é" * 100, "n": [1, 2, 3]}}


@dataclass
class Body:
    """How one kind of body is sent, and what the server should receive."""

    send: Callable[[replicate.Replicate], Any]
    check: Callable[[bytes], bool]  # whether these bytes on the wire are the body, whole
    replayable: bool
    create: bool = False  # sent as ``POST /files`` (a create: retried only on 429)
    problem: str = ""  # what the error names for a one-shot body


def _pipe(data: bytes) -> io.BufferedReader:
    """A non-seekable binary file holding ``data`` (small enough for the pipe's buffer)."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    return open(read_fd, "rb")  # closed by the test's finaliser


def _put(content: Any, headers: dict[str, str] | None = None) -> Callable[..., Any]:
    return lambda client: client.put("/up", content=content, headers=headers)


def _is(expected: bytes) -> Callable[[bytes], bool]:
    return lambda data: data == expected


def _holds(part: bytes) -> Callable[[bytes], bool]:
    """A multipart body (``files.create``) holding ``part`` as its file."""
    return lambda data: part in data and data.startswith(b"--")


def _multipart(content: Any) -> tuple[Any, dict[str, str], bytes]:
    body, headers = upload_body(content, filename="a.bin", type=None, metadata=None)
    return body, headers, b"".join(body) if not isinstance(body, Iterator) else b""


def make_body(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Body:
    if kind == "bytes":
        return Body(_put(DATA), _is(DATA), True)
    if kind == "str":  # sent as UTF-8
        text = DATA.decode("latin-1")
        return Body(_put(text), _is(text.encode()), True)
    if kind == "json":
        return Body(
            lambda c: c.put("/up", json=JSON_BODY),
            lambda data: json.loads(data) == JSON_BODY,
            True,
        )
    if kind == "list":  # an iterable that starts over each time: sent again whole
        return Body(_put([DATA[:1000], DATA[1000:]]), _is(DATA), True)
    if kind == "bytesio":  # sent from where it was when the call began
        buffer = io.BytesIO(b"skip:" + DATA)
        buffer.seek(5)
        return Body(_put(buffer), _is(DATA), True)
    if kind == "file":  # a file on disk, sent from where it was when the call began
        path = tmp_path / "body.bin"
        path.write_bytes(b"SKIPPED" + DATA)
        f = path.open("rb")
        request.addfinalizer(f.close)
        f.seek(len(b"SKIPPED"))
        return Body(_put(f), _is(DATA), True)
    if kind == "multipart":  # the body files.create builds, sent raw
        body, headers, wire = _multipart(io.BytesIO(DATA))
        return Body(_put(body, headers), _is(wire), True)
    if kind == "files.create":
        return Body(lambda c: c.files.create(content=io.BytesIO(DATA)), _holds(DATA), True, True)
    if kind == "files.create-path":
        path = tmp_path / "upload.bin"
        path.write_bytes(DATA)
        return Body(lambda c: c.files.create(content=path), _holds(DATA), True, True)
    if kind == "generator":

        def chunks() -> Iterator[bytes]:
            yield DATA[:1000]
            yield DATA[1000:]

        return Body(_put(chunks()), _is(DATA), False, problem="one-shot iterator")
    if kind == "iterator":
        return Body(
            _put(iter([DATA[:1000], DATA[1000:]])), _is(DATA), False, problem="one-shot iterator"
        )
    if kind == "pipe":
        pipe = _pipe(DATA[:4096])
        request.addfinalizer(pipe.close)
        return Body(_put(pipe), _is(DATA[:4096]), False, problem="file that cannot seek")
    if kind == "files.create-pipe":  # a non-seekable upload: files.create makes it one-shot
        pipe = _pipe(DATA[:4096])
        request.addfinalizer(pipe.close)
        return Body(
            lambda c: c.files.create(content=pipe),
            _holds(DATA[:4096]),
            False,
            create=True,
            problem="one-shot iterator",
        )
    raise AssertionError(kind)


REPLAYABLE = [
    "bytes",
    "str",
    "json",
    "list",
    "bytesio",
    "file",
    "multipart",
    "files.create",
    "files.create-path",
]
ONE_SHOT = ["generator", "iterator", "pipe", "files.create-pipe"]
CREATES = {"files.create", "files.create-path", "files.create-pipe"}
#: "retry": a 503 (a 429 for a create, which is not idempotent); "reset": the connection
#: dropped after the request, before an answer (retried for an idempotent PUT only);
#: "redirect-307"/"redirect-308": to another path; "refresh": a 401 the auth provider refreshes.
CAUSES = ["retry", "reset", "redirect-307", "redirect-308", "refresh"]


def table(kinds: list[str]) -> list[tuple[str, str]]:
    """Each body kind with each resend cause, but a reset for a create: not resent whatever
    its body (it may have created something), as ``test_run.py`` and the fault matrix check."""
    return [(k, c) for k in kinds for c in CAUSES if not (k in CREATES and c == "reset")]


# --- the server --------------------------------------------------------------------------------


def _answer(status: int, headers: list[tuple[str, str]]) -> Responder:
    return raw_response(b"", status, headers)


class Server:
    """Answers the first request with the resend cause, every later one with success."""

    def __init__(self, script: ScriptServer, cause: str, body: Body) -> None:
        self.script = script
        self.path = "/v1/files" if body.create else "/v1/up"
        first: Responder
        if cause == "retry":
            # A create is not idempotent: only a 429 (refused unread) is retried for it.
            first = _answer(429, [("Retry-After", "0")]) if body.create else _answer(503, [])
        elif cause == "reset":
            first = Handler.cut
        elif cause.startswith("redirect-"):
            first = _answer(int(cause[-3:]), [("Location", self.path + "-moved")])
        else:
            first = _answer(401, [])
        done = raw_response(json.dumps(FILE_JSON).encode(), 201)
        script.route(self.path, first, done)
        script.route(self.path + "-moved", done)

    @property
    def received(self) -> list[RecordedRequest]:
        return self.script.requests


@pytest.fixture
def script() -> Iterator[ScriptServer]:
    with ScriptServer() as server:
        yield server


@pytest.fixture
def signing_client(
    script: ScriptServer, fast_retries: replicate.DefaultRetryPolicy
) -> Iterator[tuple[replicate.Replicate, SigningAuth]]:
    auth = SigningAuth()
    with replicate.Replicate(base_url=script.url("/v1"), auth=auth, retry_policy=fast_retries) as c:
        yield c, auth


# --- replayable bodies: sent whole, and signed right, on every attempt -------------------------


@pytest.mark.parametrize("kind, cause", table(REPLAYABLE))
def test_replayable_body_is_resent_whole_and_signed(
    script: ScriptServer,
    signing_client: tuple[replicate.Replicate, SigningAuth],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    kind: str,
    cause: str,
) -> None:
    client, auth = signing_client
    body = make_body(kind, tmp_path, request)
    server = Server(script, cause, body)
    body.send(client)

    first, second = server.received  # exactly two sends
    assert first.method == second.method == ("POST" if body.create else "PUT")
    assert second.body == first.body
    assert body.check(first.body), first.body[:200]
    for sent in (first, second):
        assert sent.headers.get("x-body-sha256") == hashlib.sha256(sent.body).hexdigest()
    assert auth.signed == [first.headers["x-body-sha256"], second.headers["x-body-sha256"]]
    if cause.startswith("redirect-"):
        assert second.path == server.path + "-moved"
    else:
        assert second.path == server.path
    if cause == "refresh":
        assert auth.refreshes == 1
        assert [first.headers["authorization"], second.headers["authorization"]] == [
            "Bearer r8_stale",
            "Bearer r8_fresh",
        ]
    else:
        assert auth.refreshes == 0


# --- one-shot bodies: sent once, then a clear error ----------------------------------------------


@pytest.mark.parametrize("kind, cause", table(ONE_SHOT))
def test_one_shot_body_is_sent_once(
    script: ScriptServer,
    signing_client: tuple[replicate.Replicate, SigningAuth],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    cause: str,
) -> None:
    client, auth = signing_client
    body = make_body(kind, tmp_path, request)
    server = Server(script, cause, body)
    caplog.set_level(logging.INFO, logger="replicate")

    with pytest.raises(replicate.APIError) as info:
        body.send(client)

    (only,) = server.received  # sent exactly once, and whole
    assert body.check(only.body), only.body[:200]
    assert only.headers.get("x-body-sha256") == UNSIGNED  # left unread, as documented
    err = info.value
    method, path = ("POST", "/v1/files") if body.create else ("PUT", "/v1/up")
    if cause in ("retry", "reset"):
        # No retry: the attempt's own error stands, and the skipped retry is logged.
        if cause == "retry":
            status = 429 if body.create else 503
            expected = replicate.RateLimitError if body.create else replicate.InternalServerError
            assert type(err) is expected
            why = f"status {status}"
        else:
            assert isinstance(err, replicate.APIConnectionError)
            assert err.request_sent is True
            why = "(APIConnectionError)"
        (note,) = [r.getMessage() for r in caplog.records if "Not retrying" in r.getMessage()]
        assert f"{method} " in note and path in note and why in note
        assert "cannot be sent again" in note and body.problem in note
        return
    assert type(err) is replicate.BodyNotReplayableError
    message = str(err)
    assert message.startswith(f"{method} http://")
    assert path in message
    assert "cannot be sent again" in message and body.problem in message
    assert err.request is not None and err.request.method == method
    assert err.response is not None
    if cause.startswith("redirect-"):
        status = int(cause[-3:])
        assert f"redirected ({status})" in message
        assert err.response.status_code == status
    else:
        assert "refused (401)" in message and "refreshed" in message
        assert err.response.status_code == 401
        assert auth.refreshes == 1  # the provider still refreshed, for the requests to come
    assert "r8_" not in message


# --- around the edges ----------------------------------------------------------------------------


def test_body_dropped_by_a_303_does_not_stop_later_retries(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    # A 303 turns the request into a GET without a body, so a one-shot body no longer matters.
    httpserver.expect_request("/v1/up", method="PUT").respond_with_data(
        "", status=303, headers={"Location": "/v1/result"}
    )
    answers = iter([WResponse("", status=503), WResponse("done")])
    httpserver.expect_request("/v1/result", method="GET").respond_with_handler(
        lambda request: next(answers)
    )
    assert client.put("/up", content=iter([b"a", b"b"])).text == "done"
    assert [req.method for req, _ in httpserver.log] == ["PUT", "GET", "GET"]


def test_a_file_that_cannot_be_rewound_is_a_clear_error(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    f = io.BytesIO(DATA)

    class ClosingAuth(SigningAuth):
        def refresh(self, request: replicate.Request, response: replicate.Response) -> bool:
            f.close()  # the body's file is gone before the resend
            return super().refresh(request, response)

    httpserver.expect_oneshot_request("/v1/up").respond_with_data("", status=401)
    with (
        replicate.Replicate(
            base_url=httpserver.url_for("/v1"), auth=ClosingAuth(), retry_policy=fast_retries
        ) as c,
        pytest.raises(replicate.BodyNotReplayableError, match="rewinding it failed") as info,
    ):
        c.put("/up", content=f)
    assert isinstance(info.value.__cause__, ValueError)
    assert len(httpserver.log) == 1


def test_preparers_see_the_body_at_its_start_on_every_attempt(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    seen: list[bytes] = []

    class Checksum:
        @replicate.hookimpl
        def replicate_prepare_request(self, request: replicate.Request) -> None:
            seen.append(request.content.read())  # type: ignore[union-attr]

    httpserver.expect_oneshot_request("/v1/up").respond_with_data("", status=503)
    httpserver.expect_request("/v1/up").respond_with_data("ok")
    with replicate.Replicate(
        bearer_token="r8_x",
        base_url=httpserver.url_for("/v1"),
        retry_policy=fast_retries,
        plugins=[Checksum()],
    ) as c:
        c.put("/up", content=io.BytesIO(DATA))
    assert seen == [DATA, DATA]
    assert [req.get_data() for req, _ in httpserver.log] == [DATA, DATA]


def test_body_not_replayable_error_pickles_without_request_or_response() -> None:
    request = replicate.Request("PUT", "http://x/v1/up", headers={"Authorization": "Bearer r8_s"})
    err = replicate.BodyNotReplayableError("PUT http://x/v1/up was redirected", request)
    data = pickle.dumps(err)
    assert b"r8_s" not in data
    copy = pickle.loads(data)
    assert type(copy) is replicate.BodyNotReplayableError
    assert str(copy) == str(err) and copy.request is None and copy.response is None
    assert isinstance(err, replicate.APIError)
