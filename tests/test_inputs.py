"""Prediction inputs: files uploaded (concurrently) or inlined, numpy and friends made JSON,
plugins consulted first, and every create encoding its input before anything is sent."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from pytest_httpserver import HTTPServer
from support import VERSION_ID, FilesAPI, file_url

import replicate
from replicate._drivers import drive_sync
from replicate._inputs import BASE64_LIMIT, InputContext, Upload, encode_input_flow

PREDICTION = {"id": "p1", "status": "starting", "input": {}}


def serve(server: HTTPServer, files: FilesAPI | None = None, path: str = "/v1/predictions") -> None:
    if files is not None:
        server.expect_request("/v1/files", method="POST").respond_with_handler(files)
    body = dict(PREDICTION, id="t1") if "trainings" in path else PREDICTION
    server.expect_request(path, method="POST").respond_with_json(body, status=201)


def sent_input(server: HTTPServer, path: str = "/v1/predictions") -> Any:
    bodies = [json.loads(r.get_data()) for r, _ in server.log if r.path == path]
    assert len(bodies) == 1, f"expected one create, saw {len(bodies)}"
    return bodies[0]["input"]


def paths_seen(server: HTTPServer) -> list[str]:
    return [r.path for r, _ in server.log]


# --- uploads -----------------------------------------------------------------------------------


def test_files_anywhere_in_the_input_are_uploaded_and_replaced(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG path bytes")
    doc = tmp_path / "notes.txt"
    doc.write_bytes(b"opened file bytes")
    with doc.open("rb") as opened:
        client.predictions.create(
            version=VERSION_ID,
            input={
                "prompt": "keep me",
                "steps": 3,
                "image": image,
                "docs": [opened, io.BytesIO(b"bytesio bytes"), "https://example.com/x.png"],
                "cfg": {
                    "raw": b"raw bytes",
                    "arr": bytearray(b"bytearray bytes"),
                    "pair": (memoryview(b"memoryview bytes"), None),
                    "deep": [{"x": [b"deep bytes"]}],
                },
            },
        )
        assert not opened.closed  # the caller's file stays the caller's

    assert files.data() == sorted(
        [
            b"\x89PNG path bytes",
            b"opened file bytes",
            b"bytesio bytes",
            b"raw bytes",
            b"bytearray bytes",
            b"memoryview bytes",
            b"deep bytes",
        ]
    )
    assert sent_input(httpserver) == {
        "prompt": "keep me",
        "steps": 3,
        "image": file_url(b"\x89PNG path bytes"),
        "docs": [
            file_url(b"opened file bytes"),
            file_url(b"bytesio bytes"),
            "https://example.com/x.png",
        ],
        "cfg": {
            "raw": file_url(b"raw bytes"),
            "arr": file_url(b"bytearray bytes"),
            "pair": [file_url(b"memoryview bytes"), None],
            "deep": [{"x": [file_url(b"deep bytes")]}],
        },
    }
    # Names and types: from the file's name, else the files API's defaults.
    by_data = {u["data"]: u for u in files.uploads}
    assert by_data[b"\x89PNG path bytes"]["filename"] == "photo.png"
    assert by_data[b"\x89PNG path bytes"]["content_type"] == "image/png"
    assert by_data[b"opened file bytes"]["filename"] == "notes.txt"
    assert by_data[b"opened file bytes"]["content_type"] == "text/plain"
    assert by_data[b"raw bytes"]["content_type"] == "application/octet-stream"
    # Sent with a Content-Length (streamed, not chunked).
    assert by_data[b"\x89PNG path bytes"]["content_length"] is not None
    # Uploads go to the API with the token, like any call.
    assert all(
        r.headers["Authorization"] == f"Bearer {TOKEN}"
        for r, _ in httpserver.log
        if r.path == "/v1/files"
    )
    # Every upload is done before the create is sent.
    assert paths_seen(httpserver)[-1] == "/v1/predictions"


def test_open_file_is_read_from_its_current_position(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    path = tmp_path / "data.bin"
    path.write_bytes(b"HEADERpayload")
    with path.open("rb") as f:
        f.seek(6)
        client.predictions.create(version=VERSION_ID, input={"f": f})
    assert files.data() == [b"payload"]
    assert sent_input(httpserver) == {"f": file_url(b"payload")}


def test_the_same_file_twice_is_uploaded_once(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    path = tmp_path / "a.jpg"
    path.write_bytes(b"jpeg")
    data = b"same object"
    client.predictions.create(
        version=VERSION_ID,
        input={"a": path, "b": [Path(str(path)), data], "c": data},
    )
    assert files.data() == [b"jpeg", b"same object"]
    assert sent_input(httpserver) == {
        "a": file_url(b"jpeg"),
        "b": [file_url(b"jpeg"), file_url(b"same object")],
        "c": file_url(b"same object"),
    }


def test_uploads_send_no_metadata_part(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    # Input uploads go through the files.create body builder: no metadata, no metadata part.
    files = FilesAPI()
    serve(httpserver, files)
    client.predictions.create(version=VERSION_ID, input={"a": b"x"})
    (upload,) = files.uploads
    assert "metadata" not in upload["form"]
    assert upload["form"]["filename"] == upload["filename"]


def test_a_large_file_is_streamed_from_disk(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * 8192  # 2 MiB
    big.write_bytes(payload)
    client.predictions.create(version=VERSION_ID, input={"weights": big})
    assert files.uploads[0]["data"] == payload
    assert sent_input(httpserver) == {"weights": file_url(payload)}


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_uploads_run_concurrently(
    threaded_server: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> None:
    files = FilesAPI(together=4)  # each upload is answered only once all four are in flight
    serve(threaded_server, files)
    with replicate.Replicate(
        bearer_token=TOKEN,
        base_url=threaded_server.url_for("/v1"),
        retry_policy=fast_retries,
        timeout=60,
    ) as client:
        client.predictions.create(
            version=VERSION_ID,
            input={"a": b"one", "b": [b"two", b"three"], "c": {"d": io.BytesIO(b"four")}},
        )
    assert files.data() == sorted([b"one", b"two", b"three", b"four"])
    assert files.max_active == 4, "the uploads were not all in flight at once"
    assert sent_input(threaded_server)["c"] == {"d": file_url(b"four")}


def test_a_failed_upload_fails_the_create_before_it_is_sent(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"title": "Bad upload", "detail": "nope", "status": 400}, status=400
    )
    with pytest.raises(replicate.BadRequestError):
        client.predictions.create(version=VERSION_ID, input={"a": b"x"})
    assert "/v1/predictions" not in paths_seen(httpserver)


def test_files_api_answer_without_a_url_is_an_error(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"id": "f1", "urls": {}}, status=201
    )
    with pytest.raises(replicate.ReplicateError, match="no URL for uploaded file 'f1'"):
        client.predictions.create(version=VERSION_ID, input={"a": b"x"})
    assert "/v1/predictions" not in paths_seen(httpserver)


def test_plain_input_sends_nothing_but_the_create(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve(httpserver)
    inp = {"prompt": "hi", "n": 2, "x": 0.5, "ok": True, "none": None, "list": [1, {"a": "b"}]}
    client.predictions.create(version=VERSION_ID, input=inp)
    assert paths_seen(httpserver) == ["/v1/predictions"]
    assert sent_input(httpserver) == inp


# --- base64 ------------------------------------------------------------------------------------


def test_base64_inlines_data_urls_without_uploading(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    serve(httpserver)
    image = tmp_path / "pic.png"
    image.write_bytes(b"png!")
    with (tmp_path / "song.mp3").open("wb") as w:
        w.write(b"ID3 mp3")
    with (tmp_path / "song.mp3").open("rb") as song:
        client.predictions.create(
            version=VERSION_ID,
            input={"image": image, "audio": [song], "raw": b"\x00\x01", "bio": io.BytesIO(b"bio")},
            file_encoding_strategy="base64",
        )
    assert paths_seen(httpserver) == ["/v1/predictions"]

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    assert sent_input(httpserver) == {
        "image": f"data:image/png;base64,{b64(b'png!')}",
        "audio": [f"data:audio/mpeg;base64,{b64(b'ID3 mp3')}"],
        "raw": "data:application/octet-stream;base64,AAE=",  # b"\x00\x01"
        "bio": f"data:application/octet-stream;base64,{b64(b'bio')}",
    }


def test_base64_takes_exactly_the_limit(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve(httpserver)
    data = b"a" * BASE64_LIMIT
    client.predictions.create(
        version=VERSION_ID, input={"f": data}, file_encoding_strategy="base64"
    )
    assert sent_input(httpserver)["f"].endswith(base64.b64encode(data).decode())


@pytest.mark.parametrize("kind", ["bytes", "path", "file"])
def test_base64_over_the_limit_is_an_error_before_any_request(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path, kind: str
) -> None:
    serve(httpserver, FilesAPI())
    data = b"z" * (BASE64_LIMIT + 1)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    value: Any = {"bytes": data, "path": path, "file": io.BytesIO(data)}[kind]
    with pytest.raises(ValueError) as info:
        client.predictions.create(
            version=VERSION_ID,
            input={"ok": b"small", "cfg": {"big": value}},
            file_encoding_strategy="base64",
        )
    message = str(info.value)
    assert "input 'cfg.big'" in message
    assert "256 KiB" in message and "262144 bytes" in message
    assert "262145 bytes" in message
    assert httpserver.log == []
    if kind == "file":
        assert value.tell() == 0  # put back where it was


def test_unknown_strategy_is_an_error_before_any_request(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    serve(httpserver)
    with pytest.raises(ValueError, match=r"file_encoding_strategy must be 'url' .* not 'upload'"):
        client.predictions.create(
            version=VERSION_ID, input={"a": "b"}, file_encoding_strategy="upload"
        )
    assert httpserver.log == []


def test_url_strategy_is_the_default(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    client.predictions.create(version=VERSION_ID, input={"a": b"x"}, file_encoding_strategy="url")
    assert files.data() == [b"x"]


# --- other values ------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class Name(str):
    pass


class FileOutput:
    """Stands in for a previous run's output file."""

    __url__ = "https://replicate.delivery/abc/out.png"


