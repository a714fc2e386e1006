"""The in-process async transport: AsyncReplicate answered by a real Emulator, its blocking
work in worker threads so the event loop keeps running."""

from __future__ import annotations

import asyncio
import time

import pytest
from replicate_emulator.app import Emulator
from replicate_emulator.transport import AsyncEmulatorTransport

import replicate
from replicate import Request, Timeout

API = "https://api.replicate.com/v1"


@pytest.fixture
def emu():
    emulator = Emulator(rate_limits=False)
    yield emulator
    emulator.close()


def _client(emu):
    return replicate.AsyncReplicate(transport=AsyncEmulatorTransport(emu), base_url=API)


def test_run_stream_and_files(emu):
    async def main():
        async with _client(emu) as client:
            text = await client.run("replicate/hello-world", input={"text": "a"})
            tokens = [
                str(event)
                async for event in await client.stream(
                    "replicate/stream-tokens",
                    input={"prompt": "yo", "max_tokens": 4, "delay": 0},
                )
            ]
            image = await client.run(
                "replicate/png-image", input={"width": 400, "height": 400, "seed": 3}
            )
            data = await image.aread()
            return text, "".join(tokens), data

    text, tokens, data = asyncio.run(main())
    assert text == "hello a"
    assert tokens == "You said: yo. the"
    assert data.startswith(b"\x89PNG")
    assert len(emu.predictions()) == 3


def test_a_waiting_run_does_not_block_the_event_loop(emu):
    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        async with _client(emu) as client:
            output = await client.run(
                "replicate/slow-progress", input={"steps": 6, "seconds_per_step": 0.05}
            )
        stop.set()
        await task
        return ticks, output

    started = time.monotonic()
    ticks, _ = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert elapsed >= 0.3
    assert ticks >= 10  # the loop ran all along (a blocked loop ticks once)


def test_concurrent_waits(emu):
    async def main():
        async with _client(emu) as client:
            return await asyncio.gather(
                *(
                    client.run(
                        "replicate/slow-progress", input={"steps": 2, "seconds_per_step": 0.1}
                    )
                    for _ in range(10)
                )
            )

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 1.5  # ten 0.2 s runs at once, not one after another
    assert [doc["status"] for doc in emu.predictions()] == ["succeeded"] * 10


def test_faults_in_async_bodies(emu):
    async def main():
        transport = AsyncEmulatorTransport(emu)
        client = replicate.AsyncReplicate(transport=transport, base_url=API)
        prediction = await client.models.predictions.create(
            "replicate", "hello-world", input={}, wait=True
        )
        request = Request(
            "GET", f"{API}/predictions/{prediction.id}", headers={"Authorization": "Bearer t"}
        )
        emu.faults.add(route="GET /v1/predictions/{id}", truncate=7, times=2)
        with pytest.raises(replicate.APIConnectionError) as not_streamed:
            await transport.send(request, timeout=Timeout())
        response = await transport.send(request, timeout=Timeout(), stream=True)
        received = b""
        with pytest.raises(replicate.APIConnectionError) as streamed:
            async for chunk in response.aiter_bytes():
                received += chunk
        emu.faults.add(route="GET /v1/predictions/{id}", drop="before", times=1)
        with pytest.raises(replicate.APIConnectionError) as dropped:
            await transport.send(request, timeout=Timeout())
        whole = await transport.send(request, timeout=Timeout())
        await transport.aclose()
        return not_streamed.value, streamed.value, received, dropped.value, whole

    not_streamed, streamed, received, dropped, whole = asyncio.run(main())
    assert not_streamed.request_sent and streamed.request_sent
    assert received == whole.content[:7]
    assert dropped.request_sent is False
    assert whole.status_code == 200


def test_an_sse_stream_is_pulled_in_threads_and_can_be_closed_early(emu):
    async def main():
        transport = AsyncEmulatorTransport(emu)
        client = replicate.AsyncReplicate(transport=transport, base_url=API)
        prediction = await client.models.predictions.create(
            "replicate",
            "stream-tokens",
            input={"prompt": "p", "max_tokens": 200, "delay": 0.01},
            stream=True,
        )
        request = Request(
            "GET",
            prediction.urls.stream,
            headers={"Authorization": "Bearer t", "Accept": "text/event-stream"},
        )
        response = await transport.send(request, timeout=Timeout(), stream=True)
        first = await response.anext_chunk()
        await response.aclose()
        await transport.aclose()
        return first

    first = asyncio.run(main())
    assert first.startswith((b"retry:", b"id:", b"event:"))


def test_cancellation_propagates_at_once(emu):
    """A send waiting on the emulator (``Prefer: wait``) is cancelled at once. (The SDK's
    ``run`` shields its create request on purpose, so the transport is driven directly.)"""

    async def main():
        transport = AsyncEmulatorTransport(emu)
        request = Request(
            "POST",
            API + "/models/replicate/slow-progress/predictions",
            headers={
                "Authorization": "Bearer t",
                "Content-Type": "application/json",
                "Prefer": "wait=10",
            },
            content=b'{"input": {"steps": 50, "seconds_per_step": 0.1}}',
        )
        task = asyncio.create_task(transport.send(request, timeout=Timeout()))
        await asyncio.sleep(0.1)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - started
        await transport.aclose()
        return elapsed

    assert asyncio.run(main()) < 0.5


def test_send_after_aclose_raises(emu):
    async def main():
        transport = AsyncEmulatorTransport(emu)
        await transport.aclose()
        await transport.aclose()
        with pytest.raises(replicate.ReplicateError):
            await transport.send(
                Request("GET", API + "/predictions", headers={"Authorization": "Bearer t"}),
                timeout=Timeout(),
            )

    asyncio.run(main())


def test_the_transport_name_in_async_clients(monkeypatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)

    client = replicate.AsyncReplicate(transport="emulator")

    async def main():
        return await client.run("replicate/hello-world", input={"text": "async"})

    assert asyncio.run(main()) == "hello async"
    # A second event loop: the client's transport is not tied to the first.
    assert asyncio.run(main()) == "hello async"
    asyncio.run(client.close())
