"""The main job: real model runs through the Python API, offline, with no token.

``transport="emulator"`` answers every request from an emulator of Replicate's API inside this
process (the ``replicate-emulator`` plugin): predictions are really created, run and streamed,
and file outputs really downloaded, but nothing leaves the machine and no API token is needed.

    python examples/quickstart.py [OUTPUT_DIR]

Prints a model's text output, streams a language model's tokens as they are produced, and
saves an image model's PNG into OUTPUT_DIR (by default a new temporary folder), printing its
path.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import replicate


def main(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    with replicate.Replicate(transport="emulator") as client:
        # A model run: sync mode, returns once the prediction has finished.
        print(client.run("replicate/hello-world", input={"text": "quickstart"}))

        # Streaming: Server-Sent Events, printed as they arrive. str(event) is the output
        # of an "output" event and "" for the others (logs, done).
        for event in client.stream(
            "replicate/stream-tokens", input={"prompt": "hello", "max_tokens": 12}
        ):
            print(str(event), end="", flush=True)
        print()

        # A file output: a FileOutput, downloaded when read or saved (atomically).
        image = client.run("replicate/png-image", input={"width": 32, "height": 32})
        saved = image.save(output_dir / "quickstart.png")
        print(f"saved {saved} ({saved.stat().st_size} bytes)")


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="replicate-")
    main(Path(folder))
