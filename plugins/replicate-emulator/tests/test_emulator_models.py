"""Models as typed functions: the Cog-style schema derived from them, input validation with
the API's 422 messages, running them under a context (logs, print, cancel, file inputs), the
output encoding, and the PNG the image model makes."""

from __future__ import annotations

import base64
import enum
import io
import json
import re
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Optional

import pytest
from replicate_emulator import builtin_models, png
from replicate_emulator.predictors import (
    Canceled,
    File,
    Input,
    Predictor,
    current_context,
    encode_output,
    log,
    sleep,
)
from replicate_emulator.wire import HTTPError

from replicate._schema import dereference, input_schema, output_schema, validate_input
from replicate.exceptions import InputValidationError


class Context:
    """A RunContext as the runner provides one: logs kept in memory, cancel by flag, inputs
    read from a dict of URL -> bytes."""

    def __init__(self, files: dict[str, bytes] | None = None, speed: float = 1.0) -> None:
        self.logs = ""
        self.canceled = False
        self.files = files or {}
        self.speed = speed
        self.opened: list[str] = []
        self.lock = threading.Lock()

    def log(self, text: str) -> None:
        with self.lock:
            self.logs += text
        self.check()

    def check(self) -> None:
        if self.canceled:
            raise Canceled()

    def open_input(self, url: str) -> bytes:
        self.opened.append(url)
        return self.files[url]


def schemas(p: Predictor) -> dict[str, Any]:
    return p.openapi_schema["components"]["schemas"]  # type: ignore[no-any-return]


def detail_of(excinfo: pytest.ExceptionInfo[HTTPError]) -> str:
    assert excinfo.value.status == 422
    return excinfo.value.detail


# --- schema derivation ------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def sdxl_like(
    prompt: str,
    negative_prompt: str = Input(default="", description="Things to avoid"),
    image: Path = Input(default=None, description="Input image"),  # noqa: B008
    num_outputs: int = Input(default=1, ge=1, le=4, description="Number of images"),
    guidance_scale: float = Input(default=7.5, ge=1, le=50),
    scheduler: str = Input(default="K_EULER", choices=["DDIM", "K_EULER"]),
    mode: Literal["fast", "slow"] = "fast",
    color: Color = Color.RED,
    tags: list[str] = Input(default=["a"], description="Tags"),  # noqa: B008
    masks: list[Path] = Input(default=None),  # noqa: B008
    seed: Optional[int] = None,  # noqa: UP045 -- the spelling Cog models use
    apply_watermark: bool = True,
    code: str = Input(default="ab", min_length=2, max_length=4, regex="^[a-z]+$"),
) -> list[Path]:
    """Makes images.

    Args:
        prompt: Input prompt
        seed: Random seed. Leave blank to randomize the seed
    """
    raise AssertionError("not run")


def test_input_properties_are_shaped_like_cogs() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    props = schemas(p)["Input"]["properties"]
    assert schemas(p)["Input"]["type"] == "object"
    assert schemas(p)["Input"]["title"] == "Input"
    assert schemas(p)["Input"]["required"] == ["prompt"]
    assert props["prompt"] == {
        "type": "string",
        "title": "Prompt",
        "x-order": 0,
        "description": "Input prompt",
    }
    assert props["num_outputs"] == {
        "type": "integer",
        "title": "Num Outputs",
        "default": 1,
        "x-order": 3,
        "description": "Number of images",
        "minimum": 1,
        "maximum": 4,
    }
    assert props["guidance_scale"]["type"] == "number"
    assert props["guidance_scale"]["default"] == 7.5
    assert props["image"] == {
        "type": "string",
        "title": "Image",
        "format": "uri",
        "x-order": 2,
        "description": "Input image",
    }
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "title": "Tags",
        "default": ["a"],
        "x-order": 8,
        "description": "Tags",
    }
    assert props["masks"]["items"] == {"type": "string", "format": "uri"}
    assert props["seed"] == {
        "type": "integer",
        "title": "Seed",
        "x-order": 10,
        "description": "Random seed. Leave blank to randomize the seed",
    }
    assert props["apply_watermark"] == {
        "type": "boolean",
        "title": "Apply Watermark",
        "default": True,
        "x-order": 11,
    }
    assert props["code"]["minLength"] == 2
    assert props["code"]["maxLength"] == 4
    assert props["code"]["pattern"] == "^[a-z]+$"
    assert [props[name]["x-order"] for name in props] == list(range(len(props)))


