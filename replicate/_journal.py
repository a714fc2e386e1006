"""A batch's journal: what was created for each input, in a JSON Lines file that survives a kill.

``replicate.batch(..., journal=path)`` writes one line per step of each input, flushed and
fsynced before the batch goes on, so that whatever stops the process (Ctrl-C, a crash, a kill)
the file says what the server may hold:

- ``{"i": 3, "d": "<digest>", "e": "sending"}`` just before input 3's create is sent;
- ``{"i": 3, "d": ..., "e": "created", "id": "<prediction id>"}`` once its answer gave the id;
- ``{"i": 3, "d": ..., "e": "finished", "id": ..., "status": "succeeded"}`` at its end;
- ``{"i": 3, "d": ..., "e": "unsent"}`` when the server refused the create (a 429 or another
  error status: nothing was created), so a later resume sends it again.

Started again with the same path, a batch reads the file first: an input whose id was received
is not created again (a finished one is fetched, an unfinished one waited on), and one whose
last line is ``sending`` is reported as uncertain (it may exist; it is never sent again). ``d``
is a digest of the input, so a journal written for other inputs is refused (ValueError) instead
of being applied to them. A last line cut short by a kill is ignored. The journal is a local
file written straight from the batch's flows (like a log line), guarded by a lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any, BinaryIO

__all__ = ["Entry", "Journal", "digest"]

CREATED = "created"
FINISHED = "finished"
SENDING = "sending"
UNSENT = "unsent"
_STEPS = frozenset({CREATED, FINISHED, SENDING, UNSENT})


def _plain(value: Any) -> Any:
    """A JSON stand-in for an input value that is not JSON (a path, bytes, a file)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, os.PathLike):
        return "path:" + str(os.fspath(value))
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return "file:" + name
    return f"{type(value).__name__}:{value}"


def digest(input: Mapping[str, Any]) -> str:
    """A short, stable digest of an input (its keys sorted; non-JSON values by name)."""
    text = json.dumps(input, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Entry:
    """What the journal holds for one input: its last step, and the prediction id if known."""

    __slots__ = ("digest", "id", "status", "step")

    def __init__(self, step: str, digest: str, id: str | None, status: str | None) -> None:
        self.step = step
        self.digest = digest
        self.id = id
        self.status = status


class Journal:
    """The journal at ``path`` for a batch of inputs whose digests are ``digests``: read (and
    checked against them) when it exists, then appended to."""

    def __init__(self, path: str | os.PathLike[str], digests: list[str]) -> None:
        self.path = os.fspath(path)
        self.digests = digests
        self.entries: dict[int, Entry] = {}
        self._lock = threading.Lock()
        self._read()
        self._file: BinaryIO | None = None  # opened at the first record
        self._closed = False

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            return
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index, step, dig = record["i"], record["e"], record["d"]
                if not isinstance(index, int) or step not in _STEPS or not isinstance(dig, str):
                    raise ValueError(record)
            except (ValueError, KeyError, TypeError):
                if number == len(lines):  # cut short by a kill while it was written
                    break
                raise ValueError(
                    f"{self.path} is not a batch journal: line {number} is not one of its records"
                ) from None
            if index >= len(self.digests) or index < 0 or self.digests[index] != dig:
                raise ValueError(
                    f"the journal {self.path} was written for other inputs: its input {index} "
                    + (
                        "is not in this batch"
                        if not 0 <= index < len(self.digests)
                        else "differs from this batch's"
                    )
                    + "; give a new journal path for a new batch (or the same inputs to resume)"
                )
            known = self.entries.get(index)
            pid = record.get("id") or (known.id if known is not None else None)
            self.entries[index] = Entry(step, dig, pid, record.get("status"))

    def entry(self, index: int) -> Entry | None:
        return self.entries.get(index)

    def _write(self, index: int, step: str, **fields: Any) -> None:
        record = {"i": index, "d": self.digests[index], "e": step, **fields}
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._closed:
                return
            file = self._file
            if file is None:
                file = self._file = open(self.path, "ab")  # noqa: SIM115 (closed by close())
            file.write(line)
            file.flush()
            os.fsync(file.fileno())
            known = self.entries.get(index)
            pid = fields.get("id") or (known.id if known is not None else None)
            self.entries[index] = Entry(step, record["d"], pid, fields.get("status"))

    def sending(self, index: int) -> None:
        self._write(index, SENDING)

    def unsent(self, index: int) -> None:
        self._write(index, UNSENT)

    def created(self, index: int, prediction_id: str) -> None:
        entry = self.entries.get(index)
        if entry is not None and entry.id == prediction_id and entry.step != SENDING:
            return  # already known (a resumed input)
        self._write(index, CREATED, id=prediction_id)

    def finished(self, index: int, prediction_id: str, status: str | None) -> None:
        entry = self.entries.get(index)
        if entry is not None and entry.step == FINISHED and entry.id == prediction_id:
            return
        self._write(index, FINISHED, id=prediction_id, status=status)

    def close(self) -> None:
        with self._lock:
            file, self._file = self._file, None
            self._closed = True
        if file is not None:
            file.close()

    def __repr__(self) -> str:
        return f"<Journal {self.path!r}: {len(self.entries)} of {len(self.digests)} inputs>"
