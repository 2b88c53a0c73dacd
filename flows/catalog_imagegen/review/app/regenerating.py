"""Regeneration started from the review app, run in this process (standalone mode).

Each request runs ``regeneration.regenerate_slots`` in a thread of its own and records its
progress in the run's decisions record, where every page (and every other reviewer) reads it:
``running`` when it starts, then ``done`` with the new image, or ``failed`` with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.review.decisions import Decisions, slot_name, update_decisions
from catalog_imagegen.review.regeneration import regenerate_slots
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore

Slot = tuple[str, str, str, str]


class InProcessRegenerator:
    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.threads: list[threading.Thread] = []

    def start(self, run_id: str, catalog: str, slots: Mapping[Slot, str]) -> None:
        record_progress(self.store, run_id, {s: {"state": "running"} for s in slots})
        thread = threading.Thread(
            target=self._regenerate, args=(run_id, catalog, dict(slots)), daemon=True
        )
        self.threads.append(thread)
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _regenerate(self, run_id: str, catalog: str, slots: dict[Slot, str]) -> None:
        try:
            made = regenerate_slots(self.settings, catalog, slots)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            record_progress(
                self.store, run_id, {s: {"state": "failed", "reason": message} for s in slots}
            )
            return
        progress: dict[Slot, dict[str, Any]] = {}
        for slot in slots:
            entry = made.images.get(slot)
            if entry is None:
                reason = made.failures.get(slot, "the catalog no longer plans this image")
                progress[slot] = {
                    "state": "failed",
                    "reason": reason,
                    "run_id": made.summary.run_id,
                }
                continue
            progress[slot] = {
                "state": "done",
                "run_id": made.summary.run_id,
                "storage_key": entry.storage_key,
                "prompt": entry.prompt,
            }
        record_progress(self.store, run_id, progress)


def record_progress(
    store: ObjectStore, run_id: str, progress: Mapping[Slot, dict[str, Any]]
) -> None:
    def apply(record: Decisions) -> bool:
        for slot, state in progress.items():
            record.regenerations[slot_name(slot)] = {**state, "at": now_iso()}
        return bool(progress)

    update_decisions(store, run_id, apply)
