"""The served side of batch mode: collect finished batches on a schedule, and submit a catalog
in batches (the seasonal refresh's default), so no one has to run ``collect``."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed

from catalog_imagegen.generation.batch.client import BatchApiError
from catalog_imagegen.generation.batch.runs import (
    BatchModeError,
    batch_context,
    collect_once,
    submit_request,
)
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import load_settings_with


@flow(name="batch_collect", validate_parameters=False)
async def batch_collect(output: str | None = None, resubmit: bool = False) -> Any:
    """Store and publish every finished batch; what expired is sent again with ``resubmit``."""
    logger = get_run_logger()
    try:
        context = batch_context(load_settings_with(output=output))
        collected = await collect_once(context, resubmit=resubmit)
    except (BatchModeError, BatchApiError) as error:
        return Failed(message=str(error))
    for batch in collected:
        s, summary = batch.submission, batch.summary
        logger.info(
            "batch %s (%s) of run %s: %d generated, %d failed, %d not done",
            s.batch_id, s.batch_status, s.run_id, summary.generated, summary.failed,
            len(s.not_done),
        )  # fmt: skip
    return Completed(message=f"{len(collected)} batches collected")


async def submit_in_batches(request: RunRequest, settings: Settings, via: str) -> Any | None:
    """Submit a request in batches; ``None`` when ``auto`` chose synchronous requests."""
    try:
        submitted = await submit_request(request, settings, via)
    except (BatchModeError, BatchApiError) as error:
        return Failed(message=str(error))
    if submitted is None:
        return None
    run_id, done = submitted
    jobs = sum(len(s.jobs) + len(s.held) for s in done.submissions)
    lines = sum(len(s.requested) + len(s.held) for s in done.submissions)
    message = (
        f"run {run_id}: {jobs} images submitted in {len(done.submissions)} batches "
        f"({lines} requests: identical requests are sent once), {done.copied} copied from "
        f"stored images of the same request, {done.done} already stored, "
        f"{done.in_batch} already in open batches"
    )
    get_run_logger().info(message)
    return Completed(message=message)