def test_choices_are_enum_components_behind_allof() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    comps = schemas(p)
    assert comps["Input"]["properties"]["scheduler"] == {
        "allOf": [{"$ref": "#/components/schemas/scheduler"}],
        "default": "K_EULER",
        "x-order": 5,
    }
    assert comps["scheduler"] == {
        "enum": ["DDIM", "K_EULER"],
        "type": "string",
        "title": "scheduler",
        "description": "An enumeration.",
    }
    assert comps["mode"]["enum"] == ["fast", "slow"]
    assert comps["color"]["enum"] == ["red", "blue"]
    assert comps["Input"]["properties"]["color"]["default"] == "red"
    # The SDK inlines the reference, as it does for real versions.
    inlined = input_schema(p.openapi_schema)
    assert inlined is not None
    assert inlined["properties"]["scheduler"]["allOf"][0]["enum"] == ["DDIM", "K_EULER"]


def test_whole_document_is_a_cog_openapi_schema() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    doc = p.openapi_schema
    assert doc["openapi"] == "3.0.2"
    assert doc["info"] == {"title": "Cog", "version": "0.1.0"}
    assert "/predictions" in doc["paths"]
    for name in ("Input", "Output", "Status", "PredictionRequest", "PredictionResponse"):
        assert name in doc["components"]["schemas"]
    json.dumps(doc)  # plain JSON
    # every $ref resolves
    resolved = json.dumps(dereference(doc))
    assert "$ref" not in resolved
    assert p.description == "Makes images."
    assert p.cog_version and p.ref == "acme/sdxl" and (p.owner, p.name) == ("acme", "sdxl")
    assert p.file_inputs == ["image", "masks"]


def out(fn: Any) -> dict[str, Any]:
    return schemas(Predictor(fn, "acme/x"))["Output"]  # type: ignore[no-any-return]


def test_output_schemas_follow_the_return_annotation() -> None:
    def text() -> str:
        return ""

    def number() -> int:
        return 0

    def tokens() -> Iterator[str]:
        yield ""

    def paths() -> Iterator[Path]:
        yield Path()

    def a_file() -> File:
        raise AssertionError

    def files() -> list[Path]:
        return []

    def anything():  # type: ignore[no-untyped-def]
        return 1

    assert out(text) == {"type": "string", "title": "Output"}
    assert out(number) == {"type": "integer", "title": "Output"}
    assert out(tokens) == {
        "type": "array",
        "items": {"type": "string"},
        "title": "Output",
        "x-cog-array-type": "iterator",
        "x-cog-array-display": "concatenate",
    }
    assert out(paths) == {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "title": "Output",
        "x-cog-array-type": "iterator",
    }
    assert out(a_file) == {"type": "string", "format": "uri", "title": "Output"}
    assert out(files) == {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "title": "Output",
    }
    assert out(anything) == {"title": "Output"}
    assert Predictor(tokens, "a/b").streams and not Predictor(text, "a/b").streams
    # The SDK reads these as files where the schema says uri.
    found = output_schema(Predictor(files, "a/b").openapi_schema)
    assert found is not None and found["items"]["format"] == "uri"


def test_unsupported_annotations_and_bad_refs_are_errors() -> None:
    def odd(x: complex) -> str:
        return ""

    def star(*args: str) -> str:
        return ""

    with pytest.raises(TypeError, match="unsupported type"):
        Predictor(odd, "a/b")
    with pytest.raises(TypeError, match="args"):
        Predictor(star, "a/b")
    with pytest.raises(ValueError, match="owner/name"):
        Predictor(builtin_models.hello_world, "no-slash")
    with pytest.raises(ValueError, match="64"):
        Predictor(builtin_models.hello_world, "a/b", version_id="abc")


