"""Interrupts at every point of a call: Ctrl-C in sync code, task cancellation in async code.

Each case starts a call (``run()``, ``use()``, ``stream()``, ``batch()``, a file download)
against a served emulator (loopback HTTP; the repetitions take each transport plugin in turn)
whose models never finish by themselves, waits for a chosen request to reach the server (the
create, the n-th poll, the stream, the upload, the download, a request answered 429/503 before
a retry), waits a seeded random delay, then interrupts: a real SIGINT to the main thread
(``signal.pthread_kill``) or ``_thread.interrupt_main()`` in sync code, ``task.cancel()`` or an
``asyncio.wait_for`` timeout in async code. Every case must end with the interrupt raised to
the caller (never swallowed, never a normal return), and every prediction the server created in
the case must have received a cancel request and ended ``canceled`` (unless it had already
finished: a download's). A second interrupt during a held create stops at once. A few cases
interrupt a child process with a real Ctrl-C (``interrupt_child.py``), and a loaded variant
repeats some points with busy-loop processes competing for the CPUs.

Run: ``pytest tests/reliability/test_interrupts.py``. ``REPLICATE_STRESS_REPEAT`` sets the
repetitions per point (default 3; the loaded variant takes a third of that) and
``REPLICATE_STRESS_SEED`` seeds the delays (default 12). The stress variant:
``REPLICATE_STRESS_REPEAT=200 pytest tests/reliability/test_interrupts.py``; a summary line
(interrupt points, cases) is printed at the end of the module.
"""

from __future__ import annotations

import _thread
import asyncio
import functools
import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import default_sigint  # type: ignore[import-not-found]
from replicate_emulator import File, Input
from replicate_emulator.app import Emulator
from replicate_emulator.predictors import sleep as model_sleep
from replicate_emulator.server import Server, serve

import replicate

