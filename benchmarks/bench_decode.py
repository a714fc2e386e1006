"""Decoding a page of 100 predictions (~200 KB of JSON): ours, bare msgspec, and the official SDK.

The page is built from real recorded predictions (see ``_pages.py``). Sides, each decoding the
same bytes into page + 100 prediction objects:

* ours, ``decoder_for(Page[Prediction]).decode(body)``: what the SDK's list methods run;
* ours, ``Response(...).parse(Page[Prediction])``: the same, as users call it on a raw response;
* bare msgspec, ``msgspec.json.decode(body, type=BarePage)``: a plain ``msgspec.Struct`` copy of
  our types (same fields and types, no base-class options, no ``__post_init__``), the floor;
* v2 (``replicate==2.0.0b4``, its own interpreter): ``httpx.Response.json()`` then
  ``_process_response_data(cast_to=SyncCursorURLPageWithCreatedFilters[Prediction])``, i.e.
  ``construct_type`` as v2 does by default, and ``validate_type`` as it does with
  ``_strict_response_validation=True``.

Each run times N decodes in CPU time (``time.process_time``), after a ``gc.collect()`` and with
the cyclic GC off (as ``timeit`` does). A round runs every side once, in alternating order, so
the shared machine's noise (which drifts by tens of percent over seconds) hits every side alike.
The table shows each side's median ms per page over the rounds, and its ratio to bare msgspec as
the median of the per-round ratios (each ratio taken between runs of the same round).

Targets: ours >= 10x faster than v2 (default path), ours <= 1.3x bare msgspec.

    python benchmarks/bench_decode.py [--runs 9] [--v2-python /tmp/v2venv/bin/python]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _anchor
import _bare
import _pages

from replicate._http import Response
from replicate.types import Page, Prediction, decoder_for

TARGET_RUN_S = 0.06  # CPU seconds per local side per run
TARGET_V2_RUN_S = 0.15  # v2 runs are longer: a round trip to the child costs ~0.1 ms


def local_sides(body: bytes) -> dict[str, Callable[[int], float]]:
    bare_type = _bare.bare_page(Prediction)
    headers = {"content-type": "application/json"}

    def timed(fn: Callable[[], object]) -> Callable[[int], float]:
        def run(n: int) -> float:
            gc.collect()
            gc.disable()  # as timeit does, on every side
            try:
                start = time.process_time()
                for _ in range(n):
                    fn()
                return time.process_time() - start
            finally:
                gc.enable()

        return run

    return {
        "ours decoder_for(Page[Prediction])": timed(
            lambda: decoder_for(Page[Prediction]).decode(body)
        ),
        "ours Response.parse(Page[Prediction])": timed(
            lambda: Response(200, headers=headers, content=body).parse(Page[Prediction])
        ),
        "bare msgspec.json.decode(type=BarePage)": timed(
            lambda: msgspec.json.decode(body, type=bare_type)
        ),
    }


def check_same(body: bytes) -> None:
    """Ours and the bare copy decode the page to the same values."""
    ours = decoder_for(Page[Prediction]).decode(body)
    bare = msgspec.json.decode(body, type=_bare.bare_page(Prediction))
    assert len(ours.results) == len(bare.results) == _pages.PER_PAGE

    def plain(value: object) -> object:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    for a, b in zip(ours.results, bare.results, strict=True):
        assert plain(msgspec.to_builtins(a)) == plain(msgspec.to_builtins(b)), a.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds (>= 7)")
    _anchor.add_argument(parser)
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")

    bodies, origin = _pages.make_bodies(1)
    body = bodies[0]
    check_same(body)
    sides = local_sides(body)
    labels = list(sides)

    tmp = tempfile.TemporaryDirectory(prefix="bench-decode-")
    v2 = None
    if args.v2_python:
        path = Path(tmp.name) / "page.json"
        _pages.write_lines([body], path)
        v2 = _anchor.V2Side(args.v2_python, "decode", path)

        def remote(kind: str) -> Callable[[int], float]:
            return lambda n: float(v2.ask(f"{kind} {n}")["cpu_s"])  # type: ignore[union-attr]

        sides["v2 construct_type (default)"] = remote("construct")
        sides["v2 validate_type (strict)"] = remote("validate")
    else:
        _anchor.explain_missing("python benchmarks/bench_decode.py")

    try:
        # Calibrate N per side (and warm up decoders, caches and pydantic's schemas).
        counts = {}
        for label, run in sides.items():
            run(2)
            per = max(run(5) / 5, 1e-6)
            target = TARGET_V2_RUN_S if label.startswith("v2") else TARGET_RUN_S
            counts[label] = max(3, round(target / per))
        samples: dict[str, list[float]] = {label: [] for label in sides}
        order = list(sides)
        for r in range(args.runs):
            for label in order if r % 2 == 0 else reversed(order):
                n = counts[label]
                samples[label].append(sides[label](n) / n)
    finally:
        if v2 is not None:
            v2.close()
        tmp.cleanup()

    med = {label: statistics.median(s) for label, s in samples.items()}
    bare_label = labels[2]

    def ratio(a: str, b: str) -> float:
        """Median over rounds of a's time / b's time in the same round."""
        return statistics.median(x / y for x, y in zip(samples[a], samples[b], strict=True))

    print(
        f"page of {_pages.PER_PAGE} predictions, {len(body) / 1000:.0f} KB JSON ({origin})\n"
        f"CPU time per page decode, {args.runs} interleaved rounds, N decodes per run, "
        f"GC off while timing\n"
    )
    print(f"{'side':42} {'N':>5} {'median ms':>10} {'min..max ms':>15} {'vs bare':>8}")
    for label, s in samples.items():
        spread = f"{min(s) * 1e3:.2f}..{max(s) * 1e3:.2f}"
        print(
            f"{label:42} {counts[label]:5d} {med[label] * 1e3:10.3f} {spread:>15} "
            f"{ratio(label, bare_label):7.2f}x"
        )
    print("\n(ratios: median of the per-round ratios)")
    target = "(target <= 1.30x)"
    print(f"ours / bare msgspec             : {ratio(labels[0], bare_label):6.2f}x   {target}")
    print(f"ours via Response.parse / bare  : {ratio(labels[1], bare_label):6.2f}x")
    if v2 is not None:
        info = v2.info
        v2c, v2s = "v2 construct_type (default)", "v2 validate_type (strict)"
        print(f"v2 (default) / ours             : {ratio(v2c, labels[0]):6.1f}x   (target >= 10x)")
        print(f"v2 (default) / ours via parse   : {ratio(v2c, labels[1]):6.1f}x")
        print(f"v2 (strict validation) / ours   : {ratio(v2s, labels[0]):6.1f}x")
        print(
            f"\nv2 side: replicate {info['replicate']}, pydantic {info['pydantic']}, "
            f"httpx {info['httpx']}, Python {info['python']}"
        )
    print(f"ours: msgspec {msgspec.__version__}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
