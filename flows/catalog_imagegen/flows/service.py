"""The pipeline as a service: deployments a Prefect server schedules (``catalog-imagegen serve``).

- ``seasonal_refresh/seasonal-refresh``: on a cron schedule (``CATALOG_IMAGEGEN_REFRESH_CRON``,
  daily by default) refresh the catalog at ``CATALOG_IMAGEGEN_CATALOG`` for the seasons in effect
  today and ``CATALOG_IMAGEGEN_SEASON_LEAD_DAYS`` from today (``season_calendar``). What is stored
  already is skipped, so most ticks make only images for new SKUs or the coming season.
- ``batch_collect/batch-collect``: every ``CATALOG_IMAGEGEN_BATCH_POLL_SECONDS`` (10 minutes by
  default), store and publish the batches that finished (``flows/batches.py``).
- ``catalog_file_drop/catalog-file-drop``: every minute, look at the inbox
  (``CATALOG_IMAGEGEN_INBOX``) and run each new catalog file as a child flow run named after it.
- ``catalog_backfill/catalog-backfill``: on demand; the review app's Regenerate triggers it.

A poller on an interval schedule, rather than a watcher process calling ``run_deployment``, keeps
one process to run (``serve``), and claims by content digest make overlapping polls harmless.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger, serve
from prefect.states import Completed, Failed
from prefect.types.entrypoint import EntrypointType

from catalog_imagegen.definitions import build_inbox, build_store
from catalog_imagegen.flows.backfill import catalog_backfill
from catalog_imagegen.flows.batches import batch_collect, submit_in_batches
from catalog_imagegen.flows.file_drop import RunResult, poll_inbox, run_result
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.planning.season_calendar import load_calendar, seasons_to_refresh
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings_with

FILE_DROP_POLL_SECONDS = 60
SETTLE_SECONDS = 10.0


@flow(name="seasonal_refresh", validate_parameters=False)
async def seasonal_refresh(
    catalog: str | None = None,
    on: str | None = None,
    lead_days: int | None = None,
    output: str | None = None,
    via: str | None = "batch",
) -> Any:
    """Refresh the catalog for the season in effect now and the one ``lead_days`` ahead; by
    default through the Batch API (half price, results within 24 h; ``batch-collect`` stores
    them), or ``via="sync"`` / ``"auto"``."""
    logger = get_run_logger()
    settings = load_settings_with(catalog=catalog, season_lead_days=lead_days, output=output)
    if not settings.catalog:
        return Failed(message="no catalog: set CATALOG_IMAGEGEN_CATALOG or pass `catalog`")
    today = date.fromisoformat(on) if on else datetime.now(UTC).date()
    calendar = load_calendar(settings.templates_dir)
    seasons = seasons_to_refresh(today, calendar, settings.season_lead_days)
    logger.info(
        "%s: refreshing %s for %s (lead time %d days)",
        today,
        settings.catalog,
        ", ".join(seasons),
        settings.season_lead_days,
    )
    request = RunRequest(
        catalog=settings.catalog, output=settings.output, seasons=tuple(seasons), progress=False
    )
    chosen = via or settings.via
    if chosen != "sync" and settings.api_key:  # offline previews need no batch
        state = await submit_in_batches(request, request.settings_for(settings), chosen)
        if state is not None:
            return state
    # Its final state (and summary) becomes this run's.
    return await catalog_refresh(request, return_state=True)


@flow(name="catalog_file_drop", validate_parameters=False)
async def catalog_file_drop(
    inbox: str | None = None, output: str | None = None, settle: float = SETTLE_SECONDS
) -> Any:
    """Run every catalog file dropped into the inbox since the last look, one run per file."""
    logger = get_run_logger()
    settings = load_settings_with(inbox=inbox, output=output)
    if not settings.inbox:
        return Failed(message="no inbox: set CATALOG_IMAGEGEN_INBOX or pass `inbox`")
    inbox_store, store = build_inbox(settings.inbox), build_store(settings)

    async def run_catalog(path: str) -> RunResult:
        refresh = catalog_refresh.with_options(flow_run_name=f"drop-{path.rsplit('/', 1)[-1]}")
        request = RunRequest(catalog=path, output=settings.output, progress=False)
        state = await refresh(request, return_state=True)
        return await run_result(state)

    outcomes = await poll_inbox(inbox_store, store, run_catalog, settle=settle)
    for outcome in outcomes:
        logger.info("%s: %s %s %s", outcome.file, outcome.status, outcome.moved_to, outcome.message)
    failed = [o.file for o in outcomes if o.status == "failed"]
    message = f"{len(outcomes)} files handled" + (
        f", failed: {', '.join(failed)}" if failed else ""
    )
    return Failed(message=message) if failed else Completed(message=message)


def serve_deployments(settings: Settings) -> None:
    """Register the deployments with the Prefect server and run their flow runs until stopped."""
    # Module entrypoints: the runner imports the flows from the installed package, whatever
    # directory `serve` was started in.
    refresh = seasonal_refresh.to_deployment(
        name="seasonal-refresh",
        cron=settings.refresh_cron,
        parameters={"catalog": settings.catalog} if settings.catalog else {},
        description="Images for the current and coming season; stored images are skipped.",
        tags=["catalog-imagegen"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    drop = catalog_file_drop.to_deployment(
        name="catalog-file-drop",
        interval=FILE_DROP_POLL_SECONDS,
        parameters={"inbox": settings.inbox} if settings.inbox else {},
        paused=not settings.inbox,  # nothing to poll until an inbox is configured
        description="One run per catalog file dropped into the inbox.",
        tags=["catalog-imagegen"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    collect = batch_collect.to_deployment(
        name="batch-collect",
        interval=settings.batch_poll_seconds,
        paused=not settings.api_key,  # no batches without a provider key
        description="Store and publish finished batches (every 10 minutes by default).",
        tags=["catalog-imagegen"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    backfill = catalog_backfill.to_deployment(
        name="catalog-backfill",
        description="A slice of a catalog made again; the review app's Regenerate runs this.",
        tags=["catalog-imagegen"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    serve(refresh, drop, collect, backfill)  # type: ignore[arg-type]  # to_deployment is sync here
