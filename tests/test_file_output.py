"""FileOutput and the built-in output decoder: which outputs are files, and how they download."""

from __future__ import annotations

import base64
import errno
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import ShortServer, last_request

import replicate
from replicate import FileOutput, get_path_url, hookimpl
from replicate.testing import MockTransport

API = "https://api.example.test/v1"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def delivery(httpserver_ipv4: HTTPServer) -> HTTPServer:
    """A file host: pytest-httpserver's ``HTTPServer(host="127.0.0.1")``, another origin than
    the API's ``httpserver`` on localhost (cleared before each test)."""
    assert httpserver_ipv4.host == "127.0.0.1"
    return httpserver_ipv4


@pytest.fixture
def offline() -> Iterator[replicate.Replicate]:
    """A client whose transport refuses to send anything: decoding and data: URLs only."""

    def no_network(request: replicate.Request) -> replicate.Response:
        raise AssertionError(f"unexpected request to {request.url}")

    transport = MockTransport(no_network)
    with replicate.Replicate(bearer_token=TOKEN, base_url=API, transport=transport) as c:
        yield c


def shape(value: Any) -> Any:
    """The decoded value with each FileOutput shown as ("file", url), for comparing."""
    if isinstance(value, FileOutput):
        return ("file", value.url)
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return value


# --- decoding without a schema ------------------------------------------------------------------

DELIVERY_URL = "https://replicate.delivery/pbxt/abc/out-0.png"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # v1 and v2 wrap every https string; only known file hosts count here.
        ("https://example.com/x.png", "https://example.com/x.png"),
        ("https://example.com/", "https://example.com/"),
        (DELIVERY_URL, ("file", DELIVERY_URL)),
        (
            "https://pbxt.replicate.delivery/x/y.webp",
            ("file", "https://pbxt.replicate.delivery/x/y.webp"),
        ),
        ("https://replicate.delivery.evil.com/x.png", "https://replicate.delivery.evil.com/x.png"),
        ("https://evilreplicate.delivery/x.png", "https://evilreplicate.delivery/x.png"),
        ("https://api.replicate.com/v1/files/abc", "https://api.replicate.com/v1/files/abc"),
        (f"{API}/files/abc/download", ("file", f"{API}/files/abc/download")),
        (
            "https://api.example.test:8443/v1/files/abc",
            "https://api.example.test:8443/v1/files/abc",
        ),
        ("http://api.example.test/v1/files/abc", "http://api.example.test/v1/files/abc"),
        ("data:text/plain;base64,aGk=", ("file", "data:text/plain;base64,aGk=")),
        ("data:no comma", "data:no comma"),
        ("hello world", "hello world"),
        ("", ""),
        (42, 42),
        (1.5, 1.5),
        (True, True),
        (
            [DELIVERY_URL, "https://example.com/a.png", "text"],
            [("file", DELIVERY_URL), "https://example.com/a.png", "text"],
        ),
        (
            {"images": [DELIVERY_URL], "meta": {"src": DELIVERY_URL, "n": 1}},
            {"images": [("file", DELIVERY_URL)], "meta": {"src": ("file", DELIVERY_URL), "n": 1}},
        ),
    ],
)
def test_decode_without_schema(offline: replicate.Replicate, value: Any, expected: Any) -> None:
    assert shape(offline._decode_output(value)) == expected


def test_decode_none_is_none(offline: replicate.Replicate) -> None:
    assert offline._decode_output(None) is None
    assert offline._decode_output(None, {"type": "string", "format": "uri"}) is None


def test_decoded_files_belong_to_the_client(offline: replicate.Replicate) -> None:
    out = offline._decode_output(DELIVERY_URL)
    assert isinstance(out, FileOutput)
    assert out._client is offline


def test_use_file_output_false_returns_plain_json(offline: replicate.Replicate) -> None:
    value = {"a": [DELIVERY_URL, "data:,x"], "b": ["to", "ken"]}
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "b": {
                "type": "array",
                "items": {"type": "string"},
                "x-cog-array-type": "iterator",
                "x-cog-array-display": "concatenate",
            },
        },
    }
    assert offline._decode_output(value, use_file_output=False) == value
    assert offline._decode_output(value, schema, use_file_output=False) == value


# --- decoding with a schema ---------------------------------------------------------------------

