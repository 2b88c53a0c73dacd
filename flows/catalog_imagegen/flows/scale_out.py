"""Several machines: the shard deployment on a process work pool, and the run that fans out to it.

- ``deploy_shard_flow(pool)`` registers ``catalog_refresh/catalog-shard`` on a process work pool
  (created if missing). Its entrypoint is the module path, with no image and no code storage:
  every worker has this package installed, so ``prefect worker start --pool POOL`` on any machine,
  from any directory, can run it.
- ``catalog_sharded_run`` (a flow) splits the budget (``sharding``), starts one deployment run per
  shard with ``run_deployment``, waits for all of them and adds up their summaries, which each
  shard left on the server as its ``catalog-refresh-summary`` table artifact. Every shard merges
  its images into the one ``manifests/latest.json`` by compare-and-swap (``manifest.publish``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.objects import Artifact, FlowRun, State
from prefect.client.schemas.sorting import ArtifactSort
from prefect.deployments.flow_runs import arun_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Completed, Failed
from prefect.types.entrypoint import EntrypointType

from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.planning.sharding import (
    SHARD_DEPLOYMENT,
    SHARD_DEPLOYMENT_NAME,
    ShardedSummary,
    combine_summaries,
    shard_requests,
    split_budget,
)
from catalog_imagegen.request import RunRequest

SUMMARY_ARTIFACT = "catalog-refresh-summary"  # written by ``catalog_refresh`` at the end of a run
POLL_SECONDS = 2.0


async def ensure_process_pool(pool: str) -> None:
    """Create the work pool as a process pool, unless a pool of that name exists."""
    async with get_client() as client:
        try:
            await client.read_work_pool(pool)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))


async def deploy_shard_flow(pool: str) -> UUID:
    """Register (or update) ``catalog_refresh/catalog-shard`` on the process work pool ``pool``."""
    await ensure_process_pool(pool)
    deployment = await catalog_refresh.ato_deployment(
        name=SHARD_DEPLOYMENT,
        work_pool_name=pool,
        description="One shard of a catalog run: `catalog-imagegen run CATALOG --shards N`.",
        tags=["catalog-imagegen"],
        # The module path, not a file path: workers import the installed package from anywhere.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return await deployment.aapply()


async def shard_deployment_exists(name: str = SHARD_DEPLOYMENT_NAME) -> bool:
    async with get_client() as client:
        try:
            await client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


@flow(name="catalog_sharded_run")
async def catalog_sharded_run(
    request: RunRequest,
    shards: int,
    concurrency: int,
    rpm: int | None = None,
    deployment: str = SHARD_DEPLOYMENT_NAME,
) -> State[Any]:
    """Run ``catalog_refresh`` as ``shards`` deployment runs that share one provider budget.

    ``request`` holds locations every worker reaches and never a secret. ``concurrency`` and
    ``rpm`` are the account's totals.
    """
    logger = get_run_logger()
    budgets = split_budget(concurrency, rpm, shards)
    per_shard = shard_requests(request, budgets)
    logger.info(
        "%d shards of %s: request slots %s, images/min %s",
        shards,
        request.catalog,
        [b.concurrency for b in budgets],
        [b.rpm for b in budgets],
    )
    runs = await asyncio.gather(
        *(
            run_shard(deployment, r, f"shard-{index + 1}-of-{shards}")
            for index, r in enumerate(per_shard)
        )
    )
    reports = [
        (
            run.name,
            run.state.name or "unknown" if run.state else "unknown",
            await shard_summary(run.id),
        )
        for run in runs
    ]
    combined = combine_summaries(reports)
    await create_table_artifact(  # type: ignore[misc]
        key="catalog-sharded-run-summary",
        table=[{"shard": name, "state": state, **(row or {})} for name, state, row in reports],
        description=combined.describe(),
    )
    if not combined.ok:
        return Failed(message="; ".join(combined.problems), data=combined)
    return Completed(message=combined.describe(), data=combined)


async def run_shard(deployment: str, request: RunRequest, name: str) -> FlowRun:
    """One shard as a deployment run (a child of this flow run), once it has finished."""
    run: FlowRun = await arun_deployment(
        deployment,
        parameters={"request": request.model_dump(mode="json")},
        flow_run_name=name,
        timeout=None,  # as long as it takes: a big shard runs for hours
        poll_interval=POLL_SECONDS,
    )
    return run


async def shard_summary(flow_run_id: UUID) -> dict[str, Any] | None:
    """The summary row a shard's flow run left on the server, or None if it left none."""
    # Posted directly: Prefect 3.8's ``read_artifacts`` sends ``null`` for the filters it is not
    # given, which its server answers 422, and an empty task-run filter drops artifacts made by
    # the flow itself rather than by a task.
    query = {
        "artifacts": ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            key=ArtifactFilterKey(any_=[SUMMARY_ARTIFACT]),
        ).model_dump(mode="json", exclude_unset=True),
        "limit": 10,
        "sort": ArtifactSort.CREATED_DESC.value,
    }
    async with get_client() as client:
        response = await client.request("POST", "/artifacts/filter", json=query)
    artifacts = Artifact.model_validate_list(response.json())
    for artifact in artifacts:
        rows: Any = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
        if isinstance(rows, list) and rows:
            return dict(rows[0])
    return None


__all__ = [
    "ShardedSummary",
    "catalog_sharded_run",
    "deploy_shard_flow",
    "ensure_process_pool",
]
