"""The run as plain functions: prepare a request's plan, select what to make, make it, publish.

    prepared = prepare(request, settings, store)       # read the catalog, plan every job
    sliced = select(prepared, request, store, run_id)  # the selection, minus what is stored
    outcomes, stop = await make(sliced.todo, maker)    # bounded fan-out, chunk by chunk
    publish(resources, summary, outcomes, prepared)    # manifests, reports, storefront pointer

A run, a backfill and a dry run of the same request go through ``prepare`` and ``select``, so
they plan the same jobs by construction; a dry run stops there with a forecast. ``run_request``
is the whole sequence without Prefect; the flows wrap the same functions in tasks and artifacts.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from catalog_imagegen.catalog.model import CatalogRead, Reject
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import Resources, build_review, build_source_loader
from catalog_imagegen.generation.batch.submissions import jobs_not_in_batches
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.generation.preflight import check_before_spending
from catalog_imagegen.generation.template_inputs import load_template_inputs
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.pricing import PriceTable
from catalog_imagegen.planning.slices import (
    Forecast,
    SlicePlan,
    forecast,
    plan_slice,
    spend_control,
)
from catalog_imagegen.planning.templates import PromptTemplate, Season, load_seasons, load_templates
from catalog_imagegen.request import RunRequest
from catalog_imagegen.review.approval import load_rejections, prompt_notes
from catalog_imagegen.review.image_review import group_of
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import load_latest, stored_requests
from catalog_imagegen.storage.publishing import RunSummary, finish_run

CHUNKS_IN_FLIGHT = 3
Slot = tuple[str, str, str, str]
RunChunk = Callable[[int, list[Job], ImageMaker], Awaitable[list[JobOutcome]]]
OnChunk = Callable[[int, int], Awaitable[None]]  # (outcomes so far, total)


@dataclass(slots=True)
class PreparedRun:
    catalog: CatalogRead
    jobs: list[Job]
    rejects: list[Reject]
    templates: dict[str, PromptTemplate] = field(default_factory=dict)


def prepare(request: RunRequest, settings: Settings, store: ObjectStore) -> PreparedRun:
    """Read the catalog and plan every job the request's seasons and templates ask for, with
    reviewers' notes on rejected images (so a rejected image is planned again, changed)."""
    templates = load_templates(settings.templates_dir)
    seasons = load_seasons(settings.templates_dir)
    request.check_names(templates, seasons)
    return prepare_run(
        request.catalog,
        templates,
        seasons,
        model=settings.model,
        season_names=request.seasons,
        template_names=request.templates,
        strict=request.strict,
        shard=(request.shard.index, request.shard.count) if request.shard else None,
        catalog_format=request.catalog_format,
        sheet=request.sheet,
        prompt_notes=prompt_notes(load_rejections(store)),
        include_archived=request.include_archived,
    )


def prepare_run(
    catalog_path: str,
    templates: dict[str, PromptTemplate],
    seasons: dict[str, Season],
    *,
    model: str,
    season_names: Sequence[str] = (),
    template_names: Sequence[str] = (),
    strict: bool = False,
    shard: tuple[int, int] | None = None,
    catalog_format: str | None = None,
    sheet: str | None = None,
    prompt_notes: Mapping[Slot, str] | None = None,
    include_archived: bool = False,
) -> PreparedRun:
    catalog = read_catalog(
        catalog_path,
        strict=strict,
        format=catalog_format,
        sheet=sheet,
        include_archived=include_archived,
    )
    loader = source_loader_for(catalog_path)
    sources = [p.source_image for p in catalog.products if p.source_image] + [
        c.source_image for p in catalog.products for c in p.colours if c.source_image
    ]
    options = PlanOptions(
        model=model,
        seasons=tuple(season_names),
        templates=tuple(template_names),
        source_digests=loader.local_digests(s for s in sources if s),
        shard=shard,
        prompt_notes=prompt_notes or {},
    )
    plan = plan_jobs(catalog.products, templates, seasons, options, file=Path(catalog_path).name)
    return PreparedRun(
        catalog=catalog,
        jobs=plan.jobs,
        rejects=catalog.rejects + plan.rejects,
        templates=templates,
    )


def select(
    prepared: PreparedRun,
    request: RunRequest,
    store: ObjectStore,
    run_id: str,
    *,
    recover: bool = True,
) -> SlicePlan:
    """The request's slice of the plan, split into what to make and what is stored already.
    ``recover=False`` (a dry run) does not rebuild entries of images a crashed run stored.
    Jobs an open batch will make are left out (``--force`` sends them anyway)."""
    sliced = plan_slice(prepared.jobs, request.selection(), store, run_id, recover=recover)
    if not request.force:
        sliced.todo = jobs_not_in_batches(sliced.todo, store)
    return sliced


def dry_run(
    prepared: PreparedRun,
    request: RunRequest,
    settings: Settings,
    store: ObjectStore,
    prices: PriceTable,
) -> Forecast:
    """What the run would do: the same plan and slice, the same spend limits, no provider."""
    sliced = select(prepared, request, store, "dry-run", recover=False)
    return forecast(sliced, prices, spend_control(settings, prices))