URI = {"type": "string", "format": "uri"}
CONCAT = {
    "type": "array",
    "items": {"type": "string"},
    "x-cog-array-type": "iterator",
    "x-cog-array-display": "concatenate",
}


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        # With a format: uri schema any URL is a file, whatever its host.
        (URI, "https://example.com/x.png", ("file", "https://example.com/x.png")),
        (URI, "data:image/png;base64,AAAA", ("file", "data:image/png;base64,AAAA")),
        (URI, "not a url", "not a url"),
        ({"format": "uri"}, "https://example.com/x", ("file", "https://example.com/x")),
        # A plain string schema keeps even a delivery URL a string.
        ({"type": "string"}, DELIVERY_URL, DELIVERY_URL),
        (
            {"type": "string", "title": "Output"},
            "https://example.com/x.png",
            "https://example.com/x.png",
        ),
        ({"type": "integer"}, 3, 3),
        (
            {"type": "array", "items": URI},
            ["https://a.example/1.png", "https://b.example/2.png"],
            [("file", "https://a.example/1.png"), ("file", "https://b.example/2.png")],
        ),
        (
            {"type": "array", "items": {"type": "array", "items": URI}},
            [["https://a.example/1"], [], ["https://a.example/2", "https://a.example/3"]],
            [
                [("file", "https://a.example/1")],
                [],
                [("file", "https://a.example/2"), ("file", "https://a.example/3")],
            ],
        ),
        (
            {
                "type": "object",
                "properties": {"image": URI, "caption": {"type": "string"}},
            },
            {"image": "https://example.com/i.png", "caption": DELIVERY_URL, "extra": DELIVERY_URL},
            {
                "image": ("file", "https://example.com/i.png"),
                "caption": DELIVERY_URL,
                # Not in the schema: the hostless rule decides that part.
                "extra": ("file", DELIVERY_URL),
            },
        ),
        (
            {"type": "object", "additionalProperties": URI},
            {"a": "https://example.com/a", "b": "https://example.com/b"},
            {"a": ("file", "https://example.com/a"), "b": ("file", "https://example.com/b")},
        ),
        (
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "frames": {"type": "array", "items": URI},
                        "label": {"type": "string"},
                    },
                },
            },
            [{"frames": ["https://example.com/f1.jpg"], "label": "https://example.com/l"}],
            [
                {
                    "frames": [("file", "https://example.com/f1.jpg")],
                    "label": "https://example.com/l",
                }
            ],
        ),
        # Concatenate iterators join into one string; plain iterators stay lists.
        (CONCAT, ["Hel", "lo", " world"], "Hello world"),
        (CONCAT, [], ""),
        (
            {**CONCAT, "display": None, "x-cog-array-display": "list"},
            ["a", "b"],
            ["a", "b"],
        ),
        (
            {"type": "array", "items": URI, "x-cog-array-type": "iterator"},
            ["https://example.com/1.png"],
            [("file", "https://example.com/1.png")],
        ),
        # Combinators: Optional[Path] and a single allOf reference.
        (
            {"anyOf": [URI, {"type": "null"}]},
            "https://example.com/o",
            ("file", "https://example.com/o"),
        ),
        ({"anyOf": [{"type": "integer"}, URI]}, 7, 7),
        (
            {"allOf": [{"type": "array", "items": URI}], "title": "Output"},
            ["https://example.com/x"],
            [("file", "https://example.com/x")],
        ),
        # Odd shapes fall back to the hostless rule for that part.
        ({"$ref": "#/components/schemas/Output"}, "https://example.com/x", "https://example.com/x"),
        ({"$ref": "#/components/schemas/Output"}, DELIVERY_URL, ("file", DELIVERY_URL)),
        ({}, DELIVERY_URL, ("file", DELIVERY_URL)),
        ("not a schema", DELIVERY_URL, ("file", DELIVERY_URL)),
        ({"type": "string", "format": "uri"}, [DELIVERY_URL, "x"], [("file", DELIVERY_URL), "x"]),
        ({"type": "array"}, [DELIVERY_URL], [("file", DELIVERY_URL)]),
        ({"type": "object"}, {"a": DELIVERY_URL}, {"a": ("file", DELIVERY_URL)}),
        ({"anyOf": [{"type": "integer"}]}, DELIVERY_URL, ("file", DELIVERY_URL)),
    ],
)
def test_decode_with_schema(
    offline: replicate.Replicate, schema: Any, value: Any, expected: Any
) -> None:
    assert shape(offline._decode_output(value, schema)) == expected


