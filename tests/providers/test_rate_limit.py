"""The run's request budget: in flight, images per window (n counts n), and a shared pause."""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import pytest

from catalog_imagegen.generation.providers.rate_limit import RequestLimiter


async def test_no_more_than_concurrency_requests_are_in_flight() -> None:
    limiter = RequestLimiter(concurrency=3)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 3


class VirtualTime:
    """A clock that only moves when the limiter sleeps: timing checks without a wall clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # At least one step of the float, as a real clock always moves on while a task sleeps.
        self.now = max(self.now + seconds, math.nextafter(self.now, math.inf))
        await asyncio.sleep(0)

    def limiter(self, **limits: Any) -> RequestLimiter:
        return RequestLimiter(clock=self.clock, sleep=self.sleep, **limits)


async def test_no_window_holds_more_images_than_the_limit_and_n_counts_n() -> None:
    window = 0.4
    time = VirtualTime()
    limiter = time.limiter(concurrency=10, rpm=5, window_seconds=window)
    sent: list[tuple[float, int]] = []

    async def request(images: int) -> None:
        async with limiter.slot(images):
            sent.append((time.now, images))

    await asyncio.gather(*(request(n) for n in [2, 1, 2, 1, 1, 2, 1]))  # 10 images, limit 5
    assert time.now >= window  # the second half waited for the window
    for at, _ in sent:
        in_window = sum(n for t, n in sent if at <= t < at + window)
        assert in_window <= 5


async def test_images_are_paced_evenly_not_sent_in_one_burst() -> None:
    window = 1.2  # a scaled-down minute: 60 "per minute" is one image every 20 ms
    time = VirtualTime()
    limiter = time.limiter(concurrency=8, rpm=60, window_seconds=window)
    sent: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            sent.append(time.now)

    await asyncio.gather(*(request() for _ in range(30)))
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert sent[-1] - sent[0] >= 28 * window / 60
    assert max(gaps) <= window / 60 + 1e-9  # steady, not a burst then a long wait


async def test_a_pause_holds_back_every_sender() -> None:
    time = VirtualTime()
    limiter = time.limiter(concurrency=4)
    limiter.pause(0.3)
    limiter.pause(0.1)  # a shorter pause never cuts a longer one short

    async def request() -> float:
        async with limiter.slot():
            return time.now

    waits = await asyncio.gather(*(request() for _ in range(4)))
    assert min(waits) >= 0.3


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        RequestLimiter(concurrency=0)
    with pytest.raises(ValueError, match="rpm"):
        RequestLimiter(concurrency=1, rpm=0)
    assert repr(RequestLimiter(concurrency=2, rpm=60)) == "RequestLimiter(concurrency=2, rpm=60)"
