"""A lab run: the same sample of slots planned with the current template and with each draft,
made with the run's own engine, provider, limits and colour QA, and stored under ``lab/``.

Planning is the run's ``prepare_run`` with one template swapped; resuming is the run's
``split_done`` against the lab's corner of the store, so trying the same draft again costs nothing.
Channels are not part of a job's key: versions that differ only in their ``channels`` share one
image, and each gets the renditions and checks of its own channels, derived from that image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from catalog_imagegen.catalog.model import Reject
from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.lab.sample import LabSlot, jobs_in, pick_slots
from catalog_imagegen.lab.versions import LabVersion
from catalog_imagegen.pipeline import PreparedRun, prepare_run
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.selection import Selection, select_jobs
from catalog_imagegen.planning.templates import Season
from catalog_imagegen.renditions.storing import complete_renditions
from catalog_imagegen.review.image_review import ReviewSettings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import LatestManifest
from catalog_imagegen.storage.resume import recover_entry, split_done

ImageSlot = tuple[str, str, str, str]  # sku, colour key, season, template version
# ... and the version's channel names: channels are not in the template version.
VersionSlot = tuple[str, str, str, str, tuple[str, ...]]


class EmptySample(ValueError):
    """No slot of the catalog matches the sample's flags: nothing to try."""


@dataclass(frozen=True, slots=True)
class LabSample:
    """Which slots to try: the run's season flags, then SKUs (or globs) and colours."""

    skus: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    seasons: tuple[str, ...] = ()
    limit: int = 6
    catalog_format: str | None = None
    sheet: str | None = None


@dataclass(slots=True)
class LabPlan:
    slots: list[LabSlot]
    jobs: dict[str, list[Job]]  # by version name, in slot order
    rejects: list[Reject] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # by SKU


def plan_lab(
    catalog: str,
    versions: Sequence[LabVersion],
    seasons: Mapping[str, Season],
    sample: LabSample,
    *,
    model: str,
) -> LabPlan:
    """Plan every version on the same slots, picked from the current version's plan."""
    planned = {v.name: _plan_version(catalog, v, seasons, sample, model) for v in versions}
    current = planned[versions[0].name]
    products = current.catalog.products
    chosen = select_jobs(current.jobs, Selection(skus=sample.skus, colours=sample.colours), {})
    categories = {product.sku: product.category for product in products}
    slots = pick_slots(chosen, categories, sample.limit)
    if not slots:
        raise EmptySample(
            f"{catalog}: no product x colour x season matches --sku/--colour/--season "
            f"for template '{versions[0].template.name}'"
        )
    rejects = [r for prepared in planned.values() for r in prepared.rejects]
    return LabPlan(
        slots=slots,
        jobs={name: jobs_in(prepared.jobs, slots) for name, prepared in planned.items()},
        rejects=list(dict.fromkeys(rejects)),
        titles={product.sku: product.title for product in products},
    )


def _plan_version(
    catalog: str, version: LabVersion, seasons: Mapping[str, Season], sample: LabSample, model: str
) -> PreparedRun:
    """The run's own planning, with this version as the only template."""
    return prepare_run(
        catalog,
        {version.template.name: version.template},
        dict(seasons),
        model=model,
        season_names=sample.seasons,
        template_names=(version.template.name,),
        catalog_format=sample.catalog_format,
        sheet=sample.sheet,
    )


@dataclass(slots=True)
class LabEngine:
    """What makes the lab's images: the run's provider and limits, the lab's store."""

    store: ObjectStore
    sources: SourceLoader
    concurrency: int
    control: RunControl
    review: ReviewSettings | None = None


async def make_lab_images(
    plan: LabPlan, engine: LabEngine, lab_id: str, provider: ImageProvider
) -> dict[VersionSlot, JobOutcome]:
    """Every version's images, by slot and version: stored ones are reused, the rest made slot
    by slot (all versions of a slot together, so a spend cap leaves whole comparisons). An image
    is made once per job key; each version's renditions are derived from it for its channels."""
    unique: dict[str, Job] = {}
    for job in _slot_order(plan):
        unique.setdefault(job.key, job)  # the first version to ask for an image pays for it
    split = split_done(list(unique.values()), engine.store, LatestManifest())
    images = {
        image_slot(job): JobOutcome(job, "skipped", entry=recover_entry(job, engine.store, lab_id))
        for job in split.done
    }
    maker = ImageMaker(
        provider,
        engine.store,
        engine.sources,
        run_id=lab_id,
        concurrency=engine.concurrency,
        control=engine.control,
        review=engine.review,
    )
    try:
        made = await maker.make(split.todo)
    finally:
        maker.close()
    images.update((image_slot(outcome.job), outcome) for outcome in made)
    seen = [_as_seen_by(job, images[image_slot(job)]) for job in _slot_order(plan)]
    with_channels = {outcome.job.key for outcome in seen if outcome.job.channels}
    completed = await asyncio.to_thread(
        complete_renditions, seen, engine.store, with_channels, lab_id
    )
    return {version_slot(outcome.job): outcome for outcome in completed}


def _as_seen_by(job: Job, image: JobOutcome) -> JobOutcome:
    """``image``'s outcome for ``job``'s version: only the renditions and compliance flags of its
    own channels (the missing ones are derived afterwards), and free when another version's job
    requested the image."""
    if image.job.channels == job.channels:
        return image
    names = {profile.name for profile in job.channels}
    entry = image.entry
    if entry is not None:
        entry = replace(
            entry,
            renditions={name: r for name, r in entry.renditions.items() if name in names},
            flags=tuple(
                flag
                for flag in entry.flags
                if flag.get("kind") != "noncompliant" or flag.get("channel") in names
            ),
        )
    seen = replace(image.job, channels=job.channels, template_label=job.template_label)
    return replace(image, job=seen, entry=entry, shared_from=image.job.key)


def image_slot(job: Job) -> ImageSlot:
    """What identifies a lab image: its slot and template version. Not the job key: a chained
    colour's key changes once its base image is made."""
    return (job.sku, job.colour.key, job.season, job.template_version)


def version_slot(job: Job) -> VersionSlot:
    """What identifies a version's view of a lab image: the image, and the version's channels."""
    return (*image_slot(job), tuple(profile.name for profile in job.channels))


def _slot_order(plan: LabPlan) -> list[Job]:
    order = {slot: number for number, slot in enumerate(plan.slots)}
    jobs = [job for version_jobs in plan.jobs.values() for job in version_jobs]
    return sorted(jobs, key=lambda job: order.get((job.sku, job.colour.key, job.season), -1))


def catalog_folder(catalog: str) -> Path:
    return Path(catalog).resolve().parent
