"""The ``catalog_backfill`` Prefect flow: redo exactly a slice of a catalog, never paying twice.

It reads like its sentence: read and plan the whole catalog, take the lock for these parameters,
select the slice and skip what is stored (unless forced), make the rest, publish, release. It
reuses the tasks of ``catalog_refresh``; a dry run stops after the selection with a forecast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.definitions import PREVIEW_NOTICE, Resources, build_resources
from catalog_imagegen.flows.refresh import (
    JobBatch,
    RunResults,
    failure_message,
    make_all,
    new_run_id,
    publish_results,
    read_and_plan,
)
from catalog_imagegen.generation.batch.submit import jobs_not_in_batches
from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.pipeline import PlanRequest, PreparedRun
from catalog_imagegen.planning.selection import SELECTION_PARAMETERS, Selection, selection_of
from catalog_imagegen.planning.slices import SlicePlan, forecast, plan_slice, spend_control
from catalog_imagegen.planning.templates import TemplateError, load_seasons
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.storage.run_history import UnknownRun
from catalog_imagegen.storage.run_lock import AlreadyRunning, acquire, idempotency_key

ALREADY_RUNNING = "AlreadyRunning"


@task(cache_policy=NO_CACHE)
def select_slice(
    jobs: JobBatch, selection: Selection, resources: Resources, run_id: str, dry_run: bool
) -> SlicePlan:
    return plan_slice(jobs.jobs, selection, resources.store, run_id, recover=not dry_run)


@flow(name="catalog_backfill", validate_parameters=False)
async def catalog_backfill(
    catalog: str,
    output: str | None = None,
    skus: list[str] | None = None,
    seasons: list[str] | None = None,
    colours: list[str] | None = None,
    templates: list[str] | None = None,
    only_failed: str | None = None,
    changed: bool = False,
    force: bool = False,
    only_flagged: list[str] | None = None,
    dry_run: bool = False,
    max_images: int | None = None,
    max_cost: float | None = None,
    concurrency: int | None = None,
    model: str | None = None,
    strict: bool = False,
    progress: bool = True,
    rpm: int | None = None,
    provider: str | None = None,
    base_url: str | None = None,
    bucket: str | None = None,
    prefix: str | None = None,
    public_base_url: str | None = None,
) -> State[Any]:
    """Make the images of a slice of the catalog (or, with ``force``, make them again;
    ``only_flagged``: remake the images colour QA flagged, of these kinds or, if empty, any)."""
    settings = load_settings_with(
        output=output,
        concurrency=concurrency,
        rpm=rpm,
        max_images=max_images,
        max_cost=max_cost,
        model=model,
        progress=progress,
        provider=provider,
        base_url=base_url,
        bucket=bucket,
        prefix=prefix,
        public_base_url=public_base_url,
    )
    selection = selection_of(
        skus, colours, seasons, templates, only_failed, changed, force, only_flagged
    )
    started_at, run_id = now_iso(), new_run_id()
    try:
        prepared = read_and_plan(catalog, settings, PlanRequest(strict=strict))
        resources = build_resources(settings, load_seasons(settings.templates_dir))
        sliced = select_slice(JobBatch(0, prepared.jobs), selection, resources, run_id, dry_run)
    except (CatalogError, TemplateError, UnknownRun) as error:
        return Failed(message=str(error))
    if dry_run:
        preview = forecast(sliced, resources.prices, spend_control(settings, resources.prices))
        return Completed(message="\n".join(preview.lines()), data=preview)
    key = idempotency_key(catalog, backfill_parameters(selection, settings))
    try:
        lock = acquire(resources.store, key, run_id)
    except AlreadyRunning as error:
        get_run_logger().warning(str(error))
        return Completed(name=ALREADY_RUNNING, message=str(error))
    try:
        summary = await make_slice(
            catalog, sliced, prepared, resources, settings, run_id, started_at
        )
    finally:
        lock.release()
        await resources.provider.aclose()
    return final_state(summary)


async def make_slice(
    catalog: str,
    sliced: SlicePlan,
    prepared: PreparedRun,
    resources: Resources,
    settings: Settings,
    run_id: str,
    started_at: str,
) -> RunSummary:
    if resources.provider.is_preview:
        get_run_logger().warning(PREVIEW_NOTICE)
    todo = (
        sliced.todo if sliced.selection.force else jobs_not_in_batches(sliced.todo, resources.store)
    )
    made, stop_reason = await make_all(todo, resources, settings, run_id, catalog)
    summary = RunSummary(
        run_id=run_id,
        catalog=catalog,
        output=resources.store.describe(),
        preview=resources.provider.is_preview,
        stop_reason=stop_reason,
        selection=sliced.selection.describe(),
    )
    publish_results(resources, summary, RunResults(sliced.skipped + made, prepared), started_at)
    return summary


def final_state(summary: RunSummary) -> State[Any]:
    if not summary.ok:
        return Failed(message=failure_message(summary), data=summary)
    return Completed(
        message=f"{summary.generated} generated, {summary.skipped} skipped", data=summary
    )


def idempotency_key_for(parameters: Mapping[str, Any]) -> str:
    """The key of a ``catalog_backfill`` run with these parameters, for triggering it through a
    deployment: ``run_deployment(name, parameters=p, idempotency_key=idempotency_key_for(p))``.
    It is the key the flow locks on, so a direct run and a deployment run exclude each other."""
    selection = selection_of(**{name: parameters.get(name) for name in SELECTION_PARAMETERS})
    names = ("output", "bucket", "prefix", "model", "max_images", "max_cost")
    settings = load_settings_with(**{k: parameters.get(k) for k in names})
    return idempotency_key(parameters["catalog"], backfill_parameters(selection, settings))


def backfill_parameters(selection: Selection, settings: Settings) -> dict[str, Any]:
    """What makes two backfills the same backfill (with the catalog's bytes)."""
    return {
        "selection": asdict(selection),
        "model": settings.model,
        "output": settings.output,
        "bucket": settings.bucket,
        "prefix": settings.prefix,
        "max_images": settings.max_images,
        "max_cost": settings.max_cost,
    }
