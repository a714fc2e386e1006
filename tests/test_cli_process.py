"""The ``replicate`` command as a separate process, against the loopback fake of
``test_cli.py``: the console script and ``python -m replicate.cli``, Ctrl-C (a real SIGINT)
canceling the running prediction, and the progress bar when stderr is a terminal (a pty)."""

from __future__ import annotations

import os
import pty
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import default_sigint
from pytest_httpserver import HTTPServer
from test_cli import PID, TOKEN, FakeAPI

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and ptys")

SCRIPT = Path(sys.executable).with_name("replicate")


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_POLL_INTERVAL": "0.05",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def test_the_console_script_and_python_m_both_run() -> None:
    for argv in ([str(SCRIPT)], [sys.executable, "-m", "replicate.cli"]):
        done = subprocess.run(
            [*argv, "--help"], capture_output=True, text=True, env=env(), timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("usage: replicate")
        done = subprocess.run(
            [*argv, "frobnicate"], capture_output=True, text=True, env=env(), timeout=60
        )
        assert done.returncode == 2
        assert "invalid choice: 'frobnicate'" in done.stderr


def test_import_replicate_does_not_import_the_cli() -> None:
    code = "import sys, replicate; print('replicate.cli' in sys.modules, 'argparse' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_sigint_cancels_the_running_prediction_and_exits_130(httpserver: HTTPServer) -> None:
    api = FakeAPI(httpserver)
    api.states = [api.prediction("processing", logs="working\n")]
    seen = interrupt_when(
        [str(SCRIPT), "--base-url", api.url, "run", "acme/hello", "text=bob"],
        env(),
        lambda line: line == "working\n",
        stdout="",
    )
    assert seen[-1] == f"replicate: interrupted; canceled prediction {PID}\n"
    assert not any("Traceback" in line for line in seen)
    assert api.cancels >= 1


def interrupt_when(
    argv: list[str],
    environ: dict[str, str],
    ready: Callable[[str], bool],
    *,
    timeout: float = 30,
    stdout: str | None = None,
) -> list[str]:
    """Run the command, send it Ctrl-C once a line of its stderr is ``ready``, check that it
    exits 130 (and, when given, what it printed on stdout); its stderr lines."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
        text=True,
        env=environ,
    )
    assert proc.stderr is not None and proc.stdout is not None
    err = proc.stderr
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in err], daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not any(ready(line) for line in seen):
        seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=timeout) == 130
    reader.join(timeout)  # it ends at the end of stderr: every line is in the queue
    while not lines.empty():
        seen.append(lines.get())
    if stdout is not None:
        assert proc.stdout.read() == stdout
    return seen


def read_all(fd: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> bytes:
    """Everything written to the pty until the process exits (and the pty drains)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    return data


def test_a_progress_bar_is_drawn_when_stderr_is_a_terminal(httpserver: HTTPServer) -> None:
    api = FakeAPI(httpserver)
    logs = ["loading\n"]
    for done in (1, 5, 10):
        logs.append(f"{done * 10:3d}%|{'#' * done}{' ' * (10 - done)}| {done}/10\n")
    api.states = [api.prediction("processing", logs="".join(logs[: i + 1])) for i in range(4)]
    api.states.append(api.prediction("succeeded", logs="".join(logs), output="hello bob"))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(SCRIPT), "--base-url", api.url, "run", "acme/hello", "text=bob"],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env(COLUMNS="60"),
    )
    os.close(slave)
    try:
        err = read_all(master, proc)
    finally:
        os.close(master)
    assert proc.wait(timeout=30) == 0
    assert proc.stdout is not None and proc.stdout.read() == b"hello bob\n"
    text = err.decode()
    assert "loading\r\n" in text
    assert "\r\x1b[K 10%|" in text and "\r\x1b[K 50%|" in text and "\r\x1b[K100%|" in text
    assert "| 10/10" in text
    for line in logs[1:]:  # the raw progress lines are not printed as lines
        assert line.rstrip("\n") + "\r\n" not in text
    assert f"prediction {PID}: succeeded" in text
