"""Load: many requests at once on one client, with nothing leaking.

Against the emulator served over loopback in a child process (rate limits off; a child, so that
the descriptors counted here are the client's alone):

- 16 threads share one sync client for ``REQUESTS`` ``predictions.get`` calls (10,000 by
  default; ``REPLICATE_LOAD_REQUESTS`` sets another number);
- on each async transport (the default thread-driven one, ``httpx``, ``aiohttp``), 200
  ``predictions.get`` at once, in ``ASYNC_ROUNDS`` rounds.

Each run must have no error, no warning (``warnings`` and log records at WARNING or above, so
urllib3's "Connection pool is full" counts), no file descriptor or socket left open after
``close()`` (counted in ``/proc/self/fd``), and Python memory (tracemalloc, started after a
warm-up round) growing less than 5 MB from the second round to any later one.

``REPLICATE_SOAK_SECONDS=600`` adds a soak test: the same 16-thread load, round after round,
for that many seconds, with the same checks after each round.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import replicate

#: Requests the 16 threads make in the sync load test.
REQUESTS = int(os.environ.get("REPLICATE_LOAD_REQUESTS", "10000"))
THREADS = 16
#: Rounds the sync requests are split into: the first warms up, memory is measured from the
#: second on.
SYNC_ROUNDS = 5
#: Concurrent requests per async round, and rounds per async transport.
ASYNC_CONCURRENCY = 200
ASYNC_ROUNDS = 4
#: Growth allowed from the second round to any later one.
MEMORY_BUDGET = 5 * 1024 * 1024
SOAK_SECONDS = float(os.environ.get("REPLICATE_SOAK_SECONDS", "0") or 0)

if not sys.platform.startswith("linux"):
    pytest.skip("counts descriptors in /proc/self/fd (Linux)", allow_module_level=True)


# --- the server, in a child process ------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The emulator's base URL, served by a child process (rate limits off)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, replicate_emulator.cli as cli; sys.exit(cli.main(sys.argv[1:]))",
            "serve",
            "--port",
            "0",
            "--no-rate-limits",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "REPLICATE_PLUGINS": ""},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Replicate emulator serving http://127.0.0.1:PORT/v1"
        if "serving " not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.split("serving ", 1)[1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def prediction_id(server: str) -> str:
    """A finished prediction on the server, the one every load request gets."""
    with replicate.Replicate(bearer_token="r8_load", base_url=server) as client:
        prediction = client.predictions.create(
            version="9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426",
            input={"text": "load"},
        )
        client.predictions.get(prediction.id)
        return prediction.id


# --- what must not happen: errors, warnings, leaks ---------------------------------------------


def open_descriptors() -> tuple[int, int]:
    """(descriptors, sockets) open in this process."""
    gc.collect()
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return fds, sockets


def assert_nothing_left_open(before: tuple[int, int]) -> None:
    """No more descriptors, and no more sockets, than ``before`` (fewer is fine: a finalizer
    may close an older one meanwhile)."""
    fds, sockets = open_descriptors()
    assert fds <= before[0] and sockets <= before[1], (
        f"left open: {fds - before[0]} more descriptors, {sockets - before[1]} more sockets"
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def no_warnings_or_log_warnings() -> Iterator[None]:
    """Fail on any warning or WARNING log record (from any thread) raised inside the block."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        root.removeHandler(handler)
    assert [str(w.message) for w in caught] == []
    assert [f"{r.name}: {r.getMessage()}" for r in handler.records] == []


class MemoryRounds:
    """Python memory after each round (tracemalloc, started after the first round)."""

    def __init__(self) -> None:
        self.after: list[int] = []

    def round_done(self, index: int) -> None:
        gc.collect()
        if index == 0:
            tracemalloc.start()
        else:
            self.after.append(tracemalloc.get_traced_memory()[0])

    def stop(self) -> None:
        if tracemalloc.is_tracing():
            tracemalloc.stop()

    def check(self) -> int:
        """The largest growth from the second round to a later one (asserted under budget)."""
        growth = max(later - self.after[0] for later in self.after[1:])
        assert growth < MEMORY_BUDGET, (
            f"Python memory grew {growth / 1e6:.1f} MB from round 2 to a later round "
            f"(after each round: {[round(m / 1e6, 2) for m in self.after]} MB)"
        )
        return growth


