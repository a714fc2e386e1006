"""Memory held by 10,000 decoded predictions, and by iterating them through pagination.

Part 1, keeping: decode 100 realistic pages of 100 predictions (~200 KB of JSON each, built from
recorded predictions, see ``_pages.py``) and keep every page. The figure is the ``tracemalloc``
current size after ``gc.collect()``, minus the same before decoding (the page bodies are made
before tracing starts, so they are not counted). Sides:

* ours: ``decoder_for(Page[Prediction]).decode(body)`` (what ``client.predictions.list()`` runs);
* plain msgspec: a plain ``msgspec.Struct`` copy with the same fields (``_bare.py``), eagerly
  decoded by ``msgspec.json.decode(body, type=BarePage)``;
* v2 (``replicate==2.0.0b4``, a child process in its own interpreter, ``_v2_side.py``):
  ``httpx.Response.json()`` + ``_process_response_data`` -> ``construct_type`` on
  ``SyncCursorURLPageWithCreatedFilters[Prediction]``, as v2 does for a list response.

Part 2, iterating: ``for p in client.predictions.list()`` over a loopback server (a separate
process) serving the same 100 pages linked by ``next``, without keeping the predictions. Reports
the peak traced memory during the loop (``tracemalloc.reset_peak()`` first) against the size of
one decoded page and of all 100 pages (part 1).

Every figure is the median of ``--runs`` (>= 7) runs, after a one-page warm-up of each decoder
(so lazily built caches are not counted). Ours and the plain copy alternate run by run; v2's
runs (~6 s each under tracemalloc) go on meanwhile in two child processes, one per core, which
memory figures allow since each process traces only its own allocations.

Targets: ours <= 1.1x plain msgspec; v2 about 1.8x.

    python benchmarks/bench_memory.py [--runs 7] [--v2-python /tmp/v2venv/bin/python]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _anchor
import _bare
import _pages

import replicate
from replicate.types import Page, Prediction, decoder_for

HERE = Path(__file__).resolve().parent
PAGES = 100


def held_after(make: Callable[[], list[Any]]) -> tuple[int, int]:
    """Traced bytes still held once ``make()``'s result is built and kept, and its item count."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    kept = make()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    items = sum(len(page.results) for page in kept)
    del kept
    gc.collect()
    return after - before, items


