"""Files in and out: upload with the files API, pass files as model inputs, download outputs.

    python examples/files.py [OUTPUT_DIR]

Runs on the offline emulator in this process (no token, no network), with one extra model
defined below in plain Python (``examples/shout``: a text file in, an upper-cased copy out).
Saves the output into OUTPUT_DIR (by default a new temporary folder) and prints its path.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import replicate_emulator
from replicate_emulator import File

import replicate


# A Cog-style model: the typed signature becomes its OpenAPI schema. A ``Path`` input is a
# file (``format: uri``) that reaches the function as a local temporary file. Decorated models
# are run by every emulator this process builds afterwards, the shared one included.
@replicate_emulator.model("examples/shout", description="Upper-cases a text file")
def shout(document: Path) -> File:
    """Upper-case a text file.

    :param document: a UTF-8 text file
    """
    text = document.read_text(encoding="utf-8")
    return File(text.upper().encode(), "shout.txt", "text/plain")


def main(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    notes = output_dir / "notes.txt"
    notes.write_text("files go in,\nfiles come out.\n", encoding="utf-8")

    with replicate.Replicate(transport="emulator") as client:
        # Upload once with the files API; the File object carries its id, size and checksums.
        uploaded = client.files.create(content=notes, metadata={"purpose": "example"})
        assert uploaded.checksums is not None and uploaded.urls is not None
        print(f"uploaded {uploaded.name}: id {uploaded.id}, {uploaded.size} bytes")
        print(f"  sha256 {uploaded.checksums.sha256}")
        print(f"  listed: {uploaded.id in [f.id for f in client.files.list()]}")

        # Use it as a model input by its URL...
        output = client.run("examples/shout", input={"document": uploaded.urls.get})
        print("from the uploaded URL:", output.read().decode().splitlines()[0])

        # ...or pass a path (or an open file, or bytes): the SDK uploads it for you.
        output = client.run("examples/shout", input={"document": notes})
        saved = output.save(output_dir / "shout.txt")  # streamed to disk, renamed when complete
        print(f"saved {saved}: {saved.read_text(encoding='utf-8').splitlines()[1]}")

        client.files.delete(uploaded.id)
        try:
            client.files.get(uploaded.id)
        except replicate.NotFoundError:
            print(f"deleted {uploaded.id}")


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="replicate-")
    main(Path(folder))
