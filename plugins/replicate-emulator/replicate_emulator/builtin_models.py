"""The models every emulator runs, small stand-ins for the kinds of models Replicate hosts:
text in and out (``replicate/hello-world``), a language model streaming tokens
(``replicate/stream-tokens``), an image model returning a file (``replicate/png-image``) and
a long job that logs progress and can be canceled (``replicate/slow-progress``).

Their delays are inputs (``delay``, ``seconds_per_step``) so that tests can pass 0; they sleep
with :func:`.predictors.sleep`, which an emulator's ``speed`` shortens and a cancel
interrupts. Their version ids are fixed: ``replicate/hello-world`` has the id Replicate's
documentation uses, the others the sha256 of their schema (see :class:`.Predictor`).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

from .png import encode_png
from .predictors import File, Input, Predictor, log, sleep

__all__ = [
    "BUILTINS",
    "HELLO_WORLD",
    "PNG_IMAGE",
    "SLOW_PROGRESS",
    "STREAM_TOKENS",
    "progress_line",
]

#: The version id of ``replicate/hello-world`` in Replicate's API documentation.
HELLO_WORLD_VERSION = "9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426"


def hello_world(
    text: str = Input(default="world", description="Text to prefix with 'hello '"),
) -> str:
    """A tiny model that says hello."""
    return "hello " + text


_WORDS = (
    *("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "the"),
    *("emulator", "streams", "one", "token", "after", "another", "until", "it", "has", "said"),
    "enough",
)


def stream_tokens(
    prompt: str = Input(default="Tell me a story", description="Text to answer"),
    max_tokens: int = Input(default=32, ge=1, le=4096, description="Number of tokens to emit"),
    delay: float = Input(default=0.02, ge=0, le=10, description="Seconds between tokens"),
) -> Iterator[str]:
    """A stand-in language model: streams an answer to the prompt, one word per token."""
    words = [*f"You said: {prompt.strip()}.".split(), *_WORDS]
    for index in range(max_tokens):
        if index and delay:
            sleep(delay)
        word = words[index % len(words)]
        yield word if index == 0 else " " + word


_HEX = re.compile(r"^#?[0-9a-fA-F]{6}$")


def png_image(
    width: int = Input(default=64, ge=1, le=2048, description="Width of output image"),
    height: int = Input(default=64, ge=1, le=2048, description="Height of output image"),
    color: str = Input(
        default="#3366ff", regex=r"^#?[0-9a-fA-F]{6}$", description="Colour as #rrggbb"
    ),
    seed: int = Input(
        default=None, description="Random seed: noise over the colour; leave blank for a flat image"
    ),
) -> File:
    """A stand-in image model: a PNG of one colour, or with seeded noise."""
    hex_digits = color.lstrip("#")
    base = tuple(int(hex_digits[i : i + 2], 16) for i in (0, 2, 4))
    if seed is None:
        row = bytes(base) * width
        rows = [row] * height
    else:
        log(f"Using seed: {seed}")
        rng = random.Random(seed)
        rows = [
            bytes(max(0, min(255, c + rng.randint(-48, 48))) for _ in range(width) for c in base)
            for _ in range(height)
        ]
    return File(encode_png(width, height, rows), "output.png", "image/png")


_BLOCKS = " ▏▎▍▌▋▊▉"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def progress_line(n: int, total: int, elapsed: float) -> str:
    """One tqdm-style progress line: `` 45%|████▌     | 9/20 [00:01<00:01,  9.00it/s]``."""
    fraction = n / total if total else 1.0
    filled = fraction * 10
    full = int(filled)
    bar = "█" * full
    if full < 10:
        bar += _BLOCKS[int((filled - full) * 8)] + " " * (9 - full)
    if n == 0 or elapsed <= 0:
        timing = f"[{_clock(elapsed)}<?, ?it/s]"
    else:
        rate = n / elapsed
        remaining = (total - n) / rate
        timing = f"[{_clock(elapsed)}<{_clock(remaining)}, {rate:5.2f}it/s]"
    return f"{int(fraction * 100):3d}%|{bar}| {n}/{total} {timing}"


def slow_progress(
    steps: int = Input(default=20, ge=1, le=10000, description="Number of steps"),
    seconds_per_step: float = Input(default=0.05, ge=0, le=60, description="Seconds per step"),
) -> str:
    """A stand-in long job: logs a progress bar as it goes; cancel it to stop it."""
    started = time.monotonic()
    log(progress_line(0, steps, 0.0))
    for n in range(1, steps + 1):
        sleep(seconds_per_step)
        log(progress_line(n, steps, time.monotonic() - started))
    return f"finished {steps} steps"


HELLO_WORLD = Predictor(hello_world, "replicate/hello-world", version_id=HELLO_WORLD_VERSION)
STREAM_TOKENS = Predictor(stream_tokens, "replicate/stream-tokens")
PNG_IMAGE = Predictor(png_image, "replicate/png-image")
SLOW_PROGRESS = Predictor(slow_progress, "replicate/slow-progress")

#: In the order the emulator lists them.
BUILTINS: tuple[Predictor, ...] = (HELLO_WORLD, STREAM_TOKENS, PNG_IMAGE, SLOW_PROGRESS)
