"""What ``bench_async.py`` runs on both sides, and the processes it starts. Stdlib only at the top
level, so the same measuring code runs under this project's interpreter and under the official
SDK's (``--v2-python``, e.g. ``/tmp/v2venv/bin/python``; both packages are named ``replicate``).

* :func:`timed_batch` awaits N concurrent calls (``asyncio.gather``) while a ticker task sleeps
  1 ms in a loop and records, for each tick, how far past its 1 ms it woke: the event-loop stall.
* ``python _async_side.py serve DELAY_MS``: ``_server.py``'s handler (the same prediction JSON)
  answering every GET after DELAY_MS ms, with a listen backlog that takes 100 connects at once
  (``ThreadingHTTPServer``'s default of 5 would drop SYNs and add 1 s retransmits). Prints the
  port, then serves until killed.
* ``python _async_side.py v2``: the official SDK's side, one JSON object a line on stdout. It
  first prints ``{"ready": ..., versions}``; then for each ``batch PORT N`` read from stdin it
  runs :func:`timed_batch` of N ``await client.predictions.get(prediction_id=...)`` on one
  ``replicate.AsyncReplicate`` per port (made once, default settings: httpx, at most 100
  connections, 20 kept alive) in one event loop kept across batches, and answers
  ``{"wall_s", "cpu_s", "gaps_ms", "busy_ms"}``; ``quit`` ends it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

PID = "gm3qorzdhgbfurvjtvhg6dckhu"
TICK_S = 0.001


async def _ticker(gaps_ms: list[float], done: asyncio.Event, busy_ms: list[float]) -> None:
    perf, cpu = time.perf_counter, time.thread_time
    while not done.is_set():
        start, start_cpu = perf(), cpu()
        await asyncio.sleep(TICK_S)
        gaps_ms.append((perf() - start - TICK_S) * 1e3)
        busy_ms.append((cpu() - start_cpu) * 1e3)


async def timed_batch(call: Callable[[], Awaitable[Any]], n: int) -> dict[str, Any]:
    """N concurrent ``call()``s: wall and CPU seconds (this process, all threads) for the batch,
    the ticker's gaps (ms past each 1 ms sleep) while it ran, and for each tick the CPU time the
    loop's thread used meanwhile (``busy_ms``: work on the loop, as opposed to the loop's thread
    waiting, for the GIL or for a CPU). Each result's ``id`` is checked."""
    gaps_ms: list[float] = []
    busy_ms: list[float] = []
    done = asyncio.Event()
    ticker = asyncio.create_task(_ticker(gaps_ms, done, busy_ms))
    await asyncio.sleep(TICK_S)  # the ticker is running before the batch starts
    gaps_ms.clear()
    busy_ms.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(call() for _ in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done.set()
    await ticker
    if any(r.id != PID for r in results):
        raise RuntimeError("a get answered another prediction")
    return {"wall_s": wall, "cpu_s": cpu, "gaps_ms": gaps_ms, "busy_ms": busy_ms}


async def idle_gaps(seconds: float) -> list[float]:
    """The ticker's gaps on an otherwise idle loop: the floor of the stall figures."""
    gaps_ms: list[float] = []
    done = asyncio.Event()
    ticker = asyncio.create_task(_ticker(gaps_ms, done, []))
    await asyncio.sleep(seconds)
    done.set()
    await ticker
    return gaps_ms


def serve(delay_ms: float) -> None:
    from http.server import ThreadingHTTPServer

    from _server import Handler

    class Delayed(Handler):
        def do_GET(self) -> None:
            time.sleep(delay_ms / 1e3)
            super().do_GET()

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Delayed)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def v2_main() -> None:
    import httpx
    import pydantic

    import replicate

    loop = asyncio.new_event_loop()
    clients: dict[str, Any] = {}
    out = sys.stdout
    info = {
        "ready": True,
        "replicate": replicate.__version__,
        "httpx": httpx.__version__,
        "pydantic": pydantic.VERSION,
        "python": sys.version.split()[0],
    }
    print(json.dumps(info), file=out, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "batch":
            port, n = cmd[1], int(cmd[2])
            if port not in clients:
                clients[port] = replicate.AsyncReplicate(
                    bearer_token="r8_bench", base_url=f"http://127.0.0.1:{port}/v1"
                )
            result: dict[str, Any] = loop.run_until_complete(
                timed_batch(functools.partial(clients[port].predictions.get, prediction_id=PID), n)
            )
        else:
            result = {"error": f"unknown command {cmd[0]!r}"}
        print(json.dumps(result), file=out, flush=True)
    for client in clients.values():
        loop.run_until_complete(client.close())
    loop.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(float(sys.argv[2]))
    else:
        v2_main()
