"""What the SDK returns and accepts still works once pickled into ANOTHER process.

The objects a job ships to workers (``multiprocessing``, Dask, Ray: anything that pickles)
travel as configuration: clients, predictions, outputs, pages and batch results. In the
receiving process a client resolves its own token from that process's environment (the
pickle holds none; test_secrets.py checks that), and an unpickled file output downloads
through that process's default client. Every worker here is a fresh interpreter
(``multiprocessing``'s "spawn" start method) talking HTTP to an emulator served on loopback.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.pool
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from replicate_emulator.app import Emulator

import replicate

HELLO = "replicate/hello-world"
PNG = "replicate/png-image"
#: The only token the emulator accepts here: the workers' environment has it, the parent's
#: clients are built with another one, so a request that succeeds in a worker used its own.
CHILD_TOKEN = "r8_childProcessToken0000000000000000000"
PARENT_TOKEN = "r8_parentProcessToken000000000000000000"


# --- run in the workers (module level: a spawned process imports them by name) --------------


def account_of(client: Any) -> str:
    """The account's username, asked by an unpickled sync or async client."""
    if isinstance(client, replicate.AsyncReplicate):

        async def ask() -> str:
            async with client:
                return str((await client.account.get()).username)

        return asyncio.run(ask())
    with client:
        return str(client.account.get().username)


def read_output(output: replicate.FileOutput) -> bytes:
    """An unpickled file output's bytes, downloaded in the worker."""
    if isinstance(output, replicate.AsyncFileOutput):
        return asyncio.run(output.read())
    return output.read()


def page_ids(page: Any) -> list[str]:
    """Every prediction id from this page on: the pages after it are fetched in the worker."""
    return [p.id for p in page]


def call(function: Any, **inputs: Any) -> Any:
    """An unpickled ``use()`` function called in the worker."""
    return function(**inputs)


def output_of(run: Any) -> Any:
    """An unpickled ``Run`` (from ``use(...).create()``) waited on in the worker."""
    return run.output()


def echo(thing: Any) -> Any:
    """The object as the worker unpickled it, pickled back."""
    return thing


def run_one(client: replicate.Replicate, ref: str, input: dict[str, Any]) -> Any:
    """One ``run`` in a worker, on the client the parent pickled."""
    return client.run(ref, input=input)


def run_chunk(
    client: replicate.Replicate, ref: str, start: int, chunk: Sequence[dict[str, Any]]
) -> list[replicate.BatchResult]:
    """A share of a batch in a worker; indices made global (``start`` is the chunk's first)."""
    results = []
    for r in client.batch(ref, chunk, concurrency=4, rate_limit=None):
        r.index += start
        results.append(r)
    return results


# --- the parent -------------------------------------------------------------------------------


