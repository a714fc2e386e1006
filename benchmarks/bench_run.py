"""Overhead of ``client.run("owner/name", input=...)`` against a server that answers at once.

The server (a separate process) answers a sync-mode create with 201 and the finished
prediction, as the API does. Compared, in the same run and alternating:

- raw floor: urllib3 POST of the same JSON body + ``msgspec`` decode into ``Prediction``;
- ``client.run("owner/name", ...)`` (one request: the create in sync mode);
- ``client.run("owner/name:<version>", ...)`` (input checked against the version's schema,
  fetched once before timing; then one request);
- ``client.use("owner/name")(...)`` (schema fetched once before timing; then one request).

The model and version the server describes carry a real 33 KB Cog schema
(``benchmarks/data/cog_schema.json``), so schema handling is measured at a realistic size.
Prints the median CPU time per call (``time.process_time``), the ratios, the number of HTTP
requests each call made, and the wall time of the first (schema-fetching) call. Target: each
at most 1.3x the raw floor after the first call, one request per call.

    python benchmarks/bench_run.py [--calls 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
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
    """``_server.py`` in a process of its own (its CPU time is not counted), and its port."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_server.py")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


class Counter:
    """Counts the requests a client sends (an observer plugin)."""

    def __init__(self) -> None:
        self.requests = 0

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        if event.kind == "request":
            self.requests += 1


INPUT = {"prompt": "Alice"}
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


def first_call_ms(port: int, call: Callable[[replicate.Replicate], object]) -> float:
    """Wall time of the first call on a fresh client (it fetches and prepares the schema); the
    best of 3 clients, the modules already imported."""
    times = []
    for _ in range(3):
        url = f"http://127.0.0.1:{port}/v1"
        with replicate.Replicate(bearer_token="r8_bench", base_url=url) as c:
            start = time.perf_counter()
            call(c)
            times.append((time.perf_counter() - start) * 1e3)
    return min(times)


def raw_loop(port: int) -> Callable[[int], None]:
    pool = urllib3.PoolManager(maxsize=4)
    decoder = msgspec.json.Decoder(Prediction)
    encode = msgspec.json.encode
    url = f"http://127.0.0.1:{port}/v1/models/replicate/hello-world/predictions"
    headers = {
        "Authorization": "Bearer r8_bench",
        "Content-Type": "application/json",
        "Prefer": "wait",
    }
    timeout = urllib3.Timeout(connect=5.0, read=70.0)

    def run(n: int) -> None:
        for _ in range(n):
            body = encode({"input": INPUT})
            resp = pool.request(
                "POST",
                url,
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                timeout=timeout,
            )
            if resp.status != 201:
                raise RuntimeError(resp.status)
            prediction = decoder.decode(resp.data)
            if prediction.status != "succeeded":
                raise RuntimeError(prediction.status)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    proc, port = start_server()
    counter = Counter()
    try:
        client = replicate.Replicate(
            bearer_token="r8_bench", base_url=f"http://127.0.0.1:{port}/v1", plugins=[counter]
        )
        hello = client.use("replicate/hello-world")
        versioned = f"replicate/hello-world:{VERSION}"

        def run_loop(n: int) -> None:
            for _ in range(n):
                client.run("replicate/hello-world", input=INPUT)

        def versioned_loop(n: int) -> None:
            for _ in range(n):
                client.run(versioned, input=INPUT)

        def use_loop(n: int) -> None:
            for _ in range(n):
                hello(**INPUT)

        first = {
            "client.run(o/n:version)": first_call_ms(port, lambda c: c.run(versioned, input=INPUT)),
            "use()(...)": first_call_ms(port, lambda c: c.use("replicate/hello-world")(**INPUT)),
        }
        loops = {
            "raw urllib3 + msgspec": raw_loop(port),
            "client.run(o/n)": run_loop,
            "client.run(o/n:version)": versioned_loop,
            "use()(...)": use_loop,
        }
        for loop in loops.values():
            loop(100)  # warm up (and fetch use()'s schema once)
        per_call: dict[str, list[float]] = {name: [] for name in loops}
        requests: dict[str, float] = {}
        for _ in range(args.runs):
            for name, loop in loops.items():
                before = counter.requests
                start = time.process_time()
                loop(args.calls)
                per_call[name].append((time.process_time() - start) / args.calls)
                if name != "raw urllib3 + msgspec":
                    requests[name] = (counter.requests - before) / args.calls
    finally:
        proc.terminate()
        proc.wait()
    floor = statistics.median(per_call["raw urllib3 + msgspec"])
    print(f"{args.calls} calls x {args.runs} runs; CPU per call (median)")
    for name, samples in per_call.items():
        med = statistics.median(samples)
        reqs = f"{requests[name]:.2f} requests/call" if name in requests else "1 request/call"
        print(f"  {name:24s} {med * 1e6:8.1f} us  {med / floor:5.2f}x  {reqs}")
    for name, ms in first.items():
        print(f"  first call, {name}: {ms:.1f} ms wall (fetches the 33 KB schema)")
    print("target: each <= 1.30x the raw floor after the first call, 1 request per call")


if __name__ == "__main__":
    main()
