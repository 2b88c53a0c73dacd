"""A run's review page: the grid (one row per SKU, colour x season per template), its filters and
pages, and one image enlarged with its prompt, template version, flags and earlier image."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from catalog_imagegen.review.app.context import ReviewContext, context_of, with_query
from catalog_imagegen.review.app.document_shapes import GRID_RUN
from catalog_imagegen.review.app.grid import GridCell, GridFilter, RunGrid, counts, page_of
from catalog_imagegen.review.app.runs_page import run_status
from catalog_imagegen.review.decisions import Decisions, load_decisions
from catalog_imagegen.storage.base import StoreError
from catalog_imagegen.storage.manifest import RUNS_PREFIX
from catalog_imagegen.storage.run_history import RunRecord, UnknownRun, check_run_id, run_ids

router = APIRouter()
WARMED_RUNS = 2


@dataclass(frozen=True, slots=True)
class RunView:
    run: RunRecord  # its document in the GRID_RUN shape
    decisions: Decisions
    grid: RunGrid
    cells: list[GridCell]
    status: str

    @property
    def regenerating(self) -> bool:
        return any(r.get("state") == "running" for r in self.decisions.regenerations.values())


def run_view(context: ReviewContext, run_id: str) -> RunView:
    try:
        check_run_id(run_id)
    except UnknownRun as error:
        raise HTTPException(404, str(error)) from None
    key = run_manifest_key(run_id)
    document = context.documents.load(context.store, key, GRID_RUN)
    if document is None:
        raise HTTPException(404, f"no run {run_id} in {context.store.describe()}")
    storefront_key, storefront = context.documents.storefront(context.store)
    grid = context.documents.built(
        ("grid", key, storefront_key), lambda: RunGrid.build(document, storefront)
    )
    run = RunRecord(run_id, document)
    decisions = load_decisions(context.store, run_id)
    status = run_status(context.store, run_id, run.summary, decisions)
    return RunView(run, decisions, grid, grid.cells(decisions), status)


def run_manifest_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}.json"


def warm(context: ReviewContext, runs: int = WARMED_RUNS) -> None:
    """Read the newest runs' grids ahead of the first visit (``review`` and ``serve`` do it in
    the background as they start): the run a merchandiser opens in the morning is usually the
    newest one."""
    try:
        for run_id in run_ids(context.store)[-runs:]:
            run_view(context, run_id)
    except (StoreError, HTTPException, ValueError, KeyError):
        return  # only a head start: the page reads (and reports) the same documents itself


@router.get("/runs/{run_id}", response_class=HTMLResponse, name="run")
def run_page(run_id: str, request: Request) -> HTMLResponse:
    context = context_of(request)
    view = run_view(context, run_id)
    wanted = GridFilter.from_query(request.query_params)
    page = page_of(view.cells, wanted, _page_number(request.query_params.get("page", "1")))
    return context.render(
        request,
        "run.html",
        view=view,
        summary=view.run.summary,
        cost=_cost(view.run.summary),
        filter=wanted,
        page=page,
        counts=counts(view.cells),
        shown=counts(page.matching),
        flag_kinds=view.grid.flag_kinds,
        templates=view.grid.templates,
        seasons=view.grid.seasons,
        colours=view.grid.colours,
        page_url=lambda n: with_query(f"/runs/{run_id}", {**wanted.query(), "page": n}),
    )


@router.get("/runs/{run_id}/image", response_class=HTMLResponse, name="image")
def image_page(run_id: str, slot: str, request: Request) -> HTMLResponse:
    context = context_of(request)
    view = run_view(context, run_id)
    cell = next((c for c in view.cells if c.name == slot), None)
    if cell is None:
        raise HTTPException(404, f"no image {slot} in run {run_id}")
    return context.render(request, "image.html", view=view, cell=cell)


def _cost(summary: Mapping[str, Any]) -> float:
    actual = summary.get("actual_cost")
    return float(actual if actual is not None else summary.get("estimated_cost") or 0.0)


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() else 1