@pytest.fixture
def served(emulator: Emulator, emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulator on loopback, accepting only the workers' token, serving output files by
    URL (none inlined as ``data:``); the environment the workers start with points at it."""
    emulator.blobs.inline_limit = 0
    monkeypatch.setenv("REPLICATE_API_TOKEN", CHILD_TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", emulator_url)
    return emulator_url


@pytest.fixture
def pool(served: str) -> Iterator[multiprocessing.pool.Pool]:
    """Two fresh interpreters, started with the environment ``served`` set."""
    with multiprocessing.get_context("spawn").Pool(2) as p:
        yield p


@pytest.fixture
def parent(served: str) -> Iterator[replicate.Replicate]:
    """A client of the parent's own, with a token the emulator does not accept."""
    with replicate.Replicate(base_url=served, bearer_token=PARENT_TOKEN) as c:
        yield c


@pytest.fixture
def worker_client(served: str) -> Iterator[replicate.Replicate]:
    """A client the parent uses itself (with the workers' token) and ships to workers."""
    with replicate.Replicate(base_url=served, bearer_token=CHILD_TOKEN) as c:
        yield c


@pytest.mark.emulator(tokens=[CHILD_TOKEN])
def test_unpickled_clients_use_the_token_of_the_process_they_land_in(
    pool: multiprocessing.pool.Pool, parent: replicate.Replicate, served: str
) -> None:
    with pytest.raises(replicate.AuthenticationError):
        parent.account.get()  # the parent's token is refused
    clients = [
        parent,
        parent.with_options(timeout=30),
        replicate.AsyncReplicate(base_url=served, bearer_token=PARENT_TOKEN),
    ]
    names = pool.map(account_of, clients)
    assert len(set(names)) == 1 and names[0], names


@pytest.mark.emulator(tokens=[CHILD_TOKEN])
def test_unpickled_file_outputs_download_in_the_worker(
    pool: multiprocessing.pool.Pool, worker_client: replicate.Replicate, served: str
) -> None:
    output = worker_client.run(PNG, input={})
    assert isinstance(output, replicate.FileOutput) and output.url.startswith("http://127.0.0.1")

    async def async_output() -> Any:
        async with replicate.AsyncReplicate(base_url=served) as a:
            return await a.run(PNG, input={})

    aoutput = asyncio.run(async_output())
    assert isinstance(aoutput, replicate.AsyncFileOutput)
    data = output.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert pool.map(read_output, [output, aoutput]) == [data, data]


@pytest.mark.emulator(tokens=[CHILD_TOKEN])
def test_predictions_pages_and_batch_results_cross_processes(
    pool: multiprocessing.pool.Pool, worker_client: replicate.Replicate
) -> None:
    # More predictions than a page holds (100), so that the worker fetches the next page.
    inputs = [{"text": f"n{i}"} for i in range(105)]
    results = sorted(
        worker_client.batch(HELLO, inputs, concurrency=8, rate_limit=None), key=lambda r: r.index
    )
    assert [r.output for r in results] == [f"hello n{i}" for i in range(105)]
    page = worker_client.predictions.list()
    assert page.has_next_page()
    everything = page_ids(page)
    assert len(everything) >= 105
    prediction = worker_client.predictions.get(results[0].id or "")
    back = pool.map(echo, [prediction, results[0], results, page.results[0]])
    assert back == [prediction, results[0], results, page.results[0]]
    assert pool.apply(page_ids, (page,)) == everything


@pytest.mark.emulator(tokens=[CHILD_TOKEN])
def test_use_functions_and_runs_work_once_unpickled(
    pool: multiprocessing.pool.Pool, worker_client: replicate.Replicate
) -> None:
    hello = worker_client.use(HELLO)
    run = hello.create(text="run")
    assert pool.apply(call, (hello,), {"text": "function"}) == "hello function"
    assert pool.apply(output_of, (run,)) == "hello run" == run.output()


def test_a_spawn_pool_runs_what_a_local_loop_runs(
    pool: multiprocessing.pool.Pool, worker_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"pool {i}"} for i in range(12)]
    local = [worker_client.run(HELLO, input=x) for x in inputs]
    assert pool.starmap(run_one, [(worker_client, HELLO, x) for x in inputs]) == local


def test_a_batch_split_over_a_spawn_pool_matches_a_local_batch(
    pool: multiprocessing.pool.Pool, worker_client: replicate.Replicate
) -> None:
    inputs = [{"text": f"chunk {i}"} for i in range(20)]
    local = {r.index: (r.status, r.output) for r in worker_client.batch(HELLO, inputs)}
    starts = range(0, len(inputs), 7)
    chunks = pool.starmap(run_chunk, [(worker_client, HELLO, s, inputs[s : s + 7]) for s in starts])
    spread = [r for chunk in chunks for r in chunk]
    assert sorted(r.index for r in spread) == list(range(len(inputs)))
    assert all(r.input == inputs[r.index] for r in spread)
    assert {r.index: (r.status, r.output) for r in spread} == local
    assert all(r.ok and r.prediction is not None for r in spread)
