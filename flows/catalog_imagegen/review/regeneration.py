"""Making chosen images again from the review app, through the run pipeline, in this process.

``make_slots`` is the one adapter between the review app and the run sequence of ``pipeline``
(prepare with the reviewers' notes, select, make, publish): a small backfill of exactly the chosen
slots, asked for as a ``RunRequest``. A rejected image's note is already in
``manifests/rejections.json`` (``approval.remember_rejections``), so its slot is planned with the
note in its prompt, under a new key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from catalog_imagegen import pipeline
from catalog_imagegen.definitions import build_resources
from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.templates import load_seasons
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.manifest import ManifestEntry
from catalog_imagegen.storage.publishing import RunSummary

Slot = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Regenerated:
    summary: RunSummary
    images: dict[Slot, ManifestEntry]  # the new (or already stored) image of each slot
    failures: dict[Slot, str]


def regenerate_slots(settings: Settings, catalog: str, slots: Collection[Slot]) -> Regenerated:
    """Make the images of ``slots`` that the store does not hold yet, as a run of their own."""
    return asyncio.run(make_slots(settings, catalog, set(slots)))


def slots_request(
    catalog: str, slots: Collection[Slot] | None, templates: Sequence[str] = ()
) -> RunRequest:
    """The request for ``slots`` (``None``: every slot of ``templates``). A request selects the
    product of its lists, so ``make_slots`` keeps exactly the slots asked for."""
    if slots is None:
        return RunRequest.checked(catalog=catalog, templates=tuple(templates), progress=False)
    parts = [tuple(sorted({slot[i] for slot in slots})) for i in range(4)]
    return RunRequest.checked(
        catalog=catalog, skus=parts[0], colours=parts[1], seasons=parts[2], templates=parts[3],
        progress=False,
    )  # fmt: skip


async def make_slots(
    settings: Settings, catalog: str, slots: set[Slot] | None, templates: Sequence[str] = ()
) -> Regenerated:
    """A run of ``catalog`` limited to ``slots`` (``None``: every slot of ``templates``)."""
    request = slots_request(catalog, slots, templates)
    settings = request.settings_for(settings)
    resources = build_resources(settings, load_seasons(settings.templates_dir))
    run_id, started_at = pipeline.new_run_id(), now_iso()
    prepared = pipeline.prepare(request, settings, resources.store)
    sliced = pipeline.select(prepared, request, resources.store, run_id)
    todo = [job for job in sliced.todo if slots is None or slot_of(job) in slots]
    skipped = [o for o in sliced.skipped if slots is None or slot_of(o.job) in slots]
    maker = pipeline.image_maker(resources, settings, request, run_id, prepared.templates)
    try:
        made, stop_reason = await pipeline.make(todo, maker, chunk_size=settings.chunk_size)
    finally:
        await maker.close_all()
        await resources.provider.aclose()
    summary = pipeline.new_summary(request, resources, run_id, stop_reason)
    outcomes = skipped + made
    pipeline.publish(resources, summary, outcomes, prepared, started_at=started_at,
                     approval_required=settings.approval_required)  # fmt: skip
    images = {o.entry.slot: o.entry for o in outcomes if o.entry is not None}
    failures = {slot_of(o.job): o.reason for o in outcomes if o.entry is None}
    return Regenerated(summary, images, failures)


def slot_of(job: Job) -> Slot:
    return (job.sku, job.colour.key, job.season, job.template)
