"""The built-in and user models through our SDK, in process: the schema the SDK reads decides
what comes back (text, concatenated tokens, FileOutput for files), validation errors reach the
caller as 422s naming the field, file inputs are uploaded and read by the model, and a model's
print() output lands in the prediction's logs."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.predictors import File, Input, Predictor
from replicate_emulator.transport import EmulatorTransport

import replicate
from replicate import FileOutput


def describe(
    document: Path = Input(description="A text file"),  # noqa: B008
    shout: bool = False,
) -> str:
    """Reads a file input."""
    text = document.read_text()
    print(f"read {len(text)} characters from {document.name}")
    return text.upper() if shout else text


def thumbnails(count: int = Input(default=2, ge=1, le=3)) -> list[File]:
    return [
        File(b"\x89PNG fake " + bytes([i]), f"thumb-{i}.png", "image/png") for i in range(count)
    ]


def stream_letters(word: str = "abc") -> Iterator[str]:
    yield from word


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator(
        models=[
            Predictor(describe, "acme/describe"),
            Predictor(thumbnails, "acme/thumbnails"),
            Predictor(stream_letters, "acme/letters"),
        ],
        entry_points=False,
    )
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def client(emu: Emulator) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(bearer_token="r8_test", transport=EmulatorTransport(emu)) as c:
        yield c


def test_hello_world_runs(client: replicate.Replicate) -> None:
    assert client.run("replicate/hello-world", input={"text": "Alice"}) == "hello Alice"
    version = client.run(
        f"replicate/hello-world:{'9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426'}",
        input={},
    )
    assert version == "hello world"


def test_streamed_tokens_concatenate_through_use(client: replicate.Replicate) -> None:
    model = client.use("replicate/stream-tokens")
    text = model(prompt="Hi", max_tokens=4, delay=0)
    assert "".join(text) == "You said: Hi. the"


def test_png_output_is_a_file_output_that_decodes(client: replicate.Replicate) -> None:
    output = client.run("replicate/png-image", input={"width": 3, "height": 2, "color": "00ff00"})
    assert isinstance(output, FileOutput)
    data = output.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    (length,) = struct.unpack(">I", data[33:37])
    idat = data[41 : 41 + length]
    assert zlib.decompress(idat) == (b"\x00" + bytes([0, 255, 0]) * 3) * 2


def test_large_outputs_are_served_urls(emu: Emulator, client: replicate.Replicate) -> None:
    emu.blobs.inline_limit = 0
    files = client.run("acme/thumbnails", input={"count": 2})
    assert [type(f) for f in files] == [FileOutput, FileOutput]
    assert "/emulator/outputs/" in files[1].url
    assert files[1].read() == b"\x89PNG fake \x01"


def test_invalid_input_is_a_422_naming_the_field(client: replicate.Replicate) -> None:
    with pytest.raises(replicate.UnprocessableEntityError) as excinfo:
        client.models.predictions.create(
            "replicate", "slow-progress", input={"steps": 0, "seconds_per_step": 0}
        )
    assert "input.steps: Must be greater than or equal to 1" in str(excinfo.value)


def test_file_inputs_are_uploaded_and_read(client: replicate.Replicate, tmp_path: Path) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text("offline and fine")
    assert client.run("acme/describe", input={"document": doc, "shout": True}) == (
        "OFFLINE AND FINE"
    )
    prediction = client.predictions.list().results[0]
    assert prediction.logs is not None and "read 16 characters from notes.txt" in prediction.logs


def test_iterator_of_letters(client: replicate.Replicate) -> None:
    assert "".join(client.run("acme/letters", input={"word": "xyz"})) == "xyz"


def test_a_file_input_the_emulator_cannot_read_is_a_422(client: replicate.Replicate) -> None:
    with pytest.raises(replicate.UnprocessableEntityError) as excinfo:
        client.models.predictions.create(
            "acme", "describe", input={"document": "https://example.com/notes.txt"}
        )
    assert "input.document" in str(excinfo.value)
    assert "offline" in str(excinfo.value)
