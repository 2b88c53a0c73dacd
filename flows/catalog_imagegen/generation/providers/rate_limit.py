"""The run's request budget: requests in flight, images per minute, and a run-wide pause.

One ``RequestLimiter`` is made per run and shared by every task and every retry, because the
provider's limits are per account, not per task. A request for ``n`` images counts ``n`` against
the images-per-minute window (that is how image APIs count). The window is a sliding 60 s log of
what was sent, so no 60 s span ever holds more than ``rpm`` images, as the provider counts them.
A 429 with ``Retry-After`` pauses every sender, so the run backs off as a whole.

Within the window, requests are also paced evenly (at most a sixtieth of the window, one
second's worth of images, ahead of an even rate), because providers enforce per-minute limits
over shorter periods too: 600 images a minute means about 10 a second, not 600 in the first
second and then a pause.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

WINDOW_SECONDS = 60.0
# Requests reach the server a little after we log them; leave that much slack in the window.
WINDOW_SLACK_SECONDS = 0.5
PACING_BURST_FRACTION = 1 / 60


class RequestLimiter:
    def __init__(
        self,
        *,
        concurrency: int,
        rpm: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        window_seconds: float = WINDOW_SECONDS + WINDOW_SLACK_SECONDS,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if rpm is not None and rpm < 1:
            raise ValueError("rpm must be at least 1")
        self.concurrency = concurrency
        self.rpm = rpm
        self._clock = clock
        self._sleep = sleep  # with ``clock``, lets tests run the limiter on virtual time
        self._window = window_seconds
        self._in_flight = asyncio.Semaphore(concurrency)
        self._sent: deque[tuple[float, int]] = deque()
        self._sent_images = 0
        self._window_lock = asyncio.Lock()
        self._paused_until = 0.0
        self._paced_until = 0.0  # when the images sent so far are "paid off" at an even rate

    def __repr__(self) -> str:
        return f"RequestLimiter(concurrency={self.concurrency}, rpm={self.rpm})"

    @asynccontextmanager
    async def slot(self, images: int = 1) -> AsyncIterator[None]:
        """Hold one request slot for the duration of a request for ``images`` images."""
        async with self._in_flight:
            await self._wait_for_budget(images)
            yield

    def pause(self, seconds: float) -> None:
        """Stop every sender from starting a request for ``seconds`` (extends, never shortens)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def _wait_for_budget(self, images: int) -> None:
        # One waiter at a time, so the earliest request gets the next free place in the window.
        async with self._window_lock:
            while True:
                delay = max(self.paused_for, self._window_delay(images), self._pacing_delay())
                if delay <= 0:
                    break
                await self._sleep(delay)
            self._record(images)

    def _window_delay(self, images: int) -> float:
        if self.rpm is None:
            return 0.0
        now = self._clock()
        while self._sent and self._sent[0][0] <= now - self._window:
            self._sent_images -= self._sent.popleft()[1]
        wanted = min(images, self.rpm)  # a request bigger than the limit waits for an empty window
        if self._sent_images + wanted <= self.rpm:
            return 0.0
        freed = 0
        for sent_at, count in self._sent:
            freed += count
            if self._sent_images - freed + wanted <= self.rpm:
                return sent_at + self._window - now
        return self._window  # unreachable: emptying the window always makes room

    def _pacing_delay(self) -> float:
        if self.rpm is None:
            return 0.0
        burst = self._window * PACING_BURST_FRACTION
        return max(0.0, self._paced_until - self._clock() - burst)

    def _record(self, images: int) -> None:
        if self.rpm is not None:
            now = self._clock()
            self._sent.append((now, images))
            self._sent_images += images
            self._paced_until = max(self._paced_until, now) + images * self._window / self.rpm
