"""The fault matrix: every kind of call, on every client and transport, under every fault.

The emulator is served on loopback (one server for the module; each cell sets its own fault
rules at run time and clears them after) and each cell makes one call through a fresh client:

- call kinds: ``create`` (``predictions.create``), ``get``, ``list`` (every page), ``cancel``,
  ``upload`` (``files.create``), ``download`` and ``save`` (``FileOutput.read`` and
  ``FileOutput.save`` of an output the emulator serves) and ``stream`` (``client.stream``,
  Server-Sent Events);
- clients: sync on urllib3 (the default), httpx and requests; async on urllib3 (in worker
  threads, the default), httpx and aiohttp;
- faults: 429 with ``Retry-After`` in seconds and as an HTTP date, bursts of 500/502/503/504,
  connection refused, a reset before the answer and mid-body, a JSON body cut short (framed as
  complete), an HTML error page, an answer slower than the read timeout, an SSE stream that
  stalls or is cut mid-event, and a redirect to another host.

Each cell asserts the right result or the right typed error; the number of requests the server
saw on the faulted route (a create the server may have acted on is never sent twice); the
objects the server holds (exactly one prediction or file per create or upload that reached the
handler, none otherwise); the output compared with what the model is known to produce (nothing
lost, repeated or cut; a failed ``save`` leaves no file, not even part of one); and a time
bound (generous: a loaded 2-core machine meets it).

Cells skipped by construction (not generated): SSE stall and SSE cut apply to ``stream`` only;
a JSON body cut short does not apply to ``download``/``save`` (a file's bytes cut short but
framed as complete are indistinguishable from a smaller file; a body shorter than its
Content-Length is the reset-mid cell) nor to ``stream`` (an event stream is not one JSON
document: the SSE cut cell covers it); connection refused does not apply to ``stream`` (its URL
comes from the create's answer on the API's own origin, so a refused stream host is a refused
create).

The deadline tests at the end run ``run``/``use``/``stream``/``batch`` with ``timeout=``
under the matrix's slow answers, stalls, 5xx bursts, long 429s and resets, on every client and
transport at once, and check the documented bound (the deadline plus ``DEADLINE_GRACE`` for the
create and the cancel) and that every prediction a client learned of was canceled.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import FAULT_MATRIX, TOKEN
from replicate_emulator.app import Emulator
from replicate_emulator.builtin_models import HELLO_WORLD_VERSION, png_image, stream_tokens
from replicate_emulator.server import Server, serve
from replicate_emulator.sse import event_bytes

import replicate
from replicate import exceptions as errors
from replicate._deadline import DEADLINE_GRACE

SYNC_TRANSPORTS = ("urllib3", "httpx", "requests")
ASYNC_TRANSPORTS = ("urllib3", "httpx", "aiohttp")
CLIENTS = [("sync", t) for t in SYNC_TRANSPORTS] + [("async", t) for t in ASYNC_TRANSPORTS]
KINDS = ("create", "get", "list", "cancel", "upload", "download", "save", "stream")
#: Kinds that fetch an output file.
FILE_KINDS = frozenset({"download", "save"})
#: Kinds whose request the SDK may send again after the server saw it.
IDEMPOTENT = frozenset({"get", "list", "cancel", "download", "save", "stream"})

MAX_RETRIES = 2
#: Per-request timeout of most cells: far above what a loopback answer takes, even loaded.
TIMEOUT = 10.0
#: The read timeout of the cells whose server is slower than it ("slow", "sse-stall").
SHORT_TIMEOUT = 0.25
#: How long the "slow" answer takes, and how long a stalled stream pauses.
SLOW = 0.45
#: Added to every cell's time bound, for a loaded shared machine.
SLACK = 5.0
RETRY_AFTER = 0.02
#: Bytes a "truncated-json" answer keeps of its body.
CUT = 40
STREAM_MODEL = "replicate/stream-tokens"
STREAM_TOKENS = 10
PNG_INPUT = {"width": 96, "height": 96, "color": "#3366ff", "seed": 3}
#: A proxy's error page, some 4 kB as they come (the error's message keeps a snippet).
HTML_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    "</h1></center><hr><center>nginx</center>" + "<!-- padding -->" * 250 + "</body></html>"
)

#: The route each kind's faults apply to (the emulator's route keys).
ROUTES = {
    "create": "POST /v1/predictions",
    "get": "GET /v1/predictions/{id}",
    "list": "GET /v1/predictions",
    "cancel": "POST /v1/predictions/{id}/cancel",
    "upload": "POST /v1/files",
    "download": "GET /emulator/outputs/{prediction_id}/{name}",
    "save": "GET /emulator/outputs/{prediction_id}/{name}",
    "stream": "GET /v1/predictions/{id}/stream",
}


def _sse_cut_at() -> int:
    """A byte offset inside the stream's second event, past its ``id:`` line: the first event
    arrived whole, the second must come again after the reconnect (its id was seen, but an
    event cut before its blank line never happened)."""
    sample_id = "1234567890"  # the emulator's ids are ``<unix seconds>:<index>``
    first_token = next(iter(stream_tokens(prompt="x", max_tokens=1, delay=0)))
    head = len(b"retry: 10\n\n") + len(event_bytes("output", first_token, f"{sample_id}:0"))
    return head + len(f"event: output\nid: {sample_id}:1\n".encode()) + 3


@dataclass(frozen=True)
class Fault:
    """One column of the matrix: the rules it sets on a kind's route, and where it applies."""

    name: str
    rules: Callable[[str, Chaos], list[dict[str, Any]]]
    kinds: tuple[str, ...] = KINDS
    #: Seconds the fault may add to a call, past SLACK.
    extra: float = 0.0
    #: The per-request timeout the cell's client uses.
    timeout: float = TIMEOUT