def test_decode_output_function_directly(offline: replicate.Replicate) -> None:
    from replicate._outputs import decode_output

    assert shape(decode_output(DELIVERY_URL, None, core=offline._core, client=offline)) == (
        "file",
        DELIVERY_URL,
    )
    assert (
        decode_output(DELIVERY_URL, None, core=offline._core, client=offline, use_file_output=False)
        == DELIVERY_URL
    )


# --- plugins ------------------------------------------------------------------------------------


def test_plugin_registers_file_hosts() -> None:
    calls: list[int] = []

    class Hosts:
        @hookimpl
        def replicate_register_file_hosts(self, register: Any) -> None:
            calls.append(1)
            register("files.example.com")
            register("*.CDN.example.org")
            register("localhost:5000")

    with replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Hosts()]) as c:
        out = c._decode_output(
            [
                "https://files.example.com/a.png",
                "https://x.cdn.example.org/b.png",
                "https://cdn.example.org/c.png",
                "http://localhost:5000/d.png",
                "http://localhost:5001/e.png",
                "https://other.example.com/f.png",
                DELIVERY_URL,
            ]
        )
        assert shape(out) == [
            ("file", "https://files.example.com/a.png"),
            ("file", "https://x.cdn.example.org/b.png"),
            "https://cdn.example.org/c.png",
            ("file", "http://localhost:5000/d.png"),
            "http://localhost:5001/e.png",
            "https://other.example.com/f.png",
            ("file", DELIVERY_URL),
        ]
        c._decode_output("https://files.example.com/again.png")
        assert calls == [1]  # collected once per client
        assert "files.example.com" in c._core.file_hosts().patterns
        assert "replicate.delivery" in c._core.file_hosts().patterns
        # Registering a file host does not put it in the auth scope.
        assert not c._core.sender.auth_scope.allows("https://files.example.com/a.png")
    # Another client without the plugin does not know the host.
    with replicate.Replicate(bearer_token=TOKEN, base_url=API) as other:
        assert other._decode_output("https://files.example.com/a.png") == (
            "https://files.example.com/a.png"
        )


@pytest.mark.parametrize("bad", ["https://files.example.com", "files.example.com/path", "", 42])
def test_plugin_registering_a_non_host_is_an_error(bad: Any) -> None:
    class Bad:
        @hookimpl
        def replicate_register_file_hosts(self, register: Any) -> None:
            register(bad)

    c = replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Bad()])
    with c, pytest.raises(replicate.PluginError):
        c._decode_output(DELIVERY_URL)


def test_plugin_whose_file_host_hook_raises_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken:
        @hookimpl
        def replicate_register_file_hosts(self, register: Any) -> None:
            register("files.example.com")
            raise RuntimeError("boom")

    with replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Broken()]) as c:
        with pytest.warns(RuntimeWarning, match="boom"):
            out = c._decode_output(["https://files.example.com/a", DELIVERY_URL])
        assert shape(out) == ["https://files.example.com/a", ("file", DELIVERY_URL)]
    monkeypatch.setenv("REPLICATE_STRICT_PLUGINS", "1")
    strict = replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Broken()])
    with strict, pytest.raises(replicate.PluginError, match="boom"):
        strict._decode_output(DELIVERY_URL)


def test_plugin_decoder_wins_over_builtin() -> None:
    seen: list[Any] = []

    class Upper:
        @hookimpl
        def replicate_decode_output(self, value: Any, schema: Any, context: Any) -> Any:
            seen.append((value, schema, context.use_file_output, context.client))
            return value.upper() if isinstance(value, str) else None

    with replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Upper()]) as c:
        assert c._decode_output("hello", {"type": "string"}) == "HELLO"
        assert seen == [("hello", {"type": "string"}, True, c)]
        # Returning None passes to the built-in decoder.
        assert shape(c._decode_output([DELIVERY_URL])) == [("file", DELIVERY_URL)]


def test_plugin_decoder_taking_only_value() -> None:
    class Tag:
        @hookimpl
        def replicate_decode_output(self, value: Any) -> Any:
            return {"decoded": value}

    with replicate.Replicate(bearer_token=TOKEN, base_url=API, plugins=[Tag()]) as c:
        assert c._decode_output(1) == {"decoded": 1}


