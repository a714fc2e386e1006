"""Shared fixtures: a loopback HTTP server (pytest-httpserver) and clients pointed at it.

Every test starts with the ``REPLICATE_*`` environment cleared and installed plugins switched
off (``REPLICATE_PLUGINS=""``), so the machine's own setup never leaks into a result; tests
about installed plugins set the variables they need.

Tests marked ``reference`` need the reference data (``reference.py``): without it they are
skipped, with one line saying what is missing, except under ``CI=true``, where that is an error.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import reference
from pytest_httpserver import HTTPServer

import replicate
from replicate import _default, _plugins

TOKEN = "r8_TestTokenDoNotLeak0123456789"

#: What the fault-matrix tests (tests/reliability/test_fault_matrix.py) record: (call kind,
#: fault) -> [passed, failed]; printed as a table at the end of the run.
FAULT_MATRIX = pytest.StashKey[dict[tuple[str, str], list[int]]]()


def pytest_configure(config: pytest.Config) -> None:
    try:
        found = reference.directory()
    except reference.ReferenceError as exc:
        raise pytest.UsageError(str(exc)) from None
    if found is None and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(
            f"{reference.missing_message()}. CI=true: the tests that need it may not be skipped"
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The fault matrix as a table (faults down, call kinds across: passed/run), when its
    tests ran."""
    cells = config.stash.get(FAULT_MATRIX, None)
    if not cells:
        return
    kinds = list(dict.fromkeys(kind for kind, _ in cells))
    faults = list(dict.fromkeys(fault for _, fault in cells))
    width = max(len(f) for f in faults)
    cols = [max(len(k), 5) for k in kinds]
    lines = [" ".join([" " * width, *(k.rjust(w) for k, w in zip(kinds, cols, strict=True))])]
    for fault in faults:
        row = [fault.ljust(width)]
        for kind, w in zip(kinds, cols, strict=True):
            passed, failed = cells.get((kind, fault), (0, 0))
            text = f"{passed}/{passed + failed}" if passed + failed else "-"
            row.append(text.rjust(w))
        lines.append(" ".join(row))
    passed = sum(p for p, _ in cells.values())
    total = sum(p + f for p, f in cells.values())
    write = terminalreporter.write_line
    terminalreporter.section("fault matrix (passed/run)")
    for line in lines:
        write(line)
    if any(kind.startswith("t:") for kind in kinds):
        write("t:call = the call with timeout= (its deadline), under the fault")
    write(f"{passed}/{total} cells passed")


def pytest_report_header(config: pytest.Config) -> str:
    found = reference.directory()
    return f"reference data: {found}" if found else reference.missing_message()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("reference") is not None and not reference.available():
        pytest.skip(reference.missing_message())


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("REPLICATE_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPLICATE_PLUGINS", "")
    _plugins.reset()
    _default.set_default_client(None)
    yield
    _plugins.reset()
    _default.set_default_client(None)


def default_sigint() -> None:
    """A child's ``preexec_fn``: Ctrl-C at its default, so that its Python raises
    KeyboardInterrupt, even when these tests run with SIGINT ignored (a shell's background
    job), which a child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _python_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handler for every test, whatever the run inherited: tests of
    interrupts deliver them with ``_thread.interrupt_main``, which does nothing while SIGINT is
    ignored (as it is in a shell's background job)."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def fast_retries() -> replicate.DefaultRetryPolicy:
    """The default policy with millisecond backoff, so retry tests don't sleep for seconds."""
    return replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)


@pytest.fixture
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls 10 ms apart (``REPLICATE_POLL_INTERVAL``), so waiting tests don't take seconds."""
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.01")


@pytest.fixture
def client(
    httpserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=httpserver.url_for("/v1"), retry_policy=fast_retries
    ) as c:
        yield c


def threaded_server() -> Iterator[HTTPServer]:
    """A started loopback server that answers requests concurrently, stopped when done."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="session")
def _threaded_httpserver() -> Iterator[HTTPServer]:
    yield from threaded_server()


@pytest.fixture
def tserver(_threaded_httpserver: HTTPServer) -> HTTPServer:
    """A loopback server that answers requests concurrently (a slow handler blocks no other)."""
    _threaded_httpserver.clear()
    return _threaded_httpserver


@pytest.fixture
def tclient(
    tserver: HTTPServer, fast_retries: replicate.DefaultRetryPolicy
) -> Iterator[replicate.Replicate]:
    with replicate.Replicate(
        bearer_token=TOKEN, base_url=tserver.url_for("/v1"), retry_policy=fast_retries
    ) as c:
        yield c
