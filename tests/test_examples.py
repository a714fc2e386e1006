"""The main job (scripts/main.sh) and the scripts in examples/, each run as a user would: a
fresh interpreter of this virtualenv, no API token, no network, every installed plugin loaded.

They run on the emulator in their own process (``transport="emulator"``), and those that can be
pointed elsewhere run again against an emulator served over real HTTP on 127.0.0.1
(``REPLICATE_BASE_URL``), which then also delivers the webhooks over the network.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import ROOT

EXAMPLES = ROOT / "examples"
VENV_BIN = Path(sys.executable).parent
TIMEOUT = 120

#: The examples that follow REPLICATE_BASE_URL / REPLICATE_TRANSPORT (files.py defines a model
#: of its own, so it runs on the emulator in its own process only).
RETARGETABLE = ("run.py", "stream.py", "webhooks.py", "async_run.py")


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with nothing configured: no REPLICATE_* variable (so no token
    and every installed plugin), no proxy, Python's default buffering of a piped stdout;
    temporary files under ``tmp_path``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REPLICATE_", "PYTHON")) and not k.lower().endswith("_proxy")
    }
    return {**env, "TMPDIR": str(tmp_path), **extra}


def check(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout.splitlines()


def run_example(name: str, *args: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(ROOT),
        timeout=TIMEOUT,
    )
    return check(done)


@pytest.fixture(params=["in process", "served"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment for a retargetable example: nothing set (the emulator in the example's
    own process), or REPLICATE_BASE_URL pointing at an emulator served on loopback."""
    if request.param == "in process":
        return user_env(tmp_path)
    url: str = request.getfixturevalue("emulator_url")
    return user_env(tmp_path, REPLICATE_BASE_URL=url, REPLICATE_API_TOKEN="r8_any_token")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_main_sh_runs_the_cli_and_the_quickstart_with_no_token(tmp_path: Path) -> None:
    # main.sh's commands after the virtualenv set-up (which would run pip if anything changed).
    script = (ROOT / "scripts" / "main.sh").read_text()
    setup = 'EXTRAS="" source "$(dirname "$0")/_venv.sh"\n'
    assert setup in script
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(setup, "")],
        capture_output=True,
        text=True,
        env=user_env(tmp_path, VENV=str(VENV_BIN.parent)),
        cwd=str(ROOT),
        timeout=TIMEOUT,
    )
    lines = check(done)
    assert lines[:3] == [
        "hello fresh machine",  # the `replicate run` command
        "hello quickstart",
        "You said: hello. the quick brown fox jumps over the lazy dog",
    ], done.stdout
    saved = re.fullmatch(r"saved (.+\.png) \((\d+) bytes\)", lines[3])
    assert saved is not None and len(lines) == 4, lines
    path = Path(saved[1])
    assert path.is_relative_to(tmp_path)  # a new temporary folder
    data = path.read_bytes()
    assert len(data) == int(saved[2])
    assert png_size(data) == (32, 32)


def test_quickstart_saves_into_the_folder_given(tmp_path: Path) -> None:
    lines = run_example("quickstart.py", str(tmp_path / "out"), env=user_env(tmp_path))
    assert lines[-1].startswith(f"saved {tmp_path / 'out' / 'quickstart.png'} (")
    assert png_size((tmp_path / "out" / "quickstart.png").read_bytes()) == (32, 32)


def test_run(target: dict[str, str]) -> None:
    lines = run_example("run.py", env=target)
    assert lines[:2] == ["run: hello Ada", "use: hello Grace"]
    created = re.fullmatch(r"created (\w+): (starting|processing)", lines[2])
    assert created is not None, lines
    assert lines[3] == f"finished {created[1]}: succeeded, output 'finished 5 steps'"
    assert lines[4].startswith("last log line: 100%|██████████| 5/5 [")
    assert lines[5].startswith("refused: 422 ") and "width" in lines[5], lines
    assert len(lines) == 6, lines


def test_stream_prints_tokens_as_they_arrive(target: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "stream.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=target,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None
    chunks: list[tuple[float, bytes]] = []
    while chunk := os.read(proc.stdout.fileno(), 65536):
        chunks.append((time.monotonic(), chunk))
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err.decode()
    out = b"".join(c for _, c in chunks).decode()
    lines = out.splitlines()
    assert lines[0] == (
        "You said: Stream me a story. the quick brown fox jumps over the lazy dog while "
        "the emulator streams one"
    ), out
    timing = re.fullmatch(r"20 tokens in (\d+\.\d+) s", lines[1])
    assert timing is not None and float(timing[1]) >= 0.9, lines  # 19 gaps of 0.05 s
    assert re.fullmatch(r"\w+: You said: again\. the quick", lines[2]), lines
    # The first token reached the pipe long before the stream ended: printed as it came.
    first = next(t for t, c in chunks if c.startswith(b"You"))
    last_token = next(t for t, c in chunks if b" one" in c)
    assert last_token - first >= 0.5, [(round(t - first, 3), c) for t, c in chunks]


def test_files(tmp_path: Path) -> None:
    lines = run_example("files.py", str(tmp_path / "out"), env=user_env(tmp_path))
    uploaded = re.fullmatch(r"uploaded notes\.txt: id (\S+), 29 bytes", lines[0])
    assert uploaded is not None, lines
    assert re.fullmatch(r"  sha256 [0-9a-f]{64}", lines[1]), lines
    assert lines[2:4] == ["  listed: True", "from the uploaded URL: FILES GO IN,"]
    saved = tmp_path / "out" / "shout.txt"
    assert lines[4] == f"saved {saved}: FILES COME OUT."
    assert saved.read_text() == "FILES GO IN,\nFILES COME OUT.\n"
    assert lines[5:] == [f"deleted {uploaded[1]}"]


def test_webhooks_are_received_and_checked(target: dict[str, str]) -> None:
    lines = run_example("webhooks.py", env=target)
    assert re.fullmatch(
        r"created \w+, webhooks to http://127\.0\.0\.1:\d+/hooks/replicate", lines[0]
    )
    updates = [
        re.fullmatch(r"webhook \(signature valid\): (\w+) +output=(.*)", x) for x in lines[1:-1]
    ]
    assert all(updates) and len(updates) >= 2, lines
    statuses = [m[1] for m in updates if m]
    assert statuses[0] in ("starting", "processing") and statuses[-1] == "succeeded", lines
    assert statuses.count("succeeded") == 1
    assert updates[-1] is not None and updates[-1][2] == repr(
        "You said: webhooks. the quick brown fox jumps over the lazy dog"
    )
    assert lines[-1].startswith("forged delivery: 400 invalid webhook: "), lines
    assert "signature" in lines[-1]


def test_async_runs_predictions_concurrently(target: dict[str, str]) -> None:
    lines = run_example("async_run.py", env=target)
    assert lines[:4] == [f"job {n}: finished 5 steps" for n in range(1, 5)], lines
    assert lines[4] == "stream: You said: async. the quick brown fox jumps"
    together = re.fullmatch(r"4 jobs of 0\.5 s each, together: (\d+\.\d+) s", lines[5])
    # One after another they would take 2 s or more.
    assert together is not None and 0.5 <= float(together[1]) < 1.6, lines
    assert lines[6:] == ["hello Ada, hello Grace, hello Edsger"]


def test_every_example_is_tested() -> None:
    tested = {"quickstart.py", "files.py", *RETARGETABLE}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested
