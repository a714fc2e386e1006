"""``import replicate`` time: the cumulative microseconds of the ``replicate`` line in
``python -X importtime -c "import replicate"``, median of 7 fresh interpreters.

Target: at most 30 ms on these machines (the same measure gives ~174 ms for the official v2 SDK
and ~141 ms for v1). Also lists the heavy modules that a bare import must not load.

    python benchmarks/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7
HEAVY = ("urllib3", "msgspec", "pluggy", "importlib.metadata", "ssl", "typing")


def cumulative_us(module: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(proc.stderr.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no importtime line for {module}")


def main() -> None:
    subprocess.run([sys.executable, "-c", "import replicate"], check=True)  # warm .pyc
    samples = [cumulative_us("replicate") for _ in range(RUNS)]
    floor = [cumulative_us("json") for _ in range(RUNS)]
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import replicate, sys; print([m for m in {HEAVY!r} if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    med = statistics.median(samples)
    print(
        f"import replicate: median {med / 1000:.2f} ms over {RUNS} runs "
        f"(samples, ms: {', '.join(f'{s / 1000:.2f}' for s in samples)})"
    )
    print(
        f"import json (stdlib reference, same run): median {statistics.median(floor) / 1000:.2f} ms"
    )
    print(f"ratio replicate/json: {med / statistics.median(floor):.2f}x; target: <= 30 ms")
    print(f"heavy modules loaded by 'import replicate': {loaded}")


if __name__ == "__main__":
    main()
