"""Regeneration started from the review app: in this process (standalone), or as a run of the
served backfill deployment (``serve``).

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
from catalog_imagegen.review.regeneration import regenerate_slots, slots_request
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import flatten
from catalog_imagegen.storage.run_history import recent_runs

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


class DeploymentRegenerator:
    """Served mode: each Regenerate is a run of the served ``catalog_backfill`` deployment, with
    the selection as its parameters; the notes are in ``manifests/rejections.json``, which the
    backfill plans with. A thread follows the flow run and records its outcome."""

    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.threads: list[threading.Thread] = []

    def start(self, run_id: str, catalog: str, slots: Mapping[Slot, str]) -> None:
        record_progress(self.store, run_id, {s: {"state": "running"} for s in slots})
        thread = threading.Thread(target=self._follow, args=(run_id, catalog, dict(slots)))
        thread.daemon = True
        self.threads.append(thread)
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _follow(self, run_id: str, catalog: str, slots: dict[Slot, str]) -> None:
        from prefect.deployments import run_deployment

        parameters = backfill_parameters(self.settings, catalog, slots)
        try:
            flow_run = run_deployment(BACKFILL_DEPLOYMENT, parameters=parameters, timeout=None)
        except Exception as error:  # shown on the page, never lost in a thread
            failed = {"state": "failed", "reason": f"{type(error).__name__}: {error}"}
            record_progress(self.store, run_id, {s: failed for s in slots})
            return
        state = getattr(flow_run, "state", None)
        found = newest_images(self.store, set(slots), not_from=run_id)
        progress: dict[Slot, dict[str, Any]] = {}
        for slot in slots:
            if slot in found:
                progress[slot] = {"state": "done", **found[slot]}
            else:
                message = getattr(state, "message", None) or "the backfill made no new image"
                progress[slot] = {"state": "failed", "reason": str(message)}
        record_progress(self.store, run_id, progress)


BACKFILL_DEPLOYMENT = "catalog_backfill/catalog-backfill"


def backfill_parameters(
    settings: Settings, catalog: str, slots: Mapping[Slot, str]
) -> dict[str, Any]:
    """The backfill deployment's one parameter: a request for the chosen slots, in this app's
    store. It selects the product of their SKUs, colours, seasons and templates; the rest of that
    is stored already, so it is skipped and costs nothing."""
    store = {"output": settings.output, "bucket": settings.bucket, "prefix": settings.prefix}
    request = slots_request(catalog, slots).model_copy(
        update={name: value for name, value in store.items() if value}
    )
    return {"request": request.model_dump(mode="json")}


def newest_images(
    store: ObjectStore, slots: set[Slot], not_from: str
) -> dict[Slot, dict[str, Any]]:
    """Each slot's image in the newest run that made one (other than the reviewed run)."""
    found: dict[Slot, dict[str, Any]] = {}
    for run in recent_runs(store, NEWEST_RUNS_SEARCHED):
        if run.run_id == not_from:
            continue
        for entry in flatten(run.document.get("images", {})):
            if entry.slot in slots and entry.slot not in found:
                found[entry.slot] = {
                    "run_id": run.run_id,
                    "storage_key": entry.storage_key,
                    "prompt": entry.prompt,
                }
    return found


NEWEST_RUNS_SEARCHED = 5