def _status_burst(status: int) -> Fault:
    return Fault(str(status), lambda route, _: [{"route": route, "status": status, "times": 2}])


FAULTS = [
    Fault(
        "429-seconds",
        lambda route, _: [{"route": route, "burst_429": 1, "retry_after": RETRY_AFTER}],
    ),
    Fault(
        "429-date",
        lambda route, _: [
            {"route": route, "burst_429": 1, "retry_after": 0, "retry_after_date": True}
        ],
    ),
    *(_status_burst(s) for s in (500, 502, 503, 504)),
    Fault("refused", lambda route, _: [], kinds=tuple(k for k in KINDS if k != "stream")),
    Fault("reset-before", lambda route, _: [{"route": route, "drop": "before", "times": 1}]),
    Fault("reset-mid", lambda route, _: [{"route": route, "drop": "mid", "times": 1}]),
    Fault(
        "truncated-json",
        lambda route, _: [{"route": route, "cut_body": CUT, "times": 1}],
        kinds=("create", "get", "list", "cancel", "upload"),
    ),
    Fault(
        "html-error",
        lambda route, _: [{"route": route, "status": 502, "body": HTML_PAGE, "times": 1}],
    ),
    Fault(
        "slow",
        lambda route, _: [{"route": route, "latency": SLOW, "times": 1}],
        extra=2 * SHORT_TIMEOUT + SLOW,
        timeout=SHORT_TIMEOUT,
    ),
    Fault(
        "sse-stall",
        lambda route, _: [{"route": route, "stall_sse": SLOW, "times": 1}],
        kinds=("stream",),
        extra=SHORT_TIMEOUT + SLOW,
        timeout=SHORT_TIMEOUT,
    ),
    Fault(
        "sse-cut",
        lambda route, _: [{"route": route, "truncate": _sse_cut_at(), "sse_retry": 10, "times": 1}],
        kinds=("stream",),
    ),
    Fault(
        "redirect",
        lambda route, chaos: [{"route": route, "redirect": chaos.other_origin, "times": 1}],
    ),
]

CELLS = [
    pytest.param(kind, fault, mode, transport, id=f"{kind}-{fault.name}-{mode}-{transport}")
    for fault in FAULTS
    for kind in KINDS
    if kind in fault.kinds
    for mode, transport in CLIENTS
]