def image_maker(
    resources: Resources,
    settings: Settings,
    request: RunRequest,
    run_id: str,
    templates: Mapping[str, PromptTemplate],
) -> ImageMaker:
    """The run's one ImageMaker: request slots, spend control, the photo loader (confined by
    the settings' source policy), the templates' masks and reference images, and colour QA."""
    review = build_review(settings, templates, preview=resources.provider.is_preview)
    return ImageMaker(
        resources.provider,
        resources.store,
        build_source_loader(settings, request.catalog),
        run_id=run_id,
        concurrency=settings.concurrency,
        control=spend_control(settings, resources.prices),
        on_outcome=resources.progress.advance,
        review=review,
        template_inputs=load_template_inputs(templates, settings.templates_dir),
        # An image an earlier run stored for an identical request is copied, not paid again.
        stored_requests=stored_requests(load_latest(resources.store).entries),
    )


async def make(
    jobs: Sequence[Job],
    maker: ImageMaker,
    *,
    chunk_size: int,
    run_chunk: RunChunk | None = None,
    on_chunk: OnChunk | None = None,
) -> tuple[list[JobOutcome], str | None]:
    """Make ``jobs`` in overlapping chunks that share the maker's slots; the outcomes and, if the
    run stopped early (spend limit, fatal provider error), why."""
    run_chunk = run_chunk or _make_chunk
    outcomes: list[JobOutcome] = []
    pending: set[asyncio.Task[list[JobOutcome]]] = set()

    async def collect() -> None:
        nonlocal pending
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            outcomes.extend(finished.result())
        if on_chunk is not None:
            await on_chunk(len(outcomes), len(jobs))

    for number, chunk in enumerate(chunk_jobs(jobs, max(chunk_size, 1)), start=1):
        pending.add(asyncio.ensure_future(run_chunk(number, chunk, maker)))
        if len(pending) >= CHUNKS_IN_FLIGHT:
            await collect()
    while pending:
        await collect()
    return outcomes, maker.control.stop_reason


async def _make_chunk(number: int, jobs: list[Job], maker: ImageMaker) -> list[JobOutcome]:
    return await maker.make(jobs)


def chunk_jobs(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    """Chunks of about ``size`` jobs. A chunk ends only where a product x season x template group
    does, so a dependent shares its base's chunk and each group's colours are checked together."""
    chunk: list[Job] = []
    for job in jobs:
        if len(chunk) >= size and job.depends_on is None and group_of(job) != group_of(chunk[-1]):
            yield chunk
            chunk = []
        chunk.append(job)
    if chunk:
        yield chunk


def publish(
    resources: Resources,
    summary: RunSummary,
    outcomes: Sequence[JobOutcome],
    prepared: PreparedRun,
    *,
    started_at: str,
    approval_required: bool = False,
) -> RunSummary:
    """Write the run's manifest, ledger, reports and review page, then (unless held for
    approval) move the storefront pointer. Fills in ``summary``'s counts and links."""
    finish_run(
        resources.store,
        summary,
        outcomes,
        prepared.rejects,
        started_at=started_at,
        provider=resources.provider.name,
        model=resources.provider.model,
        catalog=prepared.catalog,
        prices=resources.prices,
        approval_required=approval_required,
    )
    return summary


def new_summary(
    request: RunRequest, resources: Resources, run_id: str, stop_reason: str | None = None
) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        catalog=request.catalog,
        output=resources.store.describe(),
        preview=resources.provider.is_preview,
        stop_reason=stop_reason,
        selection=request.selection().describe(),
    )


async def run_request(
    request: RunRequest, settings: Settings, resources: Resources, run_id: str | None = None
) -> tuple[RunSummary, list[JobOutcome]]:
    """The whole run without Prefect: prepare, select, check before spending, make, publish;
    the summary and every job's outcome. ``settings`` are the request's
    (``request.settings_for``); ``resources`` were built from them. ``RunRefused`` when the
    model or endpoint cannot do what the plan asks, before any paid request."""
    run_id = run_id or new_run_id()
    started_at = now_iso()
    prepared = prepare(request, settings, resources.store)
    sliced = select(prepared, request, resources.store, run_id)
    await check_before_spending(sliced.todo, resources.provider, resources.models)
    maker = image_maker(resources, settings, request, run_id, prepared.templates)
    resources.progress.start(len(sliced.todo), 0)
    try:
        made, stop_reason = await make(
            sliced.todo, maker, chunk_size=max(settings.chunk_size, settings.concurrency * 4)
        )
    finally:
        await maker.close_all()
        resources.progress.finish()
    summary = new_summary(request, resources, run_id, stop_reason)
    outcomes = sliced.skipped + made
    publish(
        resources,
        summary,
        outcomes,
        prepared,
        started_at=started_at,
        approval_required=settings.approval_required,
    )
    return summary, outcomes


def source_loader_for(catalog: str) -> SourceLoader:
    """Relative photo paths in a catalog are relative to the catalog file's folder. Planning
    hashes only the photos this default policy allows (the catalog's folder)."""
    return SourceLoader(Path(catalog).absolute().parent)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
