"""The one place that turns settings into the clients a run uses (provider, store, progress)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catalog_imagegen.catalog.source_policy import SourcePolicy
from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.progress import ProgressReporter, SilentProgress, TerminalProgress
from catalog_imagegen.generation.providers.base import ImageProvider
from catalog_imagegen.generation.providers.model_rules import ModelTable, load_model_table
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.generation.providers.openai_http import OpenAICompatibleProvider
from catalog_imagegen.generation.providers.rate_limit import RequestLimiter
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE, PriceTable, load_price_table
from catalog_imagegen.planning.templates import PromptTemplate, Season
from catalog_imagegen.review.colour_qa import Mask, mask_from_png
from catalog_imagegen.review.image_review import ReviewSettings
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.inbox import InboxStore
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.s3 import S3ObjectStore


@dataclass
class Resources:
    provider: ImageProvider
    store: ObjectStore
    progress: ProgressReporter
    prices: PriceTable = field(default_factory=lambda: DEFAULT_PRICE_TABLE)
    models: ModelTable = field(default_factory=load_model_table)


def build_provider(settings: Settings, seasons: Mapping[str, Season]) -> ImageProvider:
    """With an API key, the real API (sending what the model table lets the model take);
    without one, offline previews.

    The limiter is made here, once per run, so every chunk task and every retry shares it. Its
    ``concurrency`` is the same setting that sizes ``ImageMaker``'s slots.
    """
    if settings.api_key:
        limiter = RequestLimiter(concurrency=settings.concurrency, rpm=settings.rpm)
        return OpenAICompatibleProvider(
            base_url=settings.base_url,
            api_key=settings.api_key,
            limiter=limiter,
            model=settings.model,
            rules=load_model_table(settings.models_file).rules_for(settings.model),
            name=settings.provider or "openai-compatible",
            max_attempts=settings.max_attempts,
            read_timeout=settings.read_timeout,
        )
    accents = {name: season.accent for name, season in seasons.items()}
    return OfflinePreviewProvider(season_accents=accents, latency=settings.preview_latency)


def build_store(settings: Settings) -> ObjectStore:
    """An S3 bucket when one is named (``--bucket`` or an ``s3://`` output), else a folder."""
    if settings.bucket:
        return S3ObjectStore(
            settings.bucket, settings.prefix, public_base_url=settings.public_base_url
        )
    if settings.output.startswith("s3://"):
        return S3ObjectStore.from_uri(settings.output, public_base_url=settings.public_base_url)
    return LocalDirectoryStore(settings.output, public_base_url=settings.public_base_url)


def build_review(
    settings: Settings,
    templates: Mapping[str, PromptTemplate] | None = None,
    *,
    preview: bool = False,
) -> ReviewSettings | None:
    """Colour QA thresholds, and each template's mask (where the product is), when it has one.
    None for offline previews: placeholders have no product to measure."""
    if not settings.colour_qa or preview:
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


def build_source_loader(settings: Settings, catalog: str) -> SourceLoader:
    """Photos for edit jobs, confined to the catalog's folder (and a local inbox), public hosts
    unless private ones are allowed, and the buckets the settings list."""
    folder = Path(catalog).absolute().parent
    inbox = settings.inbox
    folders = (folder,) if not inbox or inbox.startswith("s3://") else (folder, Path(inbox))
    policy = SourcePolicy(
        folders=folders,
        allow_private_http=settings.allow_private_sources,
        buckets=frozenset(settings.source_buckets),
    )
    return SourceLoader(folder, policy=policy)


def build_inbox(location: str) -> InboxStore:
    """The inbox catalog files are dropped into: a local folder, or an ``s3://bucket/prefix``."""
    if location.startswith("s3://"):
        return S3ObjectStore.from_uri(location)
    return LocalDirectoryStore(location)


def build_resources(settings: Settings, seasons: Mapping[str, Season]) -> Resources:
    models = load_model_table(settings.models_file)
    return Resources(
        provider=build_provider(settings, seasons),
        store=build_store(settings),
        progress=TerminalProgress() if settings.progress else SilentProgress(),
        prices=load_price_table(settings.prices_file, models),
        models=models,
    )


PREVIEW_NOTICE = (
    "No OPENAI_API_KEY is set, so these images are offline PREVIEWS (flat colour cards that show "
    "each SKU x colour x season x template), not generated photos. To generate real images, set "
    "OPENAI_API_KEY (or WISGATE_API_KEY with CATALOG_IMAGEGEN_PROVIDER=wisgate, or a gateway's "
    "own key named by CATALOG_IMAGEGEN_API_KEY_ENV) and run again."
)
