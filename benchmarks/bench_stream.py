"""Output events per second streamed end to end over SSE: ours, a bare loop, and v1.

A loopback server (a separate process, so its CPU time does not count against the clients)
answers ``GET /v1/predictions/<id>`` with a prediction whose ``urls.stream`` points back at it, and
``GET /stream/<id>`` with N ``output`` events and a ``done`` event: pre-built bytes, sent as
64 KiB HTTP chunks (``Transfer-Encoding: chunked``, like Replicate's stream hosts).

Three clients read the same stream from the same server in the same run:

* ``replicate (ours)``: ``client.predictions.stream(id)`` end to end (GET the prediction, open the
  stream, parse, hand each event to the loop), counting output events;
* ``bare urllib3 split loop``: one urllib3 GET of the stream URL, the body read as it arrives
  and split at ``b"\\n\\n"`` into ``(event, data)`` pairs (per line ``startswith``/``decode``): no
  ids, no CR handling, no spec corner cases, no reconnects. The floor; target ours >= 0.8x;
* ``replicate==1.0.7 (v1)``: v1's own ``client.predictions.get(id).stream()`` (httpx
  ``iter_lines`` + its line decoder + pydantic events), unmodified, pointed at the same server
  with ``base_url``, in a subprocess using a separate venv (v1 and this package are both named
  ``replicate``). Target ours >= 3x. Create that venv once::

      python3 -m venv /tmp/v1venv && /tmp/v1venv/bin/pip install replicate==1.0.7

Ours and the bare loop alternate run by run; v1 runs in its subprocess afterwards, against the
same server. Each figure is the median of R runs. The rates and ratios use the client process's
CPU time (``time.process_time``): the stream is CPU-bound on the client (the server only copies
pre-built bytes), and CPU time is not inflated by whatever else the machine is running. Wall
times are shown too.

    python benchmarks/bench_stream.py [--events 20000] [--runs 7] [--v1-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PID = "4awn473bsrztjzlx2b6ufoxkkm"
CHUNK = 64 * 1024
TOKENS = [
    " Sure", "!", " Here", "'s", " a", " poem", " about", " open", " source", " machine",
    " learning", " in", " the", " style", " of", " E.", " E.", " Cummings", ":", " ",
    " a", " gift", " to", " the", " world", ",", " a", " treasure", " to", " share", " é", " 🦙",
]  # fmt: skip


def build_stream(n_events: int) -> bytes:
    parts = [
        f"event: output\nid: 1690212292:{i}\ndata: {TOKENS[i % len(TOKENS)]}\n\n"
        for i in range(n_events)
    ]
    parts.append("event: done\nid: 1690212292:done\ndata: {}\n\n")
    return "".join(parts).encode()


# --- the server (run as a subprocess: ``bench_stream.py --serve N``) --------------------------


def serve(n_events: int) -> None:
    stream = build_stream(n_events)
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(piece), piece)
        for piece in (stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK))
    )
    framed += b"0\r\n\r\n"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            port = self.server.server_address[1]  # type: ignore[index]
            base = f"http://127.0.0.1:{port}"
            if self.path.startswith("/stream/"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(framed)
                return
            body = json.dumps(
                {
                    "id": PID,
                    "model": "meta/llama-2-70b-chat",
                    "version": "02e509c789964a7ea8736978a43525956ef40397be9033abf9fd2badfe68c9e3",
                    "input": {"prompt": "write a sonnet about camelids"},
                    "logs": "",
                    "output": None,
                    "error": None,
                    "status": "processing",
                    "created_at": "2023-10-29T11:19:59.558752983Z",
                    "urls": {
                        "get": f"{base}/v1/predictions/{PID}",
                        "cancel": f"{base}/v1/predictions/{PID}/cancel",
                        "stream": f"{base}/stream/{PID}",
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # A client that closes a stream before reading its last bytes resets the connection; the
    # handler waiting on it for a next request would print a traceback. Nothing to report.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the clients ------------------------------------------------------------------------------


def run_ours(client: object) -> int:
    count = 0
    for event in client.predictions.stream(PID):  # type: ignore[attr-defined]
        if event.event == "output":
            count += 1
    return count


def run_bare(pool: object, url: str) -> int:
    resp = pool.request(  # type: ignore[attr-defined]
        "GET",
        url,
        headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
        preload_content=False,
        retries=False,
    )
    count = 0
    tail = b""
    try:
        while True:
            chunk = resp.read1(CHUNK)
            if not chunk:
                break
            blocks = (tail + chunk).split(b"\n\n")
            tail = blocks.pop()
            for block in blocks:
                if not block:
                    continue
                event = "message"
                data = []
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        data.append(line[6:].decode())
                    elif line.startswith(b"event: "):
                        event = line[7:].decode()
                if data and event == "output":
                    count += 1
                    _ = "\n".join(data)
    finally:
        resp.release_conn()
    return count


V1_SCRIPT = r"""
import json, sys, time
import replicate
from replicate.client import Client

