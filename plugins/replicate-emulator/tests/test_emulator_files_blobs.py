"""Stored files (``emu.blobs``): uploads and their expiry, signed download URLs, output files
as data URLs or emulator URLs, and reading file inputs back from URLs."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from replicate_emulator.blobs import Blob, Blobs, iso_ms
from replicate_emulator.predictors import File
from replicate_emulator.state import MemoryState, open_state

ORIGIN = "https://api.replicate.com"


class Clock:
    def __init__(self, now: float = 1_724_329_611.079) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_upload_has_the_apis_file_object() -> None:
    blobs = Blobs(MemoryState(), clock=Clock())
    record = blobs.put(b"", name="test.txt", content_type="text/plain", metadata={"a": 1})
    doc = blobs.file_json(ORIGIN, record)
    assert list(doc) == [
        "id",
        "name",
        "content_type",
        "size",
        "etag",
        "checksums",
        "metadata",
        "created_at",
        "expires_at",
        "urls",
    ]
    assert len(doc["id"]) == 48 and doc["id"].isalnum()
    assert base64.b64decode(doc["id"]).count(b"-") == 4  # a UUID, as the API's ids are
    assert doc["size"] == 0
    assert doc["etag"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert doc["checksums"] == {
        "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "md5": "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert doc["metadata"] == {"a": 1}
    assert doc["created_at"] == "2024-08-22T12:26:51.079Z"
    assert doc["expires_at"] == "2024-08-23T12:26:51.079Z"
    assert doc["urls"] == {"get": f"{ORIGIN}/v1/files/{doc['id']}"}


def test_uploads_list_newest_first_and_expire() -> None:
    clock = Clock()
    blobs = Blobs(MemoryState(), clock=clock, file_ttl=60)
    first = blobs.put(b"1", name="a", content_type=None)
    clock.now += 30
    second = blobs.put(b"22", name="b.png", content_type=None)
    assert [r.id for r in blobs.list()] == [second.id, first.id]
    assert second.content_type == "image/png" and first.content_type == "application/octet-stream"
    assert blobs.read(first.id) == b"1"
    clock.now += 31  # the first is past its 60 s
    assert blobs.get(first.id) is None and blobs.read(first.id) is None
    assert [r.id for r in blobs.list()] == [second.id]
    assert blobs.delete(second.id) and not blobs.delete(second.id)
    assert blobs.list() == []


def test_signed_download_urls_verify_until_they_expire() -> None:
    clock = Clock()
    blobs = Blobs(MemoryState(), clock=clock)
    record = blobs.put(b"data", name="a.bin", content_type=None)
    url = blobs.download_url(ORIGIN, record.id, expires_in=10)
    parts = urlsplit(url)
    assert parts.path == f"/v1/files/{record.id}/download"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(query) == {"owner", "expiry", "signature"}
    assert blobs.verify_download(record.id, query["owner"], query["expiry"], query["signature"])
    assert not blobs.verify_download("other", query["owner"], query["expiry"], query["signature"])
    assert not blobs.verify_download(record.id, "mallory", query["expiry"], query["signature"])
    later = str(int(query["expiry"]) + 100)
    assert not blobs.verify_download(record.id, query["owner"], later, query["signature"])
    assert not blobs.verify_download(record.id, query["owner"], "soon", query["signature"])
    clock.now += 11
    assert not blobs.verify_download(record.id, query["owner"], query["expiry"], query["signature"])


def test_files_and_the_signing_secret_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = open_state(path)
    blobs = Blobs(state)
    record = blobs.put(b"kept", name="k.txt", content_type="text/plain")
    url = blobs.download_url(ORIGIN, record.id)
    state.close()
    again = Blobs(open_state(path))
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert again.verify_download(record.id, query["owner"], query["expiry"], query["signature"])
    assert again.read(record.id) == b"kept"
    assert again.read_url(f"http://127.0.0.1:8787/v1/files/{record.id}") == b"kept"
    again.state.close()


def test_small_outputs_are_data_urls_and_large_ones_are_served() -> None:
    blobs = Blobs(MemoryState(), inline_limit=10)
    small = blobs.output_url(ORIGIN, "p1", "a.txt", b"hello", None)
    assert small == "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    assert blobs.read_url(small) == b"hello"
    large = blobs.output_url(ORIGIN, "p1", "out.png", b"x" * 11, "image/png")
    assert large == f"{ORIGIN}/emulator/outputs/p1/out.png"
    again = blobs.output_url(ORIGIN, "p1", "out.png", b"y" * 11, "image/png")
    assert again == f"{ORIGIN}/emulator/outputs/p1/out-1.png"  # names never collide
    blob = blobs.read_url(large)
    assert isinstance(blob, Blob) and blob == b"x" * 11
    assert (blob.name, blob.content_type) == ("out.png", "image/png")
    assert blobs.read_url(again) == b"y" * 11
    forced = blobs.output_url(ORIGIN, "p2", "big.bin", b"z" * 100, None, inline=True)
    assert forced.startswith("data:application/octet-stream;base64,")
    assert blobs.output_url(ORIGIN, "p2", "s", b"z", None, inline=False).startswith("https://")
    assert blobs.delete_outputs("p1") == 2
    with pytest.raises(ValueError, match="not found"):
        blobs.read_url(large)


def test_encode_output_stores_a_models_files() -> None:
    blobs = Blobs(MemoryState(), inline_limit=0)
    value = [File(b"\x89PNG....", "out.png", "image/png"), "text", 3]
    urls = blobs.encode_output("http://127.0.0.1:9", "pid", value)
    assert urls == ["http://127.0.0.1:9/emulator/outputs/pid/out.png", "text", 3]
    assert blobs.read_url(urls[0]) == b"\x89PNG...."


def test_read_url_reads_the_emulators_own_urls_only() -> None:
    blobs = Blobs(MemoryState())
    record = blobs.put(b"abc", name="x.txt", content_type="text/plain")
    for origin in (ORIGIN, "http://127.0.0.1:8787", "http://localhost:1234"):
        blob = blobs.read_url(f"{origin}/v1/files/{record.id}")
        assert blob == b"abc" and blob.name == "x.txt" and blob.content_type == "text/plain"
    signed = blobs.download_url("http://emu.test:80", record.id)
    assert blobs.read_url(signed) == b"abc"  # an origin the emulator built URLs on
    assert blobs.read_url("data:,a%20b") == b"a b"
    plain = blobs.read_url("data:text/csv;base64,YSxi")
    assert plain == b"a,b" and plain.content_type == "text/csv"
    with pytest.raises(ValueError, match="offline"):
        blobs.read_url("https://example.com/cat.png")
    with pytest.raises(ValueError, match="not found"):
        blobs.read_url(f"{ORIGIN}/v1/files/nope")
    with pytest.raises(ValueError, match="not a file URL"):
        blobs.read_url(f"{ORIGIN}/v1/predictions/abc")
    with pytest.raises(ValueError, match="data: or http"):
        blobs.read_url("ftp://host/x")
    with pytest.raises(ValueError, match="comma"):
        blobs.check_url("data:text/plain;base64")
    blobs.check_url(f"{ORIGIN}/v1/files/{record.id}")


def test_iso_ms_matches_the_files_api() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1_724_329_611.0799) == "2024-08-22T12:26:51.079Z"


def test_checksums_are_of_the_content() -> None:
    blobs = Blobs(MemoryState())
    data = bytes(range(256)) * 10
    record = blobs.put(data, name="r", content_type=None)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.md5 == hashlib.md5(data).hexdigest()
    assert record.size == 2560
