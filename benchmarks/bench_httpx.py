"""CPU time per ``client.predictions.get`` through the httpx transport plugin
(``replicate-httpx``), against bare httpx doing the same request and ``msgspec`` decode.

Both sides make the same keep-alive GET to a loopback server (``_server.py``, a separate
process, so its CPU time is not counted) over an ``httpx.Client`` and decode the same body into
the same ``replicate.types.Prediction`` struct: ours is ``replicate.Replicate(transport="httpx")``
(the plugin's ``HttpxTransport`` over a client of its own), the floor ``httpx.Client.get`` plus
``msgspec.json.Decoder(Prediction).decode``. Runs alternate between the two to spread the
machine's noise evenly; the figure is the median of each side's per-request CPU time
(``time.process_time``) and their ratio.

Target (issue 9): ours at most 1.2x bare httpx. Needs the plugin installed
(``scripts/_venv.sh`` installs every plugin under ``plugins/``).

    python benchmarks/bench_httpx.py [--requests 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

import replicate
from replicate.types import Prediction

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_request import cpu_per_call, start_server

TARGET = 1.2
PREDICTION_ID = "gm3qorzdhgbfurvjtvhg6dckhu"


def bare_loop(port: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    client = httpx.Client()
    decoder = msgspec.json.Decoder(Prediction)
    url = f"http://127.0.0.1:{port}/v1/predictions/{PREDICTION_ID}"
    headers = {"Authorization": "Bearer r8_bench", "Accept": "application/json"}
    timeout = httpx.Timeout(60.0, connect=5.0)

    def run(n: int) -> None:
        get = client.get
        for _ in range(n):
            resp = get(url, headers=headers, timeout=timeout)
            if resp.status_code != 200:
                raise RuntimeError(resp.status_code)
            decoder.decode(resp.content)

    return run, client.close


def sdk_loop(port: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    # Only this plugin loads: another installed one (an observer, say) is not measured with it.
    os.environ["REPLICATE_PLUGINS"] = "httpx"
    client = replicate.Replicate(
        bearer_token="r8_bench", base_url=f"http://127.0.0.1:{port}/v1", transport="httpx"
    )
    if type(client.transport).__name__ != "HttpxTransport":
        raise SystemExit(f"expected the httpx transport, got {client.transport!r}")

    def run(n: int) -> None:
        get = client.predictions.get
        for _ in range(n):
            get(PREDICTION_ID)

    return run, client.close


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    proc, port = start_server()
    try:
        (bare, close_bare), (ours, close_ours) = bare_loop(port), sdk_loop(port)
        bare(200), ours(200)  # warm up connections, caches and decoders
        bare_samples, our_samples = [], []
        for _ in range(args.runs):
            bare_samples.append(cpu_per_call(bare, args.requests))
            our_samples.append(cpu_per_call(ours, args.requests))
        close_bare(), close_ours()
    finally:
        proc.terminate()
        proc.wait()
    bare_med, our_med = statistics.median(bare_samples), statistics.median(our_samples)
    print(
        f"{args.requests} GETs x {args.runs} runs, CPU time per request (median), "
        f"httpx {httpx.__version__}, pid {os.getpid()}"
    )
    print(f"  bare httpx + msgspec      : {bare_med * 1e6:8.1f} us")
    print(f"  predictions.get via httpx : {our_med * 1e6:8.1f} us")
    print(f"  ratio                     : {our_med / bare_med:8.2f}x  (target <= {TARGET:.2f}x)")


if __name__ == "__main__":
    main()
