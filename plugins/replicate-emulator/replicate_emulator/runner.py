"""Runs predictions and trainings on worker threads, as the service's life cycle describes.

A prediction is ``starting`` when created, ``processing`` once a worker picks it up, then
``succeeded``, ``failed`` or ``canceled`` (``aborted`` when its ``Cancel-After`` deadline
passed before it started). Every change updates the public document (kept in ``emu.state``),
re-encodes it once (so a ``GET`` answers cached bytes), appends the SSE events it implies,
wakes the waiters (``Prefer: wait``, SSE readers, :meth:`Runner.wait_idle`) through one
:class:`threading.Condition`, and tells ``emu.webhooks``.

A cancel is final at once: the document turns ``canceled`` when asked, and the worker, which
learns it at the predictor's next ``log``/``sleep``/``check`` (or when the function returns),
drops whatever comes after.

On start, documents a previous process left ``starting`` or ``processing`` (a SQLite state)
are marked ``failed`` with :data:`RESTART_ERROR`: their work died with that process.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from .predictors import Canceled, sleep_in

__all__ = ["RESTART_ERROR", "TERMINAL", "Run", "Runner", "new_id"]

log = logging.getLogger("replicate_emulator")

_encode = msgspec.json.Encoder().encode

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})

#: The error of predictions and trainings that were running when the emulator stopped.
RESTART_ERROR = "The emulator restarted while this was running; its work was lost."

#: Finished runs whose encoded documents stay cached (a bound on memory for long servers).
_CACHE_DONE = 10_000


def new_id() -> str:
    """A 26-character lower-case base32 id, like the API's (``gm3qorzdhgbfurvjtvhg6dckhu``)."""
    return base64.b32encode(os.urandom(17)).decode().lower()[:26]


class Run:
    """One prediction or training: its public document plus what only the runner needs."""

    __slots__ = (
        "body",
        "created",
        "destination",
        "doc",
        "events",
        "initial",
        "inputs",
        "kind",
        "origin",
        "predictor",
        "started",
        "timer",
    )

    def __init__(
        self,
        kind: str,
        doc: dict[str, Any],
        predictor: Any,
        inputs: dict[str, Any],
        origin: str,
        created: float,
    ) -> None:
        self.kind = kind
        self.doc = doc
        self.predictor = predictor
        self.inputs = inputs
        self.origin = origin
        self.created = created
        self.started: float | None = None
        #: SSE events so far: (event, data).
        self.events: list[tuple[str, str]] = []
        #: ``doc`` encoded, as of its latest change.
        self.body = _encode(doc)
        #: ``body`` as created: the answer to a create without ``Prefer: wait``.
        self.initial = self.body
        self.destination: tuple[str, str] | None = None
        self.timer: threading.Timer | None = None

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def status(self) -> str:
        return str(self.doc["status"])

    @property
    def done(self) -> bool:
        return self.doc["status"] in TERMINAL


class _Context:
    """The :class:`~.predictors.RunContext` a running predictor gets."""

    def __init__(self, runner: Runner, run: Run) -> None:
        self._runner = runner
        self._run = run
        self.speed = runner.emu.speed

    @property
    def canceled(self) -> bool:
        return self._run.done

    def check(self) -> None:
        if self._run.done or self._runner.closed:
            raise Canceled()

    def log(self, text: str) -> None:
        self.check()
        self._runner.append_logs(self._run, text)

    def open_input(self, url: str) -> bytes:
        data: bytes = self._runner.emu.blobs.read_url(url)
        return data


