"""Benchmark: replicate._sse.SSEDecoder against a bare split loop over the same bytes.

Run from the repository root:

    .venv/bin/python benchmarks/bench_sse.py [--events N] [--chunk BYTES] [--runs R]

The stream imitates a language model on Replicate's stream endpoint: N ``output`` events, one
token each, with ids like ``1690212292:0``, then a ``done`` event. Four timings, each the median
of R runs (time.perf_counter):

* ``SSEDecoder``: the stream fed in CHUNK-byte pieces, producing ``ServerSentEvent`` objects;
* ``bare split loop, bytes``: ``bytes.split(b"\\n\\n")`` over the whole stream at once, then per
  line ``startswith`` checks and ``decode``, producing ``(event, data)`` tuples (no chunking, no
  ids, no CR handling, no spec corner cases: the floor a full parser is compared with);
* ``bare split loop, str``: the same after one ``decode`` of the whole stream, with
  ``str.partition`` (a stronger floor);
* ``v1-style line loop``: the v1 SDK's per-line decoder (``EventSource.Decoder.decode``) fed
  lines split from the same chunks, without httpx or pydantic (so flattering to v1).

No dependencies beyond the standard library and the ``replicate`` package itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from replicate._sse import SSEDecoder

TOKENS = [
    " Sure", "!", " Here", "'s", " a", " poem", " about", " open", " source", " machine",
    " learning", " in", " the", " style", " of", " E.", " E.", " Cummings", ":", " ",
    " a", " gift", " to", " the", " world", ",", " a", " treasure", " to", " share", " é", " 🦙",
]  # fmt: skip


def build_stream(n_events: int) -> bytes:
    parts = []
    for i in range(n_events):
        token = TOKENS[i % len(TOKENS)]
        parts.append(f"event: output\nid: 1690212292:{i}\ndata: {token}\n\n")
    parts.append("event: done\nid: 1690212292:done\ndata: {}\n\n")
    return "".join(parts).encode()


def chunked(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def run_decoder(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    decoder.flush()
    return count


def run_bare(stream: bytes) -> int:
    events = []
    for block in stream.split(b"\n\n"):
        if not block:
            continue
        event = "message"
        data = []
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                data.append(line[6:].decode())
            elif line.startswith(b"event: "):
                event = line[7:].decode()
        if data:
            events.append((event, "\n".join(data)))
    return len(events)


class V1Decoder:
    """The v1 SDK's ``EventSource.Decoder`` logic (replicate/stream.py), minus pydantic/enum."""

    def __init__(self) -> None:
        self.event: str | None = None
        self.data: list[str] = []
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def decode(self, line: str) -> tuple[str, str, str, int | None] | None:
        if not line:
            if (
                not any([self.event, self.data, self.last_event_id, self.retry])
                or self.event is None
                or self.last_event_id is None
            ):
                return None
            sse = (self.event, "\n".join(self.data), self.last_event_id, self.retry)
            self.event = None
            self.data = []
            self.retry = None
            return sse
        if line.startswith(":"):
            return None
        fieldname, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if fieldname == "event":
            self.event = value
        elif fieldname == "data":
            self.data.append(value)
        elif fieldname == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif fieldname == "retry":
            try:
                self.retry = int(value)
            except (TypeError, ValueError):
                pass
        return None


def run_v1(chunks: list[bytes]) -> int:
    # httpx's iter_lines: incremental UTF-8 decode, then a line splitter over the text.
    import codecs

    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    decoder = V1Decoder()
    count = 0
    pending = ""
    for chunk in chunks:
        text = pending + utf8.decode(chunk)
        lines = text.splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
        for line in lines:
            if decoder.decode(line.rstrip("\r\n")) is not None:
                count += 1
    return count


def run_bare_str(stream: bytes) -> int:
    # The same loop over str: one decode of the whole stream, then str.split/partition.
    events = []
    for block in stream.decode().split("\n\n"):
        if not block:
            continue
        event = "message"
        data = []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
        if data:
            events.append((event, "\n".join(data)))
    return len(events)


def median_times(fns: dict[str, Callable[[], int]], runs: int, expected: int) -> dict[str, float]:
    """Median seconds per function; the runs are interleaved so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in fns.items():  # warm-up, and check every parser finds every event
        if (n := fn()) != expected:
            raise SystemExit(f"{name} produced {n} events, expected {expected}")
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    stream = build_stream(args.events)
    chunks = chunked(stream, args.chunk)
    expected = args.events + 1

    decoder = f"SSEDecoder ({args.chunk} B chunks)"
    bare = "bare split loop, bytes (whole)"
    results = median_times(
        {
            decoder: lambda: run_decoder(chunks),
            bare: lambda: run_bare(stream),
            "bare split loop, str (whole)": lambda: run_bare_str(stream),
            f"v1-style line loop ({args.chunk} B)": lambda: run_v1(chunks),
        },
        args.runs,
        expected,
    )

    print(
        f"Python {sys.version.split()[0]}; {expected:,} events, {len(stream):,} bytes, "
        f"{len(chunks):,} chunks of {args.chunk} B; median of {args.runs} interleaved runs"
    )
    print()
    print(f"{'parser':<36}{'median ms':>11}{'events/s':>13}{'vs bare bytes':>15}")
    print("-" * 75)
    for name, seconds in results.items():
        print(
            f"{name:<36}{seconds * 1e3:>11.2f}{expected / seconds:>13,.0f}"
            f"{results[bare] / seconds:>14.2f}x"
        )
    print()
    ratio = results[bare] / results[decoder]
    print(f"SSEDecoder vs bare split loop (bytes): {ratio:.2f}x the throughput (need >= 0.8)")


if __name__ == "__main__":
    main()
