"""The foundation's figures side by side, in one run: ``import replicate`` time, the time to
a first request (what the lazy import defers to the first client), and the CPU per
``client.get`` against the raw urllib3 + msgspec floor.

    python benchmarks/bench_foundation.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_import  # noqa: E402
import bench_request  # noqa: E402

FIRST_REQUEST = """
import time
t0 = time.perf_counter()
import replicate
t1 = time.perf_counter()
client = replicate.Replicate(bearer_token="r8_bench", base_url="http://127.0.0.1:{port}/v1")
client.get("/predictions/x").json()
t2 = time.perf_counter()
print((t1 - t0) * 1e3, (t2 - t1) * 1e3)
"""


def main() -> None:
    print("== import ==")
    bench_import.main()
    proc, port = bench_request.start_server()
    try:
        imports, firsts = [], []
        for _ in range(7):
            out = subprocess.run(
                [sys.executable, "-c", FIRST_REQUEST.format(port=port)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            imports.append(float(out[0]))
            firsts.append(float(out[1]))
    finally:
        proc.terminate()
        proc.wait()
    print("== time to a first request (fresh interpreter, wall, median of 7) ==")
    print(f"  import replicate            : {statistics.median(imports):7.1f} ms")
    print(f"  first client + first GET    : {statistics.median(firsts):7.1f} ms")
    print("== CPU per client.get ==")
    sys.argv = [sys.argv[0], "--requests", "1000", "--runs", "7"]
    bench_request.main()


if __name__ == "__main__":
    main()
