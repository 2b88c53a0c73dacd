"""Progress of a long run: a bar with counts and ETA in a terminal, periodic lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from catalog_imagegen.generation.outcomes import JobOutcome


class ProgressReporter(Protocol):
    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, outcome: JobOutcome) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    def start(self, total: int, skipped: int) -> None:
        return None

    def advance(self, outcome: JobOutcome) -> None:
        return None

    def finish(self) -> None:
        return None


class TerminalProgress:
    """A rich progress bar on a terminal; one line every ~10% when output is not a terminal."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._bar: Progress | None = None
        self._task = None
        self._total = 0
        self._started = 0.0
        self._next_line = 0.0

    def start(self, total: int, skipped: int) -> None:
        self._total = total
        self._started = time.monotonic()
        if sys.stderr.isatty():
            self._bar = Progress(
                TextColumn("[bold]images"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task("images", total=total, counts="")  # type: ignore[assignment]
            self._bar.start()
        elif total:
            print(f"making {total} images ({skipped} already done)", file=sys.stderr, flush=True)

    def advance(self, outcome: JobOutcome) -> None:
        self._counts[outcome.status] += 1
        done = sum(self._counts.values())
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self._counts.items()))
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, counts=counts)
        elif self._total and (done / self._total >= self._next_line or done == self._total):
            self._next_line = done / self._total + 0.1
            elapsed = time.monotonic() - self._started
            eta = elapsed / done * (self._total - done) if done else 0.0
            print(f"  {done}/{self._total} ({counts}), ETA {eta:.0f}s", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