def test_version_ids_are_stable_and_follow_the_interface() -> None:
    def v1(text: str = "a") -> str:
        return text

    def v1_again(text: str = "a") -> str:
        return text + "!"

    def v2(text: str = "b") -> str:
        return text

    a = Predictor(v1, "acme/m")
    assert re.fullmatch(r"[0-9a-f]{64}", a.version_id)
    assert Predictor(v1_again, "acme/m").version_id == a.version_id  # same interface
    assert Predictor(v2, "acme/m").version_id != a.version_id
    assert Predictor(v1, "acme/other").version_id != a.version_id
    assert builtin_models.HELLO_WORLD.version_id == builtin_models.HELLO_WORLD_VERSION
    ids = {p.version_id for p in builtin_models.BUILTINS}
    assert len(ids) == 4


# --- validation ---------------------------------------------------------------------------------


def test_missing_required_input_is_a_422_naming_it() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    with pytest.raises(HTTPError) as excinfo:
        p.validate({})
    assert detail_of(excinfo) == "- input: prompt is required\n"
    assert excinfo.value.extra["invalid_fields"] == [
        {"type": "required", "field": "input", "description": "prompt is required"}
    ]
    body = json.loads(excinfo.value.response().body)  # type: ignore[arg-type]
    assert body["status"] == 422 and body["title"] == "Input validation failed"
    assert body["detail"].startswith("- input: prompt")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"num_outputs": 5}, "- input.num_outputs: Must be less than or equal to 4\n"),
        ({"num_outputs": 0}, "- input.num_outputs: Must be greater than or equal to 1\n"),
        ({"guidance_scale": 0.5}, "- input.guidance_scale: Must be greater than or equal to 1\n"),
        (
            {"num_outputs": "3"},
            "- input.num_outputs: Invalid type. Expected: integer, given: string\n",
        ),
        (
            {"num_outputs": 2.5},
            "- input.num_outputs: Invalid type. Expected: integer, given: number\n",
        ),
        (
            {"num_outputs": True},
            "- input.num_outputs: Invalid type. Expected: integer, given: boolean\n",
        ),
        (
            {"apply_watermark": "yes"},
            "- input.apply_watermark: Invalid type. Expected: boolean, given: string\n",
        ),
        (
            {"guidance_scale": "7"},
            "- input.guidance_scale: Invalid type. Expected: number, given: string\n",
        ),
        (
            {"scheduler": "PNDM"},
            '- input.scheduler: input.scheduler must be one of the following: "DDIM", "K_EULER"\n',
        ),
        (
            {"mode": "medium"},
            '- input.mode: input.mode must be one of the following: "fast", "slow"\n',
        ),
        ({"tags": "a"}, "- input.tags: Invalid type. Expected: array, given: string\n"),
        ({"tags": ["a", 2]}, "- input.tags.1: Invalid type. Expected: string, given: integer\n"),
        ({"code": "a"}, "- input.code: String length must be greater than or equal to 2\n"),
        ({"code": "abcde"}, "- input.code: String length must be less than or equal to 4\n"),
        ({"code": "AB"}, "- input.code: Does not match pattern '^[a-z]+$'\n"),
        ({"image": "not a url"}, "- input.image: Does not match format 'uri'\n"),
    ],
)
def test_bad_values_are_422s_in_the_apis_words(inputs: dict[str, Any], message: str) -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    with pytest.raises(HTTPError) as excinfo:
        p.validate({"prompt": "x", **inputs})
    assert detail_of(excinfo) == message


def test_every_problem_is_listed_at_once() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    with pytest.raises(HTTPError) as excinfo:
        p.validate({"num_outputs": 9, "scheduler": "x"})
    lines = detail_of(excinfo).splitlines()
    assert lines[0] == "- input: prompt is required"
    assert len(lines) == 3
    assert [f["field"] for f in excinfo.value.extra["invalid_fields"]] == [
        "input",
        "input.num_outputs",
        "input.scheduler",
    ]


