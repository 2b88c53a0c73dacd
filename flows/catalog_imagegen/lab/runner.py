"""One lab run from settings: load the versions, plan the sample, make the images with the run's
provider and limits into the lab's corner of the store, then write its manifest and page."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import build_resources, build_review
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl, now_iso
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.lab.experiment import (
    LabEngine,
    LabPlan,
    LabSample,
    VersionSlot,
    make_lab_images,
    plan_lab,
)
from catalog_imagegen.lab.page import render_lab_page
from catalog_imagegen.lab.record import (
    LabRunInfo,
    lab_document,
    lab_spend,
    page_key,
    write_lab_document,
)
from catalog_imagegen.lab.store import LabStore
from catalog_imagegen.lab.versions import lab_versions, target_template
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore


@dataclass(frozen=True, slots=True)
class LabRequest:
    catalog: str
    drafts: tuple[Path, ...]
    against: str | None = None
    sample: LabSample = field(default_factory=LabSample)
    max_cost: float | None = None  # USD for this lab run, estimated before each dispatch


@dataclass(slots=True)
class LabResult:
    lab_id: str
    document: dict[str, Any]
    manifest_url: str
    page_url: str
    spend: float  # every lab run's estimated spend, this one included
    lab_runs: int
    stop_reason: str | None = None

    def counts(self) -> dict[str, int]:
        counts = {"generated": 0, "skipped": 0, "failed": 0, "not_dispatched": 0}
        for slot in self.document["slots"]:
            for image in slot["images"].values():
                counts[image["status"]] += 1
        return counts


def run_lab(request: LabRequest, settings: Settings) -> LabResult:
    """Raises ``TemplateError`` / ``CatalogError`` (bad input) before anything is paid for."""
    templates = load_templates(settings.templates_dir)
    seasons = load_seasons(settings.templates_dir)
    target = target_template(request.drafts, sorted(templates), request.against)
    versions = lab_versions(templates[target], request.drafts, settings.templates_dir)
    plan = plan_lab(request.catalog, versions, seasons, request.sample, model=settings.model)
    resources = build_resources(settings, seasons)
    store = LabStore(resources.store)
    store.check_access()
    lab_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    started_at = now_iso()
    control = RunControl(max_cost=request.max_cost, cost_of=resources.prices.estimate)
    engine = LabEngine(
        store=store,
        sources=SourceLoader(Path(request.catalog).resolve().parent),
        concurrency=settings.concurrency,
        control=control,
        review=build_review(
            settings, {target: templates[target]}, preview=resources.provider.is_preview
        ),
    )
    outcomes = asyncio.run(_make(plan, engine, lab_id, resources.provider))
    info = LabRunInfo(
        lab_id=lab_id,
        template=target,
        catalog=request.catalog,
        started_at=started_at,
        provider=resources.provider.name,
        model=resources.provider.model,
        preview=resources.provider.is_preview,
    )
    document = lab_document(info, versions, plan, outcomes, resources.prices)
    return _record(store, document, control.stop_reason)


async def _make(
    plan: LabPlan, engine: LabEngine, lab_id: str, provider: ImageProvider
) -> dict[VersionSlot, JobOutcome]:
    try:
        return await make_lab_images(plan, engine, lab_id, provider)
    finally:
        await provider.aclose()


def _record(
    store: ObjectStore,
    document: dict[str, Any],
    stop_reason: str | None,
) -> LabResult:
    lab_id = document["lab_id"]
    document["finished_at"] = now_iso()
    document["stop_reason"] = stop_reason
    manifest_url = write_lab_document(store, lab_id, document)
    page_url = write_lab_page(store, document)
    spend, runs = lab_spend(store)
    return LabResult(lab_id, document, manifest_url, page_url, spend, runs, stop_reason)


def write_lab_page(store: ObjectStore, document: dict[str, Any]) -> str:
    key = page_key(document["lab_id"])
    html = render_lab_page(document).encode()
    store.put(key, html, content_type="text/html; charset=utf-8", cache_control="no-cache")
    return store.url_for(key)
