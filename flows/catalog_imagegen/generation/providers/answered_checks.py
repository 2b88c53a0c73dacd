"""The command line's endpoint check, handed to the flow it starts in the same process.

``run`` and ``backfill`` ask ``GET {base_url}/models/{model}`` before Prefect starts, so a wrong
key or model is told in about a second; the flow asks again before spending, which scheduled and
served runs need. In a command-line run that is the same question twice, seconds apart: the
command records its passed check here, and the flow's check takes it once instead of asking.
Runs that no command line started find nothing here and ask. Keyed by base URL and model, never
by the key: the flow runs in the command's own process, with the command's own settings.
"""

from __future__ import annotations

import threading
import time

# Longer than a local Prefect server takes to start; an older answer is asked again.
ANSWER_KEPT_SECONDS = 600.0

_lock = threading.Lock()
_passed: dict[tuple[str, str], float] = {}


def record_passed_check(base_url: str, model: str, *, now: float | None = None) -> None:
    with _lock:
        _passed[(base_url, model)] = time.monotonic() if now is None else now


def take_passed_check(base_url: str, model: str, *, now: float | None = None) -> bool:
    """Whether this process's command line just passed the same check; it is taken only once."""
    with _lock:
        passed_at = _passed.pop((base_url, model), None)
    now = time.monotonic() if now is None else now
    return passed_at is not None and now - passed_at <= ANSWER_KEPT_SECONDS
