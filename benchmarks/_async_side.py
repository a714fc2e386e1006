"""The measuring code of the runner's ``async100`` scenario, stdlib only, so that the same code
times every contender in its own interpreter (ours, the official v2 SDK's, the bare aiohttp one).

:func:`timed_batch` awaits N concurrent calls (``asyncio.gather``) while a ticker task sleeps
1 ms in a loop and records, for each tick, how far past its 1 ms it woke: the event-loop stall.
"""

from __future__ import annotations

import asyncio
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
