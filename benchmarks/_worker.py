"""One contender of the benchmark runner (``run.py``), in its own interpreter, kept alive so that
rounds interleave without paying a process start.

    python _worker.py CONTENDER

``CONTENDER`` is ``ours-urllib3``, ``ours-httpx``, ``ours-aiohttp`` (this checkout, with that
transport), ``v2`` (``replicate==2.0.0b4``), ``v1`` (``replicate==1.0.7``), or ``floor-urllib3``,
``floor-httpx``, ``floor-aiohttp`` (that library and msgspec doing the same requests and
decodes, by hand). Stdlib only at the top level, so the same file runs under every contender's
interpreter; the official SDKs run with their venv's ``replicate`` (the runner starts them
outside this checkout, so that ``import replicate`` finds theirs).

Protocol, one JSON object a line: the worker prints ``{"ready": true, "versions": {...}}``, then
answers each command read from stdin:

* ``{"cmd": "setup", "scenario": NAME, "params": {...}}``: builds the scenario's loop (clients,
  decoders, connections are made here, untimed) -> ``{"ok": true}`` or ``{"skip": reason}``;
* ``{"cmd": "run", "n": N}``: N operations -> ``{"cpu_s", "wall_s", ...}``: the process's CPU
  time (every thread) and wall time, plus the scenario's own figures (events, bytes, memory);
* ``{"cmd": "quit"}``.

Timed loops run with the cyclic GC as it is (it is part of what a client costs), except page
decoding, timed with the GC off as ``timeit`` does, on every side.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PID = "gm3qorzdhgbfurvjtvhg6dckhu"
SSE_PID = "4awn473bsrztjzlx2b6ufoxkkm"
INPUT = {"text": "Alice"}
MODEL = "replicate/hello-world"
TOKEN = "r8_bench"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

Loop = Callable[[int], "dict[str, Any] | None"]
#: What the current scenario opened (sessions, clients), closed before the next one starts.
CLOSERS: list[Callable[[], object]] = []


def close_all() -> None:
    while CLOSERS:
        CLOSERS.pop(0)()


# --- memory ------------------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    return _status_kb("VmRSS:") / 1024


def reset_peak() -> None:
    """Start a new peak RSS (Linux: writing 5 to clear_refs resets VmHWM to the current RSS;
    where that is refused, the peak stays the process's, which a fresh process keeps close)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mb() -> float:
    return _status_kb("VmHWM:") / 1024


# --- contenders' clients -----------------------------------------------------------------------


def family(contender: str) -> tuple[str, str]:
    """("ours" | "v1" | "v2" | "floor", transport or library)."""
    name, _, lib = contender.partition("-")
    return name, lib or "httpx"


def ours_client(p: dict[str, Any], transport: str, *, is_async: bool = False) -> Any:
    import replicate

    cls = replicate.AsyncReplicate if is_async else replicate.Replicate
    kwargs: dict[str, Any] = {} if transport == "urllib3" else {"transport": transport}
    return cls(bearer_token=TOKEN, base_url=p["base"] + "/v1", **kwargs)


def v2_client(p: dict[str, Any], *, is_async: bool = False) -> Any:
    import replicate

    cls = replicate.AsyncReplicate if is_async else replicate.Replicate
    return cls(bearer_token=TOKEN, base_url=p["base"] + "/v1")


def v1_client(p: dict[str, Any]) -> Any:
    from replicate.client import Client

    return Client(api_token=TOKEN, base_url=p["base"])


def client_for(contender: str, p: dict[str, Any]) -> Any:
    fam, lib = family(contender)
    if fam == "ours":
        return ours_client(p, lib)
    if fam == "v2":
        return v2_client(p)
    return v1_client(p)


def bare_prediction() -> Any:
    """A plain msgspec copy of our ``Prediction`` (the floor decodes into the same fields)."""
    sys.path.insert(0, str(HERE))
    from _bare import bare_copy

    from replicate.types import Prediction

    return bare_copy(Prediction)


class FloorHTTP:
    """The floor's requests: urllib3 or httpx, nothing else (no retries, no redirects)."""

    def __init__(self, lib: str, maxsize: int = 4) -> None:
        self.lib = lib
        if lib == "urllib3":
            import urllib3

            self.pool = urllib3.PoolManager(maxsize=maxsize)
            self.timeout: Any = urllib3.Timeout(connect=5.0, read=60.0)
        else:
            import httpx

            self.client = httpx.Client()
            self.timeout = httpx.Timeout(60.0, connect=5.0)

    def request(
        self, method: str, url: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, bytes]:
        if self.lib == "urllib3":
            r = self.pool.request(
                method,
                url,
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                timeout=self.timeout,
            )
            return r.status, r.data
        resp = self.client.request(method, url, content=body, headers=headers, timeout=self.timeout)
        return resp.status_code, resp.content


# --- scenarios ---------------------------------------------------------------------------------
# Each setup returns a loop: loop(n) runs n operations and may return figures of its own.


def setup_get(contender: str, p: dict[str, Any]) -> Loop:
    fam, lib = family(contender)
    if fam == "floor":
        import msgspec

        http, decoder = FloorHTTP(lib), msgspec.json.Decoder(bare_prediction())
        url = f"{p['base']}/v1/predictions/{PID}"

        def floor(n: int) -> None:
            for _ in range(n):
                status, body = http.request("GET", url, HEADERS)
                if status != 200:
                    raise RuntimeError(status)
                decoder.decode(body)

        return floor
    client = client_for(contender, p)
    get = client.predictions.get

    def loop(n: int) -> None:
        for _ in range(n):
            if fam == "v2":
                get(prediction_id=PID)
            else:
                get(PID)

    return loop


def setup_page(contender: str, p: dict[str, Any]) -> Loop:
    body = Path(p["pages_file"]).read_bytes().split(b"\n", 1)[0]
    fam, _ = family(contender)
    if fam == "ours":
        from replicate.types import Page, Prediction, decoder_for

        decoder = decoder_for(Page[Prediction])

        def decode() -> Any:
            return decoder.decode(body)
    elif fam == "floor":
        import msgspec

        sys.path.insert(0, str(HERE))
        from _bare import bare_page

        from replicate.types import Prediction

        plain = msgspec.json.Decoder(bare_page(Prediction))

        def decode() -> Any:
            return plain.decode(body)
    elif fam == "v2":
        import httpx

        from replicate.pagination import SyncCursorURLPageWithCreatedFilters
        from replicate.types import Prediction as V2Prediction

        client, cast = v2_client(p), SyncCursorURLPageWithCreatedFilters[V2Prediction]
        headers = {"content-type": "application/json"}

        def decode() -> Any:
            # What v2 does with a 200 list response (APIResponse._parse, cast_to the page).
            response = httpx.Response(200, content=body, headers=headers)
            return client._process_response_data(
                data=response.json(), cast_to=cast, response=response
            )
    else:
        import httpx
        from replicate.prediction import Prediction as V1Prediction
        from replicate.prediction import _json_to_prediction

        from replicate.pagination import Page as V1Page

        client = v1_client(p)

        def decode() -> Any:
            # What v1's predictions.list() does with the response.
            obj = httpx.Response(200, content=body).json()
            obj["results"] = [_json_to_prediction(client, r) for r in obj["results"]]
            return V1Page[V1Prediction](**obj)

    if len(decode().results) != 100:
        raise RuntimeError("the page did not decode to 100 predictions")

    def loop(n: int) -> dict[str, Any]:
        gc.collect()
        gc.disable()
        try:
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                decode()
            return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
        finally:
            gc.enable()

    return loop


def _iterate_all(contender: str, p: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(a function iterating every prediction of every page, one fetching the first page)."""
    fam, lib = family(contender)
    first_url = f"{p['base']}/v1/predictions"
    if fam == "floor":
        import msgspec

        sys.path.insert(0, str(HERE))
        from _bare import bare_page

        from replicate.types import Prediction

        http, decoder = FloorHTTP(lib), msgspec.json.Decoder(bare_page(Prediction))

        def floor_pages() -> Any:
            url = first_url
            while url:
                status, body = http.request("GET", url, HEADERS)
                if status != 200:
                    raise RuntimeError(status)
                page = decoder.decode(body)
                yield page
                url = page.next

        def floor_all() -> Any:
            for page in floor_pages():
                yield from page.results

        return floor_all, lambda: next(floor_pages())
    client = client_for(contender, p)
    if fam == "v1":
        from replicate.pagination import paginate

        def v1_all() -> Any:
            for page in paginate(client.predictions.list):
                yield from page.results

        return v1_all, client.predictions.list
    if fam == "v2":
        return client.predictions.list, client.predictions.list
    return client.predictions.list, lambda: next(iter(client.predictions.list()))


def setup_paginate(contender: str, p: dict[str, Any]) -> Loop:
    every, first = _iterate_all(contender, p)
    first()  # warm: connection, decoders, lazy imports (one page)

    def loop(n: int) -> dict[str, Any]:
        gc.collect()
        before = rss_mb()
        reset_peak()
        cpu, wall = time.process_time(), time.perf_counter()
        count = 0
        for _ in range(n):
            for _prediction in every():
                count += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = peak_mb() - before
        gc.collect()
        before_keep = rss_mb()
        kept = list(every())
        gc.collect()
        held = rss_mb() - before_keep
        if len(kept) * n != count:
            raise RuntimeError(f"{count} predictions iterated, {len(kept)} kept")
        del kept
        return {"cpu_s": cpu, "wall_s": wall, "items": count, "peak_mb": peak, "kept_mb": held}

    return loop


def setup_run(contender: str, p: dict[str, Any], *, wait: bool) -> Loop:
    fam, lib = family(contender)
    if fam == "floor":
        import msgspec

        http, decoder = FloorHTTP(lib), msgspec.json.Decoder(bare_prediction())
        encode = msgspec.json.encode
        create_url = f"{p['base']}/v1/models/{MODEL}/predictions"
        headers = {**HEADERS, "Content-Type": "application/json"}
        if wait:
            headers["Prefer"] = "wait"
        poll_s = float(os.environ.get("REPLICATE_POLL_INTERVAL", "0.5"))

        def floor(n: int) -> None:
            for _ in range(n):
                status, body = http.request("POST", create_url, headers, encode({"input": INPUT}))
                if status != 201:
                    raise RuntimeError(status)
                prediction = decoder.decode(body)
                polls = 0
                while prediction.status not in ("succeeded", "failed", "canceled"):
                    if polls:  # the first poll at once, as ours does
                        time.sleep(poll_s)
                    polls += 1
                    status, body = http.request("GET", prediction.urls.get, HEADERS)
                    prediction = decoder.decode(body)
                if prediction.output != "hello Alice":
                    raise RuntimeError(prediction.output)

        return floor
    client = client_for(contender, p)
    kwargs: dict[str, Any] = {} if wait else {"wait": False}

    def loop(n: int) -> None:
        for _ in range(n):
            out = client.run(MODEL, input=INPUT, **kwargs)
            if str(out) != "hello Alice":
                raise RuntimeError(repr(out))

    return loop


def setup_sse(contender: str, p: dict[str, Any]) -> Loop:
    fam, _ = family(contender)
    expected = int(p["sse_events"])
    if fam == "floor":
        import urllib3

        pool = urllib3.PoolManager(maxsize=2)
        url = f"{p['base']}/stream/{SSE_PID}"

        def once() -> int:
            # A bare split loop: no ids, no CR handling, no reconnects.
            resp = pool.request(
                "GET",
                url,
                headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
                preload_content=False,
                retries=False,
            )
            count, tail = 0, b""
            try:
                while chunk := resp.read1(64 * 1024):
                    blocks = (tail + chunk).split(b"\n\n")
                    tail = blocks.pop()
                    for block in blocks:
                        event, data = "message", []
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
    elif fam == "v1":
        client = v1_client(p)

        def once() -> int:
            count = 0
            for event in client.predictions.get(SSE_PID).stream():
                count += event.event.value == "output"
            return count
    else:
        client = client_for(contender, p)

        def once() -> int:
            count = 0
            for event in client.predictions.stream(SSE_PID):
                count += event.event == "output"
            return count

    if (got := once()) != expected:
        raise RuntimeError(f"{got} output events, expected {expected}")

    def loop(n: int) -> dict[str, Any]:
        return {"events": sum(once() for _ in range(n))}

    return loop


class _PoolWarnings:
    """Counts urllib3's "Connection pool is full" warnings (and any other it logs)."""

    def __init__(self) -> None:
        import logging

        self.count = 0
        handler = logging.Handler(logging.WARNING)
        handler.emit = lambda record: self._seen()  # type: ignore[method-assign]
        logging.getLogger("urllib3").addHandler(handler)

    def _seen(self) -> None:
        self.count += 1


def setup_threads(contender: str, p: dict[str, Any]) -> Loop:
    import threading

    threads = int(p.get("threads", 16))
    warnings = _PoolWarnings()
    one = setup_get_shared(contender, p, threads)

    def loop(n: int) -> dict[str, Any]:
        per, errors = max(1, n // threads), []
        start = threading.Barrier(threads)

        def work() -> None:
            try:
                start.wait()
                for _ in range(per):
                    one()
            except BaseException as exc:  # reported to the runner below
                errors.append(exc)

        before = warnings.count
        pool = [threading.Thread(target=work) for _ in range(threads)]
        cpu, wall = time.process_time(), time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if errors:
            raise errors[0]
        return {
            "cpu_s": cpu,
            "wall_s": wall,
            "requests": per * threads,
            "pool_warnings": warnings.count - before,
        }

    return loop


def setup_get_shared(contender: str, p: dict[str, Any], threads: int) -> Callable[[], Any]:
    """One get on a client (or pool) shared by every thread."""
    fam, lib = family(contender)
    if fam == "floor":
        import msgspec

        http, decoder = FloorHTTP(lib, maxsize=threads), msgspec.json.Decoder(bare_prediction())
        url = f"{p['base']}/v1/predictions/{PID}"
        return lambda: decoder.decode(http.request("GET", url, HEADERS)[1])
    get = client_for(contender, p).predictions.get
    if fam == "v2":
        return lambda: get(prediction_id=PID)
    return lambda: get(PID)


def setup_async(contender: str, p: dict[str, Any]) -> Loop:
    import asyncio

    sys.path.insert(0, str(HERE))
    from _async_side import timed_batch

    fam, lib = family(contender)
    concurrency = int(p.get("concurrency", 100))
    loop_ = asyncio.new_event_loop()
    if fam == "floor":
        import aiohttp
        import msgspec

        decoder = msgspec.json.Decoder(bare_prediction())
        url = f"{p['base']}/v1/predictions/{PID}"

        async def make() -> Any:
            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=60),
            )

        session = loop_.run_until_complete(make())
        CLOSERS.append(lambda: loop_.run_until_complete(session.close()))

        async def call() -> Any:
            async with session.get(url, headers=HEADERS, allow_redirects=False) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(resp.status)
            return decoder.decode(body)
    elif fam == "v2":
        client = v2_client(p, is_async=True)
        CLOSERS.append(lambda: loop_.run_until_complete(client.close()))

        def call() -> Any:
            return client.predictions.get(prediction_id=PID)
    else:
        client = ours_client(p, lib, is_async=True)
        CLOSERS.append(lambda: loop_.run_until_complete(client.close()))

        def call() -> Any:
            return client.predictions.get(PID)

    CLOSERS.append(loop_.close)

    def loop(n: int) -> dict[str, Any]:
        cpu = wall = stall = 0.0
        for _ in range(n):
            result = loop_.run_until_complete(timed_batch(call, concurrency))
            cpu, wall = cpu + result["cpu_s"], wall + result["wall_s"]
            stall = max(stall, *result["gaps_ms"], 0.0)
        return {"cpu_s": cpu, "wall_s": wall, "requests": n * concurrency, "stall_ms": stall}

    return loop


def setup_download(contender: str, p: dict[str, Any]) -> Loop:
    fam, _ = family(contender)
    size = int(p["download_bytes"])
    url = f"{p['base']}/download/{size}"
    target = Path(p["tmp"]) / f"download-{contender}.bin"
    if fam == "floor":
        import urllib3

        pool = urllib3.PoolManager(maxsize=2)

        def once() -> None:
            resp = pool.request("GET", url, preload_content=False, retries=False)
            with open(target, "wb") as f:
                while chunk := resp.read1(1 << 20):  # urllib3's cheapest path: no re-chunking
                    f.write(chunk)
            resp.release_conn()
    elif fam == "ours":
        from replicate import FileOutput

        output = FileOutput(url, client=client_for(contender, p))

        def once() -> None:
            output.save(target)
    else:
        if fam == "v2":
            from replicate.lib._files import FileOutput as V2FileOutput

            output = V2FileOutput(url, v2_client(p))
        else:
            from replicate.helpers import FileOutput as V1FileOutput

            output = V1FileOutput(url, v1_client(p))

        def once() -> None:
            with open(target, "wb") as f:
                for chunk in output:
                    f.write(chunk)

    def loop(n: int) -> dict[str, Any]:
        gc.collect()
        before = rss_mb()
        reset_peak()
        wall = time.perf_counter()
        for _ in range(n):
            once()
            if target.stat().st_size != size:
                raise RuntimeError(f"downloaded {target.stat().st_size} bytes, not {size}")
        wall = time.perf_counter() - wall
        target.unlink()
        return {"wall_s": wall, "bytes": size * n, "peak_mb": peak_mb() - before}

    return loop


def setup_upload(contender: str, p: dict[str, Any]) -> Loop:
    fam, _ = family(contender)
    path = Path(p["upload_file"])
    size = path.stat().st_size
    once: Callable[[Path], Any]
    if fam == "floor":
        import urllib3

        pool = urllib3.PoolManager(maxsize=2)
        url = f"{p['base']}/v1/files"
        boundary = "bench-boundary-7d3f"
        tail = f"\r\n--{boundary}--\r\n".encode()

        def once(path: Path) -> None:
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
                f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            headers = {
                **HEADERS,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
            }

            def parts() -> Any:
                yield head
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        yield chunk
                yield tail

            r = pool.request("POST", url, body=parts(), headers=headers, retries=False)
            if r.status != 201:
                raise RuntimeError(r.status)
    else:
        client = client_for(contender, p)
        if fam == "v1":

            def once(path: Path) -> None:
                client.files.create(str(path))
        else:

            def once(path: Path) -> None:
                client.files.create(content=path)

    # A 1 KiB upload first, in every contender, so that the sample times the transfer: not the
    # connection's opening nor a process's one-time costs (cold start measures those), which
    # weigh here as they do not in the 1 GB download: an SDK's first upload loads the system's
    # MIME types table to guess the file's type (about 5 ms, a tenth of 100 MB over loopback)
    # where the floor sends a fixed type.
    warm = Path(p["tmp"]) / f"warm-up{path.suffix}"
    warm.write_bytes(bytes(1024))
    once(warm)

    def loop(n: int) -> dict[str, Any]:
        gc.collect()
        before = rss_mb()
        reset_peak()
        wall = time.perf_counter()
        for _ in range(n):
            once(path)
        return {
            "wall_s": time.perf_counter() - wall,
            "bytes": size * n,
            "peak_mb": peak_mb() - before,
        }

    return loop


def setup_batch(contender: str, p: dict[str, Any]) -> Loop:
    """``bench_batch.py``'s measure: ``client.batch`` against a sequential loop of ``run()`` on
    ``replicate-emulator serve`` (a process of its own, rate limits off), and the duplicate
    creates after an interrupted and resumed batch with a journal."""
    import tempfile

    sys.path.insert(0, str(HERE))
    import bench_batch

    import replicate

    os.environ["REPLICATE_POLL_INTERVAL"] = "0.05"  # bench_batch.py's: this worker is fresh
    runs, concurrency = int(p["batch_runs"]), int(p.get("batch_concurrency", 16))
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=p["tmp"]))
    models = tmp / "bench_models.py"
    models.write_text(bench_batch.MODELS)
    proc, url = bench_batch.serve(models)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    CLOSERS.append(stop)
    client = replicate.Replicate(base_url=url, bearer_token=TOKEN)
    CLOSERS.insert(0, client.close)
    client.run(bench_batch.MODEL, input={"i": 0})  # warm-up
    bench_batch.batched(client, min(16, runs), concurrency)

    def loop(n: int) -> dict[str, Any]:
        seq = sum(bench_batch.sequential(client, runs) for _ in range(n))
        bat = sum(bench_batch.batched(client, runs, concurrency) for _ in range(n))
        journal = tmp / f"journal-{time.monotonic_ns()}.jsonl"
        dup, _seen = bench_batch.duplicates(client, concurrency, journal)
        return {"sequential_s": seq, "batch_s": bat, "duplicates": dup, "runs": runs * n}

    return loop


