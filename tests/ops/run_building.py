"""Small real runs for the operations tests: the pipeline's own functions, without Prefect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.generation.progress import SilentProgress
from catalog_imagegen.generation.providers.base import ImageRequest, JobFailed, ProviderResult
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.pipeline import run_request
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.publishing import RunSummary
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
) -> tuple[RunSummary, list[JobOutcome]]:
    request = RunRequest(
        catalog=str(catalog), output=str(store.root), templates=tuple(templates), progress=False
    )
    settings = Settings(templates_dir=TEMPLATES, approval_required=approval_required)
    resources = Resources(provider or OfflinePreviewProvider(), store, SilentProgress())
    return await run_request(request, request.settings_for(settings), resources, run_id)
