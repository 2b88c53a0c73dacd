"""Reviewers' decisions on a held run's images, kept in the store beside the run manifest.

``manifests/runs/{run_id}/decisions.json`` holds, per slot (``sku/colour/season/template``), the
latest decision (approved or rejected, with a note), who made it and when, and the record's
revision when it was made. It changes only by compare-and-swap on its ETag, retried on conflict,
so two reviewers deciding on different images at once both land.

A reviewer decides on what they saw: each change names the revision their page showed. When
someone else has since decided differently on one of the same images, the change is refused with
``StaleDecision`` (the page says to reload) instead of silently overwriting it. Deciding what is
already decided changes nothing, so every action is idempotent.

The approval gate (``approval.approve_run``) reads the rejections from here when it publishes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed
from catalog_imagegen.storage.manifest import JSON_TYPE, RUNS_PREFIX

APPROVED, REJECTED = "approved", "rejected"
Slot = tuple[str, str, str, str]  # sku, colour_key, season, template


class StaleDecision(Exception):
    """Someone else decided on the same image after this reviewer's page was shown."""


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str  # APPROVED or REJECTED
    note: str
    by: str
    at: str
    revision: int


@dataclass(slots=True)
class Decisions:
    run_id: str
    revision: int = 0
    slots: dict[str, Decision] = field(default_factory=dict)
    regenerations: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: str | None = None

    def of(self, slot: Slot) -> Decision | None:
        return self.slots.get(slot_name(slot))

    def rejected(self) -> dict[Slot, Decision]:
        return {parse_slot(n): d for n, d in self.slots.items() if d.decision == REJECTED}

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "revision": self.revision,
            "slots": {
                name: {
                    "decision": d.decision,
                    "note": d.note,
                    "by": d.by,
                    "at": d.at,
                    "revision": d.revision,
                }
                for name, d in self.slots.items()
            },
            "regenerations": self.regenerations,
        }


def slot_name(slot: Slot) -> str:
    return "/".join(slot)


def parse_slot(name: str) -> Slot:
    sku, colour, season, template = name.rsplit("/", 3)
    return (sku, colour, season, template)


def decisions_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/decisions.json"


def load_decisions(store: ObjectStore, run_id: str) -> Decisions:
    stored = store.get(decisions_key(run_id))
    if stored is None:
        return Decisions(run_id)
    document = json.loads(stored.data)
    slots = {name: Decision(**value) for name, value in document.get("slots", {}).items()}
    return Decisions(
        run_id,
        int(document.get("revision", 0)),
        slots,
        dict(document.get("regenerations", {})),
        stored.etag,
    )


def decide(
    store: ObjectStore,
    run_id: str,
    slots: Iterable[Slot],
    decision: str,
    *,
    note: str = "",
    by: str,
    seen_revision: int,
) -> Decisions:
    """Record ``decision`` on ``slots``, unless another reviewer decided otherwise on one of them
    after ``seen_revision`` (then ``StaleDecision``). Returns the record as stored."""
    wanted = [slot_name(slot) for slot in slots]

    def apply(record: Decisions) -> bool:
        changed = False
        for name in wanted:
            current = record.slots.get(name)
            if current is not None and (current.decision, current.note) == (decision, note):
                continue  # already so: idempotent
            if current is not None and current.revision > seen_revision:
                raise StaleDecision(
                    f"{current.by or 'another reviewer'} {current.decision} {name} at "
                    f"{current.at}, after this page was loaded: reload the page to see it"
                )
            record.slots[name] = Decision(decision, note, by, now_iso(), record.revision + 1)
            changed = True
        return changed

    return update_decisions(store, run_id, apply)


def update_decisions(
    store: ObjectStore,
    run_id: str,
    apply: Callable[[Decisions], bool],
    max_attempts: int = 20,
) -> Decisions:
    """Read, change with ``apply`` (False: nothing to write), and write back by compare-and-swap;
    on a conflict read again and reapply, so concurrent changes all land."""
    for _ in range(max_attempts):
        record = load_decisions(store, run_id)
        if not apply(record):
            return record
        record.revision += 1
        body = json.dumps(record.as_json(), indent=1, ensure_ascii=False).encode()
        try:
            record.etag = store.put(
                decisions_key(run_id),
                body,
                content_type=JSON_TYPE,
                cache_control="no-cache",
                if_match=record.etag,
                if_none_match=record.etag is None,
            )
            return record
        except PreconditionFailed:
            continue
    raise PreconditionFailed(f"could not update {decisions_key(run_id)}: too many changes at once")


def rejection_notes(record: Decisions) -> Mapping[Slot, str]:
    return {slot: decision.note for slot, decision in record.rejected().items()}
