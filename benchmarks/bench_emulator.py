"""The offline emulator's costs, each against a floor measured in the same run.

1. CPU per ``predictions.get`` answered in process. The emulator's own answer
   (``Emulator.handle`` of a ``GET /v1/predictions/{id}``: auth, routing, the state read, the
   JSON body) against a plain dict lookup of the same prediction plus
   ``msgspec.json.encode`` of it (the same bytes). Target: at most 3x. For context, also the
   same request through ``EmulatorTransport.send`` and through a whole
   ``client.predictions.get`` (SDK request building and the decode into a ``Prediction``),
   with their ratios to the same floor. Runs alternate between the sides to spread the
   machine's noise evenly; each figure is the median over the runs of the CPU time per call
   (``time.process_time``, every thread of the process counted).

2. Wall time of ``replicate --transport emulator run replicate/hello-world text=bench``, from
   process start to the output line on stdout, against ``python -c "import replicate;
   replicate.Replicate(bearer_token=...)"`` printing a line once the client is built: the import
   plus the first client's set-up, on the default transport (urllib3), which is what a script
   using the SDK pays before its first request. Both run with ``PYTHONUNBUFFERED=1`` (a line
   leaves the process when printed), no ``REPLICATE_*`` variable set and every installed
   plugin loaded; alternating, median of the runs. Target: at most 2x.

    python benchmarks/bench_emulator.py [--calls 5000] [--runs 7] [--processes 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from replicate_emulator.app import Emulator
from replicate_emulator.transport import EmulatorTransport
from replicate_emulator.wire import EmuRequest

import replicate
from replicate import Headers, Request, Timeout

CLI = Path(sys.executable).with_name("replicate")
GET_TARGET = 3.0
RUN_TARGET = 2.0
ORIGIN = "https://api.replicate.com"

BASELINE = "import replicate\nreplicate.Replicate(bearer_token='r8_bench')\nprint('ready')\n"


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "FAIL"


def cpu_per_call(run: Callable[[int], object], n: int) -> float:
    start = time.process_time()
    run(n)
    return (time.process_time() - start) / n


# --- 1. predictions.get in process ----------------------------------------------------------


def get_loops(
    emu: Emulator, client: replicate.Replicate, pid: str
) -> dict[str, Callable[[int], object]]:
    """The floor and the three layers measured, each a loop of ``n`` gets of prediction ``pid``."""
    path = f"/v1/predictions/{pid}"
    headers = {"authorization": "Bearer r8_bench", "accept": "application/json"}
    answer = emu.handle(EmuRequest("GET", path, {}, dict(headers), b"", ORIGIN))
    assert answer.status == 200 and isinstance(answer.body, bytes), answer.status
    # The floor's store holds the prediction as the API shows it: encoding it gives the body.
    store = {pid: msgspec.json.decode(answer.body)}
    assert msgspec.json.encode(store[pid]) == answer.body

    def floor(n: int) -> None:
        encode = msgspec.json.encode
        for _ in range(n):
            encode(store[pid])

    def handle(n: int) -> None:
        answer_ = emu.handle
        for _ in range(n):
            # A new request each time, as a transport builds one per call.
            answer_(EmuRequest("GET", path, {}, dict(headers), b"", ORIGIN))

    transport = EmulatorTransport(emu)
    request = Request("GET", ORIGIN + path, headers=Headers(headers))
    timeout = Timeout(5.0)

    def send(n: int) -> None:
        send_ = transport.send
        for _ in range(n):
            send_(request, timeout=timeout)

    def sdk(n: int) -> None:
        get = client.predictions.get
        for _ in range(n):
            get(pid)

    return {
        "floor": floor,
        "Emulator.handle": handle,
        "EmulatorTransport.send": send,
        "client.predictions.get": sdk,
    }


def bench_get(calls: int, runs: int) -> float:
    with Emulator(rate_limits=False) as emu:
        client = replicate.Replicate(transport=EmulatorTransport(emu))
        prediction = client.predictions.create(
            version="replicate/hello-world", input={"text": "bench"}, wait=True
        )
        emu.wait_idle()
        loops = get_loops(emu, client, prediction.id)
        for loop in loops.values():
            loop(calls // 10)  # warm up caches
        samples: dict[str, list[float]] = {name: [] for name in loops}
        for _ in range(runs):
            for name, loop in loops.items():
                samples[name].append(cpu_per_call(loop, calls))
        client.close()
    med = {name: statistics.median(s) for name, s in samples.items()}
    floor = med["floor"]
    print(f"== predictions.get in process: {calls} calls x {runs} runs, CPU per call (median) ==")
    print(f"  dict lookup + msgspec.json.encode : {floor * 1e6:8.2f} us")
    for name in ("Emulator.handle", "EmulatorTransport.send", "client.predictions.get"):
        print(f"  {name:<33} : {med[name] * 1e6:8.2f} us  ({med[name] / floor:5.2f}x)")
    ratio = med["Emulator.handle"] / floor
    print(
        f"  ratio Emulator.handle / floor     : {ratio:8.2f}x  (target <= {GET_TARGET:.0f}x) "
        f"{verdict(ratio, GET_TARGET)}"
    )
    return ratio


# --- 2. `replicate run` from process start --------------------------------------------------


def user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def time_to_line(argv: list[str], env: dict[str, str], expected: str) -> float:
    """Seconds from starting ``argv`` to its first line on stdout (which must be ``expected``);
    the process is then waited for and must exit with status 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    _, err = proc.communicate(timeout=60)
    if proc.returncode != 0 or line.decode().rstrip("\n") != expected:
        raise RuntimeError(f"{argv}: exit {proc.returncode}, stdout {line!r}, stderr {err!r}")
    return elapsed


def bench_cli(processes: int) -> float:
    env = user_env()
    cli = [str(CLI), "--transport", "emulator", "run", "replicate/hello-world", "text=bench"]
    base = [sys.executable, "-c", BASELINE]
    sides = {"baseline": (base, "ready"), "cli": (cli, "hello bench")}
    for argv, expected in sides.values():
        time_to_line(argv, env, expected)  # warm the .pyc files and the OS caches
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(processes):
        for name, (argv, expected) in sides.items():
            samples[name].append(time_to_line(argv, env, expected))
    base_med = statistics.median(samples["baseline"])
    cli_med = statistics.median(samples["cli"])
    ratio = cli_med / base_med
    print(
        f"== `replicate run` from process start: wall time to the output, median of {processes} =="
    )
    print(f"  import replicate + Replicate() (urllib3) : {base_med * 1e3:8.1f} ms")
    print(f"  replicate --transport emulator run ...   : {cli_med * 1e3:8.1f} ms")
    print(
        f"  ratio                                    : {ratio:8.2f}x  (target <= "
        f"{RUN_TARGET:.0f}x) {verdict(ratio, RUN_TARGET)}"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--processes", type=int, default=7)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}")
    bench_get(args.calls, args.runs)
    bench_cli(args.processes)


if __name__ == "__main__":
    main()
