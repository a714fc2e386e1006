"""The ``replicate`` command end to end against the offline emulator (``--transport
emulator``, plugins/replicate-emulator), in process and as a separate process: its built-in
models replicate/hello-world (text), replicate/stream-tokens (streaming), replicate/png-image
(a file) and replicate/slow-progress (tqdm-style progress, cancellable). No token is set: the
emulator's transport offers a placeholder one."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli_process import interrupt_when, read_all

from replicate.cli import main

pytest.importorskip("replicate_emulator.app")

SCRIPT = Path(sys.executable).with_name("replicate")
EMULATOR = ("--transport", "emulator")

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _emulator_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "emulator")
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        status = main([*EMULATOR, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def env(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    return {
        **environ,
        "REPLICATE_PLUGINS": "emulator",
        "REPLICATE_POLL_INTERVAL": "0.02",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def test_run_hello_world_in_process(cli: Run) -> None:
    status, out, err = cli("run", "replicate/hello-world", "text=bob")
    assert (status, out) == (0, "hello bob\n"), err
    assert "succeeded" in err


def test_run_hello_world_in_a_subprocess(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(SCRIPT), *EMULATOR, "run", "replicate/hello-world", "text=bob"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (0, "hello bob\n"), done.stderr


def test_the_png_is_saved_into_the_output_directory(cli: Run, tmp_path: Path) -> None:
    status, out, err = cli(
        "run", "replicate/png-image", "width=8", "height=4", "-o", str(tmp_path / "imgs")
    )
    assert status == 0, err
    saved = Path(out.strip())
    assert saved.parent == tmp_path / "imgs"
    assert saved.suffix == ".png"
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_inputs_are_typed_and_checked_by_the_emulators_schema(cli: Run) -> None:
    status, out, err = cli("run", "replicate/png-image", "width=wide")
    assert (status, out) == (2, "")
    assert err.splitlines() == ["replicate: input 'width' must be an integer; got 'wide'"]
    status, _, err = cli("run", "replicate/png-image", "width=4096")
    assert status == 2
    assert "input 'width' must be between 1 and 2048" in err


def test_streaming_prints_the_tokens(cli: Run) -> None:
    argv = ("replicate/stream-tokens", "prompt=hi there", "max_tokens=6", "delay=0")
    for command in (["stream", *argv], ["run", "--stream", *argv]):
        status, out, err = cli(*command)
        assert status == 0, err
        assert out == "You said: hi there. the quick\n"


def test_no_wait_then_get_then_cancel(cli: Run) -> None:
    status, out, err = cli(
        "run", "replicate/slow-progress", "steps=400", "seconds_per_step=0.05", "--no-wait"
    )
    assert status == 0, err
    pid = out.strip()
    assert pid and "\n" not in pid
    status, out, err = cli("predictions", "get", pid, "--json")
    assert status == 0, err
    assert json.loads(out)["id"] == pid
    assert json.loads(out)["status"] in ("starting", "processing")
    status, out, err = cli("predictions", "cancel", pid)
    assert (status, out) == (0, f"prediction {pid}: canceled\n"), err
    status, out, _ = cli("predictions", "get", pid)
    assert "status: canceled" in out.splitlines()
    status, out, _ = cli("predictions", "list", "--json")
    assert pid in [p["id"] for p in json.loads(out)]


def test_models_get_list_and_schema(cli: Run) -> None:
    status, out, err = cli("models", "get", "replicate/hello-world")
    assert status == 0, err
    assert out.startswith("replicate/hello-world\n")
    status, out, _ = cli("models", "list", "--limit", "0")
    names = [line.split()[0] for line in out.splitlines()]
    assert {"replicate/hello-world", "replicate/png-image"} <= set(names)
    status, out, _ = cli("models", "schema", "replicate/slow-progress")
    assert status == 0
    assert "  steps: integer; default 20; 1 to 10000" in out.splitlines()
    status, out, _ = cli("models", "schema", "replicate/png-image")
    assert '  color: string; default "#3366ff"; matching ^#?[0-9a-fA-F]{6}$' in out.splitlines()
    status, out, _ = cli("models", "schema", "replicate/hello-world", "--json")
    assert json.loads(out)["components"]["schemas"]["Input"]["properties"]["text"]


def test_an_unknown_model_is_one_line_and_exit_1(cli: Run) -> None:
    status, out, err = cli("run", "replicate/no-such-model", "x=1")
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("replicate: GET /v1/models/replicate/no-such")
    assert "404" in lines[0]


def test_sigint_cancels_slow_progress_and_exits_130() -> None:
    seen = interrupt_when(
        [
            str(SCRIPT),
            *EMULATOR,
            "run",
            "replicate/slow-progress",
            "steps=1000",
            "seconds_per_step=0.05",
        ],
        env(),
        lambda line: "| 2/1000" in line,
        timeout=60,
    )
    last = seen[-1]
    assert last.startswith("replicate: interrupted; canceled prediction "), seen[-5:]
    assert not any("Traceback" in line for line in seen)


def test_the_progress_bar_on_a_terminal() -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            *EMULATOR,
            "run",
            "replicate/slow-progress",
            "steps=20",
            "seconds_per_step=0.02",
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env(COLUMNS="80"),
    )
    os.close(slave)
    try:
        err = read_all(master, proc, timeout=120).decode()
    finally:
        os.close(master)
    assert proc.wait(timeout=60) == 0, err
    assert proc.stdout is not None and proc.stdout.read() == b"finished 20 steps\n"
    assert "\r\x1b[K100%|" + "#" in err
    assert "| 20/20" in err
    assert "█" not in err  # the model's own bar lines are not printed
