"""Making chosen images again from the review app, through the run pipeline, in this process.

``regenerate_slots`` is the one adapter between the review app and the run sequence (plan with
the reviewers' notes, split off what is stored, make the rest, publish): a small backfill of
exactly the chosen slots. A rejected image's note is already in ``manifests/rejections.json``
(``approval.remember_rejections``), so its slot plans with the note in its prompt, under a new key.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import build_provider, build_review, build_store
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.pipeline import PlanRequest, plan_catalog
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.pricing import PriceTable, load_price_table
from catalog_imagegen.planning.slices import spend_control
from catalog_imagegen.planning.templates import load_seasons
from catalog_imagegen.review.approval import load_rejections, prompt_notes
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import ManifestEntry, load_latest
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.resume import split_done

Slot = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Regenerated:
    summary: RunSummary
    images: dict[Slot, ManifestEntry]  # the new (or already stored) image of each slot
    failures: dict[Slot, str]


def regenerate_slots(settings: Settings, catalog: str, slots: Collection[Slot]) -> Regenerated:
    """Make the images of ``slots`` that the store does not hold yet, as a run of their own."""
    return asyncio.run(make_slots(settings, catalog, set(slots)))


async def make_slots(
    settings: Settings, catalog: str, slots: set[Slot] | None, templates: Sequence[str] = ()
) -> Regenerated:
    """A run of ``catalog`` limited to ``slots`` (``None``: every slot of ``templates``):
    plan with the reviewers' notes, split off what is stored, make the rest, publish."""
    store = build_store(settings)
    started_at, run_id = now_iso(), new_run_id()
    notes = prompt_notes(load_rejections(store))
    prepared = plan_catalog(catalog, settings, PlanRequest(templates=templates, prompt_notes=notes))
    jobs = [j for j in prepared.jobs if slots is None or _slot_of(j) in slots]
    split = split_done(jobs, store, load_latest(store))
    prices = load_price_table(settings.prices_file)
    provider = build_provider(settings, load_seasons(settings.templates_dir))
    made = await _make(split.todo, settings, store, provider, run_id, catalog, prices)
    outcomes = [JobOutcome(j, "skipped", entry=split.known.get(j.key)) for j in split.done] + made
    summary = RunSummary(
        run_id=run_id,
        catalog=catalog,
        output=store.describe(),
        preview=provider.is_preview,
        selection={"regenerated": ["/".join(slot) for slot in sorted(slots)]} if slots else {},
    )
    finish_run(
        store,
        summary,
        outcomes,
        prepared.rejects,
        started_at=started_at,
        provider=settings.provider or ("offline" if provider.is_preview else "openai-compatible"),
        model=settings.model,
        catalog=prepared.catalog,
        prices=prices,
        approval_required=settings.approval_required,
    )
    images = {o.entry.slot: o.entry for o in outcomes if o.entry is not None}
    failures = {_slot_of(o.job): o.reason for o in outcomes if o.entry is None}
    return Regenerated(summary, images, failures)


async def _make(
    jobs: list[Job],
    settings: Settings,
    store: ObjectStore,
    provider: ImageProvider,
    run_id: str,
    catalog: str,
    prices: PriceTable,
) -> list[JobOutcome]:
    loader = SourceLoader(catalog_folder(catalog))
    maker = ImageMaker(
        provider,
        store,
        loader,
        run_id=run_id,
        concurrency=settings.concurrency,
        control=spend_control(settings, prices),
        review=None if provider.is_preview else build_review(settings),
    )
    try:
        return await maker.make(jobs)
    finally:
        maker.close()
        await loader.aclose()
        await provider.aclose()


def new_run_id() -> str:
    """Like every run's id (``flows.refresh.new_run_id``): its UTC start, then a random tail."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def catalog_folder(catalog: str) -> Path:
    """Relative photo paths in a catalog are relative to the catalog file's folder."""
    return Path(catalog).absolute().parent


def _slot_of(job: Job) -> Slot:
    return (job.sku, job.colour.key, job.season, job.template)