def test_valid_inputs_get_defaults_and_json_numbers() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")
    got = p.validate({"prompt": "a cat", "num_outputs": 2.0, "guidance_scale": 3, "junk": 1})
    assert got["num_outputs"] == 2 and isinstance(got["num_outputs"], int)
    assert got["guidance_scale"] == 3.0 and isinstance(got["guidance_scale"], float)
    assert got["negative_prompt"] == "" and got["scheduler"] == "K_EULER"
    assert got["color"] == "red" and got["tags"] == ["a"]
    assert "junk" not in got  # unknown inputs are dropped, as Cog does
    assert "seed" not in got and "image" not in got  # no default: left out
    # null means "use the default"
    assert p.validate({"prompt": "x", "num_outputs": None})["num_outputs"] == 1
    # defaults are copies: changing one result leaves the next alone
    got["tags"].append("b")
    assert p.validate({"prompt": "x"})["tags"] == ["a"]
    # what our SDK checks on its side agrees
    validate_input({"prompt": "a cat", "num_outputs": 2}, p.openapi_schema)
    with pytest.raises(InputValidationError):
        validate_input({"prompt": "a cat", "num_outputs": 9}, p.openapi_schema)


def test_input_must_be_an_object() -> None:
    p = Predictor(builtin_models.hello_world, "a/b")
    with pytest.raises(HTTPError) as excinfo:
        p.validate(["x"])
    assert detail_of(excinfo) == "- input: Invalid type. Expected: object, given: array\n"
    assert p.validate(None) == {"text": "world"}


def test_check_url_rejections_name_the_field() -> None:
    p = Predictor(sdxl_like, "acme/sdxl")

    def check(url: str) -> None:
        if "bad" in url:
            raise ValueError(f"{url!r} cannot be fetched")

    p.validate({"prompt": "x", "image": "https://ok/x.png"}, check_url=check)
    with pytest.raises(HTTPError) as excinfo:
        p.validate(
            {"prompt": "x", "image": "https://bad/x.png", "masks": ["data:,1", "https://bad/m"]},
            check_url=check,
        )
    fields = [f["field"] for f in excinfo.value.extra["invalid_fields"]]
    assert fields == ["input.image", "input.masks.1"]
    assert "cannot be fetched" in detail_of(excinfo)


# --- running ------------------------------------------------------------------------------------


def test_run_fills_defaults_and_returns_the_value() -> None:
    ctx = Context()
    p = builtin_models.HELLO_WORLD
    assert p.run({}, ctx) == "hello world"
    assert p.run(p.validate({"text": "Alice"}), ctx) == "hello Alice"


def test_log_and_print_land_in_the_predictions_logs(capsys: pytest.CaptureFixture[str]) -> None:
    def chatty(n: int = 2) -> Iterator[str]:
        print("starting")
        for i in range(n):
            log(f"step {i}")
            sys.stderr.write("progress\n")
            yield str(i)

    p = Predictor(chatty, "acme/chatty")
    ctx = Context()
    it = p.run({"n": 2}, ctx)
    assert ctx.logs == ""  # a generator starts when first iterated
    assert list(it) == ["0", "1"]
    assert ctx.logs == "starting\nstep 0\nprogress\nstep 1\nprogress\n"
    print("outside")
    log("also outside")
    captured = capsys.readouterr()
    assert "outside\nalso outside\n" in captured.out
    assert "starting" not in captured.out and "progress" not in captured.err
    assert current_context.get() is None


