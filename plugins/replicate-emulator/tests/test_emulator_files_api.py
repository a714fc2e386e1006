"""The Files API over the emulator's request handler: multipart uploads (as our SDK and the
v1 client send them), the 100 MB limit, listing, get, delete, signed downloads, output files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.routes_files import MultipartError, parse_multipart
from replicate_emulator.wire import EmuRequest, EmuResponse

from replicate._multipart import build_multipart

AUTH = ("Authorization", "Bearer r8_test")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator()
    try:
        yield emulator
    finally:
        emulator.close()


def call(
    emu: Emulator,
    method: str,
    target: str,
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = (AUTH,),
) -> EmuResponse:
    req = EmuRequest.from_target(method, target, headers, body, "https://api.replicate.com")
    return emu.handle(req)


def body_of(resp: EmuResponse) -> bytes:
    return resp.body if isinstance(resp.body, bytes) else b"".join(resp.body)


def json_of(resp: EmuResponse) -> Any:
    return json.loads(body_of(resp))


def upload(emu: Emulator, content: Any, **kw: Any) -> EmuResponse:
    body = build_multipart(content, **kw)
    return call(
        emu,
        "POST",
        "/v1/files",
        b"".join(body),
        (AUTH, ("Content-Type", body.content_type)),
    )


def test_parse_multipart_reads_what_our_sdk_sends() -> None:
    body = build_multipart(
        ("notes.txt", b"line 1\r\n--not a boundary\r\n"),
        content_type="text/plain",
        metadata={"k": [1, 2]},
        boundary="XyZ",
    )
    parts = {p.name: p for p in parse_multipart(b"".join(body), "XyZ")}
    assert set(parts) == {"filename", "type", "metadata", "content"}
    assert parts["filename"].data == b"notes.txt"
    assert parts["type"].data == b"text/plain"
    assert json.loads(parts["metadata"].data) == {"k": [1, 2]}
    assert parts["content"].data == b"line 1\r\n--not a boundary\r\n"
    assert parts["content"].filename == "notes.txt"


def test_parse_multipart_reads_the_v1_clients_body() -> None:
    raw = (
        b'--f64a\r\nContent-Disposition: form-data; name="content"; '
        b'filename="test_fileo20o3wth.txt"\r\nContent-Type: text/plain\r\n\r\n\r\n--f64a--\r\n'
    )
    (part,) = parse_multipart(raw, "f64a")
    assert (part.name, part.filename, part.content_type, part.data) == (
        "content",
        "test_fileo20o3wth.txt",
        "text/plain",
        b"",
    )
    quoted = (
        b'--b\r\nContent-Disposition: form-data; name="content"; filename="a%22b.txt"; '
        b"filename*=utf-8''caf%C3%A9.txt\r\n\r\nx\r\n--b--"
    )
    assert parse_multipart(quoted, "b")[0].filename == "café.txt"
    with pytest.raises(MultipartError):
        parse_multipart(b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nno end", "b")
    with pytest.raises(MultipartError):
        parse_multipart(b"nothing here", "b")


def test_upload_get_list_delete(emu: Emulator) -> None:
    resp = upload(
        emu,
        b"hello",
        filename="hello.txt",
        content_type="text/plain",
        metadata={"customer_reference_id": 123},
    )
    assert resp.status == 201
    doc = json_of(resp)
    assert doc["name"] == "hello.txt" and doc["content_type"] == "text/plain"
    assert doc["size"] == 5 and doc["metadata"] == {"customer_reference_id": 123}
    assert doc["urls"]["get"] == f"https://api.replicate.com/v1/files/{doc['id']}"

    got = call(emu, "GET", f"/v1/files/{doc['id']}")
    assert got.status == 200 and json_of(got) == doc

    second = json_of(upload(emu, b"second", filename="b.bin"))
    page = json_of(call(emu, "GET", "/v1/files"))
    assert [f["id"] for f in page["results"]] == [second["id"], doc["id"]]
    assert page["next"] is None

    deleted = call(emu, "DELETE", f"/v1/files/{doc['id']}")
    assert deleted.status == 204 and body_of(deleted) == b""
    missing = call(emu, "GET", f"/v1/files/{doc['id']}")
    assert missing.status == 404 and json_of(missing)["detail"] == "File not found"
    assert call(emu, "DELETE", f"/v1/files/{doc['id']}").status == 404


def test_without_fields_the_file_parts_own_name_and_type_count(emu: Emulator) -> None:
    raw = (
        b'--f64a\r\nContent-Disposition: form-data; name="content"; '
        b'filename="t.txt"\r\nContent-Type: text/plain\r\n\r\n\r\n--f64a--\r\n'
    )
    resp = call(
        emu,
        "POST",
        "/v1/files",
        raw,
        (AUTH, ("Content-Type", "multipart/form-data; boundary=f64a")),
    )
    doc = json_of(resp)
    assert resp.status == 201
    assert (doc["name"], doc["content_type"], doc["size"]) == ("t.txt", "text/plain", 0)
    assert doc["etag"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_bad_uploads_are_problems(emu: Emulator) -> None:
    not_multipart = call(
        emu, "POST", "/v1/files", b"{}", (AUTH, ("Content-Type", "application/json"))
    )
    assert not_multipart.status == 400
    assert not_multipart.header("Content-Type") == "application/problem+json"
    no_content = call(
        emu,
        "POST",
        "/v1/files",
        b'--b\r\nContent-Disposition: form-data; name="filename"\r\n\r\nx\r\n--b--\r\n',
        (AUTH, ("Content-Type", "multipart/form-data; boundary=b")),
    )
    assert no_content.status == 422 and "content" in json_of(no_content)["detail"]
    long_name = upload(emu, b"x", filename="n" * 256)
    assert long_name.status == 422 and "255" in json_of(long_name)["detail"]
    bad_metadata = call(
        emu,
        "POST",
        "/v1/files",
        b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{nope\r\n'
        b'--b\r\nContent-Disposition: form-data; name="content"; filename="a"\r\n\r\n'
        b"x\r\n--b--\r\n",
        (AUTH, ("Content-Type", "multipart/form-data; boundary=b")),
    )
    assert bad_metadata.status == 422 and "metadata" in json_of(bad_metadata)["detail"]
    unauthenticated = call(emu, "GET", "/v1/files", headers=())
    assert unauthenticated.status == 401


def test_files_over_the_limit_are_413(emu: Emulator) -> None:
    emu.blobs.max_upload = 2 * 1024 * 1024  # the check, not 100 MB of test data
    at_limit = upload(emu, b"x" * emu.blobs.max_upload, filename="big.bin")
    assert at_limit.status == 413
    assert json_of(at_limit)["detail"] == "Files must be less than 2MB in size"
    huge = upload(emu, b"x" * (emu.blobs.max_upload + 100 * 1024), filename="huge.bin")
    assert huge.status == 413
    assert upload(emu, b"x" * (emu.blobs.max_upload - 1), filename="ok.bin").status == 201
    assert json_of(call(emu, "GET", "/v1/files"))["results"][0]["name"] == "ok.bin"


def test_default_limit_is_100_mb(emu: Emulator) -> None:
    assert emu.blobs.max_upload == 100 * 1024 * 1024


def test_signed_downloads_need_no_token_but_a_good_signature(emu: Emulator) -> None:
    doc = json_of(
        upload(emu, b"\x00\x01binary", filename="d.bin", content_type="application/octet-stream")
    )
    url = emu.blobs.download_url("https://api.replicate.com", doc["id"], expires_in=60)
    target = url.removeprefix("https://api.replicate.com")
    resp = call(emu, "GET", target, headers=())
    assert resp.status == 200 and body_of(resp) == b"\x00\x01binary"
    assert resp.header("Content-Type") == "application/octet-stream"
    tampered = target.replace("owner=emulator", "owner=mallory")
    assert call(emu, "GET", tampered, headers=()).status == 404
    query = urlencode({"owner": "emulator", "expiry": "1", "signature": "x"})
    assert call(emu, "GET", f"/v1/files/{doc['id']}/download?{query}", headers=()).status == 404


def test_output_files_are_served_without_a_token(emu: Emulator) -> None:
    emu.blobs.inline_limit = 0
    url = emu.blobs.output_url(
        "https://api.replicate.com", "pred1", "out.png", b"PNGDATA", "image/png"
    )
    resp = call(emu, "GET", url.removeprefix("https://api.replicate.com"), headers=())
    assert resp.status == 200 and body_of(resp) == b"PNGDATA"
    assert resp.header("Content-Type") == "image/png"
    assert call(emu, "GET", "/emulator/outputs/pred1/none.png", headers=()).status == 404
