"""The emulator's rate limiter: per token sliding windows, 429 with Retry-After."""

from __future__ import annotations

import msgspec
import pytest
from replicate_emulator.ratelimit import RateLimiter, RateLimits
from replicate_emulator.wire import EmuRequest


class Clock:
    """A clock the test moves by hand, so windows slide without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(token: str = "r8_a") -> EmuRequest:
    return EmuRequest.from_target(
        "GET", "/v1/models", [("Authorization", f"Bearer {token}")], b"", "https://x"
    )


def test_off_by_default_options() -> None:
    for option in (None, False):
        limiter = RateLimiter.from_option(option)
        assert not limiter.enabled
        assert all(limiter.check(request(), create=True) is None for _ in range(1000))


def test_api_limits_when_true() -> None:
    limiter = RateLimiter.from_option(True)
    assert limiter.limits == RateLimits(creates=600, other=3000, window=60.0)
    assert RateLimiter.from_option({"creates": 1}).limits == RateLimits(creates=1)
    same = RateLimiter(RateLimits())
    assert RateLimiter.from_option(same) is same
    with pytest.raises(TypeError):
        RateLimiter.from_option("yes")


def test_429_after_limit_with_retry_after_and_api_wording() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(creates=2, other=3, window=10.0), clock=clock)
    assert limiter.check(request(), create=True) is None
    clock.now += 3
    assert limiter.check(request(), create=True) is None
    clock.now += 1
    resp = limiter.check(request(), create=True)
    assert resp is not None and resp.status == 429
    # The first create leaves the window 10 s after it was made: 6 s from now.
    assert resp.header("Retry-After") == "6"
    assert resp.header("Content-Type") == "application/problem+json"
    assert isinstance(resp.body, bytes)
    doc = msgspec.json.decode(resp.body)
    assert doc["status"] == 429
    assert doc["detail"] == "Request was throttled. Your rate limit resets in ~6s."


def test_window_slides() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(creates=1, other=1, window=5.0), clock=clock)
    assert limiter.check(request(), create=False) is None
    assert limiter.check(request(), create=False) is not None
    clock.now += 5.0
    assert limiter.check(request(), create=False) is None


def test_creates_and_others_counted_apart_and_per_token() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(creates=1, other=2, window=60.0), clock=clock)
    assert limiter.check(request("a"), create=True) is None
    assert limiter.check(request("a"), create=True) is not None
    # Other requests of the same token have their own budget...
    assert limiter.check(request("a"), create=False) is None
    assert limiter.check(request("a"), create=False) is None
    assert limiter.check(request("a"), create=False) is not None
    # ...and another token has its own windows.
    assert limiter.check(request("b"), create=True) is None
    limiter.reset()
    assert limiter.check(request("a"), create=True) is None


def test_refused_requests_are_not_counted() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(creates=1, other=1, window=10.0), clock=clock)
    assert limiter.check(request(), create=False) is None
    for _ in range(5):
        clock.now += 1
        assert limiter.check(request(), create=False) is not None
    clock.now += 5  # 10 s after the one accepted request
    assert limiter.check(request(), create=False) is None


def test_zero_limit_refuses_everything() -> None:
    limiter = RateLimiter(RateLimits(creates=0, other=0, window=30.0), clock=Clock())
    resp = limiter.check(request(), create=True)
    assert resp is not None and resp.header("Retry-After") == "30"
