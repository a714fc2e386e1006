"""Stream a language model's output token by token, as Server-Sent Events.

    python examples/stream.py

Runs on the offline emulator in this process (no token, no network); ``REPLICATE_BASE_URL`` or
``REPLICATE_TRANSPORT`` point it elsewhere, as in ``examples/run.py``.
"""

from __future__ import annotations

import os
import time

import replicate

OFFLINE = not (os.environ.get("REPLICATE_BASE_URL") or os.environ.get("REPLICATE_TRANSPORT"))
PROMPT = {"prompt": "Stream me a story", "max_tokens": 20, "delay": 0.05}


def main() -> None:
    with replicate.Replicate(transport="emulator" if OFFLINE else None) as client:
        # client.stream creates the prediction with stream=True and follows its event stream:
        # each token is printed the moment the model yields it, not when the run ends.
        start = time.monotonic()
        tokens = 0
        for event in client.stream("replicate/stream-tokens", input=PROMPT):
            if event.event == "output":
                tokens += 1
                print(event.data, end="", flush=True)
        print(f"\n{tokens} tokens in {time.monotonic() - start:.2f} s")

        # An existing prediction's stream can be followed too, e.g. one started elsewhere.
        prediction = client.models.predictions.create(
            "replicate", "stream-tokens", input={"prompt": "again", "max_tokens": 5}, stream=True
        )
        text = "".join(str(event) for event in client.predictions.stream(prediction.id))
        print(f"{prediction.id}: {text}")


if __name__ == "__main__":
    main()
