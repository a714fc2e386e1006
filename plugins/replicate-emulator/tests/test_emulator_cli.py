"""``replicate-emulator serve`` run as a real subprocess, driven over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import replicate

SCRIPT = shutil.which("replicate-emulator", path=str(Path(sys.executable).parent))


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL, read from its first line of output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "replicate_emulator.cli", "serve", "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        pytest.fail(f"the server did not start: {proc.stderr.read() if proc.stderr else ''}")
    base_url = line.rsplit(" ", 1)[1].strip()
    return proc, base_url


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return out, err


def test_serve_prints_the_url_and_stops_cleanly_on_ctrl_c():
    proc, base_url = _start()
    try:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        export = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert export == f"export REPLICATE_BASE_URL={base_url}"
        with replicate.Replicate(base_url=base_url, bearer_token="t") as client:
            assert client.run("replicate/hello-world", input={"text": "cli"}) == "hello cli"
    finally:
        _stop(proc)


def test_sigterm_stops_cleanly_too():
    proc, _ = _start()
    _stop(proc, signal.SIGTERM)


def test_state_survives_a_restart(tmp_path):
    state = str(tmp_path / "emulator.sqlite")
    proc, base_url = _start("--state", state)
    try:
        with replicate.Replicate(base_url=base_url, bearer_token="t") as client:
            pid = client.models.predictions.create(
                "replicate", "hello-world", input={"text": "kept"}, wait=True
            ).id
    finally:
        _stop(proc)
    proc, base_url = _start("--state", state)
    try:
        with replicate.Replicate(base_url=base_url, bearer_token="t") as client:
            prediction = client.predictions.get(pid)
        assert prediction.output == "hello kept"
    finally:
        _stop(proc)


def test_faults_from_the_command_line_and_over_http():
    rule = {"route": "GET /v1/account", "status": 503}
    proc, base_url = _start("--faults", json.dumps([rule]))
    try:
        with replicate.Replicate(base_url=base_url, bearer_token="t", max_retries=0) as client:
            with pytest.raises(replicate.APIStatusError) as info:
                client.account.get()
            assert info.value.status_code == 503
            origin = base_url.removesuffix("/v1")
            import urllib.request

            urllib.request.urlopen(
                urllib.request.Request(origin + "/emulator/faults", method="DELETE"), timeout=10
            ).read()
            assert client.account.get().username
    finally:
        _stop(proc)


def test_models_of_your_own(tmp_path):
    module = tmp_path / "my_models.py"
    module.write_text(
        "import replicate_emulator\n"
        "@replicate_emulator.model('acme/shout')\n"
        "def shout(text: str) -> str:\n"
        "    return text.upper()\n"
    )
    proc, base_url = _start("--models", str(module))
    try:
        with replicate.Replicate(base_url=base_url, bearer_token="t") as client:
            assert client.run("acme/shout", input={"text": "hey"}) == "HEY"
    finally:
        _stop(proc)


def test_a_busy_port_exits_1_with_a_message():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "replicate_emulator.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_the_console_script_exists_and_helps():
    assert SCRIPT is not None
    result = subprocess.run([SCRIPT, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--host", "--port", "--state", "--rate-limits", "--no-rate-limits", "--faults"):
        assert option in result.stdout
    started = time.monotonic()
    result = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "serve" in result.stdout
    assert time.monotonic() - started < 30