REPEAT = int(os.environ.get("REPLICATE_STRESS_REPEAT", "3"))
#: Repetitions per point of the loaded variant (each case there is slower).
LOADED_REPEAT = max(1, REPEAT // 3)
SEED = int(os.environ.get("REPLICATE_STRESS_SEED", "12"))
#: How long a model runs unless canceled: far longer than any case.
FOREVER = 60.0
#: The longest wait for a case's trigger request, or for the server to see a cancel through.
PATIENCE = 20.0
CHILD = Path(__file__).with_name("interrupt_child.py")
#: The longest a call may take to end after its first interrupt: the create's 1 s window (its
#: answer is awaited to learn the id) and the cancel, with a loaded machine's margin.
SETTLE = 10.0


# --- the models: none finishes by itself within a case ------------------------------------------


def forever(seconds: float = Input(default=FOREVER)) -> str:
    """Runs until canceled."""
    model_sleep(seconds)
    return "finished"


def forever_stream(delay: float = Input(default=0.02)) -> Iterator[str]:
    """Streams a token every ``delay`` seconds until canceled."""
    for index in range(int(FOREVER / max(delay, 0.001))):
        if index:
            model_sleep(delay)
        yield f"t{index} "


def takes_file(data: Path) -> str:
    """Reads its file input, then runs until canceled."""
    model_sleep(FOREVER)
    return str(len(data.read_bytes()))


def big_file(size: int = Input(default=1 << 20)) -> File:
    """Finishes at once with a file of ``size`` bytes (the download is the slow part)."""
    return File(b"x" * size, "big.bin", "application/octet-stream")


MODELS = [
    ("acme/forever", forever),
    ("acme/running", forever),
    ("acme/forever-stream", forever_stream),
    ("acme/takes-file", takes_file),
    ("acme/big-file", big_file),
]

# --- the server and what it saw -----------------------------------------------------------------

_CANCEL = re.compile(r"/v1/predictions/([^/]+)/cancel")


class Tap:
    """Watches the requests the served emulator receives: an event per watched request (what
    the interrupters wait for), and the ids of the predictions a cancel was asked for."""

    def __init__(self, emulator: Emulator) -> None:
        self._lock = threading.Lock()
        self._watches: list[tuple[str, re.Pattern[str], list[int], threading.Event]] = []
        self.cancels: set[str] = set()
        handle = emulator.handle

        def tapped(req: Any) -> Any:
            self._arrived(req.method, req.path)
            return handle(req)

        emulator.handle = tapped  # type: ignore[method-assign]

    def watch(self, method: str, path: str, nth: int = 1) -> threading.Event:
        """An event set when the ``nth`` request ``method`` to a path matching ``path`` (a regex)
        arrives, before it is answered."""
        event = threading.Event()
        with self._lock:
            self._watches.append((method, re.compile(path), [nth], event))
        return event

    def clear(self) -> None:
        with self._lock:
            self._watches.clear()

    def _arrived(self, method: str, path: str) -> None:
        with self._lock:
            found = _CANCEL.fullmatch(path)
            if method == "POST" and found:
                self.cancels.add(found.group(1))
            for want, pattern, left, event in self._watches:
                if want == method and pattern.fullmatch(path):
                    left[0] -= 1
                    if left[0] == 0:
                        event.set()


@dataclass
class Site:
    """The module's served emulator, its tap, and a latch that releases the fault latencies a
    test holds requests with (so that closing the server never waits on them)."""

    server: Server
    emulator: Emulator
    tap: Tap
    release: threading.Event
    forever_version: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    emulator = Emulator(
        models=MODELS,
        rate_limits=False,
        workers=256,
        entry_points=False,
        # A sync-mode answer whose status is past "starting" counts as the complete output:
        # these stay "starting" through any window, so that only an interrupt ends the call.
        start_delay={"acme/forever": FOREVER, "acme/takes-file": FOREVER},
    )
    release = threading.Event()
    emulator.faults.sleep = release.wait  # type: ignore[assignment]
    tap = Tap(emulator)
    server = serve(emulator, port=0)
    found = Site(server, emulator, tap, release)
    with replicate.Replicate(bearer_token="r8_interrupts", base_url=server.base_url) as client:
        model = client.models.get(model_owner="acme", model_name="forever")
        assert model.latest_version is not None
        found.forever_version = model.latest_version.id
    try:
        yield found
    finally:
        release.set()
        server.close()
        emulator.close()
        counts = found.counts
        if counts:
            line = (
                f"interrupts: {len(counts)} (point, client) pairs, {sum(counts.values())} cases, "
                f"REPLICATE_STRESS_REPEAT={REPEAT} seed={SEED}"
            )
            plugins = request.config.pluginmanager
            reporter = plugins.get_plugin("terminalreporter")
            capture = plugins.get_plugin("capturemanager")
            if reporter is not None and capture is not None:
                with capture.global_and_fixture_disabled():  # shown, not captured
                    reporter.write_line("")
                    reporter.write_line(line)


@pytest.fixture(autouse=True)
def _fresh_site(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "site" in request.fixturenames:
        site: Site = request.getfixturevalue("site")
        site.emulator.faults.clear()
        site.tap.clear()


# --- delivering an interrupt --------------------------------------------------------------------


class Interrupter:
    """A thread that waits for ``trigger``, then ``delay`` seconds, then calls ``fire`` (and,
    with ``again``, once more that many seconds later, or that long after ``then`` is set),
    unless the case ended first."""

    def __init__(
        self,
        fire: Callable[[], object],
        trigger: threading.Event,
        delay: float,
        again: float | None = None,
        then: threading.Event | None = None,
    ) -> None:
        self.fire = fire
        self.then = then
        self.trigger = trigger
        self.delay = delay
        self.again = again
        self.fired: list[float] = []
        self.triggered = False
        self._stopped = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if not self.trigger.wait(PATIENCE) or self._stopped:
            return
        self.triggered = True
        pauses = [self.delay] if self.again is None else [self.delay, self.again]
        for index, pause in enumerate(pauses):
            if index and self.then is not None and not self.then.wait(PATIENCE):
                return
            if pause > 0:
                self._wake.wait(pause)  # the varied timing under test (stop() cuts it short)
            with self._lock:
                if self._stopped:
                    return
                self.fired.append(time.monotonic())
                self.fire()

    def stop(self) -> int:
        """End the case; returns how many interrupts reached the caller after its call ended
        (one delivered just as it ended is raised here, and counted)."""
        late = 0
        while True:
            try:
                with self._lock:
                    self._stopped = True
                self._wake.set()
                self.trigger.set()
                if self.then is not None:
                    self.then.set()
                self._thread.join()
                if self.fired and self.fire is not _noop:
                    time.sleep(0)  # let a signal delivered at the very end be handled here
                return late
            except KeyboardInterrupt:
                late += 1


def _noop() -> None:
    pass


def sigint_main() -> None:
    """A real SIGINT, to the main thread: it interrupts a blocking socket read (EINTR)."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def interrupt_main() -> None:
    """The SIGINT Python would see, without the system call being interrupted."""
    _thread.interrupt_main()


@dataclass
class Outcome:
    kind: str  # "interrupted", "returned" or "raised"
    value: Any = None
    elapsed: float = 0.0
    late: int = 0
    fired: list[float] = field(default_factory=list)
    ended: float = 0.0
    triggered: bool = False


def run_sync_case(
    call: Callable[[], Any],
    trigger: threading.Event,
    delay: float,
    fire: Callable[[], None],
    again: float | None = None,
    then: threading.Event | None = None,
) -> Outcome:
    """Run ``call`` in the main thread while an :class:`Interrupter` interrupts it."""
    assert threading.current_thread() is threading.main_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    started = time.monotonic()
    interrupter = Interrupter(fire, trigger, delay, again, then)
    outcome: Outcome
    try:
        value = call()
        outcome = Outcome("returned", value)
    except KeyboardInterrupt as exc:
        outcome = Outcome("interrupted", exc)
    except BaseException as exc:
        outcome = Outcome("raised", exc)
    outcome.ended = time.monotonic()
    outcome.elapsed = outcome.ended - started
    outcome.late = interrupter.stop()
    outcome.fired = interrupter.fired
    outcome.triggered = interrupter.triggered
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    return outcome


def run_async_case(
    call: Callable[[], Awaitable[Any]],
    trigger: threading.Event,
    delay: float,
    mode: str,
    again: float | None = None,
    then: threading.Event | None = None,
) -> Outcome:
    """Run ``call()`` as a task in a fresh event loop; ``mode`` "cancel" cancels the task once
    ``trigger`` is set and ``delay`` has passed (twice with ``again``), "wait_for" runs it under
    ``asyncio.wait_for`` with a timeout of ``delay`` after the trigger was armed."""

    async def main() -> Outcome:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        if mode == "wait_for":
            interrupter = Interrupter(_noop, trigger, 0.0)
            try:
                value = await asyncio.wait_for(call(), timeout=delay)
                outcome = Outcome("returned", value)
            except (asyncio.TimeoutError, TimeoutError) as exc:
                outcome = Outcome("interrupted", exc)
            except BaseException as exc:
                outcome = Outcome("raised", exc)
        else:
            task = asyncio.ensure_future(call())
            interrupter = Interrupter(
                lambda: loop.call_soon_threadsafe(task.cancel), trigger, delay, again, then
            )
            try:
                value = await task
                outcome = Outcome("returned", value)
            except asyncio.CancelledError as exc:
                outcome = Outcome("interrupted", exc)
            except BaseException as exc:
                outcome = Outcome("raised", exc)
        outcome.ended = time.monotonic()
        outcome.elapsed = outcome.ended - started
        interrupter.stop()
        outcome.fired = interrupter.fired
        outcome.triggered = interrupter.triggered
        return outcome

    return asyncio.run(main())


# --- the points ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """One case's call, what it waits for on the server, and the delay after it."""

    trigger: threading.Event
    delay: float
    sync: Callable[[replicate.Replicate], Any]
    aio: Callable[[replicate.AsyncReplicate], Awaitable[Any]]
    #: Whether the created prediction may legitimately have finished (a download's).
    finishes: bool = False
    env: dict[str, str] = field(default_factory=dict)


_CREATE = r"/v1/models/acme/[^/]+/predictions|/v1/predictions"
_POLL = r"/v1/predictions/[^/]+"
_STREAM = r"/v1/predictions/[^/]+/stream|/stream/.*|.*/stream"


def _consume(iterator: Iterator[Any]) -> str:
    return "".join(str(item) for item in iterator)


async def _aconsume(iterator: Any) -> str:
    return "".join([str(item) async for item in iterator])


def _plan(point: str, site: Site, rng: random.Random) -> Plan:
    """The case of ``point`` with this repetition's random choices (server faults included)."""
    tap, faults = site.tap, site.emulator.faults
    forever_input = {"seconds": FOREVER}
    if point == "start":
        # interrupted within milliseconds of the call: before or while the create is sent
        trigger = threading.Event()
        trigger.set()
        wait = rng.choice([1, False])
        return Plan(
            trigger,
            rng.uniform(0.0, 0.01),
            lambda c: c.run("acme/forever", input=forever_input, wait=wait),
            lambda c: c.run("acme/forever", input=forever_input, wait=wait),
        )
    if point == "schema":
        # the version's schema is fetched (held by the server) before the create
        faults.add(route="GET /v1/models/{owner}/{name}/versions/{version_id}", latency=0.5)
        ref = f"acme/forever:{site.forever_version}"
        return Plan(
            tap.watch("GET", r"/v1/models/acme/forever/versions/.+"),
            rng.uniform(0.0, 0.3),
            lambda c: c.run(ref, input=forever_input, wait=1),
            lambda c: c.run(ref, input=forever_input, wait=1),
        )
    if point == "held-create":
        return Plan(
            tap.watch("POST", _CREATE),
            rng.uniform(0.0, 0.8),
            lambda c: c.run("acme/forever", input=forever_input, wait=1),
            lambda c: c.run("acme/forever", input=forever_input, wait=1),
        )
    if point == "poll":
        interval = rng.choice([0.02, 0.1, 0.5])
        if rng.random() < 0.5:  # a slow poll: the interrupt lands in its read, not the sleep
            faults.add(route="GET /v1/predictions/{id}", latency=0.1)
        return Plan(
            tap.watch("GET", _POLL, nth=rng.randint(1, 2 if interval > 0.2 else 3)),
            rng.uniform(0.0, interval + 0.1),
            lambda c: c.run("acme/running", input=forever_input, wait=False),
            lambda c: c.run("acme/running", input=forever_input, wait=False),
            env={"REPLICATE_POLL_INTERVAL": str(interval)},
        )
    if point == "poll-retry":
        # a poll answered 503: the client sleeps its backoff before the next attempt
        faults.add(route="GET /v1/predictions/{id}", status=503, times=2)
        return Plan(
            tap.watch("GET", _POLL),
            rng.uniform(0.0, 0.4),
            lambda c: c.run("acme/running", input=forever_input, wait=False),
            lambda c: c.run("acme/running", input=forever_input, wait=False),
            env={"REPLICATE_POLL_INTERVAL": "0.05"},
        )
    if point == "create-retry":
        # the create is throttled (429, Retry-After: 1): the client sleeps, then sends it again
        faults.add(route="POST /v1/models/{owner}/{name}/predictions", burst_429=1)
        return Plan(
            tap.watch("POST", _CREATE),
            rng.uniform(0.0, 1.2),
            lambda c: c.run("acme/forever", input=forever_input, wait=False),
            lambda c: c.run("acme/forever", input=forever_input, wait=False),
        )
    if point == "stream":
        return Plan(
            tap.watch("GET", r".*stream.*"),
            rng.uniform(0.0, 0.3),
            lambda c: _consume(c.stream("acme/forever-stream", input={})),
            lambda c: _aconsume(c.stream("acme/forever-stream", input={})),
        )
    if point == "use":
        wait = rng.choice([1, False])  # the create held, or polls
        return Plan(
            tap.watch("POST", _CREATE),
            rng.uniform(0.0, 0.5),
            lambda c: c.use("acme/forever").with_options(wait=wait)(**forever_input),
            lambda c: c.use("acme/forever").with_options(wait=wait)(**forever_input),
        )
    if point == "use-stream":
        return Plan(
            tap.watch("GET", r".*stream.*"),
            rng.uniform(0.0, 0.3),
            lambda c: _consume(c.use("acme/forever-stream", streaming=True)()),
            lambda c: _ause_stream(c),
        )
    if point == "upload":
        faults.add(route="POST /v1/files", latency=0.5)
        payload = b"u" * rng.choice([10, 1 << 16, 1 << 20])
        # a short window: an interrupt that lands after the upload waits for the create's answer
        wait = rng.choice([1, False])
        return Plan(
            tap.watch("POST", r"/v1/files"),
            rng.uniform(0.0, 0.6),
            lambda c: c.run("acme/takes-file", input={"data": io.BytesIO(payload)}, wait=wait),
            lambda c: c.run("acme/takes-file", input={"data": io.BytesIO(payload)}, wait=wait),
        )
    if point in ("download-read", "download-save"):
        faults.add(route="GET /emulator/outputs/*", latency=0.5)
        size = rng.choice([1 << 19, 1 << 20, 8 << 20])  # over the emulator's 256 KiB inline limit
        target = Path(os.environ["INTERRUPTS_TMP"]) / f"out-{rng.random():.6f}.bin"
        save = point == "download-save"

        def download(c: replicate.Replicate) -> Any:
            output = c.run("acme/big-file", input={"size": size})
            return output.save(target) if save else output.read()

        async def adownload(c: replicate.AsyncReplicate) -> Any:
            output = await c.run("acme/big-file", input={"size": size})
            return await (output.save(target) if save else output.read())

        return Plan(
            tap.watch("GET", r"/emulator/outputs/.+"),
            rng.uniform(0.0, 0.3),
            download,
            adownload,
            finishes=True,
        )
    if point in ("batch-create", "batch-poll"):
        # several predictions at once: the interrupt lands while some creates are open (held)
        # or while they are all polled; each one created must be canceled
        size = rng.randint(2, 5)
        inputs = [{"seconds": FOREVER} for _ in range(size)]
        held = point == "batch-create"
        wait = 1 if held else False
        watched = ("POST", _CREATE) if held else ("GET", _POLL)

        async def abatch(c: replicate.AsyncReplicate) -> list[Any]:
            return [r async for r in c.batch("acme/forever", inputs, concurrency=size, wait=wait)]

        return Plan(
            tap.watch(*watched, nth=rng.randint(1, size)),
            rng.uniform(0.0, 0.5),
            lambda c: list(c.batch("acme/forever", inputs, concurrency=size, wait=wait)),
            abatch,
            env={"REPLICATE_POLL_INTERVAL": str(rng.choice([0.05, 0.2]))},
        )
    raise AssertionError(point)


async def _ause_stream(c: replicate.AsyncReplicate) -> str:
    iterator = await c.use("acme/forever-stream", streaming=True)()
    return await _aconsume(iterator)


POINTS = [
    "start",
    "schema",
    "held-create",
    "poll",
    "poll-retry",
    "create-retry",
    "stream",
    "use",
    "use-stream",
    "upload",
    "download-read",
    "download-save",
    "batch-create",
    "batch-poll",
]


# --- checks -------------------------------------------------------------------------------------


def _created_since(site: Site, known: set[str]) -> list[dict[str, Any]]:
    return [p for p in site.emulator.predictions() if p["id"] not in known]


def _check_server(site: Site, known: set[str], finishes: bool) -> list[str]:
    """Problems with what the server saw: a prediction created in the case that was not
    asked to cancel, or did not end canceled (a download's may have succeeded)."""
    problems: list[str] = []
    give_up = time.monotonic() + PATIENCE
    for doc in _created_since(site, known):
        pid = doc["id"]
        known.add(pid)
        status = doc.get("status")
        if finishes and status == "succeeded":
            continue
        if pid not in site.tap.cancels:
            problems.append(f"prediction {pid} ({status}) got no cancel request")
            continue
        while status != "canceled" and time.monotonic() < give_up:
            found = [p for p in site.emulator.predictions() if p["id"] == pid]
            status = found[0].get("status") if found else None
            if status != "canceled":
                time.sleep(0.01)  # the server's runner stops the model asynchronously
        if status != "canceled":
            problems.append(f"prediction {pid} ended {status!r}, not canceled")
    return problems


def _slow(outcome: Outcome) -> bool:
    """Whether the call took more than :data:`SETTLE` seconds to end after the interrupt."""
    return bool(outcome.fired) and outcome.ended - outcome.fired[0] > SETTLE


def _describe(point: str, rep: int, outcome: Outcome) -> str:
    fired = [round(t - outcome.ended, 3) for t in outcome.fired]
    return (
        f"{point} rep {rep} (seed {SEED}): {outcome.kind} {repr(outcome.value)[:200]} after "
        f"{outcome.elapsed:.3f} s; triggered={outcome.triggered} fired (s from the end)={fired} "
        f"late={outcome.late}"
    )


#: The transports the repetitions take in turn: the default (urllib3; for the async client in
#: worker threads) and each HTTP plugin of this repository.
SYNC_TRANSPORTS = ["urllib3", "httpx", "requests"]
ASYNC_TRANSPORTS = ["threaded", "httpx", "aiohttp"]


def _sync_client(site: Site, rep: int = 0) -> replicate.Replicate:
    kind = SYNC_TRANSPORTS[rep % len(SYNC_TRANSPORTS)]
    transport: Any = None
    if kind == "httpx":
        from replicate_httpx import HttpxTransport  # type: ignore[import-untyped]

        transport = HttpxTransport()
    elif kind == "requests":
        from replicate_requests import RequestsTransport  # type: ignore[import-untyped]

        transport = RequestsTransport()
    return replicate.Replicate(
        bearer_token="r8_interrupts", base_url=site.server.base_url, transport=transport
    )


def _async_client(site: Site, rep: int = 0) -> replicate.AsyncReplicate:
    """A client for the running event loop (an async transport belongs to one)."""
    kind = ASYNC_TRANSPORTS[rep % len(ASYNC_TRANSPORTS)]
    transport: Any = None
    if kind == "httpx":
        from replicate_httpx import AsyncHttpxTransport

        transport = AsyncHttpxTransport()
    elif kind == "aiohttp":
        from replicate_aiohttp import AiohttpTransport  # type: ignore[import-untyped]

        transport = AiohttpTransport()
    return replicate.AsyncReplicate(
        bearer_token="r8_interrupts", base_url=site.server.base_url, transport=transport
    )


@pytest.fixture
def tmp_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTERRUPTS_TMP", str(tmp_path))
    return tmp_path


def _sync_point(site: Site, point: str, repeat: int, salt: str, monkeypatch: Any) -> None:
    rng = random.Random(f"{SEED}:sync:{point}:{salt}")
    known = {p["id"] for p in site.emulator.predictions()}
    problems: list[str] = []
    for rep in range(repeat):
        site.emulator.faults.clear()
        site.tap.clear()
        plan = _plan(point, site, rng)
        for name, value in plan.env.items():
            monkeypatch.setenv(name, value)
        fire = sigint_main if rng.random() < 0.75 else interrupt_main
        with _sync_client(site, rep) as client:
            outcome = run_sync_case(
                functools.partial(plan.sync, client), plan.trigger, plan.delay, fire
            )
        if outcome.kind != "interrupted" or outcome.late or _slow(outcome):
            problems.append(_describe(point, rep, outcome))
        problems.extend(
            f"{point} rep {rep}: {p}" for p in _check_server(site, known, plan.finishes)
        )
        site.counts[f"sync:{point}"] = site.counts.get(f"sync:{point}", 0) + 1
    assert not problems, "\n".join(problems)


def _async_point(site: Site, point: str, repeat: int, salt: str, monkeypatch: Any) -> None:
    rng = random.Random(f"{SEED}:async:{point}:{salt}")
    known = {p["id"] for p in site.emulator.predictions()}
    problems: list[str] = []
    for rep in range(repeat):
        site.emulator.faults.clear()
        site.tap.clear()
        plan = _plan(point, site, rng)
        for name, value in plan.env.items():
            monkeypatch.setenv(name, value)
        mode = "cancel" if rng.random() < 0.75 else "wait_for"
        if mode == "wait_for":  # a timeout measured from the start: anywhere in the call
            # (within the half second a download is held, for the downloads)
            plan.delay = rng.uniform(0.0, 0.45 if plan.finishes else 1.0)

        async def call(plan: Plan = plan, rep: int = rep) -> Any:
            client = _async_client(site, rep)
            try:
                return await plan.aio(client)
            finally:
                await client.close()

        outcome = run_async_case(call, plan.trigger, plan.delay, mode)
        if outcome.kind != "interrupted" or _slow(outcome):
            problems.append(_describe(f"{point} ({mode})", rep, outcome))
        problems.extend(
            f"{point} rep {rep}: {p}" for p in _check_server(site, known, plan.finishes)
        )
        site.counts[f"async:{point}"] = site.counts.get(f"async:{point}", 0) + 1
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("point", POINTS)
def test_ctrl_c_at_every_point_is_raised_and_cancels(
    site: Site, point: str, tmp_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sync_point(site, point, REPEAT, "quiet", monkeypatch)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("point", POINTS)
def test_task_cancellation_at_every_point_propagates_and_cancels(
    site: Site, point: str, tmp_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _async_point(site, point, REPEAT, "quiet", monkeypatch)


# --- with the machine loaded --------------------------------------------------------------------

#: The points repeated while busy-loop processes compete for the CPUs: the polling run of a
#: past flake (a Ctrl-C 0.5 s into it did not interrupt it), a poll's retry, a stream, a
#: download and an upload (the held create is loaded in the child-process cases).
LOADED_POINTS = ["poll", "poll-retry", "stream", "download-read", "upload"]


@pytest.fixture
def busy() -> Iterator[int]:
    """Two busy-loop processes per CPU for the length of a test; their number."""
    count = 2 * (os.cpu_count() or 1)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield count
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("point", LOADED_POINTS)
def test_ctrl_c_on_a_loaded_machine(
    site: Site, point: str, busy: int, tmp_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sync_point(site, point, LOADED_REPEAT, "loaded", monkeypatch)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("point", ["poll", "stream"])
def test_task_cancellation_on_a_loaded_machine(
    site: Site, point: str, busy: int, tmp_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _async_point(site, point, LOADED_REPEAT, "loaded", monkeypatch)


# --- a second interrupt -------------------------------------------------------------------------

#: How long the server holds the create in the second-interrupt cases (``wait=HOLD``): the
#: call must end long before.
HOLD = 10


def _cancel_left(site: Site, known: set[str]) -> None:
    """Cancel what a case left running on purpose (a second interrupt gives up its id)."""
    with _sync_client(site) as client:
        for doc in _created_since(site, known):
            client.predictions.cancel(doc["id"])


@pytest.mark.timeout(120)
def test_a_second_ctrl_c_during_a_held_create_stops_at_once(site: Site) -> None:
    rng = random.Random(f"{SEED}:second")
    known = {p["id"] for p in site.emulator.predictions()}
    problems: list[str] = []
    for rep in range(REPEAT):
        site.tap.clear()
        trigger = site.tap.watch("POST", _CREATE)
        with _sync_client(site) as client:
            outcome = run_sync_case(
                functools.partial(
                    client.run, "acme/forever", input={"seconds": FOREVER}, wait=HOLD
                ),
                trigger,
                rng.uniform(0.0, 0.3),
                sigint_main,  # interrupt_main() would not cut the blocking read short
                again=rng.uniform(0.05, 0.3),
            )
        # the first interrupt is held while the create is open, the second ends the call
        # without waiting for the answer (HOLD s away)
        stopped = outcome.ended - outcome.fired[-1] if len(outcome.fired) == 2 else None
        if outcome.kind != "interrupted" or stopped is None or stopped > HOLD / 2:
            problems.append(_describe("second", rep, outcome))
        site.counts["sync:second"] = site.counts.get("sync:second", 0) + 1
    _cancel_left(site, known)
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(120)
def test_a_second_cancellation_during_a_held_create_stops_at_once(site: Site) -> None:
    rng = random.Random(f"{SEED}:asecond")
    known = {p["id"] for p in site.emulator.predictions()}
    problems: list[str] = []
    for rep in range(REPEAT):
        site.tap.clear()
        trigger = site.tap.watch("POST", _CREATE)

        async def call() -> Any:
            client = _async_client(site)
            try:
                return await client.run("acme/forever", input={"seconds": FOREVER}, wait=HOLD)
            finally:
                await client.close()

        outcome = run_async_case(
            call, trigger, rng.uniform(0.0, 0.3), "cancel", again=rng.uniform(0.05, 0.3)
        )
        stopped = outcome.ended - outcome.fired[-1] if len(outcome.fired) == 2 else None
        if outcome.kind != "interrupted" or stopped is None or stopped > HOLD / 2:
            problems.append(_describe("asecond", rep, outcome))
        site.counts["async:second"] = site.counts.get("async:second", 0) + 1
    _cancel_left(site, known)
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("colour", ["sync", "async"])
def test_a_second_interrupt_does_not_wait_for_the_cancel(
    site: Site, colour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first interrupt, while polling, sends the cancel; the server holds the cancel HOLD s;
    a second interrupt ends the call at once."""
    rng = random.Random(f"{SEED}:cancel:{colour}")
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    known = {p["id"] for p in site.emulator.predictions()}
    problems: list[str] = []
    for rep in range(REPEAT):
        site.emulator.faults.clear()
        site.tap.clear()
        site.emulator.faults.add(route="POST /v1/predictions/{id}/cancel", latency=HOLD)
        trigger = site.tap.watch("GET", _POLL, nth=rng.randint(1, 3))
        cancel_sent = site.tap.watch("POST", r"/v1/predictions/[^/]+/cancel")
        delay, again = rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.3)
        if colour == "sync":
            with _sync_client(site, rep) as client:
                run = functools.partial(
                    client.run, "acme/running", input={"seconds": FOREVER}, wait=False
                )
                outcome = run_sync_case(run, trigger, delay, sigint_main, again, cancel_sent)
        else:

            async def call(rep: int = rep) -> Any:
                client = _async_client(site, rep)
                try:
                    return await client.run("acme/running", input={"seconds": FOREVER}, wait=False)
                finally:
                    await client.close()

            outcome = run_async_case(call, trigger, delay, "cancel", again, cancel_sent)
        stopped = outcome.ended - outcome.fired[-1] if len(outcome.fired) == 2 else None
        if outcome.kind != "interrupted" or stopped is None or stopped > HOLD / 2:
            problems.append(_describe(f"{colour} cancel", rep, outcome))
        site.counts[f"{colour}:second-cancel"] = site.counts.get(f"{colour}:second-cancel", 0) + 1
    site.emulator.faults.clear()
    _cancel_left(site, known)
    assert not problems, "\n".join(problems)


# --- a real Ctrl-C to a child process -----------------------------------------------------------


def _child(site: Site, ref: str, wait: str, poll_interval: str = "0.5") -> subprocess.Popen[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REPLICATE_") and not key.lower().endswith("_proxy")
    }
    env.update(REPLICATE_PLUGINS="", REPLICATE_POLL_INTERVAL=poll_interval)
    return subprocess.Popen(
        [sys.executable, str(CHILD), site.server.base_url, ref, wait],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )


def _finish_child(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """The child's stdout and stderr once it exits; one still running after ``timeout`` s is
    asked for its stacks (SIGUSR1, which ``interrupt_child.py`` answers on stderr), killed, and
    reported as hung with them."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1.0)  # let it write its stacks: a diagnostic for a failure, not a sync
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the child did not exit {timeout} s after Ctrl-C:\n{out}\n{err}")


def _signal_child(
    proc: subprocess.Popen[str], trigger: threading.Event, delays: list[float]
) -> list[float]:
    """Once ``trigger`` is set, Ctrl-C the child after each of ``delays`` (seconds apart);
    when each was sent."""
    assert trigger.wait(PATIENCE), "the child's request never reached the server"
    sent = []
    for delay in delays:
        time.sleep(delay)  # the timing under test: a Ctrl-C this long into the phase
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGINT)
        sent.append(time.monotonic())
    return sent


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("point", "ref", "wait", "watched", "delay"),
    [
        # the past flake: a Ctrl-C 0.5 s into a polling run()
        ("poll", "acme/running", "false", ("GET", _POLL), 0.5),
        ("held-create", "acme/forever", "1", ("POST", _CREATE), 0.3),
    ],
)
@pytest.mark.parametrize("loaded", [False, True], ids=["quiet", "loaded"])
def test_a_real_ctrl_c_interrupts_a_child_and_cancels(
    site: Site,
    point: str,
    ref: str,
    wait: str,
    watched: tuple[str, str],
    delay: float,
    loaded: bool,
    request: pytest.FixtureRequest,
) -> None:
    if loaded:
        request.getfixturevalue("busy")
    known = {p["id"] for p in site.emulator.predictions()}
    trigger = site.tap.watch(*watched)
    proc = _child(site, ref, wait)
    try:
        _signal_child(proc, trigger, [delay])
        out, err = _finish_child(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out.split()[-1:]) == (130, ["interrupted"]), (out, err)
    problems = _check_server(site, known, finishes=False)
    assert not problems, problems
    site.counts[f"child:{point}"] = site.counts.get(f"child:{point}", 0) + 1


@pytest.mark.timeout(120)
def test_a_second_real_ctrl_c_ends_a_child_at_once(site: Site) -> None:
    known = {p["id"] for p in site.emulator.predictions()}
    trigger = site.tap.watch("POST", _CREATE)
    proc = _child(site, "acme/forever", str(HOLD))
    try:
        sent = _signal_child(proc, trigger, [0.2, 0.3])
        out, err = _finish_child(proc)
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out.split()[-1:]) == (130, ["interrupted"]), (out, err)
    assert len(sent) == 2
    # the create is held HOLD s: the second Ctrl-C did not wait for its answer
    assert ended - sent[1] < HOLD / 2, (ended - sent[1], err)
    _cancel_left(site, known)
    site.counts["child:second"] = site.counts.get("child:second", 0) + 1


# --- the driver: an interrupt while the flow takes in a create's answer ----------------------


def test_ctrl_c_while_the_flow_takes_in_a_shielded_answer_comes_at_its_next_action() -> None:
    # A Ctrl-C that lands just after a create's answer, while the flow's own code reads it (the
    # id is known, the cancel not yet armed), must reach the flow at its next action, where it
    # can cancel: never in the middle of its code, where the id would be lost.
    from replicate._drivers import Flow, Send, Sleep, drive_sync
    from replicate._http import Request, Response, Timeout
    from replicate.testing import MockTransport

    sent: list[str] = []

    def handler(request: Request) -> Response:
        sent.append(request.url)
        return Response(201, headers={}, content=b'{"id": "p1", "status": "starting"}')

    seen: list[str] = []

    def flow() -> Flow[None]:
        create = Request("POST", "https://api.test/v1/predictions")
        yield Send(create, Timeout(5), stream=False, shield=True)
        signal.raise_signal(signal.SIGINT)  # as if Ctrl-C came now
        seen.append("took the answer in")
        try:
            yield Sleep(0)
        except KeyboardInterrupt:
            seen.append("interrupted at the next action")
            cancel = Request("POST", "https://api.test/v1/predictions/p1/cancel")
            yield Send(cancel, Timeout(5), stream=False, shield=True)
            raise

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        drive_sync(flow(), MockTransport(handler))
    assert seen == ["took the answer in", "interrupted at the next action"]
    assert sent == [
        "https://api.test/v1/predictions",
        "https://api.test/v1/predictions/p1/cancel",
    ]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_while_the_flow_takes_in_the_answer_stops_it_there() -> None:
    from replicate._drivers import Flow, Send, Sleep, drive_sync
    from replicate._http import Request, Response, Timeout
    from replicate.testing import MockTransport

    seen: list[str] = []

    def flow() -> Flow[None]:
        yield Send(Request("POST", "https://api.test/v1/x"), Timeout(5), False, shield=True)
        signal.raise_signal(signal.SIGINT)
        try:
            signal.raise_signal(signal.SIGINT)  # the second: raised here, at once
        except KeyboardInterrupt:
            seen.append("second raised at once")
            raise
        yield Sleep(0)  # never reached

    with pytest.raises(KeyboardInterrupt):
        drive_sync(flow(), MockTransport(lambda r: Response(200, headers={}, content=b"{}")))
    assert seen == ["second raised at once"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