def test_concurrent_predictions_keep_their_logs_apart() -> None:
    def talk(name: str, n: int = 50) -> str:
        for i in range(n):
            print(f"{name} {i}")
            time.sleep(0)
        return name

    p = Predictor(talk, "acme/talk")
    contexts = [Context() for _ in range(4)]
    threads = [
        threading.Thread(target=p.run, args=({"name": f"t{i}", "n": 50}, ctx))
        for i, ctx in enumerate(contexts)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, ctx in enumerate(contexts):
        lines = ctx.logs.splitlines()
        assert lines == [f"t{i} {n}" for n in range(50)]


def test_cancel_stops_a_running_predictor_promptly() -> None:
    ctx = Context()
    p = builtin_models.SLOW_PROGRESS
    timer = threading.Timer(0.1, lambda: setattr(ctx, "canceled", True))
    timer.start()
    started = time.monotonic()
    with pytest.raises(Canceled):
        p.run(p.validate({"steps": 1000, "seconds_per_step": 0.05}), ctx)
    assert time.monotonic() - started < 1.0
    assert ctx.logs.startswith("  0%|          | 0/1000 [00:00<?, ?it/s]\n")


def test_speed_shortens_sleeps() -> None:
    ctx = Context(speed=100.0)
    p = builtin_models.SLOW_PROGRESS
    started = time.monotonic()
    assert p.run(p.validate({"steps": 10, "seconds_per_step": 0.2}), ctx) == "finished 10 steps"
    assert time.monotonic() - started < 1.0
    assert len(ctx.logs.splitlines()) == 11
    started = time.monotonic()
    sleep(0.01)  # outside a prediction: a plain sleep
    assert time.monotonic() - started >= 0.009


def test_progress_lines_look_like_tqdm() -> None:
    line = builtin_models.progress_line
    assert line(9, 20, 1.0) == " 45%|████▌     | 9/20 [00:01<00:01,  9.00it/s]"
    assert line(0, 16, 0.0) == "  0%|          | 0/16 [00:00<?, ?it/s]"
    assert line(16, 16, 2.05) == "100%|██████████| 16/16 [00:02<00:00,  7.80it/s]"
    assert line(1, 16, 0.125) == "  6%|▋         | 1/16 [00:00<00:01,  8.00it/s]"


def test_file_inputs_arrive_as_paths_and_files_and_are_cleaned_up() -> None:
    seen: dict[str, Any] = {}

    def describe(
        image: Path,
        extra: File,
        more: list[Path] = Input(default=None),  # noqa: B008
    ) -> str:
        seen["image"] = image
        seen["extra"] = extra
        seen["more"] = more
        return f"{image.name}:{image.read_bytes()[:4]!r}:{extra.name}:{len(more or [])}"

    p = Predictor(describe, "acme/describe")
    files = {
        "https://api.replicate.com/v1/files/abc": b"first",
        "data:text/plain;base64,eA==": b"x",
        "https://host/dir/photo.png": b"\x89PNG\r\n\x1a\nrest",
    }
    ctx = Context(files)
    got = p.run(
        {
            "image": "https://host/dir/photo.png",
            "extra": "data:text/plain;base64,eA==",
            "more": [
                "https://api.replicate.com/v1/files/abc",
                "https://api.replicate.com/v1/files/abc",
            ],
        },
        ctx,
    )
    assert got == "photo.png:b'\\x89PNG':input.txt:2"
    assert isinstance(seen["extra"], File) and seen["extra"].data == b"x"
    assert seen["extra"].name == "input.txt"
    assert len(seen["more"]) == 2 and seen["more"][0] != seen["more"][1]
    assert not seen["image"].exists() and not seen["more"][0].exists()  # removed after the run


def test_file_inputs_of_a_generator_live_until_it_ends() -> None:
    def lines(doc: Path) -> Iterator[str]:
        yield from doc.read_text().splitlines()

    p = Predictor(lines, "acme/lines")
    ctx = Context({"data:,a": b"one\ntwo"})
    it = p.run({"doc": "data:,a"}, ctx)
    assert next(it) == "one"
    assert next(it) == "two"
    with pytest.raises(StopIteration):
        next(it)


def test_named_blobs_name_the_temporary_file() -> None:
    class Named(bytes):
        name = "report.pdf"
        content_type = "application/pdf"

    def name_of(doc: Path) -> str:
        return doc.name

    ctx = Context({"https://api.replicate.com/v1/files/x": Named(b"%PDF-1.4")})
    got = Predictor(name_of, "a/b").run({"doc": "https://api.replicate.com/v1/files/x"}, ctx)
    assert got == "report.pdf"


def test_async_predictors_run() -> None:
    async def shout(text: str = "hi") -> str:
        log("shouting")
        return text.upper()

    ctx = Context()
    assert Predictor(shout, "acme/shout").run({}, ctx) == "HI"
    assert ctx.logs == "shouting\n"


# --- outputs ------------------------------------------------------------------------------------


def test_encode_output_stores_files_and_walks_containers(tmp_path: Path) -> None:
    stored: list[tuple[str, bytes, str | None]] = []

    def store(name: str, data: bytes, content_type: str | None) -> str:
        stored.append((name, data, content_type))
        return f"https://files/{name}"

    path = tmp_path / "out.txt"
    path.write_text("hi")
    value = {
        "image": File(b"img", "a.png", "image/png"),
        "items": [path, 1, "two", None, True],
        "raw": png.solid_png(1, 1, (0, 0, 0)),
        "color": Color.BLUE,
    }
    assert encode_output(value, store) == {
        "image": "https://files/a.png",
        "items": ["https://files/out.txt", 1, "two", None, True],
        "raw": "https://files/output.png",
        "color": "blue",
    }
    assert stored[1] == ("out.txt", b"hi", "text/plain")
    assert stored[2][2] == "image/png"
    with pytest.raises(TypeError, match="object"):
        encode_output(object(), store)


# --- built-ins ----------------------------------------------------------------------------------


def test_stream_tokens_streams_its_answer() -> None:
    p = builtin_models.STREAM_TOKENS
    assert p.streams
    ctx = Context()
    tokens = list(p.run(p.validate({"prompt": "Hello there", "max_tokens": 6, "delay": 0}), ctx))
    assert tokens == ["You", " said:", " Hello", " there.", " the", " quick"]
    assert len(list(p.run(p.validate({"max_tokens": 100, "delay": 0}), ctx))) == 100


def parse_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset = 8
    chunks: list[tuple[bytes, bytes]] = []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        offset += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color_type, interlace) == (8, 2, 0)
    raw = zlib.decompress(chunks[1][1])
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    rows = [raw[i * stride : (i + 1) * stride] for i in range(height)]
    assert all(r[0] == 0 for r in rows)
    return width, height, [r[1:] for r in rows]


