"""``batch()`` on the emulator: results, bounded concurrency, the create rate limiter and its
429 backoff, failures kept per input, interrupts canceling what was started, and the journal
that resumes a batch without creating any prediction twice."""

from __future__ import annotations

import _thread
import asyncio
import io
import json
import pickle
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.predictors import Predictor, sleep

import replicate
from replicate._batch import Progress
from replicate._journal import digest
from replicate._ratelimit import CreateLimiter
from replicate.types import BatchResult


class Gauge:
    """Predictions of the ``acme/gauge`` model running at once, as the server sees them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.reached = threading.Event()
        self.want = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.want and self.now >= self.want:
                self.reached.set()

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


GAUGE = Gauge()


def gauge(text: str = "", hold: float = 0.0) -> str:
    """Counts itself while it runs; waits (at most ``hold`` s) until the wanted number of
    predictions run at once, so that reaching it is an event, not a timing."""
    with GAUGE:
        if hold:
            GAUGE.reached.wait(hold)
        if text == "boom":
            raise RuntimeError("boom on purpose")
        return text.upper()


def slow(text: str = "", seconds: float = 0.0) -> str:
    """Sleeps (cancellable), then says the text back."""
    sleep(seconds)
    return text


MODELS = [Predictor(gauge, "acme/gauge"), Predictor(slow, "acme/slow")]


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")


def texts(inputs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(i.get("text")) for i in inputs)


# --- results --------------------------------------------------------------------------------


@pytest.mark.emulator(models=MODELS)
def test_every_input_gets_its_result(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"t{i}"} for i in range(20)]
    results = list(emulator_client.batch("acme/gauge", inputs, concurrency=4, rate_limit=None))
    assert sorted(r.index for r in results) == list(range(20))
    for result in results:
        assert result.ok and result.status == "succeeded" and result.error is None
        assert result.input == inputs[result.index]
        assert result.output == f"T{result.index}"
        assert result.prediction is not None and result.prediction.status == "succeeded"
    assert texts(emulator.inputs("acme/gauge")) == Counter(f"t{i}" for i in range(20))


def test_a_pinned_version_checks_inputs_and_decodes_files(
    emulator_client: replicate.Replicate,
) -> None:
    from replicate_emulator.builtin_models import HELLO_WORLD_VERSION

    ref = f"replicate/hello-world:{HELLO_WORLD_VERSION}"
    results = {
        r.index: r
        for r in emulator_client.batch(ref, [{"text": "v"}, {"nope": 1}], rate_limit=None)
    }
    assert results[0].output == "hello v"
    assert results[1].status == "error" and results[1].prediction is None
    assert isinstance(results[1].error, replicate.InputValidationError)  # checked, never sent
    [image] = emulator_client.batch("replicate/png-image", [{"width": 4, "height": 4}])
    assert isinstance(image.output, replicate.FileOutput)
    assert image.output.read().startswith(b"\x89PNG")
    [url] = emulator_client.batch("replicate/png-image", [{}], use_file_output=False)
    assert isinstance(url.output, str) and url.output.startswith(("https://", "data:"))


def test_module_level_batch_and_exports() -> None:
    assert replicate.BatchResult is BatchResult
    assert replicate.types.BatchResult is BatchResult
    assert issubclass(replicate.PredictionUncertainError, replicate.ReplicateError)
    with pytest.raises(ValueError, match="concurrency"):
        replicate.batch("acme/gauge", [{}], concurrency=0)
    with pytest.raises(TypeError, match="input 1 must be a mapping"):
        replicate.batch("acme/gauge", [{}, "x"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="rate_limit"):
        replicate.batch("acme/gauge", [{}], rate_limit=0)


@pytest.mark.emulator(models=MODELS)
def test_concurrency_is_bounded_server_side(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    GAUGE.most, GAUGE.want = 0, 3
    GAUGE.reached.clear()
    inputs = [{"text": f"c{i}", "hold": 20.0} for i in range(9)]
    results = list(emulator_client.batch("acme/gauge", inputs, concurrency=3, rate_limit=None))
    assert all(r.ok for r in results)
    assert GAUGE.reached.is_set()  # three ran at once...
    assert GAUGE.most == 3  # ...and never more
    GAUGE.want = 0


@pytest.mark.emulator(models=MODELS)
def test_one_failure_does_not_stop_the_others(emulator_client: replicate.Replicate) -> None:
    inputs: list[dict[str, Any]] = [
        {"text": "a"},
        {"text": "boom"},
        {"text": "b"},
        {"text": 5},
        {"text": "c"},
    ]
    results = {r.index: r for r in emulator_client.batch("acme/gauge", inputs, rate_limit=None)}
    assert [results[i].output for i in (0, 2, 4)] == ["A", "B", "C"]
    failed = results[1]
    assert failed.status == "failed" and not failed.ok
    assert isinstance(failed.error, replicate.ModelError)
    assert failed.prediction is not None and "boom" in str(failed.prediction.error)
    refused = results[3]  # the server refused the input: no prediction at all
    assert refused.status == "error" and refused.prediction is None
    assert isinstance(refused.error, replicate.UnprocessableEntityError)


@pytest.mark.emulator(models=MODELS)
def test_timeout_bounds_each_prediction_and_cancels_it(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs: list[dict[str, Any]] = [{"text": "quick"}, {"text": "late", "seconds": 30.0}]
    results = {
        r.index: r for r in emulator_client.batch("acme/slow", inputs, timeout=2.0, wait=False)
    }
    assert results[0].ok and results[0].output == "quick"
    late = results[1]
    assert late.status == "error" and isinstance(late.error, replicate.PredictionTimeoutError)
    assert late.prediction is not None
    assert emulator.wait_idle(10)
    statuses = {d["input"]["text"]: d["status"] for d in emulator.predictions("acme/slow")}
    assert statuses == {"quick": "succeeded", "late": "canceled"}


# --- the rate limiter -----------------------------------------------------------------------


def test_limiter_spaces_creates_and_backs_off_on_429() -> None:
    now = [100.0]
    limiter = CreateLimiter(120, clock=lambda: now[0])  # one every 0.5 s
    assert limiter.reserve() == (0.0, 0)
    assert limiter.reserve() == (0.5, 0)
    assert limiter.reserve() == (1.0, 0)
    limiter.throttled(3.0)
    assert not limiter.current(0)  # bookings made before the 429 are made again
    delay, epoch = limiter.reserve()
    assert delay >= 3.0 and epoch == 1
    assert limiter.per_minute == 60  # halved
    for _ in range(10):
        limiter.passed()
    assert limiter.per_minute == 120  # recovered, and never past the configured pace
    with pytest.raises(ValueError):
        CreateLimiter(0)


@pytest.mark.emulator(models=MODELS)
def test_rate_limit_spaces_creates(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"r{i}"} for i in range(6)]
    started = time.monotonic()
    results = list(emulator_client.batch("acme/gauge", inputs, concurrency=6, rate_limit=240))
    elapsed = time.monotonic() - started
    assert all(r.ok for r in results)
    # 240 a minute: one create every 0.25 s, so six take at least 1.25 s (a lower bound: a
    # loaded machine only makes it slower).
    assert elapsed >= 1.2
    created = sorted(d["created_at"] for d in emulator.predictions("acme/gauge"))
    assert len(created) == 6


@pytest.mark.emulator(
    models=MODELS,
    faults=[{"route": "POST /v1/models/{owner}/{name}/predictions", "burst_429": 4}],
)
def test_429s_back_off_without_duplicates(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"q{i}"} for i in range(4)]
    results = list(emulator_client.batch("acme/gauge", inputs, concurrency=4))
    assert all(r.ok for r in results), [r.error for r in results]
    assert texts(emulator.inputs("acme/gauge")) == Counter(f"q{i}" for i in range(4))


@pytest.mark.emulator(models=MODELS, rate_limits={"creates": 3, "window": 1.0})
def test_server_rate_limit_is_respected(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"s{i}"} for i in range(8)]
    results = list(emulator_client.batch("acme/gauge", inputs, concurrency=8))
    assert all(r.ok for r in results), [r.error for r in results]
    assert texts(emulator.inputs("acme/gauge")) == Counter(f"s{i}" for i in range(8))


# --- interrupts and the journal -------------------------------------------------------------


def _mixed() -> list[dict[str, Any]]:
    """Inputs 0 and 1 (the first two taken) run for a long time; the rest finish at once."""
    return [{"text": f"m{i}", "seconds": 60.0 if i in (0, 1) else 0.0} for i in range(10)]


@pytest.mark.emulator(models=MODELS)
def test_ctrl_c_cancels_started_predictions_and_a_resume_creates_nothing_twice(
    emulator: Emulator, emulator_client: replicate.Replicate, tmp_path: Path
) -> None:
    journal = tmp_path / "batch.jsonl"
    inputs = _mixed()
    seen: list[BatchResult] = []
    with pytest.raises(KeyboardInterrupt):
        for result in emulator_client.batch(
            "acme/slow", inputs, concurrency=4, rate_limit=None, wait=False, journal=journal
        ):
            seen.append(result)
            if len(seen) == 4:
                raise KeyboardInterrupt  # as Ctrl-C would, in the consumer's loop
    assert emulator.wait_idle(10)
    first = {d["input"]["text"]: d["status"] for d in emulator.predictions("acme/slow")}
    assert first["m0"] == first["m1"] == "canceled"  # left running: canceled on the way out
    assert set(first.values()) <= {"succeeded", "canceled"}

    again = {
        r.index: r
        for r in emulator_client.batch(
            "acme/slow", inputs, concurrency=4, rate_limit=None, wait=False, journal=journal
        )
    }
    assert sorted(again) == list(range(10))
    assert again[0].status == again[1].status == "canceled"
    assert all(again[i].ok for i in range(2, 10))
    for result in seen:  # resumed ones are the same predictions
        assert again[result.index].id == result.id
    created = texts(emulator.inputs("acme/slow"))
    assert created == Counter(f"m{i}" for i in range(10))  # zero duplicate creates


def _interrupt_once_running(emulator: Emulator, n: int, times: int = 1) -> threading.Thread:
    """Ctrl-C (``times`` of them, 0.2 s apart) once ``n`` predictions are processing."""

    def interrupt() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            docs = emulator.predictions("acme/slow")
            if len(docs) == n and all(d["status"] == "processing" for d in docs):
                break
            time.sleep(0.02)
        for _ in range(times):
            _thread.interrupt_main()
            time.sleep(0.2)

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("wait", [False, None], ids=["polling", "sync-mode"])
@pytest.mark.emulator(models=MODELS)
def test_ctrl_c_while_waiting_for_results(
    emulator: Emulator, emulator_client: replicate.Replicate, wait: bool | None
) -> None:
    """Polled, or in sync mode (the default 5 s window: the creates in flight are waited for,
    so that their ids are learnt and their predictions canceled)."""
    inputs = [{"text": f"w{i}", "seconds": 60.0} for i in range(3)]
    options: dict[str, Any] = {} if wait is None else {"wait": wait}
    _interrupt_once_running(emulator, 3)
    with pytest.raises(KeyboardInterrupt):
        list(emulator_client.batch("acme/slow", inputs, rate_limit=None, **options))
    assert emulator.wait_idle(10)
    assert [d["status"] for d in emulator.predictions("acme/slow")] == ["canceled"] * 3


@pytest.mark.emulator(models=MODELS)
def test_a_second_ctrl_c_leaves_at_once(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    """The first waits for the creates in flight (a 10 s window here); the second does not."""
    inputs = [{"text": f"d{i}", "seconds": 60.0} for i in range(2)]
    _interrupt_once_running(emulator, 2, times=2)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        list(emulator_client.batch("acme/slow", inputs, rate_limit=None, wait=10))
    assert time.monotonic() - started < 8  # before the windows end
    # The workers left behind still cancel what they created, once their creates answer.
    for worker in [t for t in threading.enumerate() if t.name.startswith("replicate-batch-")]:
        worker.join(30)
    assert emulator.wait_idle(10)
    assert [d["status"] for d in emulator.predictions("acme/slow")] == ["canceled"] * 2


@pytest.mark.emulator(models=MODELS)
def test_leaving_the_loop_cancels_what_runs(
    emulator: Emulator, emulator_client: replicate.Replicate
) -> None:
    inputs: list[dict[str, Any]] = [
        {"text": "now"},
        *({"text": f"l{i}", "seconds": 60.0} for i in range(2)),
    ]
    results = emulator_client.batch("acme/slow", inputs, rate_limit=None, wait=False)
    for result in results:
        assert result.output == "now"
        break
    results.close()  # type: ignore[attr-defined]
    assert emulator.wait_idle(10)
    statuses = sorted(d["status"] for d in emulator.predictions("acme/slow"))
    assert statuses == ["canceled", "canceled", "succeeded"]


@pytest.mark.emulator(models=MODELS)
def test_a_create_in_flight_is_uncertain_and_never_sent_again(
    emulator: Emulator, emulator_client: replicate.Replicate, tmp_path: Path
) -> None:
    inputs = [{"text": f"u{i}"} for i in range(3)]
    journal = tmp_path / "j.jsonl"
    # As a kill during input 1's create leaves it: "sending", and no answer.
    record = {"i": 1, "d": digest(inputs[1]), "e": "sending"}
    journal.write_text(json.dumps(record) + "\n" + '{"i": 2, "d": "cut sho')
    results = {
        r.index: r
        for r in emulator_client.batch("acme/gauge", inputs, rate_limit=None, journal=journal)
    }
    uncertain = results[1]
    assert uncertain.status == "uncertain" and not uncertain.ok and uncertain.prediction is None
    assert isinstance(uncertain.error, replicate.PredictionUncertainError)
    assert uncertain.error.index == 1 and "input 1" in str(uncertain.error)
    assert "may exist" in str(uncertain.error)
    assert results[0].ok and results[2].ok
    assert texts(emulator.inputs("acme/gauge")) == Counter({"u0": 1, "u2": 1})


@pytest.mark.emulator(
    models=MODELS,
    faults=[{"route": "POST /v1/models/{owner}/{name}/predictions", "drop": "before", "times": 1}],
)
def test_a_create_without_answer_is_uncertain(emulator_url: str, tmp_path: Path) -> None:
    """Over loopback the server closes the connection once it has the create: sent, no answer."""
    journal = tmp_path / "j.jsonl"
    inputs = [{"text": "x"}]
    with replicate.Replicate(base_url=emulator_url, bearer_token="r8_test") as client:
        [result] = client.batch("acme/gauge", inputs, rate_limit=None, journal=journal)
        assert result.status == "uncertain"
        assert isinstance(result.error, replicate.PredictionUncertainError)
        assert "may exist" in str(result.error)
        [again] = client.batch("acme/gauge", inputs, rate_limit=None, journal=journal)
        assert again.status == "uncertain"  # never sent again


def test_a_journal_of_other_inputs_is_refused(
    emulator_client: replicate.Replicate, tmp_path: Path
) -> None:
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"i": 0, "d": digest({"text": "a"}), "e": "sending"}) + "\n")
    with pytest.raises(ValueError, match="written for other inputs: its input 0 differs"):
        emulator_client.batch("acme/gauge", [{"text": "b"}], journal=journal)
    with pytest.raises(ValueError, match="its input 0 is not in this batch"):
        emulator_client.batch("acme/gauge", [], journal=journal)


# --- async ----------------------------------------------------------------------------------


@pytest.mark.emulator(models=MODELS)
def test_async_batch(emulator: Emulator, async_emulator_client: replicate.AsyncReplicate) -> None:
    inputs = [{"text": f"a{i}"} for i in range(12)]

    async def main() -> list[BatchResult]:
        return [
            r
            async for r in async_emulator_client.batch(
                "acme/gauge", inputs, concurrency=3, rate_limit=None
            )
        ]

    results = asyncio.run(main())
    assert sorted((r.index, r.output) for r in results) == [(i, f"A{i}") for i in range(12)]
    assert texts(emulator.inputs("acme/gauge")) == texts(inputs)


@pytest.mark.emulator(models=MODELS)
def test_async_cancel_cancels_started_predictions_and_resumes(
    emulator: Emulator, async_emulator_client: replicate.AsyncReplicate, tmp_path: Path
) -> None:
    journal = tmp_path / "a.jsonl"
    inputs = _mixed()

    async def consume(results: list[BatchResult]) -> None:
        async for r in async_emulator_client.batch(
            "acme/slow", inputs, concurrency=4, rate_limit=None, wait=False, journal=journal
        ):
            results.append(r)

    async def interrupted() -> list[BatchResult]:
        results: list[BatchResult] = []
        task = asyncio.ensure_future(consume(results))
        while len(results) < 4:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return results

    seen = asyncio.run(interrupted())
    assert emulator.wait_idle(10)
    first = {d["input"]["text"]: d["status"] for d in emulator.predictions("acme/slow")}
    assert first["m0"] == first["m1"] == "canceled"

    async def resume() -> list[BatchResult]:
        return [
            r
            async for r in async_emulator_client.batch(
                "acme/slow", inputs, concurrency=4, rate_limit=None, wait=False, journal=journal
            )
        ]

    again = {r.index: r for r in asyncio.run(resume())}
    assert sorted(again) == list(range(10))
    assert again[0].status == again[1].status == "canceled"
    for result in seen:
        assert again[result.index].id == result.id
    assert texts(emulator.inputs("acme/slow")) == Counter(f"m{i}" for i in range(10))


# --- results as data; progress --------------------------------------------------------------


@pytest.mark.emulator(models=MODELS)
def test_results_pickle(emulator_client: replicate.Replicate) -> None:
    inputs = [{"text": "p"}, {"text": "boom"}]
    for result in emulator_client.batch("acme/gauge", inputs, rate_limit=None):
        copy = pickle.loads(pickle.dumps(result))
        assert copy == result and copy.status == result.status
        assert type(copy.error) is type(result.error)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    screen = _Terminal()
    progress = Progress(2, screen)
    progress.update(BatchResult(0, {}, status="succeeded"))
    progress.update(BatchResult(1, {}, error=RuntimeError("x"), status="error"))
    progress.close()
    assert screen.getvalue().endswith("\r\x1b[Kbatch: 2/2 done, 1 error, 1 ok\n")
    quiet = io.StringIO()
    progress = Progress(1, quiet)
    progress.update(BatchResult(0, {}, status="succeeded"))
    progress.close()
    assert quiet.getvalue() == ""


@pytest.mark.emulator(models=MODELS)
def test_progress_is_silent_when_stderr_is_not_a_terminal(
    emulator_client: replicate.Replicate, capsys: pytest.CaptureFixture[str]
) -> None:
    list(emulator_client.batch("acme/gauge", [{"text": "x"}], rate_limit=None, progress=True))
    assert capsys.readouterr().err == ""
