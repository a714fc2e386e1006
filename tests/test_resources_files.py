"""``client.files`` against a loopback server: the multipart body as the server parses it,
streaming uploads from disk (memory, Content-Length, retries), and downloads written atomically."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import ROOT
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse
from werkzeug.test import EnvironBuilder

import replicate
from replicate._response import APIResponse, BinaryAPIResponse
from replicate.pagination import SyncPage
from replicate.types import File


class Upload:
    """What the server received for one ``POST /files``."""

    def __init__(self, request: WRequest) -> None:
        raw = request.get_data()
        self.headers = dict(request.headers)
        self.content_type = request.headers["Content-Type"]
        self.content_length = request.headers.get("Content-Length")
        self.chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        self.raw_length = len(raw)
        boundary = self.content_type.split("boundary=", 1)[1].encode()
        self.ends_with_closing_boundary = raw.endswith(b"--" + boundary + b"--\r\n")
        # The body as werkzeug parses a form: request.form and request.files.
        parsed = WRequest(
            EnvironBuilder(method="POST", data=raw, content_type=self.content_type).get_environ()
        )
        self.form = {k: parsed.form.getlist(k) for k in parsed.form}
        self.file_fields = list(parsed.files)
        storage = parsed.files["content"]
        self.filename = storage.filename
        self.file_type = storage.content_type
        data = storage.read()
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.data = data if len(data) <= 1 << 20 else None
        # Each part's own headers, from the raw bytes.
        self.part_headers: dict[str, dict[str, str]] = {}
        self.part_order: list[str] = []
        for chunk in raw.split(b"--" + boundary)[1:-1]:
            head = chunk[2:].split(b"\r\n\r\n", 1)[0].decode("utf-8")
            headers = dict(line.split(": ", 1) for line in head.split("\r\n"))
            name = headers["Content-Disposition"].split('name="', 1)[1].split('"', 1)[0]
            self.part_headers[name] = headers
            self.part_order.append(name)

    def file_json(self, file_id: str = "f-abc") -> dict[str, Any]:
        return {
            "id": file_id,
            "name": self.form["filename"][0],
            "content_type": self.form["type"][0],
            "size": self.size,
            "checksums": {"sha256": self.sha256},
            "metadata": json.loads(self.form["metadata"][0]) if "metadata" in self.form else {},
            "created_at": "2025-01-02T03:04:05.678Z",
            "expires_at": "2025-01-02T04:04:05.678Z",
            "urls": {"get": f"https://api.replicate.com/v1/files/{file_id}"},
        }


def upload_handler(
    uploads: list[Upload], status: int = 201, headers: dict[str, str] | None = None
) -> Callable[[WRequest], WResponse]:
    def handler(request: WRequest) -> WResponse:
        upload = Upload(request)
        uploads.append(upload)
        if status != 201:
            body = {"title": "nope", "detail": f"status {status}", "status": status}
            return WResponse(
                json.dumps(body),
                status=status,
                headers=headers,
                content_type="application/problem+json",
            )
        return WResponse(
            json.dumps(upload.file_json()), status=201, content_type="application/json"
        )

    return handler


def serve_upload(httpserver: HTTPServer, **kw: Any) -> list[Upload]:
    uploads: list[Upload] = []
    httpserver.expect_request("/v1/files", method="POST").respond_with_handler(
        upload_handler(uploads, **kw)
    )
    return uploads


def no_requests(httpserver: HTTPServer) -> None:
    assert httpserver.log == []


# --- the multipart body -------------------------------------------------------------------------


def test_create_from_bytes(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver)
    data = b"hello, world\n" * 100 + bytes(range(256))
    f = client.files.create(
        content=data, filename="hello.txt", metadata={"customer": 123, "tags": ["a", "b"]}
    )

    (up,) = uploads
    assert up.headers["Authorization"] == f"Bearer {TOKEN}"
    assert up.content_type.startswith("multipart/form-data; boundary=")
    assert up.content_length is not None and int(up.content_length) == up.raw_length
    assert not up.chunked
    assert up.ends_with_closing_boundary
    assert up.data == data
    assert up.filename == "hello.txt"
    assert up.file_type == "text/plain"
    assert up.file_fields == ["content"]
    assert up.form["filename"] == ["hello.txt"]
    assert up.form["type"] == ["text/plain"]
    # metadata is ONE JSON part (v2 sent bracketed fields such as metadata[customer]).
    assert json.loads(up.form["metadata"][0]) == {"customer": 123, "tags": ["a", "b"]}
    assert not any(k.startswith("metadata[") for k in up.form)
    assert up.part_headers["metadata"]["Content-Type"] == "application/json"
    assert up.part_headers["content"]["Content-Type"] == "text/plain"
    assert up.part_headers["content"]["Content-Disposition"] == (
        'form-data; name="content"; filename="hello.txt"'
    )
    assert "Content-Type" not in up.part_headers["filename"]
    assert up.part_order == ["filename", "type", "metadata", "content"]

    assert isinstance(f, File)
    assert f.id == "f-abc"
    assert f.size == len(data)
    assert f.checksums is not None and f.checksums.sha256 == hashlib.sha256(data).hexdigest()
    assert f.metadata == {"customer": 123, "tags": ["a", "b"]}


def test_create_defaults(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=b"\x00\x01\x02")
    (up,) = uploads
    assert up.filename == "upload"
    assert up.form["filename"] == ["upload"]
    assert up.form["type"] == ["application/octet-stream"]
    assert up.file_type == "application/octet-stream"
    # No metadata given: no metadata part at all (as v2), not an empty ``{}``.
    assert "metadata" not in up.form
    assert up.part_order == ["filename", "type", "content"]
    assert up.data == b"\x00\x01\x02"


def test_create_metadata_part_only_when_given(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=b"a", metadata=None)
    client.files.create(content=b"b", metadata={})
    client.files.create(content=b"c", metadata={"k": [1, "two"]})
    none, empty, listed = uploads
    assert "metadata" not in none.form  # None is "not given", as in v2
    assert empty.form["metadata"] == ["{}"]  # an explicit value is sent as given
    assert json.loads(listed.form["metadata"][0]) == {"k": [1, "two"]}


def test_create_empty_content(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=b"", filename="empty.bin")
    (up,) = uploads
    assert up.data == b""
    assert int(up.content_length or -1) == up.raw_length


def test_create_from_path(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    uploads = serve_upload(httpserver)
    path = tmp_path / "photo.png"
    data = os.urandom(300_000)
    path.write_bytes(data)
    f = client.files.create(content=path, metadata={"k": "v"})
    (up,) = uploads
    assert up.data == data
    assert up.filename == "photo.png"
    assert up.form["filename"] == ["photo.png"]
    assert up.form["type"] == ["image/png"]
    assert up.file_type == "image/png"
    assert int(up.content_length or -1) == up.raw_length
    assert f.name == "photo.png"


def test_create_from_open_file_reads_from_current_position(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    uploads = serve_upload(httpserver)
    path = tmp_path / "notes.json"
    path.write_bytes(b"SKIP{" + b'"a": 1' * 1000 + b"}")
    with open(path, "rb") as fh:
        fh.seek(4)
        client.files.create(content=fh)
        assert not fh.closed  # the caller's file stays the caller's
    (up,) = uploads
    assert up.data == path.read_bytes()[4:]
    assert up.filename == "notes.json"
    assert up.form["type"] == ["application/json"]
    assert int(up.content_length or -1) == up.raw_length


def test_create_from_bytesio(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=io.BytesIO(b"in memory"), type="text/csv")
    (up,) = uploads
    assert up.data == b"in memory"
    assert up.filename == "upload"
    assert up.form["type"] == ["text/csv"]
    assert up.file_type == "text/csv"


@pytest.mark.parametrize(
    ("content", "name", "ctype", "data"),
    [
        (("data.bin", b"abc"), "data.bin", "application/octet-stream", b"abc"),
        (("a.wav", b"RIFF", "audio/x-custom"), "a.wav", "audio/x-custom", b"RIFF"),
        (("page.html", "<p>café</p>"), "page.html", "text/html", "<p>café</p>".encode()),
        ((None, b"xyz", "image/webp"), "upload", "image/webp", b"xyz"),
    ],
)
def test_create_from_tuple(
    httpserver: HTTPServer,
    client: replicate.Replicate,
    content: tuple[Any, ...],
    name: str,
    ctype: str,
    data: bytes,
) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=content)
    (up,) = uploads
    assert (up.filename, up.form["filename"], up.file_type, up.form["type"], up.data) == (
        name,
        [name],
        ctype,
        [ctype],
        data,
    )


def test_create_tuple_with_path_and_headers(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    uploads = serve_upload(httpserver)
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"W" * 5000)
    client.files.create(content=("renamed.bin", path, None, {"X-Part": "1"}))
    (up,) = uploads
    assert up.filename == "renamed.bin"
    assert up.data == b"W" * 5000
    assert up.part_headers["content"]["X-Part"] == "1"


def test_explicit_filename_and_type_win(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    uploads = serve_upload(httpserver)
    path = tmp_path / "photo.png"
    path.write_bytes(b"png?")
    client.files.create(content=path, filename="other.jpg", type="application/x-thing")
    (up,) = uploads
    assert up.filename == "other.jpg"
    assert up.form["filename"] == ["other.jpg"]
    assert up.form["type"] == ["application/x-thing"]
    assert up.file_type == "application/x-thing"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("archive.tar.gz", "application/gzip"),
        ("model.weights-unknown", "application/octet-stream"),
        ("clip.mp4", "video/mp4"),
    ],
)
def test_content_type_guess(
    httpserver: HTTPServer, client: replicate.Replicate, filename: str, expected: str
) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=b"x", filename=filename)
    assert uploads[0].form["type"] == [expected]


def test_unicode_filename(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(content=b"x", filename="naïve café.txt")
    (up,) = uploads
    assert up.form["filename"] == ["naïve café.txt"]
    assert up.filename == "naïve café.txt"


def test_extra_body_becomes_form_fields(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    uploads = serve_upload(httpserver)
    client.files.create(
        content=b"x",
        extra_body={"note": "hi", "count": 3},
        extra_headers={"X-Trace": "t1"},
        extra_query={"q": "1"},
    )
    (up,) = uploads
    assert up.form["note"] == ["hi"]
    assert up.form["count"] == ["3"]
    assert up.headers["X-Trace"] == "t1"
    assert httpserver.log[0][0].args["q"] == "1"


def test_bad_content_is_refused_before_sending(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    path = tmp_path / "a.txt"
    path.write_text("text")
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        client.files.create(content=str(path))  # type: ignore[arg-type]
    with open(path) as text_file, pytest.raises(TypeError, match="'rb'"):
        client.files.create(content=text_file)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content must be"):
        client.files.create(content=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple"):
        client.files.create(content=("a",))
    with pytest.raises(TypeError, match="metadata"):
        client.files.create(content=b"x", metadata={"when": object()})
    with pytest.raises(IsADirectoryError):
        client.files.create(content=tmp_path)
    with pytest.raises(FileNotFoundError):
        client.files.create(content=tmp_path / "missing.bin")
    with pytest.raises(TypeError, match="unexpected keyword"):
        client.files.create(content=b"x", bogus=1)  # type: ignore[call-arg]
    no_requests(httpserver)


def test_non_seekable_stream_is_sent_chunked(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    uploads = serve_upload(httpserver)
    data = os.urandom(200_000)
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as w:
            w.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_fd, "rb") as r:
        client.files.create(content=r, filename="piped.bin")
    writer.join()
    (up,) = uploads
    assert up.chunked
    assert up.content_length is None
    assert up.sha256 == hashlib.sha256(data).hexdigest()
    assert up.ends_with_closing_boundary


def test_non_seekable_stream_is_not_resent(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    uploads = serve_upload(httpserver, status=429, headers={"Retry-After": "0"})
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"once only")
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as r, pytest.raises(replicate.RateLimitError):
        client.files.create(content=r)
    assert len(uploads) == 1


# --- streaming a large file from disk -----------------------------------------------------------

CHILD = """
import pathlib, sys, tracemalloc
import replicate

