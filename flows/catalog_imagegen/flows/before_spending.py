"""The flows' pre-flight step: the run's end state when the check before spending refuses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Failed

from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.preflight import RunRefused, check_before_spending
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.storage.publishing import RunSummary


async def refused_before_spending(
    jobs: Sequence[Job], resources: Resources, run_id: str, catalog: str
) -> State[Any] | None:
    """The run's end state when the pre-flight check refuses it; its notices are logged once."""
    try:
        notices = await check_before_spending(jobs, resources.provider, resources.models)
    except RunRefused as error:
        get_run_logger().error(error.reason)
        await resources.provider.aclose()
        if error.bad_input:
            return Failed(message=error.reason)
        summary = RunSummary(
            run_id=run_id,
            catalog=catalog,
            output=resources.store.describe(),
            preview=resources.provider.is_preview,
            stop_reason=error.reason,
        )
        return Failed(message=f"run stopped: {error.reason}", data=summary)
    for notice in notices:
        get_run_logger().warning(notice)
    return None