def test_values_with_a_json_form(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    serve(httpserver)
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    client.predictions.create(
        version=VERSION_ID,
        input={
            "when": when,
            "day": dt.date(2024, 5, 1),
            "id": ident,
            "color": Color.RED,
            "name": Name("bob"),
            "previous": FileOutput(),
            "tuple": (1, (2, 3)),
        },
    )
    assert sent_input(httpserver) == {
        "when": "2024-05-01T12:30:00+00:00",
        "day": "2024-05-01",
        "id": str(ident),
        "color": "red",
        "name": "bob",
        "previous": "https://replicate.delivery/abc/out.png",
        "tuple": [1, [2, 3]],
    }


def test_numpy_values(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    import numpy as np  # in the test extra

    serve(httpserver)
    client.predictions.create(
        version=VERSION_ID,
        input={
            "i": np.int64(7),
            "f": np.float32(0.5),
            "f64": np.float64(1.25),
            "b": np.bool_(True),
            "arr": np.array([[1, 2], [3, 4]]),
            "nested": [{"v": np.arange(3, dtype=np.uint8)}],
        },
    )
    assert sent_input(httpserver) == {
        "i": 7,
        "f": 0.5,
        "f64": 1.25,
        "b": True,
        "arr": [[1, 2], [3, 4]],
        "nested": [{"v": [0, 1, 2]}],
    }


def test_numpy_is_never_imported_by_the_encoder() -> None:
    import subprocess
    import sys

    code = (
        "import sys, replicate\n"
        "from replicate._inputs import encode_builtin, InputContext\n"
        "encode_builtin(object(), InputContext(None, 'url', 'x'))\n"
        "assert 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("value", "where", "what"),
    [
        ({"cfg": {"tags": {1, 2}}}, "cfg.tags", "builtins.set"),
        ({"items": [1, object()]}, "items[1]", "builtins.object"),
        ({"n": complex(1, 2)}, "n", "builtins.complex"),
        ({"odd key": {"a b": [frozenset()]}}, "odd key['a b'][0]", "builtins.frozenset"),
    ],
)
def test_unencodable_values_are_a_type_error_naming_the_input(
    httpserver: HTTPServer, client: replicate.Replicate, value: Any, where: str, what: str
) -> None:
    serve(httpserver, FilesAPI())
    with pytest.raises(TypeError) as info:
        # The uploads the input needs are not started either.
        client.predictions.create(version=VERSION_ID, input={"f": b"data", **value})
    assert str(info.value).startswith(f"input {where!r}: {what} is not JSON-serialisable")
    assert httpserver.log == []


def test_custom_object_names_its_type(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    class Thing:
        pass

    serve(httpserver)
    with pytest.raises(TypeError, match=r"input 'thing': .*Thing is not JSON-serialisable"):
        client.predictions.create(version=VERSION_ID, input={"thing": Thing()})
    assert httpserver.log == []


def test_bad_files_are_refused_before_any_request(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path
) -> None:
    serve(httpserver, FilesAPI())
    text = tmp_path / "t.txt"
    text.write_text("hi")
    with text.open("r") as f, pytest.raises(TypeError, match=r"input 'doc': .*binary mode"):
        client.predictions.create(version=VERSION_ID, input={"ok": b"1", "doc": f})
    closed = text.open("rb")
    closed.close()
    with pytest.raises(ValueError, match=r"input 'doc': the file is closed"):
        client.predictions.create(version=VERSION_ID, input={"ok": b"1", "doc": closed})
    with pytest.raises(FileNotFoundError, match=r"input 'imgs\[0\]': no such file"):
        client.predictions.create(version=VERSION_ID, input={"ok": b"1", "imgs": [tmp_path / "no"]})
    with pytest.raises(IsADirectoryError, match=r"input 'img': .* is a directory"):
        client.predictions.create(version=VERSION_ID, input={"ok": b"1", "img": tmp_path})
    with pytest.raises(TypeError, match=r"input 'cfg': object keys must be strings"):
        client.predictions.create(version=VERSION_ID, input={"cfg": {1: "x"}})
    with pytest.raises(TypeError, match=r"input must be a mapping"):
        client.predictions.create(version=VERSION_ID, input=[("a", 1)])  # type: ignore[arg-type,unused-ignore]
    assert httpserver.log == []


# --- plugins -----------------------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class Blob:
    def __init__(self, data: bytes) -> None:
        self.data = data


class EncoderPlugin:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @replicate.hookimpl
    def replicate_encode_input(self, value: Any, context: InputContext) -> Any:
        self.seen.append((type(value).__name__, context.path, context.file_encoding_strategy))
        if isinstance(value, Celsius):
            return f"{value.degrees}C"
        if isinstance(value, Blob):  # content to upload, with a name of its choosing
            return Upload(value.data, filename="blob.wav", content_type="audio/wav")
        if isinstance(value, bytes) and value == b"secret":
            return "redacted"  # wins over the built-in upload
        return None


def test_a_client_plugin_encodes_first(httpserver: HTTPServer, tmp_path: Path) -> None:
    plugin = EncoderPlugin()
    files = FilesAPI()
    serve(httpserver, files)
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[plugin]
    ) as client:
        client.predictions.create(
            version=VERSION_ID,
            input={
                "temps": [Celsius(20.5), {"t": Celsius(-3)}],
                "secret": b"secret",
                "blob": Blob(b"RIFF"),
                "other": b"upload me",
                "plain": "never asked",
            },
        )
    assert sent_input(httpserver) == {
        "temps": ["20.5C", {"t": "-3C"}],
        "secret": "redacted",
        "blob": file_url(b"RIFF"),
        "other": file_url(b"upload me"),
        "plain": "never asked",
    }
    assert files.data() == [b"RIFF", b"upload me"]
    assert {u["filename"]: u["content_type"] for u in files.uploads}["blob.wav"] == "audio/wav"
    assert plugin.seen == [
        ("Celsius", "temps[0]", "url"),
        ("Celsius", "temps[1].t", "url"),
        ("bytes", "secret", "url"),
        ("Blob", "blob", "url"),
        ("bytes", "other", "url"),
    ]


def test_a_plugin_answer_is_encoded_in_turn(httpserver: HTTPServer) -> None:
    class Wrapper:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

    class Unwrap:
        @replicate.hookimpl
        def replicate_encode_input(self, value: Any) -> Any:
            return {"wrapped": value.inner} if isinstance(value, Wrapper) else None

    serve(httpserver, FilesAPI())
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[Unwrap()]
    ) as client:
        client.predictions.create(version=VERSION_ID, input={"w": Wrapper(Wrapper(b"bytes"))})
    assert sent_input(httpserver) == {"w": {"wrapped": {"wrapped": file_url(b"bytes")}}}


def test_a_plugin_that_never_settles_is_an_error(httpserver: HTTPServer) -> None:
    class Loop:
        pass

    class Forever:
        @replicate.hookimpl
        def replicate_encode_input(self, value: Any) -> Any:
            return Loop() if isinstance(value, Loop) else None

    serve(httpserver)
    with (
        replicate.Replicate(
            bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[Forever()]
        ) as client,
        pytest.raises(TypeError, match=r"input 'x': encoding Loop did not settle"),
    ):
        client.predictions.create(version=VERSION_ID, input={"x": Loop()})
    assert httpserver.log == []


def test_a_plugin_error_stops_the_create(httpserver: HTTPServer) -> None:
    class Strict:
        @replicate.hookimpl
        def replicate_encode_input(self, value: Any, context: InputContext) -> Any:
            raise RuntimeError(f"no files allowed at {context.path}")

    serve(httpserver)
    with (
        replicate.Replicate(
            bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), plugins=[Strict()]
        ) as client,
        pytest.raises(RuntimeError, match="no files allowed at a"),
    ):
        client.predictions.create(version=VERSION_ID, input={"a": b"x"})
    assert httpserver.log == []


