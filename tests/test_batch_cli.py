"""``replicate batch``: JSON Lines of inputs in, one JSON line per result out, exit statuses, the
journal across runs, and Ctrl-C in a separate process canceling what it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, default_sigint
from replicate_emulator.app import Emulator
from replicate_emulator.predictors import Predictor, sleep

from replicate.cli import main

SCRIPT = Path(sys.executable).with_name("replicate")


def shout(text: str = "", seconds: float = 0.0) -> str:
    sleep(seconds)
    if text == "boom":
        raise RuntimeError("boom on purpose")
    return text.upper()


MODELS = [Predictor(shout, "acme/shout")]
pytestmark = pytest.mark.emulator(models=MODELS)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def cli(
    capsys: pytest.CaptureFixture[str], url: str, *argv: str
) -> tuple[int, list[dict[str, Any]], str]:
    status = main(["--base-url", url, "batch", *argv])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_jsonl_in_and_out(
    emulator: Emulator, emulator_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = jsonl(tmp_path / "in.jsonl", [{"text": "a"}, {"text": "b"}, {"text": "c"}])
    status, rows, err = cli(capsys, emulator_url, "acme/shout", "--input", str(inputs))
    assert status == 0, err
    assert sorted((r["index"], r["output"], r["status"]) for r in rows) == [
        (0, "A", "succeeded"),
        (1, "B", "succeeded"),
        (2, "C", "succeeded"),
    ]
    for row in rows:
        assert set(row) == {"index", "input", "id", "status", "output", "error"}
        assert row["error"] is None and row["id"]
        assert row["input"] == [{"text": "a"}, {"text": "b"}, {"text": "c"}][row["index"]]


def test_a_failure_is_reported_and_exits_1(
    emulator_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = jsonl(tmp_path / "in.jsonl", [{"text": "ok"}, {"text": "boom"}])
    out = tmp_path / "out.jsonl"
    status, rows, err = cli(
        capsys, emulator_url, "acme/shout", "-i", str(inputs), "-o", str(out), "--concurrency", "1"
    )
    assert status == 1 and rows == []
    assert "1 of 2 inputs did not succeed" in err
    results = {r["index"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert results[0]["status"] == "succeeded"
    assert results[1]["status"] == "failed" and "boom" in results[1]["error"]


def test_bad_input_lines_are_usage_errors(
    emulator_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n[1, 2]\n')
    status, _, err = cli(capsys, emulator_url, "acme/shout", "--input", str(bad))
    assert status == 2 and "line 2: an input is a JSON object, not list" in err
    bad.write_text("{nope\n")
    status, _, err = cli(capsys, emulator_url, "acme/shout", "--input", str(bad))
    assert status == 2 and "line 1: not JSON" in err


def test_journal_resumes_without_creating_again(
    emulator: Emulator, emulator_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = jsonl(tmp_path / "in.jsonl", [{"text": f"j{i}"} for i in range(4)])
    journal = str(tmp_path / "journal.jsonl")
    argv = ("acme/shout", "-i", str(inputs), "--journal", journal, "--rate-limit", "0")
    status, first, _ = cli(capsys, emulator_url, *argv)
    status2, second, _ = cli(capsys, emulator_url, *argv)
    assert status == status2 == 0
    assert {r["index"]: r["id"] for r in first} == {r["index"]: r["id"] for r in second}
    assert len(emulator.predictions("acme/shout")) == 4


def test_ctrl_c_exits_130_after_canceling(
    emulator: Emulator, emulator_url: str, tmp_path: Path
) -> None:
    rows = [{"text": f"k{i}", "seconds": 60.0} for i in range(3)]
    inputs = jsonl(tmp_path / "in.jsonl", rows)
    journal = tmp_path / "journal.jsonl"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    environ.update(REPLICATE_API_TOKEN=TOKEN, REPLICATE_POLL_INTERVAL="0.02")
    argv = [str(SCRIPT), "--base-url", emulator_url, "batch", "acme/shout", "-i", str(inputs)]
    proc = subprocess.Popen(
        [*argv, "--journal", str(journal)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
        text=True,
        env=environ,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            docs = emulator.predictions("acme/shout")
            if len(docs) == 3 and all(d["status"] == "processing" for d in docs):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert emulator.wait_idle(10), (err, emulator.predictions("acme/shout"))
    assert [d["status"] for d in emulator.predictions("acme/shout")] == ["canceled"] * 3
    # Resumed: the canceled predictions are reported, none is created again.
    done = subprocess.run(
        [*argv, "--journal", str(journal)], capture_output=True, text=True, env=environ, timeout=60
    )
    assert done.returncode == 1
    statuses = Counter(json.loads(line)["status"] for line in done.stdout.splitlines())
    assert statuses == Counter({"canceled": 3})
    assert len(emulator.predictions("acme/shout")) == 3
