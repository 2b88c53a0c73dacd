"""Publishing a run: its manifest, ledger, reports and review page, then the storefront pointer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog_imagegen.catalog.model import CatalogError, CatalogRead, Reject
from catalog_imagegen.catalog.shopify_export import shopify_import_csv
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.planning.ledger import cost_totals, job_cost
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE, PriceTable
from catalog_imagegen.renditions.feeds import FEED_CHANNEL, supplemental_feed
from catalog_imagegen.review.page import render_review_page, review_page_key
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.location import approve_command
from catalog_imagegen.storage.manifest import (
    JSON_TYPE,
    RUNS_PREFIX,
    SCHEMA_VERSION,
    ManifestEntry,
    Published,
    nest,
    publish,
    write_run_manifest,
)
from catalog_imagegen.storage.reports import images_csv, rejects_csv

HTML_TYPE = "text/html; charset=utf-8"
REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}


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
    renditions: int = 0  # channel renditions this run derived
    noncompliant: int = 0  # of those, how many fail a check of their channel
    merchant_feed: str = ""  # the Merchant Center supplemental feed (TSV)
    feed_rows: int = 0
    feed_left_out: dict[str, int] = field(default_factory=dict)  # renditions kept out, by reason
    review_page: str = ""
    awaiting_approval: bool = False
    approve_command: str = ""  # for a held run: the command that publishes it
    archived_skipped: int = 0  # archived products the run left out (Shopify Status)
    warnings: list[str] = field(default_factory=list)  # things to fix before relying on outputs

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
    record_renditions(store, summary, entries, catalog, run_dir)
    summary.review_page = store.url_for(review_page_key(summary.run_id))
    summary.awaiting_approval = approval_required
    if approval_required:
        summary.approve_command = approve_command(store, summary.run_id)
    if catalog is not None:
        summary.archived_skipped = len(catalog.archived)
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
            k: v
            for k, v in summary.as_dict().items()
            if k not in ("failures", "rejects", "flags", "warnings")
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
    # A held run moves no pointer: naming latest.json would point at someone else's manifest.
    summary.manifest = "" if approval_required else store.url_for("manifests/latest.json")
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
        **({"template_label": job.template_label} if job.template_label else {}),
        "status": outcome.status,
        "attempts": outcome.attempts,
    }
    if outcome.reason:
        row["reason"] = outcome.reason
    if outcome.shared_from:
        row["shared_from"] = outcome.shared_from  # an identical request's image, copied
    if outcome.usage:
        row["usage"] = outcome.usage
    row["cost"] = job_cost(outcome, prices, model or job.model)
    if outcome.entry is not None and outcome.entry.base:
        row["base"] = outcome.entry.base
    if outcome.entry is not None and outcome.entry.flags:
        row["flags"] = [dict(flag) for flag in outcome.entry.flags]
    return row


def record_renditions(
    store: ObjectStore,
    summary: RunSummary,
    entries: Sequence[ManifestEntry],
    catalog: CatalogRead | None,
    run_dir: str,
) -> None:
    """Count the renditions this run derived, and write the Merchant Center supplemental feed."""
    made = [r for e in entries for r in e.renditions.values() if r.get("run_id") == summary.run_id]
    summary.renditions = len(made)
    summary.noncompliant = sum(1 for rendition in made if not rendition.get("compliant"))
    if not any(FEED_CHANNEL in entry.renditions for entry in entries):
        return
    feed = supplemental_feed(entries, catalog.format if catalog is not None else "generic")
    summary.feed_rows, summary.feed_left_out = feed.rows, dict(feed.left_out)
    key = f"{run_dir}/merchant-center-supplemental.tsv"
    summary.merchant_feed = store_report(store, key, feed.data)


def store_report(store: ObjectStore, key: str, data: bytes) -> str:
    content_type = REPORT_TYPES.get(key.rsplit(".", 1)[-1], JSON_TYPE)
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
    if any(not entry.url.startswith(("https://", "http://")) for entry in entries):
        summary.warnings.append(
            "shopify-import.csv holds image URLs Shopify cannot fetch (file:// or s3://): "
            "pass --public-base-url with the address the output is served at"
        )
    return store_report(store, key, data)


def dump_summary(summary: RunSummary) -> str:
    return json.dumps(summary.as_dict(), indent=2)
