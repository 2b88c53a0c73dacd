"""The approval gate: with ``CATALOG_IMAGEGEN_APPROVAL=required`` a run publishes nothing itself.

The run writes its manifest and review page; a person looks, then ``approve_run`` publishes the
run's entries (minus the rejected ones) with ``manifest.publish``. Rejections are remembered in
``manifests/rejections.json``; the next run appends each one's note to that slot's prompt
(``PlanOptions.prompt_notes``), which changes the job key, so the image is made again.

The review app and this command share one gate and one state: images rejected in the app
(``decisions.py``) stay out of what ``approve_run`` publishes, with their notes, and
``approval.json`` records that the run was published, whoever published it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.catalog.colours import colour_key
from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.review.decisions import load_decisions, slot_name
from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed
from catalog_imagegen.storage.manifest import (
    JSON_TYPE,
    RUNS_PREFIX,
    ManifestEntry,
    Published,
    flatten,
    publish,
)
from catalog_imagegen.storage.run_history import UnknownRun, check_run_id

REJECTIONS_KEY = "manifests/rejections.json"
Slot = tuple[str, str, str, str]  # sku, colour_key, season, template


class ApprovalError(Exception):
    """The run cannot be approved (unknown, already approved, a reject matching nothing)."""


@dataclass(frozen=True, slots=True)
class RejectSelector:
    """``SKU/colour/season`` or ``SKU/colour/season/template`` as typed on the command line."""

    sku: str
    colour_key: str
    season: str
    template: str | None = None

    @classmethod
    def parse(cls, text: str) -> RejectSelector:
        parts = [part.strip() for part in text.split("/")]
        if len(parts) not in (3, 4) or not all(parts):
            raise ApprovalError(f"--reject {text!r}: expected SKU/colour/season[/template]")
        template = parts[3] if len(parts) == 4 else None
        return cls(parts[0], colour_key(parts[1]), parts[2].lower(), template)

    def matches(self, slot: Slot) -> bool:
        sku, colour, season, template = slot
        return (sku, colour, season) == (self.sku, self.colour_key, self.season) and (
            self.template is None or self.template == template
        )


@dataclass(slots=True)
class Approval:
    run_id: str
    approved: int
    rejected: list[Slot]
    published: Published | None


def approve_run(
    store: ObjectStore,
    run_id: str,
    rejects: Sequence[RejectSelector] = (),
    reason: str = "",
    by: str = "",
) -> Approval:
    """Publish a held run's images except the rejected ones (on the command line, or by reviewers
    in the review app), and remember the rejections with their notes."""
    entries = run_entries(store, run_id)
    unmatched = [r for r in rejects if not any(r.matches(e.slot) for e in entries)]
    if unmatched:
        first = unmatched[0]
        raise ApprovalError(
            f"--reject {first.sku}/{first.colour_key}/{first.season}: no such image in run {run_id}"
        )
    notes = {slot_name(s): d.note for s, d in load_decisions(store, run_id).rejected().items()}
    notes |= {slot_name(e.slot): reason for e in entries if any(r.matches(e.slot) for r in rejects)}
    rejected = [e for e in entries if slot_name(e.slot) in notes]
    approved = [e for e in entries if slot_name(e.slot) not in notes]
    record = {"run_id": run_id, "approved_at": now_iso(), "approved": len(approved), "by": by}
    record["rejected"] = ["/".join(e.slot) for e in rejected]
    try:  # create-only: approving twice would re-publish old images over newer ones
        store.put(
            approval_key(run_id),
            json.dumps(record, indent=1).encode(),
            content_type=JSON_TYPE,
            if_none_match=True,
        )
    except PreconditionFailed:
        raise ApprovalError(f"run {run_id} was approved already") from None
    remember_rejections(store, rejected, notes)
    published = publish(store, run_id, approved, generated_at=now_iso()) if approved else None
    return Approval(run_id, len(approved), [e.slot for e in rejected], published)


def approval_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/approval.json"


def load_approval(store: ObjectStore, run_id: str) -> dict[str, Any] | None:
    """The approval record of a published held run, or ``None`` while it is held."""
    stored = store.get(approval_key(run_id))
    return None if stored is None else dict(json.loads(stored.data))


def run_entries(store: ObjectStore, run_id: str) -> list[ManifestEntry]:
    try:
        check_run_id(run_id)
    except UnknownRun as error:
        raise ApprovalError(str(error)) from None
    stored = store.get(f"{RUNS_PREFIX}{run_id}.json")
    if stored is None:
        raise ApprovalError(f"no run {run_id} in {store.describe()}")
    document = json.loads(stored.data)
    if not document.get("summary", {}).get("awaiting_approval"):
        raise ApprovalError(f"run {run_id} was not held for approval: it published when it ended")
    return list(flatten(document.get("images", {})))


def load_rejections(store: ObjectStore) -> dict[str, dict[str, Any]]:
    stored = store.get(REJECTIONS_KEY)
    return {} if stored is None else dict(json.loads(stored.data).get("slots", {}))


def remember_rejections(
    store: ObjectStore,
    rejected: Iterable[ManifestEntry],
    reasons: Mapping[str, str],
    max_attempts: int = 20,
) -> None:
    """Add rejections (``reasons`` by slot name) to ``manifests/rejections.json`` by
    compare-and-swap (approvals may race). Rejecting the same image again changes nothing, so a
    regeneration from the review app and the publish after it count one revision, not two."""
    rejected = list(rejected)
    if not rejected:
        return
    for _ in range(max_attempts):
        stored = store.get(REJECTIONS_KEY)
        slots = {} if stored is None else dict(json.loads(stored.data).get("slots", {}))
        for entry in rejected:
            earlier = slots.get("/".join(entry.slot), {})
            if earlier.get("rejected_key") == entry.key:
                continue
            slots["/".join(entry.slot)] = {
                **dict(zip(("sku", "colour_key", "season", "template"), entry.slot, strict=True)),
                "count": int(earlier.get("count", 0)) + 1,
                "reason": reasons.get("/".join(entry.slot), ""),
                "rejected_key": entry.key,
                "run_id": entry.run_id,
                "rejected_at": now_iso(),
            }
        body = json.dumps({"slots": slots}, indent=1, ensure_ascii=False).encode()
        try:
            store.put(
                REJECTIONS_KEY,
                body,
                content_type=JSON_TYPE,
                cache_control="no-cache",
                if_match=stored.etag if stored else None,
                if_none_match=stored is None,
            )
            return
        except PreconditionFailed:
            continue
    raise PreconditionFailed(f"could not update {REJECTIONS_KEY}: too many approvals at once")


def prompt_notes(rejections: Mapping[str, Mapping[str, Any]]) -> dict[Slot, str]:
    """The note each rejected slot's prompt gets; the count makes each rejection a new key."""
    notes: dict[Slot, str] = {}
    for rejection in rejections.values():
        slot = (
            rejection["sku"],
            rejection["colour_key"],
            rejection["season"],
            rejection["template"],
        )
        because = f" Reviewer's reason: {rejection['reason']}." if rejection.get("reason") else ""
        notes[slot] = (
            f"Revision {rejection.get('count', 1)}: a reviewer rejected an earlier image for this "
            f"product.{because} Make a clearly different image."
        )
    return notes