SETUPS: dict[str, Callable[[str, dict[str, Any]], Loop]] = {
    "get": setup_get,
    "page": setup_page,
    "paginate": setup_paginate,
    "run_sync": lambda c, p: setup_run(c, p, wait=True),
    "run_poll": lambda c, p: setup_run(c, p, wait=False),
    "sse": setup_sse,
    "threads16": setup_threads,
    "async100": setup_async,
    "download": setup_download,
    "upload": setup_upload,
    "batch": setup_batch,
}


# --- the protocol ------------------------------------------------------------------------------


def versions(contender: str) -> dict[str, str]:
    from importlib import metadata

    names = {"ours": ["replicate", "msgspec"], "v1": ["replicate", "httpx", "pydantic"]}
    names["v2"] = names["v1"]
    fam, lib = family(contender)
    wanted = names.get(fam, ["msgspec"]) + ([lib] if lib in ("urllib3", "httpx", "aiohttp") else [])
    found = {"python": sys.version.split()[0]}
    for name in dict.fromkeys(wanted):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def main() -> None:
    contender = sys.argv[1]
    out = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints stays off the protocol
    print(json.dumps({"ready": True, "versions": versions(contender)}), file=out, flush=True)
    loop: Loop | None = None
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "quit":
                close_all()
                break
            if cmd["cmd"] == "setup":
                loop = None
                close_all()
                gc.collect()
                loop = SETUPS[cmd["scenario"]](contender, cmd["params"])
                answer: dict[str, Any] = {"ok": True}
            elif cmd["cmd"] == "run":
                assert loop is not None, "run before setup"
                n = int(cmd["n"])
                cpu, wall = time.process_time(), time.perf_counter()
                extra = loop(n) or {}
                answer = {
                    "cpu_s": time.process_time() - cpu,
                    "wall_s": time.perf_counter() - wall,
                    "n": n,
                    **extra,
                }
            else:
                answer = {"error": f"unknown command {cmd['cmd']!r}"}
        except ImportError as exc:
            answer = {"skip": f"{type(exc).__name__}: {exc}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        print(json.dumps(answer), file=out, flush=True)


if __name__ == "__main__":
    main()
