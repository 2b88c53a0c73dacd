"""Small real runs for the operations tests, made without Prefect (steps + ImageMaker)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl, now_iso
from catalog_imagegen.generation.providers.base import ImageRequest, JobFailed, ProviderResult
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.resume import split_done
from tests.plugins.ops import TEMPLATES


class FailingPreviewProvider(OfflinePreviewProvider):
    """Offline previews, except requests ``fails(request)`` picks fail with ``reason``."""

    def __init__(self, fails: Callable[[ImageRequest], bool], reason: str) -> None:
        super().__init__()
        self.fails = fails
        self.reason = reason

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        if self.fails(request):
            raise JobFailed(self.reason)
        return await super().create_images(request)


def make_run(
    catalog: Path, store: LocalDirectoryStore, run_id: str, **options: Any
) -> tuple[RunSummary, list[JobOutcome]]:
    return asyncio.run(run_pipeline(catalog, store, run_id, **options))


async def run_pipeline(
    catalog: Path,
    store: LocalDirectoryStore,
    run_id: str,
    *,
    provider: OfflinePreviewProvider | None = None,
    templates: Sequence[str] = (),
    approval_required: bool = False,
    notes: dict[tuple[str, str, str, str], str] | None = None,
) -> tuple[RunSummary, list[JobOutcome]]:
    prepared = prepare_run(
        str(catalog),
        load_templates(TEMPLATES),
        load_seasons(TEMPLATES),
        model="gpt-image-2",
        template_names=templates,
        prompt_notes=notes,
    )
    split = split_done(prepared.jobs, store, load_latest(store))
    maker = ImageMaker(
        provider or OfflinePreviewProvider(),
        store,
        SourceLoader(catalog.parent),
        run_id=run_id,
        concurrency=8,
        control=RunControl(),
    )
    made = await maker.make(split.todo)
    skipped = [JobOutcome(j, "skipped", entry=split.known.get(j.key)) for j in split.done]
    summary = RunSummary(run_id=run_id, catalog=str(catalog), output="", preview=True)
    finish_run(
        store,
        summary,
        skipped + made,
        prepared.rejects,
        started_at=now_iso(),
        provider="offline",
        model="gpt-image-2",
        approval_required=approval_required,
    )
    return summary, skipped + made