# --- the servers -------------------------------------------------------------------------------


@dataclass
class Chaos:
    """The module's emulator and what the cells share."""

    emu: Emulator
    server: Server
    #: A base URL on a port that refuses connections (bound, never listening).
    dead_url: str
    #: The same emulator under another host name: another origin, which gets no token.
    other_origin: str
    setup: replicate.Replicate
    png_url: str
    png: bytes


@pytest.fixture(scope="module")
def chaos() -> Iterator[Chaos]:
    emu = Emulator(rate_limits=False, workers=16)
    emu.blobs.inline_limit = 0  # every output file is a URL the emulator serves
    server = serve(emu, port=0)
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # never listen(): connecting is refused
    setup = replicate.Replicate(bearer_token=TOKEN, base_url=server.base_url, max_retries=0)
    try:
        png_out = setup.run("replicate/png-image", input=PNG_INPUT)
        assert isinstance(png_out, replicate.FileOutput)
        assert png_out.url.startswith(server.url + "/emulator/outputs/")
        yield Chaos(
            emu=emu,
            server=server,
            dead_url=f"http://127.0.0.1:{dead.getsockname()[1]}/v1",
            other_origin=f"http://localhost:{server.port}",
            setup=setup,
            png_url=png_out.url,
            png=png_image(**PNG_INPUT).data,  # type: ignore[arg-type]
        )
    finally:
        setup.close()
        dead.close()
        server.close()
        emu.close()


