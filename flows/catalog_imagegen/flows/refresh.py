"""The ``catalog_refresh`` Prefect flow: catalog in, images and a storefront manifest out.

The flow reads like its sentence: read and plan the catalog, skip what is already stored, make the
rest in chunks, publish the manifest and reports. Jobs fan out inside coarse chunk tasks (a Prefect
task per image costs ~10 ms and overloads SQLite past ~2,000 task runs); the chunk tasks overlap,
sharing one ``ImageMaker`` whose slots bound the requests in flight across the whole run.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import (
    PREVIEW_NOTICE,
    Resources,
    build_resources,
    build_review,
)
from catalog_imagegen.generation.batch.submit import jobs_not_in_batches
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.pipeline import PlanRequest, PreparedRun, chunk_jobs, plan_catalog
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.slices import spend_control
from catalog_imagegen.planning.templates import TemplateError, load_seasons, load_templates
from catalog_imagegen.review.approval import load_rejections, prompt_notes
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.base import StoreError
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.resume import DoneSplit, recover_entry, split_done

CHUNKS_IN_FLIGHT = 3


class JobBatch:
    """A chunk of jobs handed to a task. A plain class, so Prefect does not walk every job."""

    def __init__(self, number: int, jobs: Sequence[Job]) -> None:
        self.number = number
        self.jobs = jobs

    def __repr__(self) -> str:
        return f"JobBatch({self.number}, {len(self.jobs)} jobs)"


class RunResults:
    """Every job's outcome and the rejected rows, handed to the publishing task. A plain class:
    Prefect walks list and dataclass parameters, which cost ~30 s for 10,000 outcomes."""

    def __init__(self, outcomes: list[JobOutcome], prepared: PreparedRun) -> None:
        self.outcomes = outcomes
        self.rejects = prepared.rejects
        self.catalog = prepared.catalog

    def __repr__(self) -> str:
        return f"RunResults({len(self.outcomes)} outcomes, {len(self.rejects)} rejects)"


@task(cache_policy=NO_CACHE)
def read_and_plan(catalog: str, settings: Settings, request: PlanRequest) -> PreparedRun:
    return plan_catalog(catalog, settings, request)


@task(cache_policy=NO_CACHE)
def find_done(
    jobs: JobBatch, resources: Resources, run_id: str
) -> tuple[DoneSplit, list[JobOutcome]]:
    """Split off the jobs whose images are stored already; they are reported as skipped."""
    latest = load_latest(resources.store)
    split = split_done(jobs.jobs, resources.store, latest)
    skipped = [
        JobOutcome(
            job,
            "skipped",
            entry=split.known.get(job.key) or recover_entry(job, resources.store, run_id),
        )
        for job in split.done
    ]
    return split, skipped


@task(cache_policy=NO_CACHE, task_run_name="make-images-{batch.number}")
async def make_images(batch: JobBatch, maker: ImageMaker) -> list[JobOutcome]:
    return await maker.make(batch.jobs)


@task(cache_policy=NO_CACHE)
def publish_results(
    resources: Resources,
    summary: RunSummary,
    results: RunResults,
    started_at: str,
    approval_required: bool = False,
) -> RunSummary:
    finish_run(
        resources.store,
        summary,
        results.outcomes,
        results.rejects,
        started_at=started_at,
        provider=resources.provider.name,
        model=resources.provider.model,
        catalog=results.catalog,
        prices=resources.prices,
        approval_required=approval_required,
    )
    return summary


@flow(name="catalog_refresh", validate_parameters=False)
async def catalog_refresh(
    catalog: str,
    output: str | None = None,
    seasons: list[str] | None = None,
    templates: list[str] | None = None,
    concurrency: int | None = None,
    rpm: int | None = None,
    max_images: int | None = None,
    model: str | None = None,
    strict: bool = False,
    progress: bool = True,
    shard_index: int | None = None,
    shard_count: int | None = None,
    catalog_format: str | None = None,
    sheet: str | None = None,
    provider: str | None = None,
    base_url: str | None = None,
    bucket: str | None = None,
    prefix: str | None = None,
    public_base_url: str | None = None,
    max_cost: float | None = None,
    approval: bool | None = None,
) -> State[Any]:
    """Make every image a catalog needs that the store does not hold yet, and publish them."""
    logger = get_run_logger()
    settings = load_settings_with(
        provider=provider,
        base_url=base_url,
        output=output,
        concurrency=concurrency,
        rpm=rpm,
        max_images=max_images,
        max_cost=max_cost,
        model=model,
        progress=progress,
        bucket=bucket,
        prefix=prefix,
        public_base_url=public_base_url,
        approval_required=approval,
    )
    started_at = now_iso()
    run_id = new_run_id()
    try:
        resources = build_resources(settings, load_seasons(settings.templates_dir))
        resources.store.check_access()
    except TemplateError as error:
        logger.error(str(error))
        return Failed(message=str(error))
    except StoreError as error:
        logger.error(str(error))
        summary = RunSummary(
            run_id=run_id,
            catalog=catalog,
            output=resources.store.describe(),
            preview=resources.provider.is_preview,
            stop_reason=str(error),
        )
        return Failed(message=f"run stopped: {error}", data=summary)
    try:
        request = PlanRequest(
            seasons=seasons or (),
            templates=templates or (),
            strict=strict,
            shard=(shard_index, shard_count) if shard_count and shard_index is not None else None,
            catalog_format=catalog_format,
            sheet=sheet,
            prompt_notes=prompt_notes(load_rejections(resources.store)),
        )
        prepared = read_and_plan(catalog, settings, request)
    except (CatalogError, TemplateError) as error:
        logger.error(str(error))
        await resources.provider.aclose()
        return Failed(message=str(error))
    for reject in prepared.rejects:
        logger.warning(reject.describe())
    if resources.provider.is_preview:
        logger.warning(PREVIEW_NOTICE)
    split, skipped = find_done(JobBatch(0, prepared.jobs), resources, run_id)
    split.todo = jobs_not_in_batches(split.todo, resources.store)
    logger.info(
        "%d images planned: %d already stored, %d to make",
        len(prepared.jobs),
        len(split.done),
        len(split.todo),
    )
    made, stop_reason = await make_all(split.todo, resources, settings, run_id, catalog)
    summary = RunSummary(
        run_id=run_id,
        catalog=catalog,
        output=resources.store.describe(),
        preview=resources.provider.is_preview,
        stop_reason=stop_reason,
        selection={k: v for k, v in (("seasons", seasons), ("templates", templates)) if v},
    )
    try:
        publish_results(
            resources,
            summary,
            RunResults(skipped + made, prepared),
            started_at,
            settings.approval_required,
        )
    except StoreError as error:
        # Versions are immutable and the pointer moves last: latest.json still names a whole
        # manifest, and every image stored so far is found by the next run.
        summary.stop_reason = f"could not publish the manifest ({error}); latest.json unchanged"
        logger.error(summary.stop_reason)
    await resources.provider.aclose()
    await create_table_artifact(
        key="catalog-refresh-summary",
        table=[{k: v for k, v in summary.as_dict().items() if not isinstance(v, list)}],
        description=f"catalog_refresh {run_id}: {summary.generated} generated, "
        f"{summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.rejected_rows} rows rejected",
    )  # type: ignore[misc]
    review = review_markdown(summary)
    await create_markdown_artifact(key="catalog-refresh-review", markdown=review)  # type: ignore[misc]
    if not summary.ok:
        return Failed(message=failure_message(summary), data=summary)
    return Completed(
        message=f"{summary.generated} generated, {summary.skipped} skipped", data=summary
    )


async def make_all(
    jobs: list[Job], resources: Resources, settings: Settings, run_id: str, catalog: str
) -> tuple[list[JobOutcome], str | None]:
    control = spend_control(settings, resources.prices)
    progress = resources.progress
    progress.start(len(jobs), 0)
    loader = source_loader_for(catalog)
    # Placeholders have no product to measure: colour QA is for real images only.
    preview = resources.provider.is_preview
    review = None if preview else build_review(settings, load_templates(settings.templates_dir))
    maker = ImageMaker(
        resources.provider,
        resources.store,
        loader,
        run_id=run_id,
        concurrency=settings.concurrency,
        control=control,
        on_outcome=progress.advance,
        review=review,
    )
    chunk_size = max(settings.chunk_size, settings.concurrency * 4)
    outcomes: list[JobOutcome] = []
    artifact = await create_progress_artifact(progress=0.0, key=None, description="images made")  # type: ignore[misc]
    pending: set[asyncio.Task[list[JobOutcome]]] = set()
    for number, chunk in enumerate(chunk_jobs(jobs, chunk_size), start=1):
        pending.add(asyncio.ensure_future(make_images(JobBatch(number, chunk), maker)))
        if len(pending) >= CHUNKS_IN_FLIGHT:
            pending = await _collect(pending, outcomes, artifact, len(jobs))
    while pending:
        pending = await _collect(pending, outcomes, artifact, len(jobs))
    await loader.aclose()
    maker.close()
    progress.finish()
    return outcomes, control.stop_reason


async def _collect(
    pending: set[asyncio.Task[list[JobOutcome]]],
    outcomes: list[JobOutcome],
    artifact: UUID,
    total: int,
) -> set[asyncio.Task[list[JobOutcome]]]:
    done, still = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for finished in done:
        outcomes.extend(finished.result())
    await update_progress_artifact(artifact, progress=100.0 * len(outcomes) / max(total, 1))  # type: ignore[misc]
    return still


def source_loader_for(catalog: str) -> SourceLoader:
    """Relative photo paths in a catalog are relative to the catalog file's folder."""
    return SourceLoader(Path(catalog).absolute().parent)


def review_markdown(summary: RunSummary) -> str:
    held = (
        f"\n\n**Awaiting approval**: the storefront manifest moves only after "
        f"`catalog-imagegen approve {summary.run_id}`."
        if summary.awaiting_approval
        else ""
    )
    return (
        f"## Run {summary.run_id}\n\n"
        f"{summary.generated} generated, {summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.rejected_rows} catalog rows rejected.\n\n"
        f"- [Review page]({summary.review_page})\n- [Run manifest]({summary.run_manifest})\n"
        f"- [Storefront manifest]({summary.manifest})\n- [Rejected rows]({summary.rejects_report})"
        f"{held}"
    )


def failure_message(summary: RunSummary) -> str:
    parts = []
    if summary.stop_reason:
        parts.append(f"run stopped: {summary.stop_reason}")
    if summary.failed:
        parts.append(f"{summary.failed} of {summary.planned} images failed")
    if summary.not_dispatched:
        parts.append(f"{summary.not_dispatched} not dispatched")
    return "; ".join(parts)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
