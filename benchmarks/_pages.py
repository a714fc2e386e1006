"""Realistic ``GET /predictions`` page bodies for the decode and memory benchmarks.

Stdlib only (besides the cassette loader, which needs PyYAML), so the official SDK's venv can
import it too. The templates are real predictions recorded by the v1 SDK's test suite
(``../shared/reference/v1-cassettes``, loaded with ``tests/cassettes.py``): an SDXL image
prediction with its progress-bar logs, an SDXL prediction that was canceled, and a Llama
prediction with token-list output. Each page holds 100 varied copies (ids, timestamps, prompts,
seeds, output sizes, log lengths, statuses), about 200 KB of JSON, like a real page of 100.

The runner (``run.py``) writes them to a file that its fake API (``_fakeapi.py``) serves.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PER_PAGE = 100
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

PROMPTS = [
    "a studio photo of a rainbow colored corgi",
    "an astronaut riding a horse on the moon, 35mm film, golden hour",
    "Please write a haiku about llamas",
    "a watercolor painting of a lighthouse in a storm, dramatic lighting, highly detailed",
    "Summarize the following paragraph in one sentence.",
    "isometric pixel art of a tiny coffee shop at night with neon signs",
    "Explain the difference between a list and a tuple in Python.",
    "portrait of an old fisherman, rembrandt lighting, oil on canvas",
]
WORDS = [
    "the",
    "llama",
    "quietly",
    "grazes",
    "on",
    "a",
    "misty",
    "green",
    "hill",
    "while",
    "soft",
    "light",
    "falls",
    "across",
    "fields",
    "of",
    "wheat",
    "and",
    "the",
    "river",
    "carries",
    "small",
    "boats",
    "toward",
    "a",
    "distant",
    "town",
    "of",
    "red",
    "roofs",
]

# Used only when the recorded cassettes are not around.
_FALLBACK = {
    "id": "vgcm4plb7tgzlyznry5d5jkgvu",
    "model": "stability-ai/sdxl",
    "version": "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b",
    "input": {"height": 512, "prompt": "a studio photo of a rainbow colored corgi", "seed": 42069},
    "logs": "Using seed: 42069\ntxt2img mode\n"
    + "".join(
        f"{p:3d}%|          | {p // 2}/50 [00:0{p // 50}<00:02, 17.1it/s]\n"
        for p in range(0, 101, 4)
    ),
    "output": ["https://replicate.delivery/pbxt/9inf36wjsEWuQ6XTf84iezPftv9QZdePfGy/out-0.png"],
    "error": None,
    "status": "succeeded",
    "created_at": "2023-08-16T18:57:08.360785Z",
    "started_at": "2023-08-16T18:57:08.366092Z",
    "completed_at": "2023-08-16T18:57:12.17042Z",
    "metrics": {"predict_time": 3.804328},
    "urls": {
        "cancel": "https://api.replicate.com/v1/predictions/vgcm4plb7tgzlyznry5d5jkgvu/cancel",
        "get": "https://api.replicate.com/v1/predictions/vgcm4plb7tgzlyznry5d5jkgvu",
    },
}


def recorded_templates() -> tuple[list[dict[str, Any]], str]:
    """Real recorded predictions to copy, and where they came from."""
    try:
        sys.path.insert(0, str(ROOT / "tests"))
        from cassettes import cassette_dir, load_cassette  # type: ignore[import-not-found]
    except ImportError:
        return [_FALLBACK], "built-in template (tests/cassettes.py or PyYAML not importable)"
    finally:
        sys.path.pop(0)
    root = cassette_dir()
    if root is None:
        return [_FALLBACK], "built-in template (no cassette directory)"
    wanted = {
        "predictions-get.yaml#0",  # SDXL, succeeded, progress-bar logs, image URL output
        "predictions-cancel.yaml#4",  # SDXL, canceled, no output
        "test_models_predictions_create_blocking[False-10].yaml#0",  # Llama, token list output
    }
    found = {}
    for name in {w.split("#")[0] for w in wanted}:
        if (root / name).is_file():
            found.update({ex.id: ex.json() for ex in load_cassette(root / name, root)})
    found = {k: v for k, v in found.items() if k in wanted}
    if len(found) != len(wanted):
        return [_FALLBACK], "built-in template (expected cassettes missing)"
    return [found[k] for k in sorted(found)], "recorded cassettes: " + ", ".join(sorted(found))


def _rid(rng: random.Random) -> str:
    n = rng.getrandbits(134)  # 36**26 > 2**134
    chars = []
    for _ in range(26):
        n, d = divmod(n, 36)
        chars.append(_ALPHABET[d])
    return "".join(chars)


def _ts(base: float, rng: random.Random) -> str:
    import datetime

    t = datetime.datetime.fromtimestamp(base, datetime.timezone.utc)
    digits = rng.choice([3, 6, 6, 6, 9])  # the API sends 0..9 fractional digits
    frac = f"{t.microsecond:06d}{rng.randrange(1000):03d}"[:digits]
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"


def _vary(template: dict[str, Any], rng: random.Random, when: float) -> dict[str, Any]:
    p = json.loads(json.dumps(template))
    pid = _rid(rng)
    p["id"] = pid
    p.pop("webhook_completed", None)
    p["source"] = rng.choice(["api", "api", "api", "web"])
    p["data_removed"] = False
    p["urls"] = {
        "get": f"https://api.replicate.com/v1/predictions/{pid}",
        "cancel": f"https://api.replicate.com/v1/predictions/{pid}/cancel",
        "web": f"https://replicate.com/p/{pid}",
    }
    inp = dict(p.get("input") or {})
    inp["prompt"] = rng.choice(PROMPTS)
    if "seed" in inp:
        inp["seed"] = rng.randrange(1 << 31)
    p["input"] = inp
    started = when + rng.uniform(0.01, 3.0)
    run_time = rng.uniform(0.5, 12.0)
    p["created_at"] = _ts(when, rng)
    p["started_at"] = _ts(started, rng)
    p["completed_at"] = _ts(started + run_time, rng)
    p["metrics"] = {"predict_time": round(run_time, 6), "total_time": round(run_time + 1.2, 6)}
    status = p.get("status")
    if p.get("model", "").startswith("meta/"):  # Llama: token list output
        tokens = [
            rng.choice(WORDS) + rng.choice([" ", "", ",", ".\n"])
            for _ in range(rng.randint(20, 220))
        ]
        p["output"] = tokens
        p["status"] = "succeeded"
        p["logs"] = "".join(
            f"Generated {n} tokens in {n / 60:.2f} seconds\n" for n in range(rng.randint(1, 12))
        )
        p["metrics"].update(
            input_token_count=rng.randint(10, 400),
            output_token_count=len(tokens),
            tokens_per_second=round(rng.uniform(40, 120), 4),
            time_to_first_token=round(rng.uniform(0.05, 0.9), 6),
        )
        p["urls"]["stream"] = f"https://stream.replicate.com/v1/files/{_rid(rng)}{_rid(rng)}"
    elif status == "canceled":
        roll = rng.random()
        if roll < 0.5:
            p["status"] = "failed"
            p["error"] = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.69 GiB total)"
        p["logs"] = (template.get("logs") or "") + f"Using seed: {rng.randrange(1 << 31)}\n"
    else:  # SDXL succeeded: image URLs, progress-bar logs of varying length
        n = rng.randint(1, 4)
        p["output"] = [
            f"https://replicate.delivery/pbxt/{_rid(rng)}{_rid(rng)[:17]}/out-{i}.png"
            for i in range(n)
        ]
        logs = template.get("logs") or ""
        p["logs"] = logs if rng.random() < 0.5 else logs[: rng.randint(len(logs) // 3, len(logs))]
    return p


def make_page(rng: random.Random, templates: list[dict[str, Any]], start: float) -> dict[str, Any]:
    """One page of 100 predictions, newest first, without ``next``/``previous``."""
    # Mostly finished image predictions, some LLM ones, a few canceled or failed.
    share = {"succeeded": 6, "processing": 3, "canceled": 1}
    weights = [share.get(t.get("status") or "", 1) for t in templates]
    results = []
    when = start
    for _ in range(PER_PAGE):
        template = rng.choices(templates, weights)[0]
        results.append(_vary(template, rng, when))
        when -= rng.uniform(5, 600)
    return {"next": None, "previous": None, "results": results}


def make_bodies(pages: int, seed: int = 1) -> tuple[list[bytes], str]:
    """``pages`` compact JSON page bodies (no ``next`` links) and the templates' origin."""
    templates, origin = recorded_templates()
    rng = random.Random(seed)
    start = 1_720_000_000.0
    bodies = []
    for _ in range(pages):
        page = make_page(rng, templates, start)
        start -= 100 * 300
        bodies.append(json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode())
    return bodies, origin


def write_lines(bodies: list[bytes], path: Path) -> None:
    """One body per line (compact JSON has no raw newlines)."""
    path.write_bytes(b"\n".join(bodies) + b"\n")


def read_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line]


if __name__ == "__main__":
    body = make_bodies(1)[0][0]
    print(f"{len(body)} bytes, {body[:300]!r}")
