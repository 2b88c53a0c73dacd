"""The Runs page: each run's time, catalog, counts, cost, flags and status, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from catalog_imagegen.review.app.context import context_of
from catalog_imagegen.review.app.document_shapes import RUN_HEADING
from catalog_imagegen.review.approval import load_approval
from catalog_imagegen.review.decisions import Decisions, load_decisions
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import RUNS_PREFIX
from catalog_imagegen.storage.run_history import RunRecord, run_ids, status_line

RUNS_SHOWN = 50
PUBLISHED, HELD, PARTLY, IN_BATCH = (
    "published",
    "held for approval",
    "partly approved",
    "in batch",
)

router = APIRouter()


@router.get("/", response_class=HTMLResponse, name="runs")
def runs(request: Request) -> HTMLResponse:
    context = context_of(request)
    rows = []
    for run_id in reversed(run_ids(context.store)[-RUNS_SHOWN:]):
        document = context.headings.load(context.store, f"{RUNS_PREFIX}{run_id}.json", RUN_HEADING)
        if document is None:
            continue  # deleted since the listing
        run = RunRecord(run_id, document)
        row = status_line(run)
        row["status"] = run_status(context.store, run.run_id, run.summary)
        row["flagged"] = run.summary.get("flagged", 0)
        row["planned"] = run.summary.get("planned", 0)
        rows.append(row)
    return context.render(request, "runs.html", runs=rows, store=context.store.describe())


def run_status(
    store: ObjectStore, run_id: str, summary: Mapping[str, Any], decisions: Decisions | None = None
) -> str:
    """published, held for approval, partly approved (some images decided), or in batch."""
    if summary.get("open_batches"):
        return IN_BATCH
    if not summary.get("awaiting_approval") or load_approval(store, run_id) is not None:
        return PUBLISHED
    decided = (decisions or load_decisions(store, run_id)).slots
    return PARTLY if decided else HELD
