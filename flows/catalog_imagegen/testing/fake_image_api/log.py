"""What the fake images API saw: every request it answered, and counters a test asserts on.

The server's event loop writes and a test's thread reads, so every access goes through one lock.
Records are plain values with a JSON form, so a server in another process can be inspected too.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """A file part of a multipart request. ``data`` is None when bytes were not kept."""

    name: str
    filename: str | None
    content_type: str
    size: int
    sha256: str
    data: bytes | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RecordedFile:
        return cls(**value, data=None)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    started_at: float
    ended_at: float
    method: str
    path: str
    # None when the connection was dropped before any status line.
    status: int | None
    # Lower-cased names; repeated headers joined with ", ".
    headers: dict[str, str]
    # The JSON body, or the multipart form fields (a repeated field as a list of strings).
    fields: dict[str, Any]
    files: tuple[RecordedFile, ...]
    prompt: str | None
    n: int
    model: str | None
    # The injected fault that shaped the answer (``drop_connection``, ``error_500``, ...).
    fault: str | None
    # ``error.code`` of an error answer (``moderation_blocked``, ``rate_limit_exceeded``, ...).
    error_code: str | None
    # True when the request passed the rate limiter and its n images count in the 60 s window.
    admitted: bool

    @property
    def succeeded(self) -> bool:
        """Answered 200 with a well-formed body: no truncation, no bad base64."""
        return self.status == 200 and self.fault is None

    def to_json(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__slots__}
        values["files"] = [file.to_json() for file in self.files]
        return values

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RecordedRequest:
        files = tuple(RecordedFile.from_json(file) for file in value["files"])
        return cls(**{**value, "files": files})


@dataclass(frozen=True, slots=True)
class FakeImageApiStats:
    requests: int
    in_flight: int
    max_in_flight: int
    images_in_last_60s: int
    max_images_in_any_60s_window: int
    images_returned: int
    image_downloads: int
    count_by_status: dict[int, int]
    count_429: int
    # 429s answered by the rpm limiter (not the random fault, not the quota).
    rate_limited: int
    dropped: int
    faults: dict[str, int]
    prompt_counts: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in self.__slots__}
        values["count_by_status"] = {str(k): v for k, v in self.count_by_status.items()}
        return values

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FakeImageApiStats:
        by_status = {int(k): v for k, v in value["count_by_status"].items()}
        return cls(**{**value, "count_by_status": by_status})


class ImageWindow:
    """Images admitted in the last 60 s, and the most ever admitted within one 60 s window.

    The window is ``(now - 60 s, now]``. Its peak is taken at each admission, which is where any
    sliding window's count peaks, so the peak is exact.
    """

    def __init__(self) -> None:
        self._admitted: deque[tuple[float, int]] = deque()
        self._count = 0
        self.peak = 0

    def admit(self, n: int, limit: int | None, now: float) -> float | None:
        """Admit ``n`` images, or return the seconds until the window has room for them."""
        self._expire(now)
        if limit is not None and self._count + n > limit:
            return self._wait_for_room(self._count + n - limit, now)
        self._admitted.append((now, n))
        self._count += n
        self.peak = max(self.peak, self._count)
        return None

    def count(self, now: float) -> int:
        self._expire(now)
        return self._count

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - WINDOW_S:
            self._count -= self._admitted.popleft()[1]

    def _wait_for_room(self, excess: int, now: float) -> float:
        freed = 0
        for admitted_at, images in self._admitted:
            freed += images
            if freed >= excess:
                return admitted_at + WINDOW_S - now
        # More images than the whole limit: no wait helps; a full window is the honest answer.
        return WINDOW_S


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._window = ImageWindow()
        self._in_flight = 0
        self._max_in_flight = 0
        self._downloads = 0
        self._model_lookups: list[str] = []

    def started(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def finished(self, record: RecordedRequest) -> None:
        with self._lock:
            self._in_flight -= 1
            self._records.append(record)

    def admit(self, n: int, limit: int | None, now: float) -> float | None:
        with self._lock:
            return self._window.admit(n, limit, now)

    def looked_up(self, model: str) -> None:
        with self._lock:
            self._model_lookups.append(model)

    def model_lookups(self) -> list[str]:
        """The models asked about with ``GET /v1/models/{model}``, in order."""
        with self._lock:
            return list(self._model_lookups)

    def downloaded(self) -> None:
        with self._lock:
            self._downloads += 1

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def reset(self) -> None:
        """Forget everything seen; requests still in flight keep counting as in flight."""
        with self._lock:
            self._records.clear()
            self._model_lookups.clear()
            self._window = ImageWindow()
            self._max_in_flight = self._in_flight
            self._downloads = 0

    def prompt_counts(self) -> Counter[str]:
        """How many successful answers (200, no fault) each prompt got."""
        return _prompt_counts(self.records())

    def stats(self, now: float) -> FakeImageApiStats:
        with self._lock:
            records = list(self._records)
            in_flight, max_in_flight = self._in_flight, self._max_in_flight
            in_window, peak = self._window.count(now), self._window.peak
            downloads = self._downloads
        by_status = Counter(r.status for r in records if r.status is not None)
        return FakeImageApiStats(
            requests=len(records),
            in_flight=in_flight,
            max_in_flight=max_in_flight,
            images_in_last_60s=in_window,
            max_images_in_any_60s_window=peak,
            images_returned=sum(r.n for r in records if r.succeeded),
            image_downloads=downloads,
            count_by_status=dict(sorted(by_status.items())),
            count_429=by_status[429],
            rate_limited=sum(1 for r in records if _was_rate_limited(r)),
            dropped=sum(1 for r in records if r.status is None),
            faults=dict(Counter(r.fault for r in records if r.fault is not None)),
            prompt_counts=dict(_prompt_counts(records)),
        )


def _prompt_counts(records: list[RecordedRequest]) -> Counter[str]:
    return Counter(r.prompt for r in records if r.succeeded and r.prompt is not None)


def _was_rate_limited(record: RecordedRequest) -> bool:
    return (
        record.status == 429 and record.fault is None and record.error_code == "rate_limit_exceeded"
    )
