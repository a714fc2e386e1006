"""The official SDK's side of the benchmarks, run by ``bench_decode.py`` / ``bench_memory.py`` in
the official SDK's own interpreter (``--v2-python``, e.g. ``/tmp/v2venv/bin/python``), since both
packages are named ``replicate``. Stdlib + the v2 venv only.

It decodes page bodies exactly as v2 does when a list response arrives:
``BaseClient._process_response`` -> ``APIResponse.parse()`` -> ``httpx.Response.json()`` ->
``BaseClient._process_response_data(data=..., cast_to=SyncCursorURLPageWithCreatedFilters[
Prediction])``, which calls ``construct_type`` (the default, ``_strict_response_validation=False``)
or ``validate_type`` (``_strict_response_validation=True``) on the page model.

Protocol: one JSON object a line on stdout. It first prints ``{"ready": ..., versions}``, then
answers each command read from stdin (timed loops run with the cyclic GC
off, as ``timeit`` does):

* ``decode BODY_FILE``: loads one body; then ``construct N`` / ``validate N`` -> ``{"cpu_s": total
  CPU seconds for N decodes, "n": N}``.
* ``memory PAGES_FILE``: loads the pages (one body a line) and starts ``tracemalloc``; then
  ``warm`` decodes one page (building v2's lazy caches) and ``keep`` -> ``{"bytes": traced
  memory still held after decoding every page and keeping the results, gc collected; "items": n}``.
* ``quit``.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def main() -> None:
    import httpx
    import pydantic

    import replicate
    from replicate.pagination import SyncCursorURLPageWithCreatedFilters
    from replicate.types import Prediction

    page_type: Any = SyncCursorURLPageWithCreatedFilters[Prediction]
    base = "http://127.0.0.1:9/v1"
    clients = {
        "construct": replicate.Replicate(bearer_token="r8_bench", base_url=base),
        "validate": replicate.Replicate(
            bearer_token="r8_bench", base_url=base, _strict_response_validation=True
        ),
    }
    headers = {"content-type": "application/json"}

    def decode(client: Any, body: bytes) -> Any:
        # What v2 does with a 200 list response (APIResponse._parse with the page as cast_to).
        response = httpx.Response(200, content=body, headers=headers)
        return client._process_response_data(
            data=response.json(), cast_to=page_type, response=response
        )

    mode, path = sys.argv[1], Path(sys.argv[2])
    bodies = [line for line in path.read_bytes().split(b"\n") if line]
    if mode == "memory":
        tracemalloc.start()
    out = sys.stdout
    print(
        json.dumps(
            {
                "ready": True,
                "replicate": replicate.__version__,
                "pydantic": pydantic.VERSION,
                "httpx": httpx.__version__,
                "python": sys.version.split()[0],
            }
        ),
        file=out,
        flush=True,
    )
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] in clients:
            client, n, body = clients[cmd[0]], int(cmd[1]), bodies[0]
            gc.collect()
            gc.disable()  # as timeit does, on both sides
            start = time.process_time()
            for _ in range(n):
                decode(client, body)
            result: dict[str, Any] = {"cpu_s": time.process_time() - start, "n": n}
            gc.enable()
        elif cmd[0] == "warm":  # build v2's lazy caches before measuring
            decode(clients["construct"], bodies[0])
            result = {"warm": True}
        elif cmd[0] == "keep":
            client = clients["construct"]
            started = time.perf_counter()
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            kept = [decode(client, body) for body in bodies]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            items = sum(len(page.results) for page in kept)
            del kept
            gc.collect()
            result = {
                "bytes": after - before,
                "items": items,
                "seconds": time.perf_counter() - started,
            }
        else:
            result = {"error": f"unknown command {cmd[0]!r}"}
        print(json.dumps(result), file=out, flush=True)


if __name__ == "__main__":
    main()