def test_png_image_makes_a_real_png() -> None:
    p = builtin_models.PNG_IMAGE
    ctx = Context()
    result = p.run(p.validate({"width": 5, "height": 3, "color": "#ff8000"}), ctx)
    assert isinstance(result, File)
    assert (result.name, result.content_type) == ("output.png", "image/png")
    width, height, rows = parse_png(result.data)
    assert (width, height) == (5, 3)
    assert rows == [bytes([255, 128, 0]) * 5] * 3
    noisy = p.run(p.validate({"width": 8, "height": 8, "seed": 42}), ctx)
    again = p.run(p.validate({"width": 8, "height": 8, "seed": 42}), ctx)
    assert noisy.data == again.data != result.data
    assert len(set(parse_png(noisy.data)[2])) > 1
    assert "Using seed: 42" in ctx.logs
    with pytest.raises(HTTPError) as excinfo:
        p.validate({"color": "red"})
    assert "input.color" in detail_of(excinfo)


def test_png_encoder_checks_its_input() -> None:
    with pytest.raises(ValueError, match="row 0"):
        png.encode_png(2, 1, [b"\x00" * 5])
    with pytest.raises(ValueError, match="rows"):
        png.encode_png(1, 2, [b"\x00" * 3])
    with pytest.raises(ValueError, match="size"):
        png.encode_png(0, 1, [])
    assert parse_png(png.solid_png(300, 2, (1, 2, 3)))[2][1] == bytes([1, 2, 3]) * 300
    # a data URL of it is what small outputs become
    assert base64.b64decode(base64.b64encode(png.solid_png(1, 1, (0, 0, 0))))[:4] == b"\x89PNG"


def test_stdout_proxy_passes_through_outside_predictions() -> None:
    from replicate_emulator.predictors import install_stdio_proxy

    buffer = io.StringIO()
    saved = sys.stdout
    sys.stdout = buffer
    try:
        install_stdio_proxy()
        install_stdio_proxy()
        print("plain")
        assert sys.stdout is not buffer
        assert buffer.getvalue() == "plain\n"
        ctx = Context()
        token = current_context.set(ctx)
        try:
            print("routed")
        finally:
            current_context.reset(token)
        assert buffer.getvalue() == "plain\n" and ctx.logs == "routed\n"
    finally:
        sys.stdout = saved
