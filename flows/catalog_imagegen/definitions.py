"""The one place that turns settings into the clients a run uses (provider, store, progress)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from catalog_imagegen.colour_qa import Mask, mask_from_png
from catalog_imagegen.image_review import ReviewSettings
from catalog_imagegen.progress import ProgressReporter, SilentProgress, TerminalProgress
from catalog_imagegen.prompt_templates import PromptTemplate, Season
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


def build_review(
    settings: Settings, templates: Mapping[str, PromptTemplate] | None = None
) -> ReviewSettings | None:
    """Colour QA thresholds, and each template's mask (where the product is), when it has one."""
    if not settings.colour_qa:
        return None
    masks: dict[str, Mask] = {}
    for name, template in (templates or {}).items():
        if template.mask:
            try:
                masks[name] = mask_from_png((settings.templates_dir / template.mask).read_bytes())
            except OSError:
                continue  # measured without it: the background is estimated instead
    return ReviewSettings(
        colour_tolerance=settings.colour_tolerance,
        duplicate_distance=settings.duplicate_distance,
        colour_retry=settings.colour_retry,
        masks=masks,
    )


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