base_url, pid, runs, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = Client(api_token="r8_bench", base_url=base_url)

def once():
    count = 0
    for event in client.predictions.get(pid).stream():
        if event.event.value == "output":
            count += 1
    return count

n = once()  # warm-up, and check
if n != expected:
    sys.exit(f"v1 produced {n} output events, expected {expected}")
cpu, wall = [], []
for _ in range(runs):
    c0, t0 = time.process_time(), time.perf_counter()
    once()
    cpu.append(time.process_time() - c0)
    wall.append(time.perf_counter() - t0)
print(json.dumps({"cpu": cpu, "wall": wall}))
"""


def run_v1(python: str, base_url: str, runs: int, expected: int) -> dict[str, object]:
    with tempfile.NamedTemporaryFile("w", suffix="_v1_stream.py", delete=False) as f:
        f.write(V1_SCRIPT)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
        out = subprocess.run(
            [python, f.name, base_url, PID, str(runs), str(expected)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=tempfile.gettempdir(),  # so this checkout's ``replicate`` is not importable
        ).stdout
    finally:
        os.unlink(f.name)
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def v1_version(python: str) -> str:
    code = "import importlib.metadata as m; print(m.version('replicate'))"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--v1-python", default="/tmp/v1venv/bin/python")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import urllib3

    import replicate

    n = args.events
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(n)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base_url = f"http://127.0.0.1:{port}/v1"
        stream_url = f"http://127.0.0.1:{port}/stream/{PID}"
        for name in [k for k in os.environ if k.startswith("REPLICATE_")]:
            del os.environ[name]
        client = replicate.Replicate(bearer_token="r8_bench", base_url=base_url)
        pool = urllib3.PoolManager(maxsize=2)

        ours_name, bare_name = "replicate (ours)", "bare urllib3 split loop"
        fns: dict[str, Callable[[], int]] = {
            ours_name: lambda: run_ours(client),
            bare_name: lambda: run_bare(pool, stream_url),
        }
        cpu: dict[str, list[float]] = {name: [] for name in fns}
        wall: dict[str, list[float]] = {name: [] for name in fns}
        for name, fn in fns.items():  # warm-up, and check every client sees every output
            if (got := fn()) != n:
                raise SystemExit(f"{name} produced {got} output events, expected {n}")
        for _ in range(args.runs):
            for name, fn in fns.items():
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - t0)

        v1_note = ""
        if Path(args.v1_python).exists():
            v1_name = f"replicate=={v1_version(args.v1_python)} (v1, subprocess)"
            v1 = run_v1(args.v1_python, base_url, args.runs, n)
            cpu[v1_name] = v1["cpu"]  # type: ignore[assignment]
            wall[v1_name] = v1["wall"]  # type: ignore[assignment]
        else:
            v1_name = ""
            v1_note = f"(v1 not measured: no {args.v1_python}; see the module docstring)"
        client.close()
    finally:
        proc.terminate()
        proc.wait()

    size = len(build_stream(n))
    print(
        f"Python {sys.version.split()[0]}; {n:,} output events + done, {size:,} bytes in "
        f"{CHUNK // 1024} KiB HTTP chunks over loopback; median of {args.runs} runs"
    )
    print()
    medians = {name: statistics.median(ts) for name, ts in cpu.items()}
    walls = {name: statistics.median(ts) for name, ts in wall.items()}
    print(f"{'client':<40}{'CPU ms':>9}{'events/s (CPU)':>16}{'wall ms':>9}{'ours is':>9}")
    print("-" * 83)
    ours = medians[ours_name]
    for name, seconds in medians.items():
        print(
            f"{name:<40}{seconds * 1e3:>9.2f}{n / seconds:>16,.0f}{walls[name] * 1e3:>9.2f}"
            f"{seconds / ours:>8.2f}x"
        )
    print()
    print(f"ours vs bare urllib3 split loop: {medians[bare_name] / ours:.2f}x (target >= 0.8x)")
    if v1_name:
        print(f"ours vs v1 stream():             {medians[v1_name] / ours:.2f}x (target >= 3x)")
    else:
        print(v1_note)


if __name__ == "__main__":
    main()
