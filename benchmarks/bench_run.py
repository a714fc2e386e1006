"""Overhead of ``client.run("owner/name", input=...)`` against a server that answers at once.

The server (a separate process) answers a sync-mode create with 201 and the finished
prediction, as the API does. Compared, in the same run and alternating:

- raw floor: urllib3 POST of the same JSON body + ``msgspec`` decode into ``Prediction``;
- ``client.run("owner/name", ...)`` (one request: the create in sync mode);
- ``client.use("owner/name")(...)`` (schema fetched once before timing; then one request).

Prints the median CPU time per call (``time.process_time``), the ratios, and the number of
HTTP requests each call made. Target: run at most 1.3x the raw floor, one request per call.

    python benchmarks/bench_run.py [--calls 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import urllib3

import replicate
from replicate.types import Prediction

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_request import start_server


class Counter:
    """Counts the requests a client sends (an observer plugin)."""

    def __init__(self) -> None:
        self.requests = 0

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        if event.kind == "request":
            self.requests += 1


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
            body = encode({"input": {"text": "Alice"}})
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

        def run_loop(n: int) -> None:
            for _ in range(n):
                client.run("replicate/hello-world", input={"text": "Alice"})

        def use_loop(n: int) -> None:
            for _ in range(n):
                hello(text="Alice")

        loops = {
            "raw urllib3 + msgspec": raw_loop(port),
            "client.run": run_loop,
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
    print("target: client.run <= 1.30x the raw floor, 1 request per call")


if __name__ == "__main__":
    main()
