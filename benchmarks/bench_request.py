"""CPU time per ``client.get`` of a prediction, against a raw urllib3 + msgspec loop.

Both sides make the same keep-alive GET to a loopback server (a separate process, so its CPU time
is not counted) and decode the same body into the same ``replicate.types.Prediction`` struct.
Runs alternate between the two to spread the machine's noise evenly; the figure is the median of
each side's per-request CPU time (``time.process_time``) and their ratio.

Target: ours at most 1.3x the raw floor.

    python benchmarks/bench_request.py [--requests 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import urllib3

import replicate
from replicate.types import Prediction

HERE = Path(__file__).resolve().parent


def start_server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_server.py")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def raw_loop(port: int) -> Callable[[int], None]:
    pool = urllib3.PoolManager(maxsize=4)
    decoder = msgspec.json.Decoder(Prediction)
    url = f"http://127.0.0.1:{port}/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"
    headers = {"Authorization": "Bearer r8_bench", "Accept": "application/json"}
    timeout = urllib3.Timeout(connect=5.0, read=60.0)

    def run(n: int) -> None:
        for _ in range(n):
            resp = pool.request(
                "GET", url, headers=headers, retries=False, redirect=False, timeout=timeout
            )
            if resp.status != 200:
                raise RuntimeError(resp.status)
            decoder.decode(resp.data)

    return run


def sdk_loop(port: int) -> Callable[[int], None]:
    client = replicate.Replicate(bearer_token="r8_bench", base_url=f"http://127.0.0.1:{port}/v1")

    def run(n: int) -> None:
        get = client.get
        for _ in range(n):
            get("/predictions/gm3qorzdhgbfurvjtvhg6dckhu").parse(Prediction)

    return run


def cpu_per_call(run: Callable[[int], None], n: int) -> float:
    start = time.process_time()
    run(n)
    return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    proc, port = start_server()
    try:
        raw, ours = raw_loop(port), sdk_loop(port)
        raw(200), ours(200)  # warm up connections, caches and decoders
        raw_samples, our_samples = [], []
        for _ in range(args.runs):
            raw_samples.append(cpu_per_call(raw, args.requests))
            our_samples.append(cpu_per_call(ours, args.requests))
    finally:
        proc.terminate()
        proc.wait()
    raw_med, our_med = statistics.median(raw_samples), statistics.median(our_samples)
    print(
        f"{args.requests} GETs x {args.runs} runs, CPU time per request (median), pid {os.getpid()}"
    )
    print(f"  raw urllib3 + msgspec : {raw_med * 1e6:8.1f} us")
    print(f"  replicate client.get  : {our_med * 1e6:8.1f} us")
    print(f"  ratio                 : {our_med / raw_med:8.2f}x  (target <= 1.30x)")


if __name__ == "__main__":
    main()
