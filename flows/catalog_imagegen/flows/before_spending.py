"""The flows' pre-flight step: the run's end state when the check before spending refuses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Failed

from catalog_imagegen import pipeline
from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.preflight import RunRefused, check_before_spending
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.request import RunRequest


async def refused_before_spending(
    jobs: Sequence[Job], resources: Resources, request: RunRequest, run_id: str
) -> State[Any] | None:
    """The run's end state when the pre-flight check refuses it (the provider is closed then);
    otherwise ``None``, with its notices logged once."""
    try:
        notices = await check_before_spending(jobs, resources.provider, resources.models)
    except RunRefused as error:
        get_run_logger().error(error.reason)
        await resources.provider.aclose()
        if error.bad_input:
            return Failed(message=error.reason)
        summary = pipeline.new_summary(request, resources, run_id, stop_reason=error.reason)
        return Failed(message=f"run stopped: {error.reason}", data=summary)
    for notice in notices:
        get_run_logger().warning(notice)
    return None
