"""What a reviewer does: say who they are, approve or reject (one image, a SKU, or everything the
filter shows), regenerate, and publish a held run through the same gate as ``approve``.

Every action is a plain form POST that redirects back (so it works without JavaScript) and is
idempotent: doing it twice leaves the store as doing it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from catalog_imagegen.review.app.context import (
    REVIEWER_COOKIE,
    context_of,
    first,
    read_form,
    reviewer_of,
    with_query,
)
from catalog_imagegen.review.app.grid import GridCell, GridFilter, manifest_entry
from catalog_imagegen.review.app.run_page import RunView, run_manifest_key, run_view
from catalog_imagegen.review.app.runs_page import HELD, PARTLY
from catalog_imagegen.review.approval import ApprovalError, approve_run, remember_rejections
from catalog_imagegen.review.decisions import (
    APPROVED,
    REJECTED,
    StaleDecision,
    decide,
    slot_name,
)

router = APIRouter()
MAX_NAME = 80
# Regenerating is this reviewer's rejection now, whatever the page showed them.
ANY_REVISION = 1 << 62


@router.post("/reviewer", name="reviewer")
async def set_reviewer(request: Request) -> Response:
    form = await read_form(request)
    name = first(form, "name")[:MAX_NAME]
    response = back_to(form, f"Decisions are now recorded as {name}." if name else "Name cleared.")
    # Quoted: a cookie carries Latin-1 at most, and reviewers are called 佐藤 or Zoë too.
    response.set_cookie(REVIEWER_COOKIE, quote(name), max_age=365 * 86400, samesite="strict")
    return response


@router.post("/runs/{run_id}/decide", name="decide")
async def decide_images(run_id: str, request: Request) -> Response:
    form = await read_form(request)  # the store is blocking I/O: off the event loop from here
    return await run_in_threadpool(_decide_images, run_id, request, form)


def _decide_images(run_id: str, request: Request, form: Mapping[str, list[str]]) -> Response:
    context, by = context_of(request), reviewer_named(request)
    view = _held_view(request, run_id)
    decision = APPROVED if first(form, "decision") == "approve" else REJECTED
    targets = [cell.slot for cell in _targets(view, form) if cell.entry is not None]
    try:
        decide(
            context.store,
            run_id,
            targets,
            decision,
            note=first(form, "note") if decision == REJECTED else "",
            by=by,
            seen_revision=int(seen) if (seen := first(form, "seen")).isdigit() else 0,
        )
    except StaleDecision as error:
        return _refused(request, str(error))
    return back_to(form, f"{decision.capitalize()}: {len(targets)} image(s).")


@router.post("/runs/{run_id}/regenerate", name="regenerate")
async def regenerate(run_id: str, request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_regenerate, run_id, request, form)


def _regenerate(run_id: str, request: Request, form: Mapping[str, list[str]]) -> Response:
    context, by = context_of(request), reviewer_named(request)
    view = run_view(context, run_id)
    cells = [c for c in _targets(view, form) if c.entry is not None and not _running(c)]
    for cell in cells:  # what is made again is, by that, rejected; with its note if it has one
        note = cell.decision.note if cell.decision and cell.decision.decision == REJECTED else ""
        note = note or first(form, "note")
        decide(context.store, run_id, [cell.slot], REJECTED, note=note, by=by,
               seen_revision=ANY_REVISION)  # fmt: skip
    view = run_view(context, run_id)
    cells = [c for c in view.cells if c.name in {cell.name for cell in cells}]
    notes = {c.slot: c.decision.note if c.decision else "" for c in cells}
    whole = context.documents.load(context.store, run_manifest_key(run_id)) or {}
    entries = [e for cell in cells if (e := manifest_entry(whole, cell)) is not None]
    remember_rejections(context.store, entries, {slot_name(s): n for s, n in notes.items()})
    if cells:
        context.regenerator.start(run_id, str(view.run.document.get("catalog", "")), notes)
    return back_to(form, f"Regenerating {len(cells)} image(s): the new images appear when stored.")


@router.post("/runs/{run_id}/publish", name="publish")
async def publish(run_id: str, request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_publish, run_id, request, form)


def _publish(run_id: str, request: Request, form: Mapping[str, list[str]]) -> Response:
    context, by = context_of(request), reviewer_named(request)
    try:
        approval = approve_run(context.store, run_id, by=by)
    except ApprovalError as error:
        if "approved already" in str(error):
            return back_to(form, f"Run {run_id} is published already.")
        return _refused(request, str(error))
    return back_to(
        form,
        f"Published {approval.approved} image(s) to the storefront; "
        f"{len(approval.rejected)} rejected image(s) left out.",
    )


def _targets(view: RunView, form: Mapping[str, list[str]]) -> list[GridCell]:
    scope = first(form, "scope")
    if scope == "slot":
        wanted = set(form.get("slot", []))
        return [cell for cell in view.cells if cell.name in wanted]
    if scope == "sku":
        return [cell for cell in view.cells if cell.slot[0] == first(form, "sku")]
    if scope == "shown":
        shown = GridFilter.from_query({k: v[0] for k, v in form.items() if v})
        return [cell for cell in view.cells if shown.matches(cell)]
    if scope == "rejected":
        return [c for c in view.cells if c.decision is not None and c.decision.decision == REJECTED]
    raise HTTPException(400, f"unknown scope {scope[:40]!r}")


def _running(cell: GridCell) -> bool:
    return cell.regeneration is not None and cell.regeneration.get("state") == "running"


def _held_view(request: Request, run_id: str) -> RunView:
    view = run_view(context_of(request), run_id)
    if view.status not in (HELD, PARTLY):
        raise HTTPException(409, f"run {run_id} is {view.status}: there is nothing to decide")
    return view


def reviewer_named(request: Request) -> str:
    name = reviewer_of(request)
    if not name:
        raise HTTPException(400, "Type your name first (top of the page), so decisions say who.")
    return name


def back_to(form: Mapping[str, list[str]], message: str) -> RedirectResponse:
    back = first(form, "back", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"  # only ever back into this app
    path, _, query = back.partition("?")
    kept = [pair for pair in query.split("&") if pair and not pair.startswith("msg=")]
    url = with_query(path + ("?" + "&".join(kept) if kept else ""), {})
    separator = "&" if "?" in url else "?"
    return RedirectResponse(url + separator + with_query("", {"msg": message})[1:], 303)


def _refused(request: Request, message: str) -> HTMLResponse:
    return context_of(request).render(request, "refused.html", status_code=409, reason=message)