@pytest.fixture
def plugins_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transport plugins loadable, and polls 20 ms apart (a stream that falls back)."""
    monkeypatch.setenv("REPLICATE_PLUGINS", "httpx,requests,aiohttp")
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")


FAST = replicate.DefaultRetryPolicy(initial_backoff=0.001, max_backoff=0.005)


class Recorder:
    """A per-client observer plugin: the client's attempts and retries, as the SDK saw them."""

    def __init__(self) -> None:
        self.events: list[replicate.Event] = []

    @replicate.hookimpl
    def replicate_observe(self, event: replicate.Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[replicate.Event]:
        return [e for e in self.events if e.kind == kind]


def make_client(
    mode: str,
    transport: str,
    base_url: str,
    timeout: float,
    recorder: Recorder,
    *,
    max_retries: int = MAX_RETRIES,
    retry_policy: replicate.DefaultRetryPolicy = FAST,
) -> Any:
    options: dict[str, Any] = {
        "bearer_token": TOKEN,
        "base_url": base_url,
        "retry_policy": retry_policy,
        "max_retries": max_retries,
        "timeout": timeout,
        "plugins": [recorder],
    }
    if transport != "urllib3":
        options["transport"] = transport
    if mode == "sync":
        return replicate.Replicate(**options)
    return replicate.AsyncReplicate(**options)


def record(config: pytest.Config, kind: str, fault: str, passed: bool) -> None:
    cells = config.stash.setdefault(FAULT_MATRIX, {})
    counts = cells.setdefault((kind, fault), [0, 0])
    counts[0 if passed else 1] += 1


# --- the calls ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """What one cell's call needs, prepared before its faults are set."""

    kind: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    pid: str = ""
    url: str = ""
    content: bytes = b""
    #: Where ``save`` writes (a folder of its own, which must hold nothing else after).
    path: Path = Path()

    @property
    def stream_input(self) -> dict[str, Any]:
        return {"prompt": self.tag, "max_tokens": STREAM_TOKENS, "delay": 0.002}


def call_sync(client: replicate.Replicate, cell: Cell) -> Any:
    kind = cell.kind
    if kind == "create":
        return client.predictions.create(version=HELLO_WORLD_VERSION, input={"text": cell.tag})
    if kind == "get":
        return client.predictions.get(cell.pid)
    if kind == "list":
        return [p.id for p in client.predictions.list()]
    if kind == "cancel":
        return client.predictions.cancel(cell.pid)
    if kind == "upload":
        return client.files.create(content=cell.content, filename=cell.tag)
    if kind == "download":
        return replicate.FileOutput(cell.url, client=client).read()
    if kind == "save":
        return replicate.FileOutput(cell.url, client=client).save(cell.path).read_bytes()
    return "".join(str(e) for e in client.stream(STREAM_MODEL, input=cell.stream_input))


async def call_async(client: replicate.AsyncReplicate, cell: Cell) -> Any:
    kind = cell.kind
    if kind == "create":
        return await client.predictions.create(
            version=HELLO_WORLD_VERSION, input={"text": cell.tag}
        )
    if kind == "get":
        return await client.predictions.get(cell.pid)
    if kind == "list":
        return [p.id async for p in client.predictions.list()]
    if kind == "cancel":
        return await client.predictions.cancel(cell.pid)
    if kind == "upload":
        return await client.files.create(content=cell.content, filename=cell.tag)
    if kind == "download":
        return await replicate.AsyncFileOutput(cell.url, client=client).read()
    if kind == "save":
        saved = await replicate.AsyncFileOutput(cell.url, client=client).save(cell.path)
        return saved.read_bytes()
    return "".join([str(e) async for e in client.stream(STREAM_MODEL, input=cell.stream_input)])


def run_call(mode: str, client_args: tuple[Any, ...], cell: Cell) -> tuple[Any, float]:
    """Build the client, make the call, close the client: (result or raised error, seconds)."""
    started = time.monotonic()
    if mode == "sync":
        client = make_client(mode, *client_args)
        try:
            try:
                value = call_sync(client, cell)
            except Exception as exc:
                value = exc
        finally:
            client.close()
        return value, time.monotonic() - started

    async def main() -> Any:
        async with make_client(mode, *client_args) as client:
            try:
                return await call_async(client, cell)
            except Exception as exc:
                return exc

    value = asyncio.run(main())
    return value, time.monotonic() - started


def prepare(chaos: Chaos, cell: Cell) -> None:
    """The server-side state the call works on, made with no fault set."""
    setup = chaos.setup
    if cell.kind == "get":
        p = setup.predictions.create(version=HELLO_WORLD_VERSION, input={"text": cell.tag}, wait=5)
        assert p.status == "succeeded", p
        cell.pid = p.id
    elif cell.kind == "cancel":
        p = setup.models.predictions.create(
            "replicate", "slow-progress", input={"steps": 1000, "seconds_per_step": 0.05}
        )
        cell.pid = p.id
    elif cell.kind == "upload":
        cell.content = cell.tag.encode() * 300
    elif cell.kind in FILE_KINDS:
        cell.url = chaos.png_url


def tagged_predictions(chaos: Chaos, cell: Cell) -> list[dict[str, Any]]:
    """The server's predictions made by this cell's call."""
    if cell.kind == "stream":
        return [p for p in chaos.emu.predictions(STREAM_MODEL) if p["input"] == cell.stream_input]
    return [p for p in chaos.emu.predictions() if p["input"] == {"text": cell.tag}]


def tagged_files(chaos: Chaos, cell: Cell) -> list[Any]:
    return [f for f in chaos.emu.blobs.list() if f.name == cell.tag]


def made(chaos: Chaos, cell: Cell) -> int:
    """How many objects the server holds from this cell's call (creates, uploads, streams)."""
    if cell.kind == "upload":
        return len(tagged_files(chaos, cell))
    return len(tagged_predictions(chaos, cell))


def wait_for_made(chaos: Chaos, cell: Cell, want: int, within: float) -> int:
    """``made`` once it reaches ``want`` (a slow answer's handler runs after the client gave
    up), or after ``within`` seconds."""
    until = time.monotonic() + within
    while True:
        count = made(chaos, cell)
        if count >= want or time.monotonic() > until:
            return count
        time.sleep(0.02)


def check_result(chaos: Chaos, cell: Cell, value: Any) -> None:
    """The call returned: its value is the one the server holds, whole and once."""
    kind = cell.kind
    if kind == "create":
        docs = tagged_predictions(chaos, cell)
        assert [d["id"] for d in docs] == [value.id]
    elif kind == "get":
        assert value.id == cell.pid
        assert value.output == "hello " + cell.tag
    elif kind == "list":
        assert len(value) == len(set(value)), "a prediction listed twice"
        assert sorted(value) == sorted(d["id"] for d in chaos.emu.predictions())
    elif kind == "cancel":
        assert value.id == cell.pid
        assert value.status in ("canceled", "canceling")
        doc = chaos.emu.state.get("prediction", cell.pid)
        assert doc is not None and doc["status"] in ("canceled", "canceling")
    elif kind == "upload":
        files = tagged_files(chaos, cell)
        assert [f.id for f in files] == [value.id]
        assert chaos.emu.blobs.read(value.id) == cell.content
    elif kind in FILE_KINDS:
        assert value == chaos.png
    else:
        expected = "".join(stream_tokens(prompt=cell.tag, max_tokens=STREAM_TOKENS, delay=0))
        assert value == expected
        assert len(tagged_predictions(chaos, cell)) == 1


@dataclass
class Expect:
    """A cell's expected outcome."""

    error: type[BaseException] | None = None
    status: int | None = None
    #: Requests the server sees on the faulted route.
    requests: int | None = None
    #: Objects the server holds from the call (create, upload, stream).
    made: int | None = None
    #: The delay of the one retry the client makes.
    retry_delay: float | None = None


def expect(kind: str, fault: str) -> Expect:
    """What each (kind, fault) cell must end with."""
    idem = kind in IDEMPOTENT
    makes = kind in ("create", "upload", "stream")
    if fault in ("429-seconds", "429-date"):
        # 429 is retried for any method: the server refused the request without acting on it.
        delay = RETRY_AFTER if fault == "429-seconds" else 0.0
        return Expect(requests=2, made=1 if makes else None, retry_delay=delay)
    if fault in ("500", "502", "503", "504"):
        if idem:
            return Expect(requests=3, made=1 if makes else None)
        return Expect(errors.InternalServerError, int(fault), requests=1, made=0)
    if fault == "refused":
        return Expect(errors.APIConnectionError, made=0 if makes else None)
    if fault == "reset-before":
        if idem:
            return Expect(requests=2, made=1 if makes else None)
        return Expect(errors.APIConnectionError, requests=1, made=0)
    if fault == "reset-mid":
        if kind in FILE_KINDS:  # the body was streamed to the caller: not resent
            return Expect(errors.APIConnectionError, requests=1)
        if kind == "stream":  # cut before any event had an id: finished by polling
            return Expect(requests=1, made=1)
        if idem:
            return Expect(requests=2, made=1 if makes else None)
        # The server made it; the answer broke: never sent again.
        return Expect(errors.APIConnectionError, requests=1, made=1)
    if fault == "truncated-json":
        return Expect(errors.APIResponseValidationError, requests=1, made=1 if makes else None)
    if fault == "html-error":
        if idem:
            return Expect(requests=2, made=1 if makes else None)
        return Expect(errors.InternalServerError, 502, requests=1, made=0)
    if fault == "slow":
        if idem:
            return Expect(requests=2, made=1 if makes else None)
        return Expect(errors.APITimeoutError, requests=1, made=1)
    if fault == "sse-stall":  # stalled before any event had an id: finished by polling
        return Expect(requests=1, made=1)
    if fault == "sse-cut":  # cut inside an event after one with an id: resumed after that id
        return Expect(requests=2, made=1)
    if fault == "redirect":
        # The other host gets no token: the emulator there refuses the request, except a
        # download, which needs none.
        if kind in FILE_KINDS:
            return Expect(requests=2)
        made = {"create": 0, "upload": 0, "stream": 1}.get(kind)
        return Expect(errors.AuthenticationError, 401, requests=2, made=made)
    raise AssertionError(f"no expectation for {kind} x {fault}")


@pytest.mark.usefixtures("plugins_env")
@pytest.mark.parametrize(("kind", "fault", "mode", "transport"), CELLS)
def test_fault_matrix(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    chaos: Chaos,
    kind: str,
    fault: Fault,
    mode: str,
    transport: str,
) -> None:
    passed = False
    try:
        _run_cell(chaos, kind, fault, mode, transport, tmp_path / "out.png")
        passed = True
    finally:
        record(request.config, kind, fault.name, passed)


def _run_cell(chaos: Chaos, kind: str, fault: Fault, mode: str, transport: str, path: Path) -> None:
    emu = chaos.emu
    emu.faults.clear()
    cell = Cell(kind, path=path)
    prepare(chaos, cell)
    want = expect(kind, fault.name)
    route = ROUTES[kind]
    base_url = chaos.server.base_url
    if fault.name == "refused":
        if kind in FILE_KINDS:
            cell.url = cell.url.replace(chaos.server.url, chaos.dead_url.removesuffix("/v1"))
        else:
            base_url = chaos.dead_url
    counter = emu.faults.add(route=route)  # no effect: counts the requests on the route
    for rule in fault.rules(route, chaos):
        emu.faults.add(rule)
    recorder = Recorder()
    try:
        value, elapsed = run_call(mode, (transport, base_url, fault.timeout, recorder), cell)
    finally:
        emu.faults.clear()
        if kind == "cancel" and cell.pid:
            chaos.setup.predictions.cancel(cell.pid)

    if want.error is None:
        if isinstance(value, BaseException):
            raise AssertionError(f"expected a result, got {value!r}") from value
        check_result(chaos, cell, value)
    else:
        assert isinstance(value, want.error), f"expected {want.error.__name__}, got {value!r}"
        if want.status is not None:
            assert value.status_code == want.status  # type: ignore[attr-defined]
        if fault.name == "refused":
            assert not isinstance(value, errors.APITimeoutError)
            assert value.request_sent is False  # type: ignore[attr-defined]
            # Nothing reached a server, so every method is retried.
            assert len(recorder.of("request")) == 1 + MAX_RETRIES
        if kind == "save":  # written atomically: no file, not even a part of one
            assert list(path.parent.iterdir()) == []
        if fault.name == "html-error":
            assert "returned 502" in str(value) and len(str(value)) < 1000, str(value)
    if want.requests is not None:
        # A list's later pages (cursor=...) are one request each: the fault is spent by then.
        pages = [e for e in recorder.of("request") if e.request and "cursor=" in e.request.url]
        seen = counter.fired - len(pages)
        # Under "slow", a retry that a loaded machine also made late is one more retry of a
        # request that is safe to repeat: never fewer requests, never a wrong result.
        at_least = fault.name == "slow" and kind in IDEMPOTENT
        assert seen == want.requests or (at_least and seen > want.requests), (
            f"the server saw {seen} requests on {route}, expected {want.requests}"
        )
    if want.made is not None:
        # A slow answer's handler runs after the client gave up on it: wait for it.
        within = SLOW + SLACK if fault.name == "slow" else 0.0
        assert wait_for_made(chaos, cell, want.made, within) == want.made
    if want.retry_delay is not None:
        delays = [e.delay for e in recorder.of("retry")]
        assert delays == [want.retry_delay], delays
        assert elapsed >= want.retry_delay
    bound = SLACK + fault.extra
    assert elapsed < bound, f"took {elapsed:.2f} s, bound {bound:.2f} s"


# --- deadlines ---------------------------------------------------------------------------------

#: ``timeout=`` of the deadline calls.
DEADLINE = 0.5
#: What a deadline call may take: the deadline, the create's and the cancel's grace (each may
#: run DEADLINE_GRACE past it), and slack for six calls at once on a loaded 2-core machine.
DEADLINE_BOUND = DEADLINE + 2 * DEADLINE_GRACE + 2.0
#: Retries that outlast the deadline: a 5xx burst ends by the deadline, not by running out.
DEADLINE_RETRIES = replicate.DefaultRetryPolicy(initial_backoff=0.02, max_backoff=0.05)

SLOW_MODEL = "replicate/slow-progress"
SLOW_INPUT = {"steps": 400, "seconds_per_step": 0.02}
LONG_STREAM = {"prompt": "deadline", "max_tokens": 400, "delay": 0.02}

#: (fault name, rules): each slower than the deadline, or failing until it passes (a 429
#: whose Retry-After reaches past it, a connection reset on every poll).
DEADLINE_FAULTS: dict[str, list[dict[str, Any]]] = {
    "slow-create": [{"route": "POST /v1/models/{owner}/{name}/predictions", "latency": 4.0}],
    "slow-poll": [
        {"route": "GET /v1/predictions/{id}", "latency": 4.0},
        {"route": "GET /v1/predictions/{id}/stream", "latency": 4.0},
    ],
    "5xx-burst": [
        {"route": "GET /v1/predictions/{id}", "status": [500, 502, 503, 504]},
        {"route": "GET /v1/predictions/{id}/stream", "status": [500, 502, 503, 504]},
    ],
    "sse-stall": [{"route": "GET /v1/predictions/{id}/stream", "stall_sse": 4.0}],
    "429-long": [
        {"route": "GET /v1/predictions/{id}", "burst_429": 10**6, "retry_after": 3},
        {"route": "GET /v1/predictions/{id}/stream", "burst_429": 10**6, "retry_after": 3},
    ],
    "reset-poll": [
        {"route": "GET /v1/predictions/{id}", "drop": "before"},
        {"route": "GET /v1/predictions/{id}/stream", "drop": "before"},
    ],
}
#: A fault retried until the next retry would start past the deadline may end with its own
#: error, raised then (before the deadline) rather than waited for.
DEADLINE_LAST_ERRORS: dict[str, tuple[type[BaseException], ...]] = {
    "5xx-burst": (errors.InternalServerError,),
    "429-long": (errors.RateLimitError,),
    "reset-poll": (errors.APIConnectionError,),
}
DEADLINE_CALLS = ("run", "use", "stream", "batch")
#: The calls each fault applies to (a stall is a stream's only).
DEADLINE_CELLS = {
    fault: [call for call in DEADLINE_CALLS if fault != "sse-stall" or call == "stream"]
    for fault in DEADLINE_FAULTS
}


def _deadline_sync(client: replicate.Replicate, call: str) -> Any:
    if call == "run":
        return client.run(SLOW_MODEL, input=SLOW_INPUT, timeout=DEADLINE)
    if call == "use":
        return client.use(SLOW_MODEL, timeout=DEADLINE)(**SLOW_INPUT)
    if call == "batch":
        results = list(client.batch(SLOW_MODEL, [SLOW_INPUT], timeout=DEADLINE))
        assert len(results) == 1 and not results[0].ok
        return results[0].error
    return list(client.stream(STREAM_MODEL, input=LONG_STREAM, timeout=DEADLINE))


async def _deadline_async(client: replicate.AsyncReplicate, call: str) -> Any:
    if call == "run":
        return await client.run(SLOW_MODEL, input=SLOW_INPUT, timeout=DEADLINE)
    if call == "use":
        return await client.use(SLOW_MODEL, timeout=DEADLINE)(**SLOW_INPUT)
    if call == "batch":
        results = [r async for r in client.batch(SLOW_MODEL, [SLOW_INPUT], timeout=DEADLINE)]
        assert len(results) == 1 and not results[0].ok
        return results[0].error
    return [e async for e in client.stream(STREAM_MODEL, input=LONG_STREAM, timeout=DEADLINE)]


def _deadline_call(mode: str, transport: str, base_url: str, call: str) -> tuple[Any, float]:
    recorder = Recorder()
    args = (transport, base_url, TIMEOUT, recorder)
    started = time.monotonic()
    if mode == "sync":
        with make_client(mode, *args, max_retries=1000, retry_policy=DEADLINE_RETRIES) as c:
            try:
                value = _deadline_sync(c, call)
            except Exception as exc:
                value = exc
        return value, time.monotonic() - started

    async def main() -> Any:
        async with make_client(mode, *args, max_retries=1000, retry_policy=DEADLINE_RETRIES) as c:
            try:
                return await _deadline_async(c, call)
            except Exception as exc:
                return exc

    return asyncio.run(main()), time.monotonic() - started


@pytest.mark.usefixtures("plugins_env")
@pytest.mark.emulator(workers=64)
@pytest.mark.parametrize("fault", list(DEADLINE_CELLS))
def test_deadline_holds_under_faults(
    request: pytest.FixtureRequest, emulator: Emulator, emulator_url: str, fault: str
) -> None:
    """Every call with ``timeout=`` on every client and transport at once (a thread each),
    against one emulator whose fault makes the call outlast its deadline: each raises the
    deadline's error (or the fault's own, see DEADLINE_LAST_ERRORS) within the deadline plus
    the create's and the cancel's grace, and leaves no prediction running that it knew of."""
    calls = DEADLINE_CELLS[fault]
    if "batch" in calls and not hasattr(replicate.Replicate, "batch"):
        raise AssertionError("replicate.Replicate.batch is missing")
    for rule in DEADLINE_FAULTS[fault]:
        emulator.faults.add(rule)
    cells = [(call, mode, transport) for call in calls for mode, transport in CLIENTS]
    outcomes: dict[tuple[str, str, str], tuple[Any, float]] = {}

    def one(call: str, mode: str, transport: str) -> None:
        try:
            outcomes[call, mode, transport] = _deadline_call(mode, transport, emulator_url, call)
        except BaseException as exc:  # reported below, with the other cells' outcomes
            outcomes[call, mode, transport] = (exc, float("nan"))

    threads = [threading.Thread(target=one, args=cell) for cell in cells]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_BOUND + 10)
    emulator.faults.clear()
    problems = []
    for call, mode, transport in cells:
        # The deadline's error; failures retried until the next retry would start past the
        # deadline end with the last one; a batch reports a create with no answer by then as
        # uncertain.
        allowed: tuple[type[BaseException], ...] = (replicate.PredictionTimeoutError,)
        allowed += DEADLINE_LAST_ERRORS.get(fault, ())
        if call == "batch" and fault == "slow-create":
            allowed += (replicate.PredictionUncertainError,)
        value, elapsed = outcomes.get((call, mode, transport), (None, float("nan")))
        ok = isinstance(value, allowed) and elapsed < DEADLINE_BOUND
        record(request.config, f"t:{call}", fault, ok)
        if not ok:
            problems.append(f"{call}-{mode}-{transport}: {value!r} after {elapsed:.2f} s")
    assert not problems, "; ".join(problems)
    # Every prediction whose id a client learned was canceled on the way out (the slow
    # creates' ids were never learned: their handlers are still asleep).
    if fault != "slow-create":
        emulator.wait_idle(5.0)
        running = [p["id"] for p in emulator.predictions() if p["status"] not in _TERMINAL]
        assert not running, running


_TERMINAL = ("succeeded", "failed", "canceled", "aborted")


def test_the_cancel_after_a_deadline_may_connect_within_the_grace() -> None:
    """The cancel goes out once the deadline has passed: its connect gets the grace (a new
    connection within 1 ms fails under load, and the prediction kept running: the aiohttp
    cells of ``slow-poll`` above), while the create's connect still ends by the deadline."""
    from replicate._deadline import Deadline
    from replicate._http import Timeout

    deadline = Deadline(5.0)
    deadline.at = time.monotonic() - 0.01  # passed a moment ago
    cancel = deadline.graced(connect=True).clip(Timeout(5.0))
    create = deadline.graced().clip(Timeout(5.0))
    assert cancel.connect is not None and cancel.connect > DEADLINE_GRACE / 2
    assert create.connect is not None and create.connect <= 0.001
    assert cancel.read is not None and cancel.read <= DEADLINE_GRACE
