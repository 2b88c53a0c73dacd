"""Batch runs as plain functions: submit a planned catalog, collect what finished.

The command (``cli/batch.py``) and the served flows (``flows/batches.py``) both call these, so a
batch run is the same sequence wherever it starts: recover lost submissions, skip what is stored
and what an open batch holds, submit the rest; collect every finished batch and publish it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.definitions import build_provider, build_review, build_store
from catalog_imagegen.generation.batch.client import BatchClient
from catalog_imagegen.generation.batch.collect import BatchCollector, CollectedBatch
from catalog_imagegen.generation.batch.stored_copies import copy_stored
from catalog_imagegen.generation.batch.submissions import (
    Submission,
    load_submissions,
    not_in_open_batches,
)
from catalog_imagegen.generation.batch.submit import BatchSender, recover_lost
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl, now_iso
from catalog_imagegen.generation.providers.model_rules import ModelRules, load_model_table
from catalog_imagegen.pipeline import PreparedRun, new_run_id, prepare
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.pricing import PriceTable, load_price_table
from catalog_imagegen.planning.slices import plan_slice
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.publishing import RunSummary, finish_run


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
    in_batch: int  # selected jobs left out because an open batch holds them
    submissions: list[Submission]
    copied: int = 0  # jobs whose exact request's image was stored already: copied, not sent


async def submit_jobs(
    context: BatchContext, jobs: Sequence[Job], catalog: str, run_id: str
) -> list[Submission]:
    """Send ``jobs`` (a request's selected slice: nothing stored, nothing in an open batch)."""
    client = context.client()
    sources = SourceLoader(catalog_folder(catalog))
    try:
        await recover_lost(client, context.store)
        settings = context.settings
        sender = BatchSender(client, context.store, sources, settings.model, run_id, catalog)
        sender.rules = model_rules(settings)
        return await sender.submit(jobs) if jobs else []
    finally:
        await sources.aclose()
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
    sender.rules = model_rules(settings)  # chained variants are submitted while collecting
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


def model_rules(settings: Settings) -> ModelRules:
    """The model table's rules for the run's model: batch lines are built under them too."""
    return load_model_table(settings.models_file).rules_for(settings.model)


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


async def submit_request(
    request: RunRequest, settings: Settings, via: str
) -> tuple[str, Submitted] | None:
    """Plan and select as a synchronous run would, then submit in batches; ``None`` when
    ``auto`` chose synchronous requests."""
    context = batch_context(settings)
    run_id = new_run_id()
    store = context.store
    prepared = await asyncio.to_thread(prepare, request, settings, store)
    # ``pipeline.select``'s steps, so the jobs an open batch holds can be counted.
    selection = request.selection()
    sliced = await asyncio.to_thread(
        plan_slice, prepared.jobs, selection, store, run_id, recover=False
    )
    todo, in_batch = sliced.todo, dict[str, Submission]()
    if not request.force:
        todo, in_batch = await asyncio.to_thread(not_in_open_batches, sliced.todo, store)
    if not uses_batch(via, settings, len(todo)):
        return None
    started_at = now_iso()
    copied: list[JobOutcome] = []
    if any(job.request_identity in sliced.reusable for job in todo):  # else no manifest read
        copied, todo = await asyncio.to_thread(
            copy_stored, todo, store, run_id=run_id, model=settings.model
        )
    if copied:
        await asyncio.to_thread(
            publish_copies, context, request, prepared, run_id, copied, started_at
        )
    submissions = await submit_jobs(context, todo, request.catalog, run_id)
    return run_id, Submitted(len(sliced.skipped), len(in_batch), submissions, len(copied))


def publish_copies(
    context: BatchContext,
    request: RunRequest,
    prepared: PreparedRun,
    run_id: str,
    copied: list[JobOutcome],
    started_at: str,
) -> RunSummary:
    """The submitting run's own images (copies of stored ones), published at once."""
    summary = RunSummary(
        run_id=run_id,
        catalog=request.catalog,
        output=context.store.describe(),
        preview=False,
        selection=request.selection().describe(),
    )
    finish_run(
        context.store,
        summary,
        copied,
        prepared.rejects,
        started_at=started_at,
        provider=context.settings.provider or "openai-compatible",
        model=context.settings.model,
        catalog=prepared.catalog,
        prices=context.prices,
        approval_required=context.settings.approval_required,
    )
    return summary
