"""Batch runs as plain functions: submit a planned catalog, collect what finished.

The command (``cli/batch.py``) and the served flows (``flows/batches.py``) both call these, so a
batch run is the same sequence wherever it starts: recover lost submissions, skip what is stored
and what an open batch holds, submit the rest; collect every finished batch and publish it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import build_provider, build_review, build_store
from catalog_imagegen.generation.batch.client import BatchClient
from catalog_imagegen.generation.batch.collect import BatchCollector, CollectedBatch
from catalog_imagegen.generation.batch.submissions import Submission, load_submissions
from catalog_imagegen.generation.batch.submit import (
    BatchSender,
    not_in_open_batches,
    recover_lost,
)
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import RunControl
from catalog_imagegen.pipeline import PlanRequest, plan_catalog
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.pricing import PriceTable, load_price_table
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.resume import split_done


class BatchModeError(ValueError):
    """Batch mode cannot start: one line for the user, exit 2."""


@dataclass(slots=True)
class BatchContext:
    settings: Settings
    store: ObjectStore
    prices: PriceTable

    def client(self) -> BatchClient:
        return BatchClient(
            base_url=self.settings.base_url, api_key=self.settings.api_key or _no_key()
        )


def uses_batch(via: str, settings: Settings, planned: int) -> bool:
    """``auto``: batch when the plan would outlast ``batch_after_hours`` at the account's rpm."""
    if via != "auto":
        return via == "batch"
    if not settings.rpm:
        return False
    return planned / settings.rpm / 60 > settings.batch_after_hours


@dataclass(slots=True)
class Submitted:
    done: int
    in_batch: dict[str, Submission]
    submissions: list[Submission]


async def submit_jobs(
    context: BatchContext, jobs: Sequence[Job], catalog: str, run_id: str, *, force: bool = False
) -> Submitted:
    """Submit what is not stored and not in an open batch (``force``: even if it is)."""
    store = context.store
    client = context.client()
    try:
        await recover_lost(client, store)
        split = await asyncio.to_thread(split_done, jobs, store, load_latest(store))
        free, in_batch = await asyncio.to_thread(not_in_open_batches, split.todo, store)
        if force:
            free, in_batch = split.todo, {}
        sources = SourceLoader(catalog_folder(catalog))
        sender = BatchSender(client, store, sources, context.settings.model, run_id, catalog)
        submissions = await sender.submit(free) if free else []
        await sources.aclose()
        return Submitted(len(split.done), in_batch, submissions)
    finally:
        await client.aclose()


async def collect_once(context: BatchContext, *, resubmit: bool) -> list[CollectedBatch]:
    settings = context.settings
    client = context.client()
    provider = build_provider(settings, load_seasons(settings.templates_dir))
    review = build_review(settings, load_templates(settings.templates_dir))
    sources = SourceLoader(Path.cwd())
    maker = ImageMaker(
        provider, context.store, sources, run_id="", concurrency=settings.concurrency,
        control=RunControl(), review=review,
    )  # fmt: skip
    sender = BatchSender(client, context.store, sources, settings.model, "", "")
    collector = BatchCollector(
        client, context.store, maker, sender, context.prices, provider.name,
        settings.approval_required,
    )  # fmt: skip
    try:
        return await collector.collect_all(resubmit=resubmit)
    finally:
        maker.close()
        await sources.aclose()
        await client.aclose()
        await provider.aclose()


def catalog_folder(catalog: str) -> Path:
    """Relative photo paths in a catalog are relative to the catalog file's folder."""
    return Path(catalog).absolute().parent


def open_submissions(store: ObjectStore, run_id: str | None) -> list[Submission]:
    return [
        s
        for s, _ in load_submissions(store)
        if s.is_open and (run_id is None or s.run_id == run_id)
    ]


def new_batch_run_id() -> str:
    """Shaped like a synchronous run's id (``flows.refresh.new_run_id``), without Prefect."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _no_key() -> Any:
    raise BatchModeError("batch mode needs the provider's API key")


def batch_context(settings: Settings) -> BatchContext:
    """The store and batch prices batch mode works with; it needs the provider's key."""
    if not settings.api_key:
        raise BatchModeError(
            "batch mode needs the provider's API key: set OPENAI_API_KEY (or api_key_env)"
        )
    prices = load_price_table(settings.prices_file).for_batch()
    return BatchContext(settings, build_store(settings), prices)


async def submit_catalog(
    settings: Settings, catalog: str, request: PlanRequest, via: str
) -> tuple[str, Submitted] | None:
    """Plan ``catalog`` and submit it in batches; ``None`` when ``auto`` chose synchronous."""
    prepared = await asyncio.to_thread(plan_catalog, catalog, settings, request)
    if not uses_batch(via, settings, len(prepared.jobs)):
        return None
    run_id = new_batch_run_id()
    return run_id, await submit_jobs(batch_context(settings), prepared.jobs, catalog, run_id)