def start_server(pages_file: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_pages.py"), "serve", str(pages_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def iterate_peak(client: replicate.Replicate) -> tuple[int, int, int]:
    """Peak and final traced bytes (over the start) while iterating every prediction."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    count = 0
    for prediction in client.predictions.list():
        count += prediction.id is not None
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    return peak - before, current - before, count


def str_payload(pages: list[Any]) -> int:
    """Bytes of the distinct ``str`` objects the decoded pages hold (``sys.getsizeof``)."""
    seen: set[int] = set()
    total = 0
    stack: list[Any] = list(pages)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if id(value) not in seen:
                seen.add(id(value))
                total += sys.getsizeof(value)
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, msgspec.Struct):
            stack.extend(getattr(value, f) for f in value.__struct_fields__)
    return total


def mb(n: float) -> str:
    return f"{n / 1e6:7.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per side (>= 7)")
    _anchor.add_argument(parser)
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")

    bodies, origin = _pages.make_bodies(PAGES)
    tmp = tempfile.TemporaryDirectory(prefix="bench-memory-")
    pages_file = Path(tmp.name) / "pages.jsonl"
    _pages.write_lines(bodies, pages_file)
    ours_decoder = decoder_for(Page[Prediction])
    bare_type = _bare.bare_page(Prediction)
    bare_decoder = msgspec.json.Decoder(bare_type)
    local: dict[str, Callable[[], list[Any]]] = {
        "ours Page[Prediction]": lambda: [ours_decoder.decode(b) for b in bodies],
        "plain msgspec structs": lambda: [bare_decoder.decode(b) for b in bodies],
    }
    samples: dict[str, list[int]] = {label: [] for label in local}
    counts: dict[str, int] = {}

    v2_label = "v2 pydantic (construct)"
    children: list[_anchor.V2Side] = []
    if args.v2_python:
        # v2 takes ~6 s a run under tracemalloc: two children share the load, each in its own
        # process (memory figures don't mind running side by side).
        children = [_anchor.V2Side(args.v2_python, "memory", pages_file) for _ in range(2)]
        samples[v2_label] = []
    else:
        _anchor.explain_missing("python benchmarks/bench_memory.py")

    server, port = start_server(pages_file)
    iter_samples: list[tuple[int, int, int]] = []
    v2_results: list[dict[str, Any]] = []
    threads: list[threading.Thread] = []
    for decoder in (ours_decoder, bare_decoder):  # warm up before tracing starts
        decoder.decode(bodies[0])
    tracemalloc.start()
    try:
        for child in children:
            child.ask("warm")
        client = replicate.Replicate(
            bearer_token="r8_bench", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
        )
        # v2's runs go on in the children (one thread each, waiting on its pipe) while this
        # process runs ours and the plain copy, alternating their order, then part 2.
        threads = []
        for i, child in enumerate(children):
            share = args.runs // len(children) + (i < args.runs % len(children))
            thread = threading.Thread(
                target=lambda c=child, n=share: v2_results.extend(c.ask("keep") for _ in range(n))
            )
            thread.start()
            threads.append(thread)
        t0 = time.perf_counter()
        for r in range(args.runs):
            for label in list(local) if r % 2 == 0 else list(reversed(local)):
                held, items = held_after(local[label])
                samples[label].append(held)
                counts[label] = items
        t1 = time.perf_counter()
        # Part 2, after a warm-up iteration (connection pool, decoder).
        iterate_peak(client)
        for _ in range(args.runs):
            iter_samples.append(iterate_peak(client))
        client.close()
        t2 = time.perf_counter()
        for thread in threads:
            thread.join()
        t3 = time.perf_counter()
        for result in v2_results:
            samples[v2_label].append(int(result["bytes"]))
            counts[v2_label] = int(result["items"])
    finally:
        tracemalloc.stop()
        server.terminate()
        server.wait()
        for child in children:
            child.close()
        tmp.cleanup()

    med = {label: statistics.median(s) for label, s in samples.items()}
    plain = med["plain msgspec structs"]
    ours = med["ours Page[Prediction]"]
    total_json = sum(len(b) for b in bodies)
    print(
        f"{PAGES} pages x {_pages.PER_PAGE} predictions, {total_json / 1e6:.1f} MB of JSON "
        f"({origin})\ntracemalloc bytes held after gc.collect(), median of {args.runs} runs\n"
    )
    print(f"{'kept':28} {'items':>6} {'held':>10} {'per item':>9} {'vs plain':>9}")
    for label in samples:
        print(
            f"{label:28} {counts[label]:6d} {mb(med[label])} {med[label] / counts[label]:7.0f} B"
            f" {med[label] / plain:8.2f}x"
        )
    decoded = [ours_decoder.decode(b) for b in bodies]
    strings = str_payload(decoded) / counts["ours Page[Prediction]"]
    del decoded
    per_item = ours / counts["ours Page[Prediction]"]
    print(
        f"\nof ours' {per_item:.0f} B per prediction, {strings:.0f} B "
        f"({strings / per_item:.0%}) are the str payload (logs, URLs, ids...),\n"
        f"about the same on every side; the ratios below are diluted by it."
    )
    print(f"ours / plain msgspec : {ours / plain:.2f}x  (target <= 1.10x)")
    if children:
        print(f"v2 / plain msgspec   : {med[v2_label] / plain:.2f}x  (about 1.8x expected)")
        print(f"v2 / ours            : {med[v2_label] / ours:.2f}x")
        extra = (med[v2_label] - ours) / counts[v2_label]
        print(
            f"v2 - ours            : {extra:.0f} B more per prediction; excluding the str "
            f"payload, v2 / ours = {(per_item - strings + extra) / (per_item - strings):.1f}x"
        )

    peak = statistics.median(s[0] for s in iter_samples)
    after = statistics.median(s[1] for s in iter_samples)
    seen = iter_samples[0][2]
    one_page = ours / PAGES
    one_body = total_json / PAGES
    print(
        f"\niterating client.predictions.list() over {PAGES} loopback pages "
        f"({seen} predictions), median of {args.runs} runs"
    )
    print(f"  peak traced during the loop : {mb(peak)}")
    print(f"  held after the loop         : {mb(after)}")
    print(f"  one decoded page (avg)      : {mb(one_page)}   -> peak = {peak / one_page:.1f} pages")
    print(f"  one page of JSON (avg)      : {mb(one_body)}")
    print(f"  all {PAGES} pages decoded      : {mb(ours)}   -> peak = {peak / ours:.1%} of all")
    v2_secs = [float(r["seconds"]) for r in v2_results]
    print(
        f"\nwall time: part 1 (ours, plain) {t1 - t0:.1f} s, part 2 {t2 - t1:.1f} s, "
        f"then waiting for v2 {t3 - t2:.1f} s"
        + (f"; v2 runs took {statistics.median(v2_secs):.1f} s each" if v2_secs else "")
    )


if __name__ == "__main__":
    main()
