"""Driving the official SDK (``replicate==2.0.0b4``) as an anchor, in its own interpreter.

Both packages are named ``replicate``, so v2 lives in a separate venv and runs as a child process
(``_v2_side.py``) that the benchmark talks to one JSON line at a time. Keeping one child alive
lets the benchmark interleave v2's runs with ours instead of timing them in separate batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ENV = "REPLICATE_V2_PYTHON"
SETUP = f"""\
v2 anchor skipped: no interpreter with the official SDK was given (--v2-python or ${ENV}).
Create one (outside this project's venv, never as a dependency) and rerun:

    python3 -m venv /tmp/v2venv && /tmp/v2venv/bin/pip install replicate==2.0.0b4
    {{cmd}} --v2-python /tmp/v2venv/bin/python
"""


def add_argument(parser: Any) -> None:
    parser.add_argument(
        "--v2-python",
        default=os.environ.get(ENV),
        help=f"python of a venv with replicate==2.0.0b4 (default ${ENV})",
    )


def explain_missing(cmd: str) -> None:
    print(SETUP.format(cmd=cmd), file=sys.stderr)


class V2Side:
    """The child process running ``_v2_side.py`` under the official SDK's interpreter."""

    def __init__(self, python: str, mode: str, data_file: Path) -> None:
        # cwd away from the project, so the child's ``import replicate`` finds v2, not ours.
        self.proc = subprocess.Popen(
            [python, str(HERE / "_v2_side.py"), mode, str(data_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(data_file.parent),
        )
        self.info = self._read()
        if not self.info.get("ready"):
            raise RuntimeError(f"v2 side did not start: {self.info}")
        if self.info.get("replicate") not in ("2.0.0b4", "2.0.0-beta.4"):
            print(f"note: v2 side runs replicate {self.info.get('replicate')}", file=sys.stderr)

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"v2 side exited (status {self.proc.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.receive()

    def receive(self) -> dict[str, Any]:
        result = self._read()
        if "error" in result:
            raise RuntimeError(f"v2 side: {result['error']}")
        return result

    def close(self) -> None:
        try:
            self.send("quit")
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
