"""The review page: one static HTML file per run that people open to look at the images.

It sits next to the run manifest (``manifests/runs/{run_id}/review.html``) and reaches images by
relative links (``../../../images/...``), so the same file works opened from the output folder and
from an S3 bucket or CDN. It has no scripts and no external assets; a Content-Security-Policy
forbids scripts outright, and every catalog value and prompt (untrusted text) is HTML-escaped.

Layout: one row per SKU; in it, one colour x season grid per template. A cell shows the image with
its prompt and template version, or the reason it failed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from catalog_imagegen.catalog.model import Reject
from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.storage.manifest import RUNS_PREFIX

REVIEW_PAGE_NAME = "review.html"
STATUS_WORDS = {
    "generated": "new",
    "skipped": "already stored",
    "failed": "failed",
    "not_dispatched": "not made",
}
TOTALS = ("planned", "generated", "skipped", "failed", "not_dispatched", "rejected_rows")


def review_page_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/{REVIEW_PAGE_NAME}"


@dataclass(frozen=True, slots=True)
class ReviewCell:
    status: str
    prompt: str
    template_version: str
    label: str
    reason: str = ""
    image_key: str | None = None
    template_label: str = ""
    noncompliant: tuple[str, ...] = ()  # "amazon_main: fill 0.31 < 0.85", one per failed check

    @property
    def version(self) -> str:
        """``template product-card-v3 (c2cfff0f5e64)``, or ``template c2cfff0f5e64``."""
        if self.template_label:
            return f"template {self.template_label} ({self.template_version})"
        return f"template {self.template_version}"


def render_review_page(
    summary: Mapping[str, Any], outcomes: Sequence[JobOutcome], rejects: Sequence[Reject]
) -> str:
    """The whole page as text. Pure: the summary, outcomes and rejects in, HTML out."""
    run_id = str(summary.get("run_id", ""))
    page_dir = posixpath.dirname(review_page_key(run_id))
    skus = _group_by_sku(outcomes)
    body = [
        f"<h1>Run {_text(run_id)}</h1>",
        _totals_html(summary),
        _rejects_html(rejects),
        *(_sku_html(sku, jobs, page_dir) for sku, jobs in skus.items()),
    ]
    if not skus:
        body.append("<p class='empty'>This run planned no images.</p>")
    return PAGE_SHELL.format(
        title=_text(f"Review: run {run_id}"), style=_STYLE, body="\n".join(body)
    )


def cell_for(outcome: JobOutcome) -> ReviewCell:
    job = outcome.job
    image_key = outcome.entry.storage_key if outcome.entry is not None else None
    return ReviewCell(
        status=outcome.status,
        prompt=job.prompt,
        template_version=job.template_version,
        label=job.label,
        reason=outcome.reason,
        image_key=image_key if outcome.status in ("generated", "skipped") else None,
        template_label=job.template_label,
        noncompliant=tuple(
            str(flag.get("message", ""))
            for flag in (outcome.entry.flags if outcome.entry is not None else ())
            if flag.get("kind") == "noncompliant"
        ),
    )


def _group_by_sku(outcomes: Iterable[JobOutcome]) -> dict[str, list[JobOutcome]]:
    skus: dict[str, list[JobOutcome]] = {}
    for outcome in outcomes:
        skus.setdefault(outcome.job.sku, []).append(outcome)
    return skus


def _totals_html(summary: Mapping[str, Any]) -> str:
    items = [(name.replace("_", " "), summary.get(name, 0)) for name in TOTALS]
    # Cost fields appear once a provider reports spend; show whatever the summary carries.
    items += [(k.replace("_", " "), v) for k, v in summary.items() if "cost" in k and v is not None]
    cells = "".join(f"<div><b>{_text(v)}</b><span>{_text(k)}</span></div>" for k, v in items)
    notes = []
    if summary.get("preview"):
        notes.append("Offline previews: flat colour cards, not generated photos.")
    if summary.get("stop_reason"):
        notes.append(f"Run stopped: {summary['stop_reason']}")
    if summary.get("awaiting_approval"):
        command = (
            summary.get("approve_command")
            or f"catalog-imagegen approve {summary.get('run_id', '')}"
        )
        notes.append(f"Awaiting approval: the storefront sees these images only after `{command}`.")
    catalog = f"<p>Catalog: <code>{_text(summary.get('catalog', ''))}</code></p>"
    run_id = quote(str(summary.get("run_id", "")))
    links = (
        f"<p><a href='../{run_id}.json'>run manifest</a> &middot; "
        "<a href='images.csv'>images CSV</a> &middot; <a href='rejects.csv'>rejects CSV</a> "
        "&middot; <a href='../../latest.json'>storefront manifest</a></p>"
    )
    note_html = "".join(f"<p class='note'>{_text(note)}</p>" for note in notes)
    return f"<section class='totals'>{cells}</section>{catalog}{links}{note_html}"


def _rejects_html(rejects: Sequence[Reject]) -> str:
    if not rejects:
        return "<p>No catalog rows were rejected.</p>"
    rows = "".join(
        f"<tr><td>{_text(r.file)}</td><td>{_text(r.row if r.row is not None else '')}</td>"
        f"<td>{_text(r.column or '')}</td><td>{_text(r.sku)}</td>"
        f"<td>{_text(r.severity)}</td><td>{_text(r.reason)}</td></tr>"
        for r in rejects
    )
    return (
        f"<h2>Rejected catalog rows ({len(rejects)})</h2><table class='rejects'>"
        "<tr><th>file</th><th>row</th><th>column</th><th>sku</th><th>severity</th>"
        f"<th>reason</th></tr>{rows}</table>"
    )


def _sku_html(sku: str, outcomes: Sequence[JobOutcome], page_dir: str) -> str:
    title = outcomes[0].job.title
    templates: dict[str, list[JobOutcome]] = {}
    for outcome in outcomes:
        templates.setdefault(outcome.job.template, []).append(outcome)
    grids = "".join(_grid_html(name, group, page_dir) for name, group in templates.items())
    return (
        f"<section class='sku' id='{_text(sku)}'><h2>{_text(sku)} "
        f"<small>{_text(title)}</small></h2><div class='templates'>{grids}</div></section>"
    )


def _grid_html(template: str, outcomes: Sequence[JobOutcome], page_dir: str) -> str:
    colours = list(dict.fromkeys(o.job.colour.name for o in outcomes))
    seasons = list(dict.fromkeys(o.job.season for o in outcomes))
    cells = {(o.job.colour.name, o.job.season): cell_for(o) for o in outcomes}
    head = "".join(f"<th>{_text(season)}</th>" for season in seasons)
    rows = []
    for colour in colours:
        row = "".join(_cell_html(cells.get((colour, s)), page_dir) for s in seasons)
        rows.append(f"<tr><th>{_text(colour)}</th>{row}</tr>")
    return (
        f"<table class='grid'><caption>{_text(template)}</caption>"
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def _cell_html(cell: ReviewCell | None, page_dir: str) -> str:
    if cell is None:
        return "<td class='none'>not planned</td>"
    version = cell.version
    # The prompt appears once per cell (pages of big runs hold tens of thousands of cells).
    details = f"<details><summary>prompt</summary><p>{_text(cell.prompt)}</p></details>"
    status = STATUS_WORDS.get(cell.status, cell.status)
    if cell.image_key is None:
        return (
            f"<td class='cell {_text(cell.status)}'>"
            f"<p class='reason'><b>{_text(status)}:</b> {_text(cell.reason)}</p>"
            f"<small>{_text(version)}</small>{details}</td>"
        )
    src = quote(posixpath.relpath(cell.image_key, page_dir), safe="/")
    return (
        f"<td class='cell {_text(cell.status)}'><figure>"
        f"<a href='{src}'><img src='{src}' loading='lazy' alt='{_text(cell.label)}' "
        f"title='{_text(version)}'></a>"
        f"<figcaption>{_text(status)} &middot; {_text(version)}</figcaption></figure>"
        f"{_noncompliant_html(cell.noncompliant)}{details}</td>"
    )


def _noncompliant_html(messages: tuple[str, ...]) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{_text(message)}</li>" for message in messages)
    return f"<div class='noncompliant'><b>noncompliant</b><ul>{items}</ul></div>"


def _text(value: object) -> str:
    return escape(str(value), quote=True)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
h1{margin:0 0 .5rem}h2 small{font-weight:normal;color:#666}
.totals{display:flex;gap:1rem;flex-wrap:wrap}.totals div{background:#fff;border:1px solid #ddd;
padding:.5rem 1rem;border-radius:6px}.totals b{display:block;font-size:1.4rem}
.totals span{color:#666}.note{background:#fff4ce;padding:.5rem;border-radius:4px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:4px;
vertical-align:top}.rejects td{max-width:40rem}
.sku{border-top:2px solid #ccc;margin-top:1rem}.templates{display:flex;gap:1rem;flex-wrap:wrap}
.grid caption{font-weight:bold;text-align:left}.cell{width:168px}
.cell img{width:160px;height:160px;object-fit:contain;display:block;background:#eee}
figure{margin:0}figcaption{font-size:12px;color:#555}
.failed,.not_dispatched{background:#fde8e8}
.noncompliant{color:#a00}.noncompliant ul{margin:0;padding-left:1rem}
.reason{color:#a00;margin:0 0 .25rem;
overflow-wrap:anywhere}details p{font-size:12px;max-width:160px;overflow-wrap:anywhere}
"""

# The shell of every static page we write (review pages, lab pages): no scripts at all, and
# images from anywhere the page is opened from (folder, bucket, CDN).
PAGE_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src * data: file:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
{body}
</body></html>
"""