# --- sync: 16 threads, one client ----------------------------------------------------------------


def sync_rounds(
    server: str, prediction_id: str, rounds: int | Callable[[int], bool], per_round: int
) -> tuple[int, int]:
    """Run rounds of ``per_round`` gets from 16 threads on one client; (requests, growth)."""
    more: Callable[[int], bool] = (lambda i: i < rounds) if isinstance(rounds, int) else rounds
    memory = MemoryRounds()
    done = 0
    try:
        with replicate.Replicate(bearer_token="r8_load", base_url=server) as client:

            def get(_: int) -> str:
                prediction = client.predictions.get(prediction_id)
                assert prediction.id == prediction_id and prediction.status == "succeeded"
                return prediction.id

            with ThreadPoolExecutor(THREADS, thread_name_prefix="load") as pool:
                index = 0
                while more(index):
                    # list() re-raises the first error of any request.
                    done += len(list(pool.map(get, range(per_round))))
                    memory.round_done(index)
                    index += 1
        return done, memory.check()
    finally:
        memory.stop()


def test_16_threads_share_one_client(server: str, prediction_id: str) -> None:
    before = open_descriptors()
    threads = threading.active_count()
    with no_warnings_or_log_warnings():
        done, growth = sync_rounds(server, prediction_id, SYNC_ROUNDS, REQUESTS // SYNC_ROUNDS)
    assert done == REQUESTS // SYNC_ROUNDS * SYNC_ROUNDS
    print(f"{done} requests from {THREADS} threads; memory growth after round 2: {growth} bytes")
    assert_nothing_left_open(before)
    assert threading.active_count() <= threads


if SOAK_SECONDS > 0:  # only when asked: a run of minutes has no place in the default suite

    @pytest.mark.timeout(SOAK_SECONDS + 300)  # past the suite's per-test timeout
    def test_soak(server: str, prediction_id: str) -> None:
        before = open_descriptors()
        end = time.monotonic() + SOAK_SECONDS
        with no_warnings_or_log_warnings():
            done, growth = sync_rounds(
                server, prediction_id, lambda i: i < 3 or time.monotonic() < end, 2000
            )
        assert_nothing_left_open(before)
        print(f"soak: {done} requests in {SOAK_SECONDS:.0f} s, memory growth {growth} bytes")


# --- async: 200 at once on each transport --------------------------------------------------------


@pytest.mark.parametrize("transport", ["default", "httpx", "aiohttp"])
def test_200_concurrent_async_requests(
    server: str, prediction_id: str, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_PLUGINS", "" if transport == "default" else transport)
    options: dict[str, Any] = {} if transport == "default" else {"transport": transport}

    async def main() -> None:
        memory = MemoryRounds()
        try:
            client = replicate.AsyncReplicate(bearer_token="r8_load", base_url=server, **options)
            try:
                for index in range(ASYNC_ROUNDS):
                    got = await asyncio.gather(
                        *(client.predictions.get(prediction_id) for _ in range(ASYNC_CONCURRENCY))
                    )
                    assert [p.id for p in got] == [prediction_id] * ASYNC_CONCURRENCY
                    memory.round_done(index)
            finally:
                await client.close()
            growth = memory.check()
            print(
                f"{transport}: {ASYNC_ROUNDS} x {ASYNC_CONCURRENCY}; memory growth {growth} bytes"
            )
        finally:
            memory.stop()

    before = open_descriptors()
    with no_warnings_or_log_warnings():
        asyncio.run(main())
    assert_nothing_left_open(before)
