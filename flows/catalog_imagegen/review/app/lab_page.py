"""The Lab page: every lab run, newest first, and one lab run's side by side (one row per slot, one
column per version) with a form that chooses a version with a note, as ``lab choose`` does.

The table is the static lab page's own (``lab.page``), with image links into this app. Lab
manifests are small and change when someone chooses, so they are read fresh on every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from catalog_imagegen.lab.choices import UnknownVersion, choose
from catalog_imagegen.lab.page import (
    LAB_TABLE_STYLE,
    choices_html,
    chosen_version,
    comparison_html,
    summary_html,
)
from catalog_imagegen.lab.record import UnknownLabRun, lab_ids, load_lab_document
from catalog_imagegen.lab.runner import write_lab_page
from catalog_imagegen.lab.store import LAB_PREFIX, LabStore
from catalog_imagegen.review.app.actions import back_to, reviewer_named
from catalog_imagegen.review.app.context import context_of, first, image_url, read_form

LAB_RUNS_SHOWN = 50
MAX_NOTE = 2000

router = APIRouter()


@router.get("/lab", response_class=HTMLResponse, name="lab_runs")
def lab_runs(request: Request) -> HTMLResponse:
    context = context_of(request)
    store = LabStore(context.store)
    rows = []
    for lab_id in reversed(lab_ids(store)[-LAB_RUNS_SHOWN:]):
        try:
            rows.append(_lab_row(load_lab_document(store, lab_id)))
        except UnknownLabRun:
            continue  # deleted since the listing
    return context.render(request, "lab_runs.html", labs=rows, store=context.store.describe())


@router.get("/lab/{lab_id}", response_class=HTMLResponse, name="lab_run")
def lab_run(lab_id: str, request: Request) -> HTMLResponse:
    context = context_of(request)
    document = _lab_document(LabStore(context.store), lab_id)
    return context.render(
        request,
        "lab_run.html",
        lab=document,
        versions=[str(v["name"]) for v in document.get("versions", [])],
        chosen=chosen_version(document),
        summary=Markup(summary_html(document, command_hint=False)),  # noqa: S704 - escaped there
        choices=Markup(choices_html(document.get("choices", []))),  # noqa: S704
        comparison=Markup(comparison_html(document, _lab_image_url)),  # noqa: S704
        style=Markup(LAB_TABLE_STYLE),  # noqa: S704 - a constant
    )


@router.post("/lab/{lab_id}/choose", name="lab_choose")
async def choose_version(lab_id: str, request: Request) -> Response:
    form = await read_form(request)  # the store is blocking I/O: off the event loop from here
    return await run_in_threadpool(_choose_version, lab_id, request, form)


def _choose_version(lab_id: str, request: Request, form: Mapping[str, list[str]]) -> Response:
    _check_lab_id(lab_id)
    by = reviewer_named(request)
    store = LabStore(context_of(request).store)
    version = first(form, "version")
    try:
        choice = choose(store, lab_id, version, note=first(form, "note")[:MAX_NOTE], by=by)
    except UnknownLabRun as error:
        raise HTTPException(404, str(error)) from None
    except UnknownVersion as error:
        raise HTTPException(400, str(error)) from None
    write_lab_page(store, load_lab_document(store, lab_id))  # the static page says so too
    return back_to(form, f"{version}: {choice.describe()}")


def _lab_document(store: LabStore, lab_id: str) -> dict[str, Any]:
    _check_lab_id(lab_id)
    try:
        return load_lab_document(store, lab_id)
    except UnknownLabRun as error:
        raise HTTPException(404, str(error)) from None


def _check_lab_id(lab_id: str) -> None:
    if not lab_id.strip(".") or "/" in lab_id or "\\" in lab_id:
        raise HTTPException(404, "no such lab run")  # a lab id names one folder, nothing else


def _lab_row(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "lab_id": document.get("lab_id", ""),
        "started": document.get("started_at", ""),
        "template": document.get("template", ""),
        "catalog": document.get("catalog", ""),
        "versions": [v.get("name", "") for v in document.get("versions", [])],
        "slots": len(document.get("slots", [])),
        "cost": (document.get("cost") or {}).get("estimated") or 0.0,
        "preview": bool(document.get("preview")),
        "chosen": chosen_version(document),
    }


def _lab_image_url(storage_key: str) -> str:
    return image_url(LAB_PREFIX + storage_key)