# --- downloads and the token --------------------------------------------------------------------


def test_download_from_another_host_carries_no_token(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    delivery.expect_request("/pbxt/abc/out-0.png").respond_with_data(PNG, content_type="image/png")
    out = FileOutput(delivery.url_for("/pbxt/abc/out-0.png"), client=client)
    assert out.read() == PNG
    seen = last_request(delivery)
    assert "Authorization" not in seen.headers
    assert seen.headers["Accept"] == "*/*"
    assert seen.query_string == b""
    assert b"".join(out) == PNG
    assert all("Authorization" not in req.headers for req, _ in delivery.log)


def test_download_from_files_api_carries_token(
    client: replicate.Replicate, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/files/abc/download").respond_with_data(b"file body")
    url = f"{client.base_url}/files/abc/download?expiry=1&owner=me&signature=s1g"
    out = client._decode_output(url)  # the API's own origin is a known file host
    assert isinstance(out, FileOutput)
    assert out.read() == b"file body"
    seen = last_request(httpserver)
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.args["signature"] == "s1g"


def test_files_api_redirect_to_storage_drops_token(
    client: replicate.Replicate, httpserver: HTTPServer, delivery: HTTPServer
) -> None:
    httpserver.expect_request("/v1/files/abc/download").respond_with_data(
        "", status=307, headers={"Location": delivery.url_for("/bucket/abc")}
    )
    delivery.expect_request("/bucket/abc").respond_with_data(b"stored")
    assert FileOutput(f"{client.base_url}/files/abc/download", client=client).read() == b"stored"
    assert last_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in last_request(delivery).headers


def test_download_errors_are_typed(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/gone.png").respond_with_data("no such file", status=404)
    out = FileOutput(delivery.url_for("/gone.png"), client=client)
    with pytest.raises(replicate.NotFoundError):
        out.read()
    with pytest.raises(replicate.NotFoundError):
        list(out)


def test_download_retries_server_errors(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_ordered_request("/flaky.bin").respond_with_data("busy", status=503)
    delivery.expect_ordered_request("/flaky.bin").respond_with_data(b"ok")
    assert FileOutput(delivery.url_for("/flaky.bin"), client=client).read() == b"ok"


def test_iteration_streams_several_chunks(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    body = os.urandom(1024 * 1024 + 7)
    delivery.expect_request("/big.bin").respond_with_data(body)
    chunks = list(FileOutput(delivery.url_for("/big.bin"), client=client))
    assert len(chunks) > 1
    assert all(len(c) < len(body) for c in chunks)
    assert b"".join(chunks) == body


def test_abandoned_iteration_releases_the_connection(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    body = os.urandom(512 * 1024)
    delivery.expect_request("/big.bin").respond_with_data(body)
    delivery.expect_request("/small").respond_with_data(b"next")
    it = iter(FileOutput(delivery.url_for("/big.bin"), client=client))
    assert next(it)
    it.close()
    assert FileOutput(delivery.url_for("/small"), client=client).read() == b"next"


# --- save ---------------------------------------------------------------------------------------


def test_save_to_a_file_and_to_a_directory(
    client: replicate.Replicate, delivery: HTTPServer, tmp_path: Path
) -> None:
    delivery.expect_request("/pbxt/abc/out 0.png").respond_with_data(PNG)
    out = FileOutput(delivery.url_for("/pbxt/abc/out%200.png"), client=client)
    assert out.filename == "out 0.png"

    target = tmp_path / "mine.png"
    assert out.save(target) == target
    assert target.read_bytes() == PNG

    written = out.save(tmp_path)
    assert written == tmp_path / "out 0.png"
    assert written.read_bytes() == PNG

    assert out.save(str(tmp_path)) == tmp_path / "out 0.png"
    # An existing file is replaced whole.
    target.write_bytes(b"old contents that are longer than nothing" * 100)
    out.save(target)
    assert target.read_bytes() == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png", "out 0.png"]


def test_save_into_a_missing_folder_names_the_path_given(
    client: replicate.Replicate, delivery: HTTPServer, tmp_path: Path
) -> None:
    delivery.expect_request("/pbxt/abc/out.png").respond_with_data(PNG)
    out = FileOutput(delivery.url_for("/pbxt/abc/out.png"), client=client)
    given = str(tmp_path / "missing" / "out.png")
    with pytest.raises(FileNotFoundError) as info:
        out.save(given)
    assert info.value.filename == given
    assert repr(given) in str(info.value) and "does not exist" in str(info.value)
    assert ".part" not in str(info.value)  # never the internal temporary name
    assert not (tmp_path / "missing").exists()
    assert delivery.log == []  # nothing downloaded for nowhere to put it


def test_save_under_a_file_names_the_part_that_is_not_a_folder(
    client: replicate.Replicate, delivery: HTTPServer, tmp_path: Path
) -> None:
    out = FileOutput(delivery.url_for("/pbxt/abc/out.png"), client=client)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    given = str(a_file / "sub" / "out.png")
    with pytest.raises(NotADirectoryError) as info:
        out.save(given)
    assert info.value.errno == errno.ENOTDIR and info.value.filename == given
    message = str(info.value)
    assert repr(given) in message and f"{str(a_file)!r} is not a folder" in message, message
    assert "does not exist" not in message and ".part" not in message
    assert delivery.log == []


def test_save_where_no_file_may_be_created_says_why(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    # sysfs refuses to create a file for everyone, root included (the tests may run as root, for
    # whom a read-only mode on a folder changes nothing).
    folder = "/sys/kernel"
    if not os.path.isdir(folder):
        pytest.skip(f"{folder} is not there: no sysfs, so no folder even root may not write to")
    out = FileOutput(delivery.url_for("/pbxt/abc/out.png"), client=client)
    given = os.path.join(folder, "out.png")
    with pytest.raises(OSError) as info:
        out.save(given)
    message = str(info.value)
    assert info.value.filename == given and repr(given) in message, message
    assert ".part" not in message, message
    if info.value.errno == errno.EROFS:  # /sys mounted read-only, as in some containers
        assert "Read-only file system" in message, message
    else:
        assert type(info.value) is PermissionError and info.value.errno == errno.EACCES
        assert f"no permission to create a file in the folder {folder!r}" in message, message
    assert delivery.log == []


def test_save_keeps_the_type_errno_and_reason_of_any_error_creating_the_file(
    client: replicate.Replicate,
    delivery: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open = os.open

    def no_space(path: str, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".part"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_space)
    out = FileOutput(delivery.url_for("/pbxt/abc/out.png"), client=client)
    given = tmp_path / "out.png"
    with pytest.raises(OSError) as info:
        out.save(given)
    assert type(info.value) is OSError and info.value.errno == errno.ENOSPC
    assert info.value.filename == str(given)
    message = str(info.value)
    assert f"cannot create a file in the folder {str(tmp_path)!r}" in message, message
    assert os.strerror(errno.ENOSPC) in message and ".part" not in message, message
    assert list(tmp_path.iterdir()) == [] and delivery.log == []


def test_filename_of_odd_urls() -> None:
    assert FileOutput("https://replicate.delivery/").filename == "output"
    assert FileOutput("https://replicate.delivery/a/..").filename == "output"
    assert FileOutput("https://replicate.delivery/a/%2E%2E").filename == "output"
    assert FileOutput("https://replicate.delivery/a/b%2Fc.txt?x=1").filename == "b_c.txt"
    assert FileOutput("https://replicate.delivery/a/b%5Cc.txt").filename == "b_c.txt"
    assert FileOutput("data:image/png;base64,AAAA").filename == "output.png"


@pytest.fixture
def short_server() -> Iterator[ShortServer]:
    server = ShortServer(declared=100_000, sent=b"x" * 1000)
    yield server
    server.close()


def test_save_short_read_leaves_no_file(
    client: replicate.Replicate, short_server: ShortServer, tmp_path: Path
) -> None:
    out = FileOutput(short_server.url("/pbxt/cut.bin"), client=client)
    target = tmp_path / "cut.bin"
    with pytest.raises(replicate.APIConnectionError):
        out.save(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    # An existing file at the target is left as it was.
    target.write_bytes(b"previous")
    with pytest.raises(replicate.APIConnectionError):
        out.save(tmp_path)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["cut.bin"]
    with pytest.raises(replicate.APIConnectionError):
        out.read()
    assert all(b"authorization" not in r.lower() for r in short_server.requests)


def test_length_is_checked_by_the_core_whatever_the_transport(tmp_path: Path) -> None:
    """A transport that does not enforce Content-Length still can't produce a truncated file."""

    class Stream:
        def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
            yield b"abc"
            yield b"def"

        def close(self) -> None:
            pass

    class Lax:
        def send(self, request: Any, *, timeout: Any, stream: bool = False) -> Any:
            headers = replicate.Headers({"Content-Length": "10"})
            return replicate.Response(200, headers=headers, stream=Stream(), request=request)

        def close(self) -> None:
            pass

    with replicate.Replicate(bearer_token=TOKEN, transport=Lax()) as c:
        out = FileOutput("https://replicate.delivery/pbxt/x.bin", client=c)
        with pytest.raises(replicate.APIConnectionError, match="6 of 10 bytes"):
            out.save(tmp_path / "x.bin")
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(replicate.APIConnectionError):
            out.read()
        with pytest.raises(replicate.APIConnectionError):
            list(out)


# --- data: URLs ---------------------------------------------------------------------------------


def test_data_urls_decode_locally(offline: replicate.Replicate, tmp_path: Path) -> None:
    b64 = FileOutput("data:image/png;base64," + base64.b64encode(PNG).decode(), client=offline)
    assert b64.read() == PNG
    assert b"".join(b64) == PNG
    assert b64.content_type == "image/png"
    assert b64.save(tmp_path) == tmp_path / "output.png"
    assert (tmp_path / "output.png").read_bytes() == PNG

    pct = FileOutput("data:text/plain;charset=utf-8,caf%C3%A9%20au%20lait", client=offline)
    assert pct.read() == "café au lait".encode()
    assert pct.content_type == "text/plain;charset=utf-8"
    assert pct.save(tmp_path / "note.txt").read_text(encoding="utf-8") == "café au lait"

    assert FileOutput("data:,A%20brief%20note", client=offline).read() == b"A brief note"
    assert FileOutput("data:,x").content_type == "text/plain;charset=US-ASCII"
    # Unpadded and line-wrapped base64, percent-encoded base64 characters.
    assert FileOutput("data:;base64,aGVsbG8").read() == b"hello"
    assert FileOutput("data:;base64,aGVs%0AbG8%3D").read() == b"hello"
    with pytest.raises(ValueError, match="no comma"):
        FileOutput("data:image/png;base64").read()


def test_data_urls_need_no_client_at_all() -> None:
    out = FileOutput("data:application/octet-stream;base64,AAEC")
    assert out.read() == b"\x00\x01\x02"
    assert out._client is None


def test_unsupported_scheme(offline: replicate.Replicate) -> None:
    with pytest.raises(ValueError, match="not an http"):
        FileOutput("ftp://example.com/x", client=offline).read()


# --- value behaviour ----------------------------------------------------------------------------


def test_str_repr_eq_hash() -> None:
    a = FileOutput(DELIVERY_URL)
    assert str(a) == DELIVERY_URL
    assert f"{a}" == DELIVERY_URL
    assert repr(a) == f"FileOutput('{DELIVERY_URL}')"
    assert a == FileOutput(DELIVERY_URL)
    assert a != FileOutput(DELIVERY_URL + "?x")
    assert a != DELIVERY_URL
    assert len({a, FileOutput(DELIVERY_URL)}) == 1
    assert a.url == a.__url__ == DELIVERY_URL
    long_data = "data:text/plain;base64," + "A" * 10_000
    assert len(repr(FileOutput(long_data))) < 150
    with pytest.raises(TypeError):
        FileOutput(b"https://x")  # type: ignore[arg-type]


def test_get_path_url() -> None:
    assert get_path_url(FileOutput(DELIVERY_URL)) == DELIVERY_URL
    assert get_path_url(DELIVERY_URL) is None
    assert get_path_url(None) is None
    assert get_path_url(Path("/tmp/x")) is None
    assert replicate.get_path_url is get_path_url


def test_pickle_carries_url_only(
    client: replicate.Replicate, delivery: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery.expect_request("/out.png").respond_with_data(PNG)
    out = client._decode_output(delivery.url_for("/out.png"), URI)
    assert isinstance(out, FileOutput)
    data = pickle.dumps(out)
    assert TOKEN.encode() not in data
    back = pickle.loads(data)
    assert back == out
    assert back._client is None
    # After unpickling it downloads through the default client (configured from the env).
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    assert back.read() == PNG
    assert back._client is replicate.default_client()
    assert "Authorization" not in last_request(delivery).headers


def test_copy_keeps_the_client(offline: replicate.Replicate) -> None:
    import copy

    out = FileOutput(DELIVERY_URL, client=offline)
    assert copy.copy(out)._client is offline
    assert copy.deepcopy([out])[0]._client is offline


# --- content type and notebook previews ---------------------------------------------------------


def test_content_type_via_head(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/a", method="HEAD").respond_with_data(b"", content_type="image/webp")
    out = FileOutput(delivery.url_for("/a"), client=client)
    assert out.content_type == "image/webp"
    assert out.content_type == "image/webp"
    assert [r.method for r, _ in delivery.log] == ["HEAD"]


def test_content_type_falls_back_to_get(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/signed", method="HEAD").respond_with_data(b"", status=403)
    delivery.expect_request("/signed", method="GET").respond_with_data(
        b"x" * 1000, content_type="audio/wav"
    )
    out = FileOutput(delivery.url_for("/signed"), client=client)
    assert out.content_type == "audio/wav"
    assert [r.method for r, _ in delivery.log] == ["HEAD", "GET"]


def test_content_type_from_a_download(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/t").respond_with_data(b"hi", content_type="text/plain")
    out = FileOutput(delivery.url_for("/t"), client=client)
    out.read()
    assert out.content_type == "text/plain"
    assert len(delivery.log) == 1


def test_jupyter_preview_of_an_image(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/image").respond_with_data(PNG, content_type="image/png")
    out = FileOutput(delivery.url_for("/image"), client=client)
    assert out._repr_mimebundle_() == {"image/png": PNG}
    assert out._repr_png_() == PNG
    assert out._repr_jpeg_() is None
    assert out._repr_mimebundle_(include=["text/plain"]) is None
    assert len(delivery.log) == 1  # downloaded once for every preview


def test_jupyter_no_preview_for_text(client: replicate.Replicate, delivery: HTTPServer) -> None:
    delivery.expect_request("/text").respond_with_data(b"plain words", content_type="text/plain")
    out = FileOutput(delivery.url_for("/text"), client=client)
    assert not out._repr_mimebundle_()
    assert out._repr_png_() is None
    assert out._repr_jpeg_() is None


def test_jupyter_preview_uses_the_extension(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    # A known non-image extension: no download at all.
    assert FileOutput(delivery.url_for("/notes.txt"), client=client)._repr_mimebundle_() is None
    assert FileOutput(delivery.url_for("/clip.mp4"), client=client)._repr_png_() is None
    assert delivery.log == []
    # A generic content type with an image extension: the extension decides.
    delivery.expect_request("/photo.jpg").respond_with_data(
        b"\xff\xd8jpeg", content_type="application/octet-stream"
    )
    out = FileOutput(delivery.url_for("/photo.jpg"), client=client)
    assert out._repr_jpeg_() == b"\xff\xd8jpeg"
    assert out._repr_mimebundle_() == {"image/jpeg": b"\xff\xd8jpeg"}


def test_jupyter_preview_of_data_urls(offline: replicate.Replicate) -> None:
    png = FileOutput("data:image/png;base64," + base64.b64encode(PNG).decode(), client=offline)
    assert png._repr_mimebundle_() == {"image/png": PNG}
    svg = FileOutput("data:image/svg+xml,%3Csvg%2F%3E", client=offline)
    assert svg._repr_mimebundle_() == {"image/svg+xml": "<svg/>"}
    assert FileOutput("data:text/plain,hi", client=offline)._repr_mimebundle_() is None


def test_jupyter_preview_survives_a_failed_download(
    client: replicate.Replicate, delivery: HTTPServer
) -> None:
    delivery.expect_request("/broken.png").respond_with_data("nope", status=404)
    out = FileOutput(delivery.url_for("/broken.png"), client=client)
    assert out._repr_mimebundle_() is None
    assert repr(out).startswith("FileOutput(")


# --- the package --------------------------------------------------------------------------------


def test_import_stays_lazy() -> None:
    code = (
        "import sys, replicate\n"
        "assert 'replicate._files' not in sys.modules\n"
        "assert 'replicate._outputs' not in sys.modules\n"
        "assert replicate.FileOutput.__name__ == 'FileOutput'\n"
        "assert 'FileOutput' in replicate.__all__ and 'get_path_url' in replicate.__all__\n"
        "assert 'replicate._outputs' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
