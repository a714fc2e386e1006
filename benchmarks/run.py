"""The benchmark: this SDK against the official ones and a hand-written floor, in one run.

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME ...] [--repeat N]
                                       [--json OUT.json] [--markdown] [--list]

Contenders, each in an interpreter of its own (``_worker.py``, kept alive and driven over
stdin/stdout, so rounds interleave without paying a process start):

* ``ours-urllib3``, ``ours-httpx``, ``ours-aiohttp``: this checkout with that transport (the
  project's venv, ``REPLICATE_PLUGINS`` limited to the transport's plugin);
* ``v2`` (``replicate==2.0.0b4``) and ``v1`` (``replicate==1.0.7``): the official SDKs, from
  ``.venv-anchors/`` (``scripts/_anchors.sh``) when there, else from venvs this runner makes
  under ``.venv-bench/`` (never a dependency of this project);
* ``floor-urllib3``, ``floor-httpx``, ``floor-aiohttp``: that library and msgspec doing the
  same requests and decodes by hand, into plain msgspec copies of our structs (``_bare.py``).

The fake API (``_fakeapi.py``) runs in its own process on 127.0.0.1 and answers from pre-built
bytes; around every sample the runner reads its CPU time (``/_stats``), and each row shows the
server's CPU as a share of the client's over the same sample (under 100%: the server is not
what the figure measures).

Each scenario warms every contender up (and sizes each one's samples to about the same time),
then runs rounds: in each, every contender takes one sample, in an order rotated from round to
round. Rows show the median over rounds, the spread (25th..75th percentile), and the ratios
to the contender's floor (ours-httpx and v1/v2 to ``floor-httpx`` where a scenario has it, ours-
aiohttp to ``floor-aiohttp``, the rest to ``floor-urllib3``) and to v2: the median of per-round
ratios. ``import`` and ``cold`` start a fresh process per sample, as do ``paginate``,
``download``, ``upload`` (peak memory is the growth of the process's peak RSS, VmHWM, reset
before the sample) and ``batch`` (``bench_batch.py``'s measure, on the emulator, when that
script is there). ``get`` is three runs of its rounds, each with its contenders' workers
started afresh and warmed up again, since its target holds "in three runs out of three": its
verdict is each run's median. In full mode each scenario ends with its verdicts against the
targets. Before anything is timed, the checkout's bytecode is written (``compileall``), as
installing a wheel does, so that no contender pays for compiling this one's sources.

``--quick`` (CI) runs every scenario once at tiny sizes and prints no verdict: it checks that
everything runs, never a timing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _pages  # noqa: E402

ANCHORS = {"v1": "replicate==1.0.7", "v2": "replicate==2.0.0b4"}
PLUGINS = {"ours-urllib3": "", "ours-httpx": "httpx", "ours-aiohttp": "aiohttp"}
FLOORS = ("floor-urllib3", "floor-httpx", "floor-aiohttp")

Sample = dict[str, Any]


# --- figures -----------------------------------------------------------------------------------


@dataclass
class Metric:
    key: str
    label: str
    of: Callable[[Sample], float]
    fmt: str = "{:.1f}"
    lower_is_better: bool = True


def per(total: str, count: str, scale: float) -> Callable[[Sample], float]:
    return lambda s: float(s[total]) / float(s[count]) * scale


def rate(count: str, scale: float = 1.0) -> Callable[[Sample], float]:
    return lambda s: float(s[count]) / float(s["wall_s"]) * scale


MS = Metric("ms", "ms", lambda s: float(s["ms"]))
CPU_US = Metric("cpu_us", "CPU us/op", per("cpu_s", "n", 1e6))
WALL_US = Metric("wall_us", "wall us/op", per("wall_s", "n", 1e6))
PEAK = Metric("peak_mb", "peak +MB", lambda s: float(s["peak_mb"]))
MB_S = Metric("mb_s", "MB/s", rate("bytes", 1e-6), "{:.0f}", lower_is_better=False)


@dataclass
class Scenario:
    name: str
    title: str
    contenders: list[str]
    metrics: list[Metric]
    kind: str = "worker"  # "worker" (long-lived), "fresh" (a worker per sample), "cold"
    target_s: float = 0.15  # seconds per sample, full mode (samples sized in the warm-up)
    n_min: int = 1
    n_max: int = 100_000
    #: Operations per sample of a "fresh" scenario, one after another in its new process (the
    #: peak memory growth is still that of one at a time).
    fresh_n: int = 1
    rounds: int = 7
    #: Independent runs (workers started afresh, warmed up again, their own rounds): a target
    #: "in three runs out of three" is checked on each run's median.
    runs: int = 1
    target: str = ""
    readme: tuple[str, ...] = ()  # the figures the README table shows (default: the first)
    verdicts: Callable[[Result], list[tuple[bool, str]]] | None = None


@dataclass
class Result:
    scenario: Scenario
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def values(self, contender: str, metric: str) -> list[float]:
        m = next(m for m in self.scenario.metrics if m.key == metric)
        return [m.of(s) for s in self.samples.get(contender, [])]

    def median(self, contender: str, metric: str) -> float:
        return statistics.median(self.values(contender, metric))

    def ratio(self, a: str, b: str, metric: str) -> float | None:
        """a's figure over b's: the median of per-round ratios (same round) if both have every
        round, else the ratio of the medians."""
        va, vb = self.values(a, metric), self.values(b, metric)
        if not va or not vb:
            return None
        if len(va) == len(vb) and all(vb):
            return statistics.median(x / y for x, y in zip(va, vb, strict=True))
        mb = statistics.median(vb)
        return statistics.median(va) / mb if mb else None

    def per_round(self, a: str, b: str, metric: str) -> list[float]:
        va, vb = self.values(a, metric), self.values(b, metric)
        return [x / y for x, y in zip(va, vb, strict=False) if y]

    def per_run(self, a: str, b: str, metric: str) -> list[float]:
        """The median of per-round ratios a/b in each run (see ``Scenario.runs``)."""
        runs = [s.get("run", 0) for s in self.samples.get(a, [])]
        rounds = self.per_round(a, b, metric)
        return [
            statistics.median(x for x, k in zip(rounds, runs, strict=False) if k == run)
            for run in sorted(set(runs[: len(rounds)]))
        ]

    def floor_of(self, contender: str) -> str | None:
        have = [c for c in self.scenario.contenders if self.samples.get(c)]
        wanted = {
            "ours-httpx": "floor-httpx",
            "ours-aiohttp": "floor-aiohttp",
            "v1": "floor-httpx",
            "v2": "floor-httpx",
        }.get(contender, "floor-urllib3")
        for option in (wanted, "floor-urllib3", *FLOORS):
            if option in have:
                return option
        return None


def spread(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


# --- targets -----------------------------------------------------------------------------------


def check(ok: bool | None, text: str) -> list[tuple[bool, str]]:
    return [] if ok is None else [(ok, text)]


def at_most(r: Result, a: str, b: str, metric: str, bound: float, what: str) -> list[Any]:
    x = r.ratio(a, b, metric)
    if x is None:
        return [(False, f"{what}: {a} or {b} did not run")]
    return [(x <= bound, f"{what}: {a} {x:.2f}x {b} (target <= {bound}x)")]


def at_least(r: Result, a: str, b: str, metric: str, bound: float, what: str) -> list[Any]:
    x = r.ratio(a, b, metric)
    if x is None:
        return [(False, f"{what}: {a} or {b} did not run")]
    return [(x >= bound, f"{what}: {a} {x:.2f}x {b} (target >= {bound}x)")]


def under(r: Result, c: str, metric: str, bound: float, what: str) -> list[Any]:
    if not r.values(c, metric):
        return [(False, f"{what}: {c} did not run")]
    v = r.median(c, metric)
    return [(v < bound, f"{what}: {c} {v:.1f} (target < {bound})")]


def v_import(r: Result) -> list[Any]:
    x = r.ratio("v2", "ours-urllib3", "ms")
    if x is None:
        return [(False, "import: v2 or ours did not run")]
    return [(x >= 50, f"import: v2 takes {x:.1f}x ours (target >= 50x, ours <= 1/50 of v2)")]


def v_cold(r: Result) -> list[Any]:
    out = at_most(r, "ours-urllib3", "floor-urllib3", "ms", 1.1, "cold start")
    return out + at_most(r, "ours-httpx", "floor-httpx", "ms", 1.1, "cold start (httpx)")


def v_get(r: Result) -> list[Any]:
    out = []
    for ours, floor in (("ours-urllib3", "floor-urllib3"), ("ours-httpx", "floor-httpx")):
        runs = r.per_run(ours, floor, "cpu_us")
        if not runs:
            continue
        good = sum(x <= 1.15 for x in runs)
        figures = ", ".join(f"{x:.2f}x" for x in runs)
        out.append(
            (
                good == len(runs) == r.scenario.runs,
                f"CPU per get: {ours} <= 1.15x {floor} in {good} of {len(runs)} runs "
                f"({figures}; target: {r.scenario.runs} of {r.scenario.runs})",
            )
        )
    return out


def v_page(r: Result) -> list[Any]:
    out = at_most(r, "ours-urllib3", "floor-urllib3", "cpu_ms", 1.15, "page decode")
    return out + at_least(r, "v2", "ours-urllib3", "cpu_ms", 40, "page decode (v2 / ours)")


def v_paginate(r: Result) -> list[Any]:
    out = under(r, "ours-urllib3", "peak_mb", 15, "memory growth iterating, MB")
    return out + at_most(r, "ours-urllib3", "floor-urllib3", "kept_mb", 1.1, "10,000 kept, MB")


def v_sse(r: Result) -> list[Any]:
    out = at_least(r, "ours-urllib3", "v1", "events_cpu_s", 3, "SSE events per CPU second")
    return out + at_most(r, "ours-urllib3", "floor-urllib3", "cpu_us_event", 1.2, "CPU per event")


def v_threads(r: Result) -> list[Any]:
    out = at_most(r, "ours-urllib3", "floor-urllib3", "cpu_us", 1.2, "16 threads, CPU per get")
    for c in ("ours-urllib3", "ours-httpx"):
        if r.values(c, "pool_warnings"):
            n = sum(r.values(c, "pool_warnings"))
            out.append((n == 0, f"16 threads: {c} logged {n:.0f} pool warnings (target 0)"))
    return out


def v_async(r: Result) -> list[Any]:
    out = at_least(r, "ours-aiohttp", "v2", "rps", 2, "100 async gets, requests/s")
    out += at_most(r, "ours-aiohttp", "floor-aiohttp", "cpu_us", 1.25, "100 async, CPU")
    # the thread transport's target is the worst stall of any round, not a median
    stalls = r.values("ours-urllib3", "stall_ms")
    if not stalls:
        return [*out, (False, "100 async, loop stall: ours-urllib3 did not run")]
    worst = max(stalls)
    what = f"100 async, worst loop stall: ours-urllib3 {worst:.1f} ms (target <= 50)"
    return [*out, (worst <= 50, what)]


def v_transfer(what: str) -> Callable[[Result], list[Any]]:
    def verdicts(r: Result) -> list[Any]:
        out = under(r, "ours-urllib3", "peak_mb", 50, f"{what} memory growth, MB")
        return out + at_least(r, "ours-urllib3", "floor-urllib3", "mb_s", 0.9, f"{what} MB/s")

    return verdicts


def v_batch(r: Result) -> list[Any]:
    out = []
    if r.values("ours-urllib3", "speedup"):
        x = r.median("ours-urllib3", "speedup")
        out.append((x >= 10, f"batch: {x:.1f}x a sequential loop of run() (target >= 10x)"))
    dup = sum(r.values("ours-urllib3", "duplicates"))
    out.append((dup == 0 and bool(out), f"batch resumed: {dup:.0f} duplicate creates (target 0)"))
    return out


# --- scenarios ---------------------------------------------------------------------------------

SYNC = ["ours-urllib3", "ours-httpx", "v2", "v1", "floor-urllib3", "floor-httpx"]


def scenarios(quick: bool) -> list[Scenario]:
    events = Metric("events_s", "events/s", rate("events"), "{:,.0f}", lower_is_better=False)
    out = [
        Scenario(
            "import",
            "import replicate (fresh process, wall)",
            ["ours-urllib3", "v2", "v1", "floor-urllib3"],
            [MS],
            kind="cold",
            target="at most 1/50 of v2's",
            verdicts=v_import,
        ),
        Scenario(
            "cold",
            "cold start: import, client, first predictions.get (fresh process, wall)",
            SYNC,
            [MS],
            kind="cold",
            rounds=25,  # a fresh process's start varies by +-20%: more rounds, a steadier median
            target="at most 1.1x the floor",
            verdicts=v_cold,
        ),
        Scenario(
            "get",
            "predictions.get on a keep-alive connection",
            SYNC,
            [CPU_US, WALL_US],
            runs=3,
            rounds=11,  # single samples vary by +-25% on a busy machine
            target="CPU at most 1.15x the floor, in three runs out of three",
            verdicts=v_get,
        ),
        Scenario(
            "page",
            "decoding a 100-prediction page (~200 KB; GC off while timed)",
            ["ours-urllib3", "v2", "v1", "floor-urllib3"],
            [Metric("cpu_ms", "CPU ms/page", per("cpu_s", "n", 1e3), "{:.3f}")],
            rounds=11,
            target="at most 1.15x the floor; at least 40x faster than v2",
            verdicts=v_page,
        ),
        Scenario(
            "paginate",
            f"iterating {100 * (3 if quick else 100):,} predictions through pagination",
            SYNC,
            [
                Metric("wall_s", "wall s", lambda s: float(s["wall_s"]), "{:.2f}"),
                Metric("cpu_s", "CPU s", lambda s: float(s["cpu_s"]), "{:.2f}"),
                PEAK,
                Metric("kept_mb", "kept MB", lambda s: float(s["kept_mb"])),
            ],
            kind="fresh",
            rounds=3,
            target="memory growth < 15 MB; kept at most 1.1x plain msgspec structs",
            readme=("wall_s", "peak_mb", "kept_mb"),
            verdicts=v_paginate,
        ),
        Scenario(
            "run_sync",
            "run() end to end, sync mode (Prefer: wait; one request)",
            SYNC,
            [CPU_US, WALL_US],
        ),
        Scenario(
            "run_poll",
            "run() end to end with polling (create, one poll; poll interval 1 ms)",
            SYNC,
            [CPU_US, WALL_US],
        ),
        Scenario(
            "sse",
            f"SSE output events ({200 if quick else 20_000:,} a stream)",
            ["ours-urllib3", "ours-httpx", "v1", "floor-urllib3"],
            [
                Metric(
                    "events_cpu_s",
                    "events/CPU s",
                    lambda s: float(s["events"]) / float(s["cpu_s"]),
                    "{:,.0f}",
                    lower_is_better=False,
                ),
                events,
                Metric("cpu_us_event", "CPU us/event", per("cpu_s", "events", 1e6), "{:.2f}"),
            ],
            rounds=5,
            target="at least 3x v1's stream(); CPU per event at most 1.2x the floor",
            readme=("events_cpu_s", "cpu_us_event"),
            verdicts=v_sse,
        ),
        Scenario(
            "threads16",
            "16 threads on one client (or pool), predictions.get",
            SYNC,
            [
                Metric("cpu_us", "CPU us/req", per("cpu_s", "requests", 1e6)),
                Metric("rps", "req/s", rate("requests"), "{:,.0f}", lower_is_better=False),
                Metric("pool_warnings", "pool warn", lambda s: float(s["pool_warnings"]), "{:.0f}"),
            ],
            n_min=32,
            rounds=5,
            target="CPU per request at most 1.2x the floor's; no pool warnings",
            verdicts=v_threads,
        ),
        Scenario(
            "async100",
            "100 concurrent async predictions.get (AsyncReplicate)",
            ["ours-aiohttp", "ours-urllib3", "v2", "floor-aiohttp"],
            [
                Metric("rps", "req/s", rate("requests"), "{:,.0f}", lower_is_better=False),
                Metric("cpu_us", "CPU us/req", per("cpu_s", "requests", 1e6)),
                Metric("stall_ms", "loop stall ms", lambda s: float(s["stall_ms"])),
            ],
            target_s=0.3,
            rounds=9,
            target="at least 2x v2's AsyncReplicate; CPU at most 1.25x bare aiohttp",
            readme=("rps", "cpu_us"),
            verdicts=v_async,
        ),
        Scenario(
            "download",
            f"a {'1 MB' if quick else '1 GB'} file download to disk",
            ["ours-urllib3", "ours-httpx", "v2", "v1", "floor-urllib3"],
            [MB_S, PEAK],
            kind="fresh",
            rounds=3,
            target="memory growth < 50 MB; throughput at least 0.9x bare urllib3",
            readme=("mb_s", "peak_mb"),
            verdicts=v_transfer("download"),
        ),
        Scenario(
            "upload",
            f"a {'1 MB' if quick else '100 MB'} upload (files.create)",
            ["ours-urllib3", "ours-httpx", "v2", "v1", "floor-urllib3"],
            [MB_S, PEAK],
            kind="fresh",
            fresh_n=5,  # one upload is about 40 ms over loopback: a sample makes five
            rounds=7,
            target="memory growth < 50 MB; throughput at least 0.9x bare urllib3",
            readme=("mb_s", "peak_mb"),
            verdicts=v_transfer("upload"),
        ),
    ]
    if (HERE / "bench_batch.py").exists():
        runs = 16 if quick else 200
        out.append(
            Scenario(
                "batch",
                f"batch of {runs} runs of a 50 ms model on replicate-emulator serve, "
                "concurrency 16, rate limits off, against a sequential loop of run()",
                ["ours-urllib3"],
                [
                    Metric(
                        "speedup",
                        "speedup",
                        lambda s: float(s["sequential_s"]) / float(s["batch_s"]),
                        "{:.1f}",
                        lower_is_better=False,
                    ),
                    Metric("batch_s", "batch s", lambda s: float(s["batch_s"]), "{:.2f}"),
                    Metric("sequential_s", "loop s", lambda s: float(s["sequential_s"]), "{:.2f}"),
                    Metric("duplicates", "dup creates", lambda s: float(s["duplicates"]), "{:.0f}"),
                ],
                kind="fresh",
                rounds=3,
                target="at least 10x a sequential loop of run(); zero duplicate creates "
                "after an interrupted and resumed batch",
                readme=("speedup", "duplicates"),
                verdicts=v_batch,
            )
        )
    return out


# --- processes ---------------------------------------------------------------------------------


def project_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def compile_checkout() -> None:
    """Write the checkout's bytecode, as installing a wheel does: with ``PYTHONDONTWRITEBYTECODE``
    set (or a read-only tree) every fresh process would otherwise compile ``replicate`` from
    source, and ``import``/``cold`` would measure the compiler, not the SDK."""
    folders = [str(ROOT / "replicate"), str(HERE)]
    folders += [str(d) for d in sorted((ROOT / "plugins").glob("*/")) if d.is_dir()]
    subprocess.run(
        [project_python(), "-m", "compileall", "-q", "-x", r"[/\\]tests?[/\\]", *folders],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def anchor_python(name: str, create: bool, notes: list[str]) -> str | None:
    """The interpreter of a venv holding the official SDK ``name`` (v1 or v2)."""
    for folder in (ROOT / ".venv-anchors", ROOT / ".venv-bench"):
        python = folder / name / "bin" / "python"
        if python.exists():
            return str(python)
    if not create:
        notes.append(f"{name}: no .venv-anchors/{name} or .venv-bench/{name} (--no-create)")
        return None
    venv = ROOT / ".venv-bench" / name
    print(f"creating {venv} with {ANCHORS[name]} ...", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", ANCHORS[name]],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        notes.append(f"{name}: could not create {venv}: {exc}")
        return None
    return str(venv / "bin" / "python")


class Env:
    """Where each contender runs: interpreter, environment, working directory."""

    def __init__(self, tmp: Path, create: bool) -> None:
        self.tmp = tmp
        self.notes: list[str] = []
        self.pythons: dict[str, str | None] = {"v1": None, "v2": None}
        for name in self.pythons:
            self.pythons[name] = anchor_python(name, create, self.notes)
        base = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
        base["REPLICATE_POLL_INTERVAL"] = "0.001"
        base.pop("PYTHONPATH", None)
        self.base_env = base

    def python(self, contender: str) -> str | None:
        if contender in ("v1", "v2"):
            return self.pythons[contender]
        return project_python()

    def env(self, contender: str) -> dict[str, str]:
        env = dict(self.base_env)
        if contender in PLUGINS:
            env["REPLICATE_PLUGINS"] = PLUGINS[contender]
        return env


class WorkerError(RuntimeError):
    pass


class Worker:
    """``_worker.py CONTENDER`` in the contender's interpreter, one JSON line per command."""

    def __init__(self, contender: str, env: Env) -> None:
        python = env.python(contender)
        if python is None:
            raise WorkerError(f"{contender}: no interpreter")
        # cwd outside the checkout: an official SDK's ``import replicate`` must find its own.
        self.proc = subprocess.Popen(
            [python, str(HERE / "_worker.py"), contender],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(env.tmp),
            env=env.env(contender),
        )
        self.contender = contender
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.contender}: worker exited (status {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise WorkerError(f"{self.contender}: {answer['error']}\n{answer.get('trace', '')}")
        return answer

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Server:
    """The fake API in its own process, and a keep-alive connection to its ``/_stats``."""

    def __init__(self, pages_file: Path, sse_events: int) -> None:
        self.proc = subprocess.Popen(
            [project_python(), str(HERE / "_fakeapi.py"), str(pages_file), str(sse_events)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stats(self) -> tuple[float, int]:
        self.conn.request("GET", "/_stats")
        body = json.loads(self.conn.getresponse().read())
        return float(body["cpu_s"]), int(body["requests"])

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()


# --- running -----------------------------------------------------------------------------------


class Runner:
    def __init__(self, args: argparse.Namespace, env: Env, server: Server, params: dict[str, Any]):
        self.args = args
        self.env = env
        self.server = server
        self.params = params
        self.workers: dict[str, Worker] = {}
        self.versions: dict[str, dict[str, str]] = {}
        self.broken: dict[str, str] = {}

    def worker(self, contender: str, fresh: bool = False) -> Worker:
        if fresh:
            w = Worker(contender, self.env)
            self.versions[contender] = w.info.get("versions", {})
            return w
        if contender not in self.workers:
            self.workers[contender] = self.worker(contender, fresh=True)
        return self.workers[contender]

    def close(self) -> None:
        for w in self.workers.values():
            w.close()

    def sample(self, take: Callable[[], Sample]) -> Sample:
        cpu0, req0 = self.server.stats()
        s = take()
        cpu1, req1 = self.server.stats()
        s["server_cpu_s"], s["server_requests"] = cpu1 - cpu0, req1 - req0
        return s

    def rounds(self, sc: Scenario) -> int:
        if self.args.quick:
            return 1
        return self.args.repeat or sc.rounds

    def run(self, sc: Scenario) -> Result:
        result = Result(sc)
        live = [c for c in sc.contenders if self.env.python(c) is not None]
        for c in sc.contenders:
            if c not in live:
                result.notes.append(f"{c}: not run (no interpreter)")
        if sc.kind == "cold":
            self._cold(sc, live, result)
        elif sc.kind == "fresh":
            self._fresh(sc, live, result)
        else:
            runs = 1 if self.args.quick else sc.runs
            for k in range(runs):
                if k:  # a run of its own: new processes, a new warm-up
                    for c in live:
                        worker = self.workers.pop(c, None)
                        if worker is not None:
                            worker.close()
                before = {c: len(v) for c, v in result.samples.items()}
                self._live(sc, live, result)
                for c, samples in result.samples.items():
                    for sample in samples[before.get(c, 0) :]:
                        sample["run"] = k
        return result

    def _order(self, contenders: list[str], r: int) -> list[str]:
        k = r % len(contenders) if contenders else 0
        return contenders[k:] + contenders[:k]

    def _cold(self, sc: Scenario, live: list[str], result: Result) -> None:
        def once(c: str) -> Sample:
            proc = subprocess.run(
                [self.env.python(c) or "", str(HERE / "_cold.py"), c, sc.name, self.server.base],
                capture_output=True,
                text=True,
                cwd=str(self.env.tmp),
                env=self.env.env(c),
            )
            if proc.returncode:
                raise WorkerError(f"{c}: {proc.stderr.strip()[-2000:]}")
            sample: Sample = json.loads(proc.stdout.strip().splitlines()[-1])
            return sample

        for c in live:  # warm: .pyc files and the page cache
            try:
                once(c)
            except WorkerError as exc:
                result.notes.append(f"{c}: failed: {exc}")
        live = [c for c in live if not any(n.startswith(f"{c}: failed") for n in result.notes)]
        for r in range(self.rounds(sc)):
            for c in self._order(live, r):
                result.samples.setdefault(c, []).append(self.sample(lambda c=c: once(c)))

    def _setup(self, w: Worker, sc: Scenario, result: Result) -> bool:
        answer = w.ask(cmd="setup", scenario=sc.name, params=self.params)
        if "skip" in answer:
            result.notes.append(f"{w.contender}: skipped: {answer['skip']}")
            return False
        return True

    def _live(self, sc: Scenario, live: list[str], result: Result) -> None:
        counts: dict[str, int] = {}
        ready = []
        for c in live:
            try:
                w = self.worker(c)
                if not self._setup(w, sc, result):
                    continue
                first = w.ask(cmd="run", n=sc.n_min)  # warm-up, and the sample size
                if self.args.quick:
                    counts[c] = sc.n_min
                else:
                    w.ask(cmd="run", n=sc.n_min)
                    second = w.ask(cmd="run", n=sc.n_min)
                    took = max(min(first["wall_s"], second["wall_s"]), 1e-6) / sc.n_min
                    counts[c] = max(sc.n_min, min(sc.n_max, round(sc.target_s / took)))
                    w.ask(cmd="run", n=counts[c])  # warm at the size measured
                ready.append(c)
            except WorkerError as exc:
                result.notes.append(f"{c}: failed: {exc}")
        for r in range(self.rounds(sc)):
            for c in self._order(ready, r):
                w = self.workers[c]
                try:
                    s = self.sample(lambda w=w, c=c: w.ask(cmd="run", n=counts[c]))
                except WorkerError as exc:
                    result.notes.append(f"{c}: failed: {exc}")
                    ready.remove(c)
                    continue
                result.samples.setdefault(c, []).append(s)

    def _fresh(self, sc: Scenario, live: list[str], result: Result) -> None:
        failed: set[str] = set()
        for r in range(self.rounds(sc)):
            for c in self._order([c for c in live if c not in failed], r):
                try:
                    w = self.worker(c, fresh=True)
                    try:
                        if not self._setup(w, sc, result):
                            failed.add(c)
                            continue
                        n = 1 if self.args.quick else sc.fresh_n
                        s = self.sample(lambda w=w, n=n: w.ask(cmd="run", n=n))
                    finally:
                        w.close()
                except WorkerError as exc:
                    result.notes.append(f"{c}: failed: {exc}")
                    failed.add(c)
                    continue
                result.samples.setdefault(c, []).append(s)


# --- reporting ---------------------------------------------------------------------------------


def server_share(samples: list[Sample]) -> float | None:
    """The server's CPU over the client's, median over samples (None: no request was made)."""
    shares = [
        s["server_cpu_s"] / s["cpu_s"]
        for s in samples
        if s.get("server_requests") and s.get("cpu_s")
    ]
    return statistics.median(shares) if shares else None


def table(result: Result, quick: bool) -> list[str]:
    sc = result.scenario
    main = sc.metrics[0]
    lines = [f"== {sc.name}: {sc.title}"]
    header = (
        f"  {'contender':15} {main.label:>13} {'p25..p75':>19} {'x floor':>8} {'x v2':>7}"
        + "".join(f" {m.label:>13}" for m in sc.metrics[1:])
        + f" {'server':>7}"
    )
    lines.append(header)
    for c in sc.contenders:
        values = result.values(c, main.key)
        if not values:
            continue
        lo, hi = spread(values)
        floor = result.floor_of(c)
        xf = result.ratio(c, floor, main.key) if floor and floor != c else None
        xv = result.ratio(c, "v2", main.key) if c != "v2" else None
        share = server_share(result.samples[c])
        row = (
            f"  {c:15} {main.fmt.format(statistics.median(values)):>13} "
            f"{main.fmt.format(lo) + '..' + main.fmt.format(hi):>19} "
            f"{f'{xf:.2f}x' if xf else '-':>8} {f'{xv:.2f}x' if xv else '-':>7}"
        )
        for m in sc.metrics[1:]:
            row += f" {m.fmt.format(result.median(c, m.key)):>13}"
        row += f" {f'{share:.0%}' if share is not None else '-':>7}"
        lines.append(row)
    for note in result.notes:
        lines.append(f"  note: {note.strip().splitlines()[-1]}")
    if not quick and sc.verdicts is not None:
        for ok, text in sc.verdicts(result):
            lines.append(f"  {'MEETS ' if ok else 'MISSES'} {text}")
    return lines


def _cell(result: Result, who: str | None, m: Metric) -> str:
    if who is None or not result.values(who, m.key):
        return "-"
    return m.fmt.format(result.median(who, m.key))


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value else "-"


def markdown(results: list[Result], machine: dict[str, str], quick: bool) -> list[str]:
    """The README's table: per scenario, each of ours' rows against its floor, v2 and v1."""
    out = [
        f"{machine['cpu']}, {machine['nproc']} vCPUs, Python {machine['python']}, commit "
        f"{machine['commit']}, {machine['date']}. Medians over rounds; ratios are ours' figure "
        "over the other's (the median of per-round ratios): under 1x is faster for times and "
        "memory, over 1x is faster for rates.",
        "",
        "| scenario | figure | ours | floor | v2 | v1 | ours / floor | ours / v2 | target "
        "| verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        sc = result.scenario
        verdicts = sc.verdicts(result) if sc.verdicts and not quick else []
        verdict = "meets" if verdicts and all(ok for ok, _ in verdicts) else ""
        if not all(ok for ok, _ in verdicts):
            verdict = "misses: " + "; ".join(t.split(":")[0] for ok, t in verdicts if not ok)
        keys = sc.readme or (sc.metrics[0].key,)
        first = True
        for c in sc.contenders:
            if not c.startswith("ours") or not result.samples.get(c):
                continue
            floor = result.floor_of(c)
            for m in [m for m in sc.metrics if m.key in keys][: None if first else 1]:
                xf = result.ratio(c, floor, m.key) if floor else None
                out.append(
                    f"| {sc.name} | {m.label}, {c} | {_cell(result, c, m)} | "
                    f"{_cell(result, floor, m)}{f' ({floor})' if floor else ''} | "
                    f"{_cell(result, 'v2', m)} | "
                    f"{_cell(result, 'v1', m)} | {_x(xf)} | "
                    f"{_x(result.ratio(c, 'v2', m.key))} | {sc.target if first else ''} | "
                    f"{verdict if first else ''} |"
                )
                first = False
    return out


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or "?",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round, no verdicts")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these scenarios only")
    parser.add_argument("--repeat", type=int, help="rounds per scenario (default: per scenario)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every sample as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the README table too")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--no-create", action="store_true", help="never create venvs for the official SDKs"
    )
    args = parser.parse_args(argv)
    chosen = scenarios(args.quick)
    if args.list:
        for sc in chosen:
            print(f"{sc.name:10} {sc.title}")
        return 0
    if args.only:
        unknown = set(args.only) - {sc.name for sc in chosen}
        if unknown:
            parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        chosen = [sc for sc in chosen if sc.name in args.only]

    started = time.perf_counter()
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="replicate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        pages = 3 if args.quick else 100
        sse_events = 200 if args.quick else 20_000
        bodies, origin = _pages.make_bodies(pages)
        pages_file = tmp / "pages.jsonl"
        _pages.write_lines(bodies, pages_file)
        upload = tmp / "upload.bin"
        with open(upload, "wb") as f:
            f.truncate(1_000_000 if args.quick else 100_000_000)
        compile_checkout()
        env = Env(tmp, create=not args.no_create)
        server = Server(pages_file, sse_events)
        params = {
            "base": server.base,
            "pages_file": str(pages_file),
            "sse_events": sse_events,
            "download_bytes": 1_000_000 if args.quick else 1_000_000_000,
            "upload_file": str(upload),
            "batch_runs": 16 if args.quick else 200,
            "tmp": str(tmp),
        }
        runner = Runner(args, env, server, params)
        print(
            f"{machine['cpu']}, {machine['nproc']} vCPUs, Python {machine['python']}, "
            f"commit {machine['commit']}{', QUICK (no verdicts)' if args.quick else ''}; "
            f"pages from {origin}"
        )
        for note in env.notes:
            print(f"note: {note}")
        results = []
        try:
            for sc in chosen:
                t0 = time.perf_counter()
                result = runner.run(sc)
                results.append(result)
                for line in table(result, args.quick):
                    print(line)
                print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
        finally:
            runner.close()
            server.close()
    print(f"versions: {json.dumps(runner.versions, sort_keys=True)}")
    shares = [
        (share, r.scenario.name, c)
        for r in results
        if r.scenario.kind != "cold"
        for c, samples in r.samples.items()
        if (share := server_share(samples)) is not None
    ]
    if shares:
        top = max(shares)
        print(
            f"server: the fake API's CPU over the contender's during the same samples is at "
            f"most {top[0]:.0%} ({top[1]}, {top[2]}): "
            + ("it is faster than every contender" if top[0] < 1 else "NOT faster than all")
        )
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.markdown:
        print()
        print("\n".join(markdown(results, machine, args.quick)))
    if args.json:
        payload = {
            "machine": machine,
            "quick": args.quick,
            "versions": runner.versions,
            "scenarios": {
                r.scenario.name: {
                    "title": r.scenario.title,
                    "target": r.scenario.target,
                    "notes": r.notes,
                    "medians": {
                        c: {m.key: r.median(c, m.key) for m in r.scenario.metrics}
                        for c in r.samples
                        if r.samples[c]
                    },
                    "verdicts": (
                        [{"ok": ok, "text": t} for ok, t in r.scenario.verdicts(r)]
                        if r.scenario.verdicts and not args.quick
                        else []
                    ),
                    "samples": r.samples,
                }
                for r in results
            },
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
