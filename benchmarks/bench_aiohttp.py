"""100 concurrent ``await client.predictions.get(...)`` on ``AsyncReplicate(transport="aiohttp")``
(the ``replicate-aiohttp`` plugin), against the official v2 SDK's ``AsyncReplicate`` (httpx) and
against bare aiohttp doing the same requests with a ``msgspec`` decode, in the same run.

The loopback servers and the v2 side are ``bench_async.py``'s (``_async_side.py serve`` per
response delay, ``_async_side.py v2`` under ``--v2-python``), and so is the measuring code
(``_async_side.timed_batch``: N calls at once with ``asyncio.gather``, wall and process CPU time
of the batch). Sides, against the same servers in the same run, alternating within each round:

* ours: one ``replicate.AsyncReplicate(transport="aiohttp")`` per server (one aiohttp session,
  at most 100 connections);
* bare: one ``aiohttp.ClientSession`` per server (a ``TCPConnector`` of the same limit), each
  call a GET with the same headers, ``await resp.read()``, and a ``msgspec.json.Decoder`` of a
  plain copy of ``Prediction`` (``_bare.bare_copy``): the floor for a client on aiohttp;
* v2: ``replicate==2.0.0b4``'s ``AsyncReplicate`` (httpx, default limits), in its own
  interpreter.

Per side and delay: requests/s (N / the batch's wall time) and CPU per request (the process's
CPU time over the batch), medians over rounds (``REPLICATE_PLUGINS=aiohttp``: no other installed
plugin, an observer say, is loaded into our client and measured with it); the ratios are the
medians of the per-round ratios. Targets (issue 9): ours/v2 throughput >= 2x; ours/bare CPU
<= 1.25x.

    python benchmarks/bench_aiohttp.py [--requests 100] [--rounds 9] [--delays 0,20]
                                       [--v2-python /tmp/v2venv/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# Only this plugin loads: other installed plugins (observers, auth) would be measured too.
os.environ["REPLICATE_PLUGINS"] = "aiohttp"

import _anchor  # noqa: E402
import aiohttp  # noqa: E402
import msgspec  # noqa: E402
from _async_side import PID, timed_batch  # noqa: E402
from _bare import bare_copy  # noqa: E402
from bench_async import SETTLE_S, V2AsyncSide, print_footer, start_server  # noqa: E402

import replicate  # noqa: E402
from replicate._config import user_agent  # noqa: E402
from replicate.types import Prediction  # noqa: E402

THROUGHPUT_TARGET = 2.0
CPU_TARGET = 1.25
LIMIT = 100


class Bare:
    """Bare aiohttp: the same GET and headers, the body decoded by msgspec into a plain struct."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/predictions/{PID}"
        self.headers = {
            "Authorization": "Bearer r8_bench",
            "Accept": "application/json",
            "User-Agent": user_agent(),
        }
        self.decoder = msgspec.json.Decoder(bare_copy(Prediction))
        self.session: aiohttp.ClientSession | None = None

    async def get(self) -> Any:
        session = self.session
        if session is None:
            session = self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=LIMIT),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=60),
            )
        async with session.get(self.url, headers=self.headers, allow_redirects=False) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"bare side: status {resp.status}")
        return self.decoder.decode(body)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="gets per batch")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--delays", default="0,20", help="server delays, ms, comma-separated")
    _anchor.add_argument(parser)
    args = parser.parse_args()
    n: int = args.requests
    delays = [float(d) for d in args.delays.split(",")]
    started = time.perf_counter()

    sides = ["ours", "bare", "v2"] if args.v2_python else ["ours", "bare"]
    if not args.v2_python:
        _anchor.explain_missing("python benchmarks/bench_aiohttp.py")
    samples: dict[tuple[str, float], list[dict[str, Any]]] = {
        (side, d): [] for side in sides for d in delays
    }
    servers: dict[float, Any] = {}
    v2: V2AsyncSide | None = None
    loop = asyncio.new_event_loop()
    try:
        for d in delays:
            servers[d] = start_server(d)
        if args.v2_python:
            v2 = V2AsyncSide(args.v2_python)
        urls = {d: f"http://127.0.0.1:{port}/v1" for d, (_, port) in servers.items()}
        ours = {
            d: replicate.AsyncReplicate(bearer_token="r8_bench", base_url=u, transport="aiohttp")
            for d, u in urls.items()
        }
        bares = {d: Bare(u) for d, u in urls.items()}

        def batch(side: str, d: float) -> dict[str, Any]:
            if side == "v2":
                assert v2 is not None
                return v2.ask(f"batch {servers[d][1]} {n}")
            if side == "bare":
                return loop.run_until_complete(timed_batch(bares[d].get, n))
            get = ours[d].predictions.get
            return loop.run_until_complete(timed_batch(lambda: get(prediction_id=PID), n))

        for d in delays:  # warm up: connections, decoders
            for side in sides:
                batch(side, d)
        for r in range(args.rounds):
            for d in delays:
                order = sides[r % len(sides) :] + sides[: r % len(sides)]
                for side in order:
                    time.sleep(SETTLE_S)
                    samples[side, d].append(batch(side, d))
        for client in ours.values():
            loop.run_until_complete(client.close())
        for bare in bares.values():
            loop.run_until_complete(bare.close())
    finally:
        if v2 is not None:
            v2.close()
        loop.close()
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()

    def rps(s: dict[str, Any]) -> float:
        return n / float(s["wall_s"])

    def ratio(a: str, b: str, d: float, of: Any) -> float:
        return statistics.median(
            of(x) / of(y) for x, y in zip(samples[a, d], samples[b, d], strict=True)
        )

    print(
        f"{n} concurrent predictions.get per batch, {args.rounds} rounds; aiohttp "
        f"{aiohttp.__version__}, Python {sys.version.split()[0]}"
    )
    print()
    header = f"{'side':34} {'delay':>6} {'req/s':>7} {'CPU us/req':>11}"
    print(header)
    print("-" * len(header))
    labels = {
        "ours": 'ours AsyncReplicate("aiohttp")',
        "bare": "bare aiohttp + msgspec",
        "v2": "v2 AsyncReplicate (httpx)",
    }
    for d in delays:
        for side in sides:
            s = samples[side, d]
            rate = statistics.median(rps(x) for x in s)
            cpu = statistics.median(float(x["cpu_s"]) / n for x in s) * 1e6
            print(f"{labels[side]:34} {d:4.0f}ms {rate:7.0f} {cpu:11.1f}")
    print()
    for d in delays:
        cpu = ratio("ours", "bare", d, lambda x: float(x["cpu_s"]))
        verdict = "meets" if cpu <= CPU_TARGET else "MISSES"
        line = f"{d:.0f} ms: ours/bare CPU per request {cpu:.2f}x ({verdict} <= {CPU_TARGET}x)"
        if v2 is not None:
            tput = ratio("ours", "v2", d, rps)
            verdict = "meets" if tput >= THROUGHPUT_TARGET else "MISSES"
            line += f"; ours/v2 throughput {tput:.2f}x ({verdict} >= {THROUGHPUT_TARGET:.0f}x)"
        print(line)
    print_footer(v2, started)


if __name__ == "__main__":
    main()
