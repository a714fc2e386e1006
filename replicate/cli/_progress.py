"""A prediction's progress on stderr: its status changes and its new log lines, and, when stderr
is a terminal and the model logs tqdm-style progress (`` 45%|####   | 9/20``), a live bar
redrawn in place instead of those lines.

Stdout stays the output's alone, so ``replicate run ... > out.txt`` captures just the output.
When stderr is not a terminal (a file, a pipe, CI) every log line is written as it came, bar
lines included, and nothing is redrawn.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..types import Prediction

__all__ = ["Display", "render_bar"]

#: tqdm's progress: `` 45%|####      | 9/20 [00:04<00:05, 2.00it/s]``.
PROGRESS = re.compile(r"(\d{1,3})%\|[^|\r\n]*\|\s*(\d+)/(\d+)")
_LINE_END = re.compile(r"[\r\n]")
_CLEAR = "\r\x1b[K"
_TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})


def render_bar(percent: int, done: int, total: int, rest: str = "", *, columns: int = 80) -> str:
    """One line of a tqdm-style bar (`` 45%|#####     | 9/20 rest``), fitted to ``columns``."""
    percent = max(0, min(percent, 100))
    suffix = f"| {done}/{total}" + (f" {rest}" if rest else "")
    width = max(10, min(40, columns - len(suffix) - 6))
    fraction = done / total if total > 0 else percent / 100
    filled = max(0, min(width, round(width * fraction)))
    line = f"{percent:3d}%|{'#' * filled}{' ' * (width - filled)}{suffix}"
    return line[: max(columns - 1, 20)]


class Display:
    """Writes a prediction's states (:meth:`update`, given each new state) and stream log events
    (:meth:`log`) to ``stream``; :meth:`close` ends the bar's line. ``tty`` defaults to whether
    ``stream`` is a terminal; ``quiet`` writes nothing."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream
        if tty is None:
            isatty = getattr(stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.quiet = quiet
        self._id: str | None = None
        self._status: str | None = None
        self._seen = ""  # the logs written so far (the API sends them whole each time)
        self._partial = ""  # a log line not ended yet
        self._bar: str | None = None  # the bar line on screen, if any

    def update(self, prediction: Prediction) -> None:
        """Show what changed since the last state: the status, then the new log lines (for a
        final state, the log lines first)."""
        if self.quiet:
            return
        if prediction.id != self._id:
            self._id, self._status, self._seen, self._partial = prediction.id, None, "", ""
        status = prediction.status
        final = status in _TERMINAL
        if not final:
            self._show_status(prediction)
        logs = prediction.logs or ""
        new = logs[len(self._seen) :] if logs.startswith(self._seen) else logs
        self._seen = logs
        self._feed(new)
        if final:
            self.close()  # the bar, at its last state, stays above the final status
            self._show_status(prediction)

    def log(self, text: str) -> None:
        """A ``logs`` event of a stream: one or more whole lines."""
        if not self.quiet:
            self._feed(text if text.endswith(("\n", "\r")) else text + "\n")

    def message(self, text: str) -> None:
        """A line of the command's own (above the bar, if one is drawn)."""
        if not self.quiet:
            self._print(text)

    def close(self) -> None:
        """End the bar's line, and write a log line that never ended."""
        if self._partial:
            self._feed("\n")
        if self._bar is not None:
            self.stream.write("\n")
            self._bar = None
        self.stream.flush()

    # --- internals ----------------------------------------------------------------------------

    def _show_status(self, prediction: Prediction) -> None:
        status = prediction.status
        if status == self._status or not status:
            return
        self._status = status
        took = ""
        metrics = prediction.metrics
        if status == "succeeded" and metrics is not None and metrics.predict_time is not None:
            took = f" in {metrics.predict_time:.1f}s"
        self._print(f"prediction {prediction.id}: {status}{took}")

    def _feed(self, text: str) -> None:
        pieces = _LINE_END.split(self._partial + text)
        self._partial = pieces.pop()
        for piece in pieces:
            if piece.strip():
                self._line(piece)
        if self.tty and self._partial:  # a bar redrawn without a line end yet
            match = PROGRESS.search(self._partial)
            if match:
                self._draw(self._partial, match)

    def _line(self, text: str) -> None:
        if self.tty:
            match = PROGRESS.search(text)
            if match:
                self._draw(text, match)
                return
        self._print(text)

    def _draw(self, text: str, match: re.Match[str]) -> None:
        columns = shutil.get_terminal_size((80, 24)).columns
        rest = text[match.end() :].strip()
        bar = render_bar(
            int(match[1]), int(match[2]), int(match[3]), rest, columns=max(columns, 20)
        )
        self.stream.write(_CLEAR + bar)
        self.stream.flush()
        self._bar = bar

    def _print(self, text: str) -> None:
        if self._bar is not None:
            self.stream.write(_CLEAR)
        self.stream.write(text.rstrip("\r\n") + "\n")
        if self._bar is not None:
            self.stream.write(self._bar)
        self.stream.flush()
