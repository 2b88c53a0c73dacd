"""Splitting one run into shards that run on several workers: the parameters and the budget.

Pure: no Prefect, no I/O. The provider's limits are per account, so the shards share one budget.
It is split statically: shard ``i`` of ``n`` gets ``total // n`` request slots and images per
minute, plus one of the remainder while it lasts, so the shares always sum to the totals and no
worker has to ask anyone before sending a request (``benchmarks/shards.py`` measures this against
a Prefect global concurrency limit). Products are split by ``planning.shard_of`` (a hash of the
SKU), so a product's images never span shards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.request import RunRequest, Shard

SHARD_FLOW = "catalog_refresh"
SHARD_DEPLOYMENT = "catalog-shard"
SHARD_DEPLOYMENT_NAME = f"{SHARD_FLOW}/{SHARD_DEPLOYMENT}"
# Counters each shard reports (its summary table artifact) and the combined run adds up.
COUNTERS = ("planned", "generated", "skipped", "failed", "not_dispatched")
# Every shard reads the whole catalog, so rows rejected while reading are reported by each: the
# combined run shows the most any shard reported, not the sum.
MOST = ("rejected_rows",)


class ShardingError(ValueError):
    """The run cannot be split this way (more shards than request slots, for example)."""


@dataclass(frozen=True)
class ShardBudget:
    """One shard's share of the provider's limits."""

    concurrency: int
    rpm: int | None


def split_evenly(total: int, shards: int) -> list[int]:
    """``total`` in ``shards`` whole shares that differ by at most one and sum to ``total``."""
    return [total // shards + (1 if index < total % shards else 0) for index in range(shards)]


def split_budget(concurrency: int, rpm: int | None, shards: int) -> list[ShardBudget]:
    """Each shard's request slots and images per minute; the sums never exceed the totals."""
    if shards < 1:
        raise ShardingError("--shards must be at least 1")
    if concurrency < shards:
        raise ShardingError(
            f"{shards} shards need at least {shards} request slots (--concurrency {concurrency}):"
            " every shard sends at least one request at a time"
        )
    if rpm is not None and rpm < shards:
        raise ShardingError(f"{shards} shards need --rpm of at least {shards}, not {rpm}")
    slots = split_evenly(concurrency, shards)
    rates: Sequence[int | None] = split_evenly(rpm, shards) if rpm is not None else [None] * shards
    return [ShardBudget(s, r) for s, r in zip(slots, rates, strict=True)]


def shard_requests(run: RunRequest, budgets: Sequence[ShardBudget]) -> list[RunRequest]:
    """Every shard's request: the run's, with its share of the budget and its index.

    ``run`` holds only what every worker can use as given: locations every worker reaches, never
    a secret (workers read their API key and AWS credentials from their own environment).
    ``max_images`` and ``max_cost`` are split like the budget, so the run's caps still hold.
    """
    count = len(budgets)
    images = split_evenly(run.max_images, count) if run.max_images else None
    shards = []
    for index, budget in enumerate(budgets):
        shards.append(
            run.model_copy(
                update={
                    "concurrency": budget.concurrency,
                    "rpm": budget.rpm,
                    "shard": Shard(index=index, count=count),
                    "progress": False,
                    "max_images": images[index] if images else run.max_images,
                    "max_cost": run.max_cost / count if run.max_cost else run.max_cost,
                }
            )
        )
    return shards


@dataclass
class ShardedSummary:
    """What the shards did together, from each shard's summary (``None``: it reported none)."""

    shards: int
    counts: dict[str, int] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    manifest: str = ""
    output: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        c = self.counts
        return (
            f"{self.shards} shards: {c.get('planned', 0)} images planned, "
            f"{c.get('generated', 0)} generated, {c.get('skipped', 0)} skipped (already done), "
            f"{c.get('failed', 0)} failed, {c.get('not_dispatched', 0)} not dispatched; "
            f"{c.get('rejected_rows', 0)} catalog rows rejected"
        )


def combine_summaries(
    reports: Sequence[tuple[str, str, Mapping[str, Any] | None]],
) -> ShardedSummary:
    """Add up the shards' ``(flow run name, final state name, summary row or None)``."""
    combined = ShardedSummary(shards=len(reports), counts=dict.fromkeys(COUNTERS + MOST, 0))
    for name, state, row in reports:
        if row is None:
            combined.problems.append(f"{name}: {state}, no summary reported")
            continue
        for counter in COUNTERS:
            combined.counts[counter] += int(row.get(counter) or 0)
        for counter in MOST:
            combined.counts[counter] = max(combined.counts[counter], int(row.get(counter) or 0))
        combined.run_ids.append(str(row.get("run_id", "")))
        combined.manifest = str(row.get("manifest") or combined.manifest)
        combined.output = str(row.get("output") or combined.output)
        if row.get("stop_reason"):
            combined.problems.append(f"{name}: stopped: {row['stop_reason']}")
        elif state != "Completed":
            combined.problems.append(f"{name}: {state}")
    return combined
