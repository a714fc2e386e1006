"""100 concurrent ``await client.predictions.get(...)`` on one ``AsyncReplicate``: event-loop
stall and throughput, against the official v2 SDK's ``AsyncReplicate`` (httpx) in the same run.

A loopback server (a separate process, ``_async_side.py serve``, answering ``_server.py``'s
prediction JSON) is started per response delay: 0 ms (the client's own cost dominates) and 20 ms
(the concurrency matters). Sides, each against the same servers in the same run:

* ours: one ``replicate.AsyncReplicate`` per server with the default transport, i.e. the sync
  urllib3 transport driven from worker threads (``replicate/transports/threaded.py``, at most
  ``pool_maxsize`` = 32 in flight);
* v2: ``replicate==2.0.0b4``'s ``AsyncReplicate`` (httpx, default limits: 100 connections, 20
  kept alive), run from its own interpreter (``--v2-python``) in a child process
  (``_async_side.py v2``) with the same measuring code;
* reference: the same N gets one after another on the sync ``replicate.Replicate``.

A batch is N gets started at once (``asyncio.gather``) while a ticker task sleeps 1 ms in a loop;
each tick's stall is how far past 1 ms it woke. Per side and delay: requests/s (N / the batch's
wall time) as the median over rounds; CPU per request (the process's CPU time, all threads,
``time.process_time``); the stall's max (the worst tick of every round), the median over rounds
of each round's worst tick, and p99 (over every tick of every round); and "loop busy": of the
time lost in ticks stalled over 5 ms, the share the loop's thread spent on a CPU
(``time.thread_time``), running callbacks, rather than waiting for the GIL or for a CPU. The
sides alternate within each round, so the machine's noise hits both; the ours/v2 ratios are the
medians of the per-round ratios. The idle line is the ticker alone on our loop: the floor of the
stall figures (timer and scheduler granularity, other processes). Target: stall max < 50 ms.

With the 0 ms server the batch is CPU-bound on the GIL (client CPU time ~ wall time): our loop
runs little per request, and its stalls are mostly the loop thread waiting for the GIL while the
worker threads run urllib3 (a low "loop busy"); v2 runs all of its (larger) per-request work on
the loop itself (a high one).

    python benchmarks/bench_async.py [--requests 100] [--rounds 9] [--delays 0,20]
                                     [--seq-rounds 3] [--v2-python /tmp/v2venv/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _anchor  # noqa: E402
from _async_side import PID, idle_gaps, timed_batch  # noqa: E402

import replicate  # noqa: E402

STALL_TARGET_MS = 50.0
#: A pause before each batch, so that one side's aftermath (the other process's sockets and
#: threads winding down) does not land in the next side's batch.
SETTLE_S = 0.1
#: Ticks stalled longer than this count in the "loop busy" share.
LONG_TICK_MS = 5.0


class V2AsyncSide(_anchor.V2Side):
    """``_async_side.py v2`` under the official SDK's interpreter."""

    def __init__(self, python: str) -> None:
        # cwd away from the project, so the child's ``import replicate`` finds v2, not ours.
        self.proc = subprocess.Popen(
            [python, str(HERE / "_async_side.py"), "v2"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tempfile.gettempdir(),
        )
        self.info = self._read()
        if not self.info.get("ready"):
            raise RuntimeError(f"v2 side did not start: {self.info}")
        if self.info.get("replicate") not in ("2.0.0b4", "2.0.0-beta.4"):
            print(f"note: v2 side runs replicate {self.info.get('replicate')}", file=sys.stderr)


def start_server(delay_ms: float) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_async_side.py"), "serve", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def sequential(client: replicate.Replicate, n: int) -> dict[str, Any]:
    get = client.predictions.get
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        if get(prediction_id=PID).id != PID:
            raise RuntimeError("a get answered another prediction")
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def busy_share(samples: list[dict[str, Any]]) -> float:
    """Of the time lost in ticks stalled past LONG_TICK_MS, the share the loop's thread was on
    a CPU (its own work) rather than waiting (for the GIL, or for a CPU)."""
    lost = busy = 0.0
    for s in samples:
        for gap, cpu in zip(s["gaps_ms"], s["busy_ms"], strict=True):
            if gap > LONG_TICK_MS:
                lost, busy = lost + gap, busy + cpu
    return busy / lost if lost else float("nan")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="gets per batch")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--delays", default="0,20", help="server delays, ms, comma-separated")
    parser.add_argument(
        "--seq-rounds", type=int, default=3, help="rounds of the sequential sync reference"
    )
    _anchor.add_argument(parser)
    args = parser.parse_args()
    n: int = args.requests
    delays = [float(d) for d in args.delays.split(",")]
    started = time.perf_counter()

    sides = ["ours", "v2"] if args.v2_python else ["ours"]
    if not args.v2_python:
        _anchor.explain_missing("python benchmarks/bench_async.py")
    samples: dict[tuple[str, float], list[dict[str, Any]]] = {
        (side, d): [] for side in [*sides, "sync"] for d in delays
    }
    servers: dict[float, tuple[subprocess.Popen[str], int]] = {}
    v2: V2AsyncSide | None = None
    loop = asyncio.new_event_loop()
    try:
        for d in delays:
            servers[d] = start_server(d)
        if args.v2_python:
            v2 = V2AsyncSide(args.v2_python)
        urls = {d: f"http://127.0.0.1:{port}/v1" for d, (_, port) in servers.items()}
        ours = {
            d: replicate.AsyncReplicate(bearer_token="r8_bench", base_url=u)
            for d, u in urls.items()
        }
        syncs = {
            d: replicate.Replicate(bearer_token="r8_bench", base_url=u) for d, u in urls.items()
        }
        threads = getattr(next(iter(ours.values())).transport, "max_threads", "?")

        def batch(side: str, d: float) -> dict[str, Any]:
            if side == "v2":
                assert v2 is not None
                return v2.ask(f"batch {servers[d][1]} {n}")
            get = ours[d].predictions.get
            return loop.run_until_complete(timed_batch(lambda: get(prediction_id=PID), n))

        for d in delays:  # warm up: connections, worker threads, decoders
            for side in sides:
                batch(side, d)
            sequential(syncs[d], 10)
        idle = loop.run_until_complete(idle_gaps(0.3))
        for r in range(args.rounds):
            for d in delays:
                for side in sides if r % 2 == 0 else sides[::-1]:
                    time.sleep(SETTLE_S)
                    samples[side, d].append(batch(side, d))
                if r < args.seq_rounds:
                    samples["sync", d].append(sequential(syncs[d], n))
        for client in ours.values():
            loop.run_until_complete(client.close())
        for sync in syncs.values():
            sync.close()
    finally:
        if v2 is not None:
            v2.close()
        loop.close()
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()

    def rps(s: dict[str, Any]) -> float:
        return n / float(s["wall_s"])

    print(
        f"{n} concurrent predictions.get per batch, {args.rounds} rounds "
        f"(sequential sync: {args.seq_rounds}); ours: AsyncReplicate, threaded urllib3 "
        f"transport, {threads} threads; Python {sys.version.split()[0]}"
    )
    print(f"idle loop (ticker alone, 0.3 s): stall max {max(idle):.2f} ms, p99 {p99(idle):.2f} ms")
    print()
    header = (
        f"{'side':30} {'delay':>6} {'req/s':>7} {'CPU us/req':>11} "
        f"{'stall max':>10} {'round max':>10} {'p99':>6} {'loop busy':>9}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "ours": "ours AsyncReplicate",
        "v2": "v2 AsyncReplicate (httpx)",
        "sync": "ours Replicate, sequential",
    }
    for d in delays:
        for side in [*sides, "sync"]:
            s = samples[side, d]
            rate = statistics.median(rps(x) for x in s)
            cpu = statistics.median(float(x["cpu_s"]) / n for x in s) * 1e6
            if side == "sync":
                stall = f"{'-':>10} {'-':>10} {'-':>6} {'-':>9}"
            else:
                gaps = [g for x in s for g in x["gaps_ms"]]
                round_max = statistics.median(max(x["gaps_ms"]) for x in s)
                stall = (
                    f"{max(gaps):7.1f} ms {round_max:7.1f} ms {p99(gaps):6.1f} {busy_share(s):8.0%}"
                )
            print(f"{labels[side]:30} {d:4.0f}ms {rate:7.0f} {cpu:11.1f} {stall}")
    print()
    for d in delays:
        gaps = [g for x in samples["ours", d] for g in x["gaps_ms"]]
        verdict = "under" if max(gaps) < STALL_TARGET_MS else "NOT under"
        round_max = statistics.median(max(x["gaps_ms"]) for x in samples["ours", d])
        print(
            f"{d:.0f} ms: ours stall max {max(gaps):.1f} ms (median round {round_max:.1f} ms): "
            f"{verdict} {STALL_TARGET_MS:.0f} ms"
        )
    if v2 is not None:
        for d in delays:
            ours_s, v2_s = samples["ours", d], samples["v2", d]
            tput = statistics.median(rps(a) / rps(b) for a, b in zip(ours_s, v2_s, strict=True))
            cpu = statistics.median(
                float(a["cpu_s"]) / float(b["cpu_s"]) for a, b in zip(ours_s, v2_s, strict=True)
            )
            print(f"{d:.0f} ms: ours/v2 throughput {tput:.2f}x, CPU per request {cpu:.2f}x")
    print_footer(v2, started)


def print_footer(v2: V2AsyncSide | None, started: float) -> None:
    """The last lines of an async benchmark's report: the v2 side's versions (or why there is
    no v2 side), how ratios are taken, and the run's total time."""
    if v2 is not None:
        info = v2.info
        print(
            f"v2 side: replicate {info['replicate']}, httpx {info['httpx']}, "
            f"pydantic {info['pydantic']}, Python {info['python']}"
        )
    else:
        print("v2 comparison skipped: no --v2-python given (or $REPLICATE_V2_PYTHON)")
    print("(ratios: median of the per-round ratios)")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
