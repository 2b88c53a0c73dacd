"""The one place that turns settings into the clients a run uses (provider, store, progress)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from catalog_imagegen.inbox import InboxStore
from catalog_imagegen.progress import ProgressReporter, SilentProgress, TerminalProgress
from catalog_imagegen.prompt_templates import Season
from catalog_imagegen.providers.base import ImageProvider
from catalog_imagegen.providers.offline import OfflinePreviewProvider
from catalog_imagegen.settings import Settings
from catalog_imagegen.stores.base import ObjectStore
from catalog_imagegen.stores.local import LocalDirectoryStore


@dataclass
class Resources:
    provider: ImageProvider
    store: ObjectStore
    progress: ProgressReporter


def build_provider(settings: Settings, seasons: Mapping[str, Season]) -> ImageProvider:
    accents = {name: season.accent for name, season in seasons.items()}
    return OfflinePreviewProvider(season_accents=accents)


def build_store(settings: Settings) -> ObjectStore:
    return LocalDirectoryStore(settings.output)


def build_inbox(location: str) -> InboxStore:
    """The inbox catalog files are dropped into: a local folder, or an ``s3://bucket/prefix``."""
    if location.startswith("s3://"):
        # The S3 store (stores/s3.py) is wired here once it exists; it needs ``delete(key)``.
        raise ValueError(f"{location}: s3:// inboxes need the S3 store, not available yet")
    return LocalDirectoryStore(location)


def build_resources(settings: Settings, seasons: Mapping[str, Season]) -> Resources:
    return Resources(
        provider=build_provider(settings, seasons),
        store=build_store(settings),
        progress=TerminalProgress() if settings.progress else SilentProgress(),
    )


PREVIEW_NOTICE = (
    "No OPENAI_API_KEY is set, so these images are offline PREVIEWS (flat colour cards that show "
    "each SKU x colour x season x template), not generated photos. To generate real images, set "
    "OPENAI_API_KEY (and OPENAI_BASE_URL, or CATALOG_IMAGEGEN_PROVIDER=wisgate, for another "
    "OpenAI-compatible gateway) and run again."
)