# --- every create encodes ----------------------------------------------------------------------

CREATES: dict[str, tuple[str, Callable[..., Any]]] = {
    "predictions": (
        "/v1/predictions",
        lambda c, **kw: c.predictions.create(version=VERSION_ID, **kw),
    ),
    "models.predictions": (
        "/v1/models/acme/hello/predictions",
        lambda c, **kw: c.models.predictions.create("acme", "hello", **kw),
    ),
    "deployments.predictions": (
        "/v1/deployments/acme/prod/predictions",
        lambda c, **kw: c.deployments.predictions.create("acme", "prod", **kw),
    ),
    "trainings": (
        f"/v1/models/acme/hello/versions/{VERSION_ID}/trainings",
        lambda c, **kw: c.trainings.create(
            "acme", "hello", VERSION_ID, destination="acme/trained", **kw
        ),
    ),
}


@pytest.mark.parametrize("create", sorted(CREATES))
def test_every_create_uploads_files(
    httpserver: HTTPServer, client: replicate.Replicate, tmp_path: Path, create: str
) -> None:
    path, call = CREATES[create]
    files = FilesAPI()
    serve(httpserver, files, path)
    data = tmp_path / "train.zip"
    data.write_bytes(b"PK zip")
    call(client, input={"data": data, "extra": [b"more"]})
    assert files.data() == [b"PK zip", b"more"]
    assert sent_input(httpserver, path) == {
        "data": file_url(b"PK zip"),
        "extra": [file_url(b"more")],
    }


