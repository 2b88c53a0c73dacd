"""The cost side of a run's ledger: what each job was estimated to cost, and what it did cost.

``estimated`` prices a dispatched job at the table's per-image price for the model, quality and
size it asked for (also for offline previews, so a preview run shows what the real run would
cost). ``actual`` turns the tokens the provider reported into dollars, when it reported any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.planning.pricing import PriceTable

DISPATCHED = ("generated", "failed")


def job_cost(outcome: JobOutcome, prices: PriceTable, model: str) -> dict[str, float | None]:
    """``{"estimated": USD, "actual": USD or None}``; work that was not requested (skipped, or
    copied from an identical request) costs 0."""
    dispatched = not outcome.shared_from and (
        outcome.status == "generated" or (outcome.status == "failed" and outcome.attempts > 0)
    )
    estimated = prices.estimate(outcome.job) if dispatched else 0.0
    return {"estimated": estimated, "actual": prices.actual(model, outcome.usage)}


def cost_totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """Totals of ledger rows' costs; ``actual`` is ``None`` when no row reported usage."""
    estimated = 0.0
    actual: float | None = None
    for row in rows:
        cost = row.get("cost") or {}
        estimated += cost.get("estimated") or 0.0
        if cost.get("actual") is not None:
            actual = (actual or 0.0) + cost["actual"]
    return {
        "estimated": round(estimated, 6),
        "actual": None if actual is None else round(actual, 6),
    }
