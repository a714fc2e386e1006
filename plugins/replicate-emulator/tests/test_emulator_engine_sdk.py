"""The engine as the SDK sees it: run, stream, cancel, file outputs and trainings, in process
over the emulator transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.transport import EmulatorTransport

import replicate

API = "https://api.replicate.com/v1"


def fails(text: str = "x") -> str:
    raise RuntimeError(f"cannot {text}")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(models=[("acme/fails", fails)], entry_points=False) as e:
        yield e


@pytest.fixture
def client(emu: Emulator) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(transport=EmulatorTransport(emu), base_url=API) as c:
        yield c


def test_run_and_wait_false(client: replicate.Replicate, emu: Emulator) -> None:
    assert client.run("replicate/hello-world", input={"text": "sdk"}) == "hello sdk"
    assert client.run("replicate/hello-world", input={"text": "p"}, wait=False) == "hello p"
    assert emu.inputs() == [{"text": "sdk"}, {"text": "p"}]


def test_run_outlasting_its_sync_window_waits_for_the_output(
    client: replicate.Replicate, emu: Emulator
) -> None:
    # The create answers 202 when the window runs out: run() goes on waiting, never returning
    # the incomplete output or leaving the prediction running.
    output = client.run(
        "replicate/slow-progress", input={"steps": 4, "seconds_per_step": 0.4}, wait=1
    )
    assert output == "finished 4 steps"
    (prediction,) = emu.predictions()
    assert prediction["status"] == "succeeded" and prediction["output"] == output


def test_stream_tokens_over_sse(client: replicate.Replicate) -> None:
    events = list(
        client.stream(
            "replicate/stream-tokens", input={"prompt": "yo", "max_tokens": 5, "delay": 0.01}
        )
    )
    assert "".join(str(e) for e in events) == "You said: yo. the quick"


def test_png_output_is_a_file(client: replicate.Replicate) -> None:
    output = client.run("replicate/png-image", input={"width": 4, "height": 4})
    assert output.read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cancel_through_the_sdk(client: replicate.Replicate, emu: Emulator) -> None:
    prediction = client.models.predictions.create(
        "replicate", "slow-progress", input={"steps": 500, "seconds_per_step": 0.02}
    )
    canceled = client.predictions.cancel(prediction.id)
    assert canceled.status == "canceled"
    assert emu.wait_idle(5)
    assert client.predictions.get(prediction.id).status == "canceled"


def test_failed_prediction_raises_model_error(client: replicate.Replicate) -> None:
    with pytest.raises(replicate.exceptions.ModelError) as info:
        client.run("acme/fails", input={"text": "fly"})
    assert "cannot fly" in str(info.value)
    assert info.value.prediction.status == "failed"