class Runner:
    """The worker pool and the live runs of one emulator (``emu.runner``)."""

    def __init__(self, emu: Any, *, workers: int = 8) -> None:
        self.emu = emu
        self.cond = threading.Condition()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="replicate-emulator")
        self._runs: dict[str, Run] = {}
        self._done_order: list[str] = []
        #: Runs queued or running; of those, running.
        self._busy = 0
        self._running = 0
        self.closed = False
        self.recover()

    # -- reading -------------------------------------------------------------------------

    def get(self, id: str) -> Run | None:
        """The live (or recently finished) run with this id, if this process has it."""
        return self._runs.get(id)

    def doc(self, kind: str, id: str) -> dict[str, Any] | None:
        run = self._runs.get(id)
        if run is not None and run.kind == kind:
            return run.doc
        doc: dict[str, Any] | None = self.emu.state.get(kind, id)
        return doc

    # -- creating ------------------------------------------------------------------------

    def start(
        self,
        kind: str,
        doc: dict[str, Any],
        predictor: Any,
        inputs: dict[str, Any],
        origin: str,
        *,
        cancel_after: float | None = None,
        destination: tuple[str, str] | None = None,
    ) -> Run:
        """Store a new ``starting`` document and queue its work."""
        run = Run(kind, doc, predictor, inputs, origin, self.emu.clock())
        run.destination = destination
        with self.cond:
            if self.closed:
                raise RuntimeError("the emulator is closed")
            self._runs[run.id] = run
            self._busy += 1
            self.emu.state.put(kind, run.id, doc)
        if cancel_after is not None:
            timer = threading.Timer(cancel_after, self._deadline, (run,))
            timer.daemon = True
            run.timer = timer
            timer.start()
        try:
            self._pool.submit(self._execute, run)
        except RuntimeError:  # the pool shut down meanwhile
            self.finish(run, "failed", error="The emulator is shutting down")
            self._release()
        return run

    # -- changes -------------------------------------------------------------------------

    def _changed(self, run: Run, event: str | None) -> None:
        """Called with the lock held after ``run.doc`` changed."""
        run.body = _encode(run.doc)
        self.emu.state.put(run.kind, run.id, run.doc)
        self.cond.notify_all()
        if event is not None:
            self._notify(run, event)

    def _notify(self, run: Run, event: str) -> None:
        try:
            self.emu.webhooks.notify(run.doc, event)
        except Exception:  # a webhook problem never breaks a prediction
            log.exception("webhook notify failed for %s", run.id)

    def append_logs(self, run: Run, text: str) -> None:
        if not text:
            return
        with self.cond:
            if run.done:
                raise Canceled()
            run.doc["logs"] = (run.doc.get("logs") or "") + text
            run.events.append(("logs", text))
            self._changed(run, "logs")

    def _append_output(self, run: Run, item: Any) -> None:
        with self.cond:
            if run.done:
                raise Canceled()
            output = run.doc.get("output")
            if not isinstance(output, list):
                output = []
            run.doc["output"] = [*output, item]
            run.events.append(("output", item if isinstance(item, str) else _json(item)))
            self._changed(run, "output")

    def finish(
        self, run: Run, status: str, *, output: Any = None, error: str | None = None
    ) -> bool:
        """Move ``run`` to a terminal status (once: False if it already was)."""
        with self.cond:
            if run.done:
                return False
            now = self.emu.clock()
            doc = run.doc
            if output is not None:
                doc["output"] = output
                if run.predictor is None or not getattr(run.predictor, "streams", False):
                    run.events.append(
                        ("output", output if isinstance(output, str) else _json(output))
                    )
            doc["status"] = status
            doc["error"] = error
            doc["completed_at"] = self.emu.now_iso(now)
            metrics: dict[str, Any] = {"total_time": round(now - run.created, 6)}
            if run.started is not None:
                metrics["predict_time"] = round(now - run.started, 6)
            doc["metrics"] = metrics
            if error is not None:
                run.events.append(("error", _json({"detail": error})))
            reason = {"succeeded": None, "failed": "error"}.get(status, status)
            run.events.append(("done", _json({"reason": reason} if reason else {})))
            if run.timer is not None:
                run.timer.cancel()
            self._done_order.append(run.id)
            if len(self._done_order) > _CACHE_DONE:
                self._runs.pop(self._done_order.pop(0), None)
            self._changed(run, "completed")
        return True

    def cancel(self, run: Run) -> None:
        """``POST .../cancel``: final at once; a finished run stays as it is."""
        self.finish(run, "canceled")

    def _deadline(self, run: Run) -> None:
        """The ``Cancel-After`` deadline passed."""
        self.finish(run, "aborted" if run.status == "starting" else "canceled")

    # -- the work ------------------------------------------------------------------------

    def _execute(self, run: Run) -> None:
        with self.cond:
            self._running += 1
        try:
            delay = self.emu.start_delay_for(str(run.doc["model"]))
            if delay > 0:
                with self.cond:
                    self.cond.wait_for(lambda: run.done or self.closed, delay)
            with self.cond:
                if run.done or self.closed:
                    return
                run.started = self.emu.clock()
                run.doc["status"] = "processing"
                run.doc["started_at"] = self.emu.now_iso(run.started)
                self._changed(run, "start")
            if run.kind == "training":
                self._train(run)
            else:
                self._predict(run)
        except Canceled:
            if not self.closed:  # stopped by close(): left for a restart to mark failed
                self.finish(run, "canceled")
        except Exception as exc:
            if not self.closed:
                self._fail(run, exc)
        finally:
            with self.cond:
                self._running -= 1
            self._release()

    def _release(self) -> None:
        with self.cond:
            self._busy -= 1
            self.cond.notify_all()

    def _fail(self, run: Run, exc: BaseException) -> None:
        if run.done:
            return
        message = str(exc) or type(exc).__name__
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        with self.cond:
            if not run.done:
                run.doc["logs"] = (run.doc.get("logs") or "") + "".join(lines)
                run.events.append(("logs", "".join(lines)))
        self.finish(run, "failed", error=message)

    def _encode_output(self, run: Run, value: Any) -> Any:
        return self.emu.blobs.encode_output(run.origin, run.id, value)

    def _predict(self, run: Run) -> None:
        ctx = _Context(self, run)
        result = run.predictor.run(run.inputs, ctx)
        if isinstance(result, Iterator) and getattr(run.predictor, "streams", False):
            try:
                with self.cond:
                    run.doc["output"] = []
                for item in result:
                    ctx.check()
                    self._append_output(run, self._encode_output(run, item))
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            ctx.check()
            self.finish(run, "succeeded")
            return
        output = self._encode_output(run, result)
        ctx.check()
        self.finish(run, "succeeded", output=output)

    def _train(self, run: Run) -> None:
        """A short stand-in training: a few log lines, then a new version of the destination
        (run by the trained version's predictor) and a weights file."""
        ctx = _Context(self, run)
        steps = 3
        for n in range(1, steps + 1):
            ctx.log(f"Training step {n}/{steps}\n")
            sleep_in(ctx, 0.01)
        assert run.destination is not None
        owner, name = run.destination
        version = self.emu.catalog.add_version(owner, name, run.predictor)
        weights = self.emu.blobs.output_url(
            run.origin,
            run.id,
            "weights.tar",
            _encode({"base": run.doc["version"], "input": run.doc["input"]}),
            "application/x-tar",
            inline=False,
        )
        ctx.check()
        self.finish(run, "succeeded", output={"version": version.id, "weights": weights})

    # -- waiting -------------------------------------------------------------------------

    def wait(self, run: Run, timeout: float, until: Callable[[], bool] | None = None) -> bool:
        """Wait until ``run`` is done (or ``until()``), at most ``timeout`` seconds."""
        test = until or (lambda: run.done)
        with self.cond:
            return self.cond.wait_for(lambda: test() or self.closed, timeout) and test()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no run is queued or running; False when ``timeout`` passed first."""
        with self.cond:
            return self.cond.wait_for(lambda: self._busy == 0, timeout)

    # -- restart and close ---------------------------------------------------------------

    def recover(self) -> None:
        """Fail what a previous process left unfinished (see the module docstring)."""
        state = self.emu.state
        for kind in ("prediction", "training"):
            for doc in state.list(kind):
                if doc.get("status") in TERMINAL:
                    continue
                doc["status"] = "failed"
                doc["error"] = RESTART_ERROR
                doc["completed_at"] = self.emu.now_iso()
                state.put(kind, str(doc["id"]), doc)

    def close(self) -> None:
        """Stop: queued runs never start; running predictors are told to stop (as a cancel
        would) and their threads are not waited for beyond a short grace."""
        with self.cond:
            self.closed = True
            live = [run for run in self._runs.values() if not run.done]
            self.cond.notify_all()
        for run in live:
            if run.timer is not None:
                run.timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self.cond:
            self.cond.wait_for(lambda: self._running <= 0, 2.0)


def _json(value: Any) -> str:
    return _encode(value).decode()
