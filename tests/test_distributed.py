"""The Dask recipe of docs/distributed.md, run as the page gives it: a script starting a
``LocalCluster`` of two worker processes, spreading a batch over them against the emulator
served on loopback, with the API's rate limits on. Its results must be a local batch's, and
the per-worker share of the rate limit must keep every create under the account's limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from replicate_emulator.app import Emulator
from replicate_emulator.ratelimit import RateLimiter, RateLimits
from replicate_emulator.wire import EmuRequest, EmuResponse
from support import ROOT

import replicate

DOC = ROOT / "docs" / "distributed.md"
DASK_TOKEN = "r8_daskWorkersToken000000000000000000000"
LOCAL_TOKEN = "r8_localBatchToken0000000000000000000000"
INPUTS = 40
#: The API's limits (600 creates and 3000 other requests a minute per token), over a window of
#: 2 s instead of 60, so that a short batch meets them.
WINDOW = 2.0
LIMITS = RateLimits(creates=int(600 * WINDOW / 60), other=int(3000 * WINDOW / 60), window=WINDOW)
#: The batch's shared rate: two thirds of the account's 600 a minute.
RATE = 400


class CountingLimiter(RateLimiter):
    """The emulator's limiter, remembering the token of every request it answered 429."""

    def __init__(self) -> None:
        super().__init__(LIMITS)
        self.refused: list[str] = []

    def check(self, req: EmuRequest, create: bool) -> EmuResponse | None:
        answer = super().check(req, create)
        if answer is not None:
            self.refused.append(req.headers.get("authorization", ""))
        return answer


def recipe() -> str:
    """The page's python block."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1, "docs/distributed.md has one python block: the recipe"
    return str(blocks[0])


def run_recipe(emulator_url: str, tmp_path: Path, rate: float) -> list[dict[str, Any]]:
    """The page's script run in a new process on the served emulator, given ``rate`` (creates
    a minute, for the whole cluster); its results, one dict per input."""
    script = tmp_path / "batch_dask.py"
    script.write_text(recipe())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("REPLICATE_") and not k.lower().endswith("_proxy")
    }
    env.update(
        REPLICATE_API_TOKEN=DASK_TOKEN,
        REPLICATE_BASE_URL=emulator_url,
        REPLICATE_PLUGINS="",
        TMPDIR=str(tmp_path),
    )
    args = ["--inputs", str(INPUTS), "--chunk-size", "10", "--rate-limit", str(rate)]
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=100,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    spread = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["index"] for r in spread) == list(range(INPUTS)), done.stdout
    assert all(r["status"] == "succeeded" and r["error"] is None for r in spread), done.stdout
    return spread


def test_the_dask_recipe_matches_a_local_batch_under_the_shared_rate_limit(
    emulator: Emulator, emulator_url: str, tmp_path: Path
) -> None:
    limiter = emulator.ratelimit = CountingLimiter()
    spread = run_recipe(emulator_url, tmp_path, RATE)
    # Every create of the workers got through the first time: the shares added up to no more
    # than the account's limit.
    assert limiter.refused == [], f"{len(limiter.refused)} requests answered 429"
    assert len(emulator.predictions()) == INPUTS  # each input created once

    inputs = [{"text": f"number {i}"} for i in range(INPUTS)]
    with replicate.Replicate(base_url=emulator_url, bearer_token=LOCAL_TOKEN) as client:
        local: dict[int, Any] = {
            r.index: (r.status, r.output)
            for r in client.batch("replicate/hello-world", inputs, rate_limit=RATE)
        }
    assert {r["index"]: (r["status"], r["output"]) for r in spread} == local
    assert len({r["id"] for r in spread}) == INPUTS


def test_the_dask_recipe_over_the_limit_is_slowed_by_429s_and_still_completes(
    emulator: Emulator, emulator_url: str, tmp_path: Path
) -> None:
    """The same script given four times the account's rate: each worker alone would create
    twice too fast. The emulator answers 429s, which the workers' batches wait out: every
    input still succeeds, created once. (This is what the share above keeps from happening.)"""
    limiter = emulator.ratelimit = CountingLimiter()
    spread = run_recipe(emulator_url, tmp_path, 4 * 600)
    assert limiter.refused and set(limiter.refused) == {f"Bearer {DASK_TOKEN}"}
    assert len(emulator.predictions()) == INPUTS
    assert {r["output"] for r in spread} == {f"hello number {i}" for i in range(INPUTS)}