@pytest.mark.parametrize("create", sorted(CREATES))
def test_every_create_takes_base64(
    httpserver: HTTPServer, client: replicate.Replicate, create: str
) -> None:
    path, call = CREATES[create]
    serve(httpserver, FilesAPI(), path)
    call(client, input={"f": b"hi"}, file_encoding_strategy="base64")
    assert paths_seen(httpserver) == [path]
    assert sent_input(httpserver, path) == {"f": "data:application/octet-stream;base64,aGk="}


@pytest.mark.parametrize("create", sorted(CREATES))
def test_every_create_refuses_unencodable_input_before_sending(
    httpserver: HTTPServer, client: replicate.Replicate, create: str
) -> None:
    path, call = CREATES[create]
    serve(httpserver, FilesAPI(), path)
    with pytest.raises(TypeError, match=r"input 'tags': builtins.set is not JSON-serialisable"):
        call(client, input={"f": b"x", "tags": {"a"}})
    assert httpserver.log == []


def test_raw_response_create_encodes_too(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    files = FilesAPI()
    serve(httpserver, files)
    raw = client.with_raw_response.predictions.create(version=VERSION_ID, input={"a": b"x"})
    assert raw.parse().id == "p1"
    assert sent_input(httpserver) == {"a": file_url(b"x")}


def test_extra_body_still_applies(httpserver: HTTPServer, client: replicate.Replicate) -> None:
    serve(httpserver, FilesAPI())
    client.predictions.create(version=VERSION_ID, input={"a": b"x"}, extra_body={"tag": "t"})
    body = json.loads(next(r for r, _ in httpserver.log if r.path == "/v1/predictions").get_data())
    assert body["tag"] == "t" and body["input"] == {"a": file_url(b"x")}


# --- the flow on its own -----------------------------------------------------------------------


def test_encode_input_flow_can_be_driven_directly(
    httpserver: HTTPServer, client: replicate.Replicate
) -> None:
    files = FilesAPI()
    httpserver.expect_request("/v1/files", method="POST").respond_with_handler(files)
    original = {"a": [b"one", b"two"], "b": "text"}
    flow = encode_input_flow(client._core, original)
    assert drive_sync(flow, client.transport) == {
        "a": [file_url(b"one"), file_url(b"two")],
        "b": "text",
    }
    assert original == {"a": [b"one", b"two"], "b": "text"}  # not modified


def test_encode_input_flow_yields_one_gather_for_all_uploads(client: replicate.Replicate) -> None:
    from replicate._drivers import Gather

    flow = encode_input_flow(client._core, {"a": b"1", "b": [b"2", {"c": b"3"}]})
    action = next(flow)
    assert type(action) is Gather and len(action.flows) == 3
    for f in action.flows:
        f.close()
    flow.close()


def test_encode_input_flow_with_nothing_to_upload_yields_nothing(
    client: replicate.Replicate,
) -> None:
    flow = encode_input_flow(client._core, {"a": 1}, file_encoding_strategy="base64")
    with pytest.raises(StopIteration) as stop:
        next(flow)
    assert stop.value.value == {"a": 1}
