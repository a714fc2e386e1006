"""Async: several predictions at once on ``replicate.AsyncReplicate``.

    python examples/async_run.py

Starts four half-second predictions and a token stream together with ``asyncio.gather``: they
run side by side, so the whole takes about as long as the slowest, not the sum. Runs on the
offline emulator in this process (no token, no network); ``REPLICATE_BASE_URL`` or
``REPLICATE_TRANSPORT`` point it elsewhere, as in ``examples/run.py``.
"""

from __future__ import annotations

import asyncio
import os
import time

import replicate

OFFLINE = not (os.environ.get("REPLICATE_BASE_URL") or os.environ.get("REPLICATE_TRANSPORT"))
JOBS = 4
STEPS, SECONDS_PER_STEP = 5, 0.1  # each job takes about 0.5 s


async def job(client: replicate.AsyncReplicate, n: int) -> str:
    output = await client.run(
        "replicate/slow-progress", input={"steps": STEPS, "seconds_per_step": SECONDS_PER_STEP}
    )
    return f"job {n}: {output}"


async def tokens(client: replicate.AsyncReplicate) -> str:
    prompt = {"prompt": "async", "max_tokens": 8, "delay": 0.05}
    return "".join(
        [str(event) async for event in client.stream("replicate/stream-tokens", input=prompt)]
    )


async def main() -> None:
    async with replicate.AsyncReplicate(transport="emulator" if OFFLINE else None) as client:
        start = time.monotonic()
        # gather keeps the results in the order the awaitables were given.
        *results, streamed = await asyncio.gather(
            *(job(client, n) for n in range(1, JOBS + 1)), tokens(client)
        )
        elapsed = time.monotonic() - start
        for line in results:
            print(line)
        print(f"stream: {streamed}")
        print(f"{JOBS} jobs of {STEPS * SECONDS_PER_STEP:.1f} s each, together: {elapsed:.2f} s")

        # A greeting from each of several names, concurrently, on the same client.
        names = ["Ada", "Grace", "Edsger"]
        greetings = await asyncio.gather(
            *(client.run("replicate/hello-world", input={"text": name}) for name in names)
        )
        print(", ".join(greetings))


if __name__ == "__main__":
    asyncio.run(main())
