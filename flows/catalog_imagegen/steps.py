"""The steps of a catalog run as plain functions, so each is testable without Prefect.

read -> plan -> split off what is already done -> make the rest (``execution``) -> publish.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from catalog_imagegen.catalog.model import CatalogError, CatalogRead, Reject
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.shopify_export import shopify_import_csv
from catalog_imagegen.execution import JobOutcome, entry_for, now_iso
from catalog_imagegen.image_files import InvalidImage, inspect_image
from catalog_imagegen.image_review import group_of
from catalog_imagegen.jobs import IMAGES_PREFIX, Job, with_base
from catalog_imagegen.ledger import cost_totals, job_cost
from catalog_imagegen.manifest import (
    JSON_TYPE,
    RUNS_PREFIX,
    SCHEMA_VERSION,
    LatestManifest,
    ManifestEntry,
    Published,
    load_latest,
    nest,
    publish,
    write_run_manifest,
)
from catalog_imagegen.planning import PlanOptions, plan_jobs
from catalog_imagegen.pricing import DEFAULT_PRICE_TABLE, PriceTable
from catalog_imagegen.prompt_templates import PromptTemplate, Season, load_seasons, load_templates
from catalog_imagegen.reports import images_csv, rejects_csv
from catalog_imagegen.review_page import render_review_page, review_page_key
from catalog_imagegen.settings import Settings
from catalog_imagegen.sources import SourceLoader
from catalog_imagegen.stores.base import ObjectStore

HTML_TYPE = "text/html; charset=utf-8"


@dataclass(slots=True)
class PreparedRun:
    catalog: CatalogRead
    jobs: list[Job]
    rejects: list[Reject]


def prepare_run(
    catalog_path: str,
    templates: dict[str, PromptTemplate],
    seasons: dict[str, Season],
    *,
    model: str,
    season_names: Sequence[str] = (),
    template_names: Sequence[str] = (),
    strict: bool = False,
    shard: tuple[int, int] | None = None,
    catalog_format: str | None = None,
    sheet: str | None = None,
    prompt_notes: Mapping[tuple[str, str, str, str], str] | None = None,
) -> PreparedRun:
    catalog = read_catalog(catalog_path, strict=strict, format=catalog_format, sheet=sheet)
    loader = SourceLoader(Path(catalog_path).resolve().parent)
    sources = [p.source_image for p in catalog.products if p.source_image] + [
        c.source_image for p in catalog.products for c in p.colours if c.source_image
    ]
    options = PlanOptions(
        model=model,
        seasons=tuple(season_names),
        templates=tuple(template_names),
        source_digests=loader.local_digests(s for s in sources if s),
        shard=shard,
        prompt_notes=prompt_notes or {},
    )
    plan = plan_jobs(catalog.products, templates, seasons, options, file=Path(catalog_path).name)
    return PreparedRun(catalog=catalog, jobs=plan.jobs, rejects=catalog.rejects + plan.rejects)


class PlanRequest:
    """What to plan: the run's selection, the catalog's format, the shard, reviewers' notes.
    A plain class, so Prefect neither walks nor hashes the notes of every rejected image."""

    def __init__(
        self,
        *,
        seasons: Sequence[str] = (),
        templates: Sequence[str] = (),
        strict: bool = False,
        shard: tuple[int, int] | None = None,
        catalog_format: str | None = None,
        sheet: str | None = None,
        prompt_notes: dict[tuple[str, str, str, str], str] | None = None,
    ) -> None:
        self.seasons, self.templates, self.strict = seasons, templates, strict
        self.shard, self.catalog_format, self.sheet = shard, catalog_format, sheet
        self.prompt_notes = prompt_notes or {}

    def __repr__(self) -> str:
        return f"PlanRequest(seasons={self.seasons}, templates={self.templates})"


def plan_catalog(catalog: str, settings: Settings, request: PlanRequest) -> PreparedRun:
    """Read and plan ``catalog`` with the templates and seasons the settings name."""
    return prepare_run(
        catalog,
        load_templates(settings.templates_dir),
        load_seasons(settings.templates_dir),
        model=settings.model,
        season_names=request.seasons,
        template_names=request.templates,
        strict=request.strict,
        shard=request.shard,
        catalog_format=request.catalog_format,
        sheet=request.sheet,
        prompt_notes=request.prompt_notes,
    )


@dataclass(slots=True)
class DoneSplit:
    todo: list[Job]
    done: list[Job]
    known: dict[str, ManifestEntry]  # entries of done jobs, by job key, where the manifest had them


def split_done(jobs: Sequence[Job], store: ObjectStore, latest: LatestManifest) -> DoneSplit:
    """What the store already holds, learned from one listing (never one request per job).

    A chained variant is done when its base is stored and not about to be remade, and the image
    keyed by that base's digest is stored; its job comes back with its final key.
    """
    stored = set(store.list_keys(IMAGES_PREFIX))
    by_key = {entry.key: entry for entry in latest.entries.values()}
    digests = {entry.storage_key: entry.sha256 for entry in latest.entries.values()}
    remade = {job.key for job in jobs if job.depends_on is None and job.storage_key not in stored}
    split = DoneSplit(todo=[], done=[], known={})
    for job in jobs:
        if job.waits_for_base and job.depends_on not in remade:
            digest = base_digest(job, store, stored, digests)
            job = with_base(job, digest) if digest else job
        if job.storage_key in stored and not job.waits_for_base:
            split.done.append(job)
            if job.key in by_key:
                split.known[job.key] = by_key[job.key]
        else:
            split.todo.append(job)
    return split


def base_digest(
    job: Job, store: ObjectStore, stored: set[str], digests: dict[str, str]
) -> str | None:
    """The sha256 of a dependent's stored base: from the manifest, else the object's metadata."""
    key = job.base_storage_key
    if key is None or key not in stored:
        return None
    if key not in digests:
        info = store.head(key)
        digest = unquote((info.metadata if info else {}).get("sha256", ""))
        if not digest:
            data = store.get(key)
            digest = hashlib.sha256(data.data).hexdigest() if data else ""
        digests[key] = digest
    return digests[key] or None


def recover_entry(job: Job, store: ObjectStore, run_id: str) -> ManifestEntry:
    """The manifest entry of an image stored earlier whose run never published (a crash, a kill)."""
    info = store.head(job.storage_key)
    meta = {k: unquote(v) for k, v in (info.metadata if info else {}).items()}
    if info is not None and {"sha256", "width", "height"} <= meta.keys():
        created = info.last_modified.isoformat(timespec="seconds") if info.last_modified else None
        return entry_for(
            job,
            storage_key=job.storage_key,
            url=store.url_for(job.storage_key),
            sha256=meta["sha256"],
            size=info.size,
            width=int(meta["width"]),
            height=int(meta["height"]),
            created_at=created or now_iso(),
            run_id=run_id,
            model=meta.get("model", job.model),
        )
    stored = store.get(job.storage_key)
    data = stored.data if stored else b""
    try:
        _, width, height = inspect_image(data)
    except InvalidImage:
        width = height = 0
    return entry_for(
        job,
        storage_key=job.storage_key,
        url=store.url_for(job.storage_key),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        width=width,
        height=height,
        created_at=now_iso(),
        run_id=run_id,
        model=job.model,
    )


def chunk_jobs(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    """Chunks of about ``size`` jobs. A chunk ends only where a product x season x template group
    does, so a dependent shares its base's chunk and each group's colours are checked together."""
    chunk: list[Job] = []
    for job in jobs:
        if len(chunk) >= size and job.depends_on is None and group_of(job) != group_of(chunk[-1]):
            yield chunk
            chunk = []
        chunk.append(job)
    if chunk:
        yield chunk


@dataclass(slots=True)
class RunSummary:
    run_id: str
    catalog: str
    output: str
    preview: bool
    planned: int = 0
    generated: int = 0
    skipped: int = 0
    failed: int = 0
    not_dispatched: int = 0
    rejected_rows: int = 0
    flagged: int = 0  # images made by this run that colour QA flagged
    stop_reason: str | None = None
    estimated_cost: float = 0.0
    actual_cost: float | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)  # {"job", "image", "kind", ...}
    rejects: list[str] = field(default_factory=list)
    manifest: str = ""
    run_manifest: str = ""
    rejects_report: str = ""
    images_report: str = ""
    shopify_import: str = ""  # a Shopify product CSV with the new images, for Shopify catalogs
    review_page: str = ""
    awaiting_approval: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.not_dispatched == 0 and self.stop_reason is None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def count_outcomes(outcomes: Iterable[JobOutcome]) -> Counter[str]:
    return Counter(outcome.status for outcome in outcomes)


def finish_run(
    store: ObjectStore,
    summary: RunSummary,
    outcomes: Sequence[JobOutcome],
    rejects: Sequence[Reject],
    *,
    started_at: str,
    provider: str,
    model: str,
    catalog: CatalogRead | None = None,
    prices: PriceTable = DEFAULT_PRICE_TABLE,
    approval_required: bool = False,
) -> Published | None:
    """Write the run's manifest, ledger, reports and review page, then move the storefront pointer.

    With ``approval_required`` the pointer stays put: ``approval.approve_run`` publishes later.
    """
    finished_at = now_iso()
    entries = [o.entry for o in outcomes if o.entry is not None]
    counts = count_outcomes(outcomes)
    summary.planned = len(outcomes)
    summary.generated = counts["generated"]
    summary.skipped = counts["skipped"]
    summary.failed = counts["failed"]
    summary.not_dispatched = counts["not_dispatched"]
    summary.rejected_rows = len({(r.file, r.row) for r in rejects if r.severity == "error"})
    summary.failures = [
        {"job": o.job.label, "reason": o.reason} for o in outcomes if o.status == "failed"
    ]
    summary.rejects = [r.describe() for r in rejects]
    rows = [ledger_row(o, prices, model) for o in outcomes]
    totals = cost_totals(rows)
    summary.estimated_cost = totals["estimated"] or 0.0
    summary.actual_cost = totals["actual"]
    summary.flags = [
        {"job": o.job.label, "image": o.entry.storage_key, **flag}
        for o in outcomes
        if o.status == "generated" and o.entry is not None
        for flag in o.entry.flags
    ]
    summary.flagged = len({flag["image"] for flag in summary.flags})
    run_dir = f"{RUNS_PREFIX}{summary.run_id}"
    summary.rejects_report = store_report(store, f"{run_dir}/rejects.csv", rejects_csv(rejects))
    summary.images_report = store_report(store, f"{run_dir}/images.csv", images_csv(entries))
    if catalog is not None and catalog.format == "shopify":
        summary.shopify_import = store_shopify_import(
            store, f"{run_dir}/shopify-import.csv", catalog, entries, summary
        )
    summary.review_page = store.url_for(review_page_key(summary.run_id))
    summary.awaiting_approval = approval_required
    document = {
        "schema_version": SCHEMA_VERSION,
        "run_id": summary.run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "catalog": summary.catalog,
        "provider": provider,
        "model": model,
        "preview": summary.preview,
        "summary": {
            k: v for k, v in summary.as_dict().items() if k not in ("failures", "rejects", "flags")
        },
        "images": nest(entries),
        "jobs": rows,
        "rejects": [
            {
                "file": r.file,
                "row": r.row,
                "column": r.column,
                "reason": r.reason,
                "sku": r.sku,
                "severity": r.severity,
            }
            for r in rejects
        ],
    }
    summary.run_manifest = store.url_for(write_run_manifest(store, summary.run_id, document))
    summary.manifest = store.url_for("manifests/latest.json")
    write_review_page(store, summary, outcomes, rejects)
    if approval_required:
        return None
    return publish(store, summary.run_id, entries, generated_at=finished_at)


def write_review_page(
    store: ObjectStore,
    summary: RunSummary,
    outcomes: Sequence[JobOutcome],
    rejects: Sequence[Reject],
) -> str:
    key = review_page_key(summary.run_id)
    page = render_review_page(summary.as_dict(), outcomes, rejects)
    store.put(key, page.encode(), content_type=HTML_TYPE, cache_control="no-cache")
    return store.url_for(key)


def ledger_row(
    outcome: JobOutcome, prices: PriceTable = DEFAULT_PRICE_TABLE, model: str = ""
) -> dict[str, Any]:
    job = outcome.job
    row: dict[str, Any] = {
        "key": job.key,
        "sku": job.sku,
        "colour": job.colour.key,
        "season": job.season,
        "template": job.template,
        "template_version": job.template_version,
        "status": outcome.status,
        "attempts": outcome.attempts,
    }
    if outcome.reason:
        row["reason"] = outcome.reason
    if outcome.usage:
        row["usage"] = outcome.usage
    row["cost"] = job_cost(outcome, prices, model or job.model)
    if outcome.entry is not None and outcome.entry.base:
        row["base"] = outcome.entry.base
    if outcome.entry is not None and outcome.entry.flags:
        row["flags"] = [dict(flag) for flag in outcome.entry.flags]
    return row


def store_report(store: ObjectStore, key: str, data: bytes) -> str:
    content_type = "text/csv; charset=utf-8" if key.endswith(".csv") else JSON_TYPE
    store.put(key, data, content_type=content_type, cache_control="no-cache")
    return store.url_for(key)


def store_shopify_import(
    store: ObjectStore,
    key: str,
    catalog: CatalogRead,
    entries: Sequence[ManifestEntry],
    summary: RunSummary,
) -> str:
    """The Shopify import file's URL; a catalog that vanished mid-run is noted, never fatal."""
    try:
        data = shopify_import_csv(Path(catalog.path), entries, sheet=catalog.sheet)
    except CatalogError as error:
        summary.rejects.append(f"Shopify import CSV not written: {error}")
        return ""
    return store_report(store, key, data)


def dump_summary(summary: RunSummary) -> str:
    return json.dumps(summary.as_dict(), indent=2)


__all__ = ["load_latest"]
