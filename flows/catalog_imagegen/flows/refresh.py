"""The ``catalog_refresh`` Prefect flow: catalog in, images and a storefront manifest out.

The flow reads like its sentence: prepare the request's plan, select what is not stored yet, make
it in chunks, publish the manifest and reports. Each step is a function of ``pipeline``; the flow
adds tasks (so each step shows, and chunks overlap as task runs) and artifacts, nothing else.
Jobs fan out inside coarse chunk tasks (a Prefect task per image costs ~10 ms and overloads SQLite
past ~2,000 task runs); the chunk tasks share one ``ImageMaker``, whose slots bound the requests
in flight across the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

from catalog_imagegen import pipeline
from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.definitions import PREVIEW_NOTICE, Resources, build_resources
from catalog_imagegen.flows.before_spending import refused_before_spending
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.slices import SlicePlan
from catalog_imagegen.planning.templates import PromptTemplate, TemplateError, load_seasons
from catalog_imagegen.request import RequestError, RunRequest
from catalog_imagegen.review.app.links import review_app_link
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings
from catalog_imagegen.storage.base import StoreError
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.storage.run_history import UnknownRun
from catalog_imagegen.storage.run_lock import (
    ALREADY_RUNNING,
    AlreadyRunning,
    LockLost,
    held,
    idempotency_key,
)

BAD_INPUT = (CatalogError, TemplateError, RequestError, UnknownRun)


class Opaque:
    """A value handed to a task as is. Prefect walks list and dataclass parameters of tasks,
    which cost ~30 s for 10,000 outcomes, and hashes them; a plain object it leaves alone."""

    def __init__(self, value: Any, label: str) -> None:
        self.value = value
        self.label = label

    def __repr__(self) -> str:
        return self.label


@task(cache_policy=NO_CACHE)
def prepare_plan(request: RunRequest, settings: Settings, resources: Resources) -> Opaque:
    prepared = pipeline.prepare(request, settings, resources.store)
    return Opaque(prepared, f"{len(prepared.jobs)} jobs, {len(prepared.rejects)} rejects")


@task(cache_policy=NO_CACHE)
def select_jobs(prepared: Opaque, request: RunRequest, resources: Resources, run_id: str) -> Opaque:
    sliced = pipeline.select(prepared.value, request, resources.store, run_id)
    return Opaque(sliced, f"{len(sliced.todo)} to make, {len(sliced.skipped)} stored")


@task(cache_policy=NO_CACHE, task_run_name="make-images-{number}")
async def make_images(number: int, jobs: Opaque, maker: ImageMaker) -> list[JobOutcome]:
    outcomes: list[JobOutcome] = await maker.make(jobs.value)
    return outcomes


@task(cache_policy=NO_CACHE)
def publish_results(
    resources: Resources,
    summary: RunSummary,
    outcomes: Opaque,
    prepared: Opaque,
    started_at: str,
    approval_required: bool,
) -> RunSummary:
    return pipeline.publish(
        resources,
        summary,
        outcomes.value,
        prepared.value,
        started_at=started_at,
        approval_required=approval_required,
    )


@flow(name="catalog_refresh")
async def catalog_refresh(request: RunRequest) -> State[Any]:
    """Make every image the request's catalog needs that the store does not hold yet, and
    publish them."""
    return await run_flow(request)


async def run_flow(request: RunRequest) -> State[Any]:
    """The body both flows share. It holds the request's run lock while making, so an identical
    request started meanwhile (a double click, a retried webhook, two runs of one catalog into
    one output) ends at once as ``AlreadyRunning``; other catalogs and selections proceed."""
    logger = get_run_logger()
    started_at, run_id = now_iso(), pipeline.new_run_id()
    try:
        settings = request.settings_for(load_settings())
        resources = build_resources(settings, load_seasons(settings.templates_dir))
    except (TemplateError, ValueError) as error:
        logger.error(str(error))
        return Failed(message=str(error))
    try:
        resources.store.check_access()
        prepared = prepare_plan(request, settings, resources)
        sliced = select_jobs(prepared, request, resources, run_id)
    except StoreError as error:
        logger.error(str(error))
        await resources.provider.aclose()
        summary = pipeline.new_summary(request, resources, run_id, stop_reason=str(error))
        return Failed(message=f"run stopped: {error}", data=summary)
    except BAD_INPUT as error:
        logger.error(str(error))
        await resources.provider.aclose()
        return Failed(message=str(error))
    if refused := await refused_before_spending(sliced.value.todo, resources, request, run_id):
        return refused
    key = idempotency_key(request.catalog, request.lock_parameters(settings))
    try:
        with held(resources.store, key, run_id):  # beats while the run works
            summary = await make_and_publish(
                request, settings, resources, run_id, started_at, prepared, sliced.value
            )
    except AlreadyRunning as error:
        logger.warning(str(error))
        return Completed(name=ALREADY_RUNNING, message=str(error))
    except LockLost as error:
        logger.warning(str(error))  # this run's work is published; another may overlap it
    finally:
        await resources.provider.aclose()
    await report_artifacts(summary)
    return final_state(summary)


async def make_and_publish(
    request: RunRequest,
    settings: Settings,
    resources: Resources,
    run_id: str,
    started_at: str,
    prepared: Opaque,
    sliced: SlicePlan,
) -> RunSummary:
    logger = get_run_logger()
    for reject in prepared.value.rejects:
        logger.warning(reject.describe())
    if resources.provider.is_preview:
        logger.warning(PREVIEW_NOTICE)
    logger.info(
        "%d images planned: %d already stored, %d to make",
        len(sliced.todo) + len(sliced.skipped),
        len(sliced.skipped),
        len(sliced.todo),
    )
    made, stop_reason = await make_in_tasks(
        sliced.todo, resources, settings, request, run_id, prepared.value.templates
    )
    summary = pipeline.new_summary(request, resources, run_id, stop_reason)
    try:
        publish_results(
            resources,
            summary,
            Opaque(sliced.skipped + made, "outcomes"),
            prepared,
            started_at,
            settings.approval_required,
        )
    except StoreError as error:
        # Versions are immutable and the pointer moves last: latest.json still names a whole
        # manifest, and every image stored so far is found by the next run.
        summary.stop_reason = f"could not publish the manifest ({error}); latest.json unchanged"
        logger.error(summary.stop_reason)
    return summary


async def make_in_tasks(
    jobs: Sequence[Job],
    resources: Resources,
    settings: Settings,
    request: RunRequest,
    run_id: str,
    templates: Mapping[str, PromptTemplate],
) -> tuple[list[JobOutcome], str | None]:
    """``pipeline.make`` with each chunk a task run, and a progress artifact."""
    if not jobs:  # a done rerun: no maker, no progress to show
        return [], None
    maker = pipeline.image_maker(resources, settings, request, run_id, templates)
    artifact: UUID = await create_progress_artifact(
        progress=0.0, key=None, description="images made"
    )  # type: ignore[misc]

    async def run_chunk(number: int, chunk: list[Job], maker: ImageMaker) -> list[JobOutcome]:
        return await make_images(number, Opaque(chunk, f"{len(chunk)} jobs"), maker)

    async def on_chunk(done: int, total: int) -> None:
        await update_progress_artifact(artifact, progress=100.0 * done / max(total, 1))  # type: ignore[misc]

    resources.progress.start(len(jobs), 0)
    try:
        return await pipeline.make(
            jobs,
            maker,
            chunk_size=max(settings.chunk_size, settings.concurrency * 4),
            run_chunk=run_chunk,
            on_chunk=on_chunk,
        )
    finally:
        await maker.close_all()
        resources.progress.finish()


async def report_artifacts(summary: RunSummary) -> None:
    await create_table_artifact(
        key="catalog-refresh-summary",
        table=[{k: v for k, v in summary.as_dict().items() if not isinstance(v, list | dict)}],
        description=f"catalog_refresh {summary.run_id}: {summary.generated} generated, "
        f"{summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.rejected_rows} rows rejected",
    )  # type: ignore[misc]
    await create_markdown_artifact(key="catalog-refresh-review", markdown=review_markdown(summary))  # type: ignore[misc]


def final_state(summary: RunSummary) -> State[Any]:
    if not summary.ok:
        return Failed(message=failure_message(summary), data=summary)
    return Completed(
        message=f"{summary.generated} generated, {summary.skipped} skipped", data=summary
    )


def review_markdown(summary: RunSummary) -> str:
    held = (
        f"\n\n**Awaiting approval**: the storefront manifest moves only after "
        f"`{summary.approve_command or 'catalog-imagegen approve ' + summary.run_id}`."
        if summary.awaiting_approval
        else ""
    )
    link = review_app_link(summary.run_id)
    app = f"\n- [Review app: approve, reject, regenerate]({link})" if link else ""
    return (
        f"## Run {summary.run_id}\n\n"
        f"{summary.generated} generated, {summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.rejected_rows} catalog rows rejected.\n\n"
        f"- [Review page]({summary.review_page})\n- [Run manifest]({summary.run_manifest})\n"
        + (f"- [Storefront manifest]({summary.manifest})\n" if summary.manifest else "")
        + f"- [Rejected rows]({summary.rejects_report})"
        f"{app}{held}"
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