base_url, token, path, mode = sys.argv[1:5]
with replicate.Replicate(bearer_token=token, base_url=base_url) as client:
    client.files.create(content=b"warm-up", filename="w.txt")  # load what an upload uses
    tracemalloc.start()
    if mode == "path":
        f = client.files.create(content=pathlib.Path(path), metadata={"big": True})
    else:
        with open(path, "rb") as fh:
            f = client.files.create(content=fh, metadata={"big": True})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(peak, f.size, f.checksums.sha256)
"""


@pytest.mark.parametrize("mode", ["path", "file"])
def test_large_file_is_streamed_not_loaded(
    httpserver: HTTPServer, tmp_path: Path, mode: str
) -> None:
    # The client runs in a child process: the server, in this process, holds the whole body,
    # so only a separate process measures the client's memory alone.
    size = 20 * 1024 * 1024
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(size // (1 << 20)):
            block = os.urandom(1 << 20)
            digest.update(block)
            out.write(block)
    uploads = serve_upload(httpserver)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    env["REPLICATE_PLUGINS"] = ""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, httpserver.url_for("/v1"), TOKEN, str(path), mode],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    peak, reported_size, reported_sha = proc.stdout.split()
    assert len(uploads) == 2
    big = uploads[1]
    assert big.size == size
    assert big.sha256 == digest.hexdigest()
    assert int(big.content_length or -1) == big.raw_length
    assert (int(reported_size), reported_sha) == (size, digest.hexdigest())
    # Reading the file whole would peak above 20 MB; streaming holds about two 1 MiB chunks (the
    # one being sent, the next one read).
    assert int(peak) < 4 * 1024 * 1024, f"peak {int(peak) / 1e6:.1f} MB while uploading"


# --- retries --------------------------------------------------------------------------------


def test_create_is_not_retried_on_503(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    uploads = serve_upload(httpserver, status=503)
    with pytest.raises(replicate.InternalServerError) as info:
        client.files.create(content=b"data")
    assert info.value.status_code == 503
    assert len(uploads) == 1
    assert len(httpserver.log) == 1


def test_413_is_a_clear_error(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"detail": "Files must be less than 100MB in size"}, status=413
    )
    with pytest.raises(replicate.APIStatusError) as info:
        client.files.create(content=b"pretend this is big")
    assert info.value.status_code == 413
    assert "100MB" in str(info.value)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("kind", ["path", "file"])
def test_429_is_retried_with_the_whole_body(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "retry.bin"
    data = os.urandom(1_500_000)
    path.write_bytes(data)
    uploads: list[Upload] = []
    httpserver.expect_ordered_request("/v1/files", method="POST").respond_with_handler(
        upload_handler(uploads, status=429, headers={"Retry-After": "0"})
    )
    httpserver.expect_ordered_request("/v1/files", method="POST").respond_with_handler(
        upload_handler(uploads)
    )
    if kind == "path":
        f = client.files.create(content=path)
    else:
        with open(path, "rb") as fh:
            f = client.files.create(content=fh)
    assert len(uploads) == 2
    expected = hashlib.sha256(data).hexdigest()
    for up in uploads:
        assert up.size == len(data)
        assert up.sha256 == expected
        assert int(up.content_length or -1) == up.raw_length
    assert f.checksums is not None and f.checksums.sha256 == expected


# --- get, list, delete --------------------------------------------------------------------------

FILE = {
    "id": "cneqzikepnug6xezperrr4z55o",
    "name": "photo.png",
    "content_type": "image/png",
    "size": 1234,
    "etag": "abc",
    "checksums": {"sha256": "d" * 64, "md5": "e" * 32},
    "metadata": {"a": 1},
    "created_at": "2024-02-21T10:15:45.123Z",
    "expires_at": "2024-02-22T10:15:45Z",
    "urls": {"get": "https://api.replicate.com/v1/files/cneqzikepnug6xezperrr4z55o"},
}


def test_get(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request(
        "/v1/files/cneqzikepnug6xezperrr4z55o", method="GET"
    ).respond_with_json(FILE)
    f = client.files.get("cneqzikepnug6xezperrr4z55o")
    assert f.id == FILE["id"] and f.size == 1234 and f.metadata == {"a": 1}
    assert f.created_at is not None and f.created_at.tzinfo is not None
    assert client.files.get(file_id="cneqzikepnug6xezperrr4z55o").id == FILE["id"]
    with pytest.raises(ValueError, match="file_id"):
        client.files.get("")
    assert len(httpserver.log) == 2


def test_get_quotes_the_id(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/files/a/b c", method="GET").respond_with_json(
        {**FILE, "id": "a/b c"}
    )
    assert client.files.get("a/b c").id == "a/b c"
    assert httpserver.log[0][0].environ["REQUEST_URI"] == "/v1/files/a%2Fb%20c"


def test_list_follows_pages(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    second = httpserver.url_for("/v1/files") + "?cursor=abc%3D"
    httpserver.expect_request("/v1/files", query_string="cursor=abc%3D").respond_with_json(
        {"next": None, "previous": None, "results": [{**FILE, "id": "f3"}]}
    )
    httpserver.expect_request("/v1/files", query_string="").respond_with_json(
        {"next": second, "previous": None, "results": [{**FILE, "id": "f1"}, {**FILE, "id": "f2"}]}
    )
    page = client.files.list()
    assert isinstance(page, SyncPage)
    assert [f.id for f in page.results] == ["f1", "f2"]
    assert [f.id for f in page] == ["f1", "f2", "f3"]


def test_delete(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/files/f1", method="DELETE").respond_with_data("", status=204)
    assert client.files.delete("f1") is None  # type: ignore[func-returns-value]
    assert httpserver.log[0][0].method == "DELETE"
    httpserver.expect_request("/v1/files/gone", method="DELETE").respond_with_json(
        {"detail": "File not found"}, status=404
    )
    with pytest.raises(replicate.NotFoundError):
        client.files.delete(file_id="gone")


def test_raw_response(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/files/f1").respond_with_json(
        FILE, headers={"ratelimit-remaining": "9"}
    )
    raw = client.files.with_raw_response.get("f1")
    assert isinstance(raw, APIResponse)
    assert raw.headers["ratelimit-remaining"] == "9"
    assert raw.parse().id == FILE["id"]


# --- download -----------------------------------------------------------------------------------

DOWNLOAD_QUERY = {"expiry": "1708515345", "owner": "mattt", "signature": "zuo/gh+q=="}


def serve_download(httpserver: HTTPServer, body: bytes) -> None:
    def handler(request: WRequest) -> WResponse:
        def chunks() -> Any:
            for i in range(0, len(body), 100_000):
                yield body[i : i + 100_000]

        return WResponse(
            chunks(),
            headers={"Content-Length": str(len(body))},
            content_type="application/octet-stream",
        )

    httpserver.expect_request(
        "/v1/files/f1/download", method="GET", query_string=DOWNLOAD_QUERY
    ).respond_with_handler(handler)


def download(client: replicate.Replicate) -> BinaryAPIResponse:
    return client.files.download("f1", expiry=1708515345, owner="mattt", signature="zuo/gh+q==")


def test_download_read(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    body = os.urandom(300_000)
    serve_download(httpserver, body)
    with download(client) as resp:
        assert isinstance(resp, BinaryAPIResponse)
        assert isinstance(resp, APIResponse)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/octet-stream"
        assert resp.read() == body
        assert resp.parse() == body
    req = httpserver.log[0][0]
    assert req.headers["Accept"] == "application/octet-stream"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert dict(req.args) == DOWNLOAD_QUERY


def test_download_iter_bytes_streams(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    body = os.urandom(1_000_000)
    serve_download(httpserver, body)
    resp = download(client)
    # Nothing has been read yet: the body is still on the connection.
    assert not resp.http_response.is_stream_consumed
    chunks = list(resp.iter_bytes(65536))
    assert len(chunks) >= 1_000_000 // 65536
    assert all(len(c) <= 65536 for c in chunks)
    assert b"".join(chunks) == body
    resp.close()


def test_download_write_to_file(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    body = os.urandom(500_000)
    serve_download(httpserver, body)
    target = tmp_path / "out.bin"
    target.write_bytes(b"old contents")
    download(client).write_to_file(target)
    assert target.read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temp file left

    target2 = tmp_path / "out2.bin"
    download(client).stream_to_file(str(target2), chunk_size=4096)
    assert target2.read_bytes() == body


@pytest.mark.parametrize("existing", [False, True])
def test_download_short_body_leaves_no_partial_file(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path, existing: bool
) -> None:
    def short(request: WRequest) -> WResponse:
        # Promise 1 MB, send 100 KB, close the connection.
        return WResponse(
            iter([b"p" * 100_000]),
            headers={"Content-Length": str(1_000_000), "Connection": "close"},
            content_type="application/octet-stream",
        )

    httpserver.expect_request("/v1/files/f1/download").respond_with_handler(short)
    target = tmp_path / "out.bin"
    if existing:
        target.write_bytes(b"previous")
    with pytest.raises(replicate.APIConnectionError):
        download(client).write_to_file(target)
    if existing:
        assert target.read_bytes() == b"previous"
    else:
        assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["out.bin"] if existing else [])


def test_download_error_status(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    httpserver.expect_request("/v1/files/f1/download").respond_with_json(
        {"detail": "File not found"}, status=404
    )
    with pytest.raises(replicate.NotFoundError, match="File not found"):
        download(client)


def test_download_requires_its_parameters(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    with pytest.raises(TypeError):
        client.files.download("f1", owner="o", signature="s")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="file_id"):
        client.files.download("", expiry=1, owner="o", signature="s")
    no_requests(httpserver)
