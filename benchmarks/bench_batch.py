"""``replicate.batch`` against a sequential loop of ``run()``, on ``replicate-emulator serve``
over loopback, and the duplicate creates of an interrupted and resumed batch.

1. Wall time of 200 runs of a 50 ms model (``bench/sleep50``, served by a separate
   ``replicate-emulator serve --no-rate-limits --workers 32`` process on 127.0.0.1): a loop
   of ``client.run()`` one after another, against ``client.batch(..., concurrency=16,
   rate_limit=None)``; alternating, median of the rounds. Target: the batch at least 10x
   faster.
2. A batch of 64 inputs with a journal, interrupted (KeyboardInterrupt in its loop) once 16
   results are in, then run again with the same journal: the server's creates counted per
   input. Target: zero duplicates (every input created exactly once).

    python benchmarks/bench_batch.py [--runs 200] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import replicate

EMULATOR = Path(sys.executable).with_name("replicate-emulator")
SERVE = (str(EMULATOR), "serve", "--port", "0", "--no-rate-limits", "--quiet", "--workers", "32")
TARGET = 10.0
MODEL = "bench/sleep50"
MODELS = """
import time

import replicate_emulator


@replicate_emulator.model("bench/sleep50")
def sleep50(i: int = 0) -> int:
    time.sleep(0.05)
    return i
"""


def serve(models: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*SERVE, "--models", str(models)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Replicate emulator serving "):
            return proc, line.split()[-1]
    proc.kill()
    raise RuntimeError("replicate-emulator serve did not start")


def sequential(client: replicate.Replicate, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        if client.run(MODEL, input={"i": i}) != i:
            raise RuntimeError("a run answered another input")
    return time.perf_counter() - started


def batched(client: replicate.Replicate, n: int, concurrency: int) -> float:
    started = time.perf_counter()
    inputs = [{"i": i} for i in range(n)]
    results = list(client.batch(MODEL, inputs, concurrency=concurrency, rate_limit=None))
    wall = time.perf_counter() - started
    if len(results) != n or any(not r.ok or r.output != r.index for r in results):
        raise RuntimeError("a batch result is missing or wrong")
    return wall


def duplicates(client: replicate.Replicate, concurrency: int, journal: Path) -> tuple[int, int]:
    """Creates the server saw beyond one per input, after an interrupted and resumed batch of
    64; and how many results the interrupted run had yielded."""
    inputs = [{"i": 10_000 + i} for i in range(64)]
    seen = 0
    try:
        for _ in client.batch(
            MODEL, inputs, concurrency=concurrency, rate_limit=None, journal=journal
        ):
            seen += 1
            if seen == 16:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    resumed = list(
        client.batch(MODEL, inputs, concurrency=concurrency, rate_limit=None, journal=journal)
    )
    if sorted(r.index for r in resumed) != list(range(64)):
        raise RuntimeError("the resumed batch lost an input")
    created: Counter[int] = Counter()
    wanted = {i["i"] for i in inputs}
    for prediction in client.predictions.list():
        value = (prediction.input or {}).get("i")
        if value in wanted:
            created[value] += 1
    if set(created) != wanted:
        raise RuntimeError("an input of the resumed batch was never created")
    return sum(n - 1 for n in created.values()), seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "bench_models.py"
        models.write_text(MODELS)
        proc, url = serve(models)
        try:
            os.environ.setdefault("REPLICATE_POLL_INTERVAL", "0.05")
            with replicate.Replicate(base_url=url, bearer_token="r8_bench") as client:
                client.run(MODEL, input={"i": 0})  # warm-up: connection, schema-free path
                batched(client, 16, args.concurrency)
                seq, bat = [], []
                for _ in range(args.rounds):
                    seq.append(sequential(client, args.runs))
                    bat.append(batched(client, args.runs, args.concurrency))
                dup, seen = duplicates(client, args.concurrency, Path(tmp) / "journal.jsonl")
        finally:
            proc.terminate()
            proc.wait(10)
    s, b = statistics.median(seq), statistics.median(bat)
    ratio = s / b
    print(f"{args.runs} runs of a 50 ms model, emulator over loopback, rate limits off")
    print(
        f"  sequential run():          {s:7.3f} s  (rounds: {', '.join(f'{x:.3f}' for x in seq)})"
    )
    print(
        f"  batch(concurrency={args.concurrency}):   {b:7.3f} s  "
        f"(rounds: {', '.join(f'{x:.3f}' for x in bat)})"
    )
    print(f"  ratio: {ratio:.1f}x (target >= {TARGET:g}x)")
    print(f"interrupted after {seen} of 64 results, resumed: {dup} duplicate creates (target 0)")
    return 0 if ratio >= TARGET and dup == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
