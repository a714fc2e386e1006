"""Checked by mypy in the test command (scripts/test.sh), never run.

Each ``# type: ignore[...]`` marks a line that must be a type error; with ``warn_unused_ignores``
a line that stops being one fails the check. The other lines must type-check cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import replicate
from replicate import ServerSentEvent
from replicate.types import Prediction


def module_level() -> None:
    out: Any = replicate.run("acme/model", input={"prompt": "hi"}, timeout=5, wait=10)
    replicate.run("acme/model", inputs={})  # type: ignore[call-arg]
    replicate.run("acme/model", input={}, timeout="5")  # type: ignore[arg-type]
    events: Iterator[ServerSentEvent] = replicate.stream("acme/model", input={})
    replicate.stream("acme/model", inputs={})  # type: ignore[call-arg]
    fn = replicate.use("acme/model", timeout=5)
    replicate.use("acme/model", timout=5)  # type: ignore[call-overload]
    got: Prediction = replicate.predictions.get(prediction_id="p")
    replicate.predictions.get(prediction="p")  # type: ignore[call-arg]
    replicate.models.get(model_owner="acme", model_name="model")
    del out, events, fn, got


def on_the_client(client: replicate.Replicate) -> None:
    client.run("acme/model", input={})
    client.run("acme/model", inputs={})  # type: ignore[call-arg]
    client.stream("acme/model", inputs={})  # type: ignore[call-arg]


def raw_and_streamed_responses(client: replicate.Replicate) -> None:
    # The raw views' methods return responses, not the objects: they type-check as such.
    raw = client.with_raw_response.predictions.get(prediction_id="p")
    remaining: str | None = raw.headers.get("ratelimit-remaining")
    got: Prediction = raw.parse()
    with client.with_streaming_response.files.get(file_id="f") as response:
        for chunk in response.iter_bytes():
            del chunk
    with client.predictions.with_streaming_response.get(prediction_id="p") as response:
        del response
    del remaining, got


async def on_the_async_client(client: replicate.AsyncReplicate) -> None:
    response: replicate.Response = await client.get("/predictions")
    output: Any = await client.run("acme/model", input={"prompt": "hi"})
    async for event in client.stream("acme/model", input={}):
        text: str = str(event)
        del text
    async for event in await client.stream("acme/model", input={}):
        del event
    fn = client.use("acme/model")
    await fn(prompt="hi")
    run = await fn.create(prompt="hi")
    final: Prediction = await run.wait()
    got = await client.predictions.get(prediction_id="p")
    async for item in client.predictions.list():
        del item
    for chunk in output:  # outputs are Any: the model decides
        del chunk
    await client.close()
    async with replicate.AsyncReplicate() as other:
        del other
    del response, final, got


async def module_level_async() -> None:
    out: Any = await replicate.async_run("acme/model", input={"prompt": "hi"})
    async for event in await replicate.async_stream("acme/model", input={}):
        del event
    fn = replicate.use("acme/model", use_async=True)
    del out, fn


async def async_functions() -> None:
    fn = replicate.use("acme/model", use_async=True)
    await fn(prompt="hi")
    run = await fn.create(prompt="hi")
    await run.output()


async def batches(client: replicate.Replicate, aclient: replicate.AsyncReplicate) -> None:
    for result in replicate.batch("acme/model", [{"prompt": "hi"}], concurrency=4, journal="j"):
        ok: bool = result.ok
        index: int = result.index
        del ok, index
    results: Iterator[replicate.BatchResult] = client.batch("acme/model", [{}], rate_limit=None)
    client.batch("acme/model", [{}], concurency=4)  # type: ignore[call-arg]
    async for item in aclient.batch("acme/model", [{}]):
        status: str = item.status
        del status
    del results
