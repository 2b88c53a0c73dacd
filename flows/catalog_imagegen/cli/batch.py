"""Batch mode on the command line: ``run --via batch|auto [--wait]``, ``collect``, ``cancel``.

``run --via batch`` plans as a synchronous run does, skips what is stored and what an open batch
will make, submits the rest and exits; ``collect`` stores and publishes every finished batch (safe
to run any time, from several places at once); ``--wait`` stays until the batches are collected.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from catalog_imagegen.cli.request_flags import STORE_FLAGS
from catalog_imagegen.cli.summary import EXIT_BAD_INPUT, EXIT_FAILURES, EXIT_OK
from catalog_imagegen.generation.batch.client import BatchApiError
from catalog_imagegen.generation.batch.collect import CollectedBatch
from catalog_imagegen.generation.batch.runs import (
    BatchContext,
    BatchModeError,
    Submitted,
    batch_context,
    collect_once,
    open_submissions,
    submit_request,
)
from catalog_imagegen.generation.batch.submissions import Submission
from catalog_imagegen.planning.pricing import PriceTable
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import SettingsFileError, load_settings_with
from catalog_imagegen.storage.base import ObjectStore

ENDPOINT_FLAGS = ("provider", "base_url")


def batch_context_for(args: argparse.Namespace, **overrides: Any) -> BatchContext:
    flags = {name: getattr(args, name, None) for name in (*STORE_FLAGS, *ENDPOINT_FLAGS)}
    return batch_context(load_settings_with(**flags, **overrides))


def batch_run_command(request: RunRequest, settings: Settings, via: str, wait: bool) -> int | None:
    """``run`` or ``backfill`` ``--via batch``: plan and select as the synchronous run would,
    submit the slice and exit (``wait``: collect until done). ``None`` when ``auto`` chose
    synchronous requests."""
    try:
        context = batch_context(settings)
        context.store.check_access()
        submitted = asyncio.run(submit_request(request, settings, via))
    except BatchModeError as error:  # a store that cannot be used ends it in cli.main
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BatchApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURES
    if submitted is None:
        return None  # auto: the plan is small enough for synchronous requests
    run_id, done = submitted
    print_submitted(run_id, done, context.prices)
    return collect_until_done(context, run_id) if wait else EXIT_OK


def print_submitted(run_id: str, submitted: Submitted, prices: PriceTable) -> None:
    jobs = [job for s in submitted.submissions for job in (*s.jobs, *s.held)]
    paid = [job for s in submitted.submissions for job in (*s.requested, *s.held)]
    batch_cost = sum(prices.estimate(job) or 0.0 for job in paid)
    copied = len(jobs) - len(paid)
    print(
        f"Run {run_id}: {submitted.done} already stored, "
        f"{submitted.in_batch} already in open batches, {len(jobs)} submitted in "
        f"{len(submitted.submissions)} batches (estimated ${batch_cost:.2f} at batch prices)"
    )
    if copied:
        print(f"  {copied} of them repeat another image's exact request: copied, not paid again")
    if submitted.copied:
        print(
            f"  {submitted.copied} copied now from images stored for the same request "
            "(not paid again) and published"
        )
    for s in submitted.submissions:
        later = f" (+{len(s.held)} chained variants once collected)" if s.held else ""
        print(
            f"  batch {s.batch_id}: {len(s.jobs)} images in {len(s.requested)} requests"
            f"{later}, due by {s.due_by}"
        )
    print("Results can take up to 24 hours: `catalog-imagegen collect` stores and publishes them.")


def collect_command(args: argparse.Namespace) -> int:
    try:
        context = batch_context_for(args)
    except (BatchModeError, SettingsFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.wait:
        return collect_until_done(context, None, resubmit=args.resubmit)
    collected = asyncio.run(collect_once(context, resubmit=args.resubmit))
    return print_collected(collected, context.store)


def collect_until_done(context: BatchContext, run_id: str | None, *, resubmit: bool = False) -> int:
    """Collect every ``batch_poll_seconds`` until no batch (of ``run_id``, if given) is open."""
    everything: list[CollectedBatch] = []
    while True:
        everything += asyncio.run(collect_once(context, resubmit=resubmit))
        resubmit = False
        if not open_submissions(context.store, run_id):
            return print_collected(everything, context.store)
        time.sleep(context.settings.batch_poll_seconds)


def print_collected(collected: Sequence[CollectedBatch], store: ObjectStore) -> int:
    if not collected:
        print(f"no finished batches to collect in {store.describe()}")
    code = EXIT_OK
    for batch in collected:
        s, summary = batch.submission, batch.summary
        not_done = len(s.not_done)
        print(
            f"batch {s.batch_id} ({s.batch_status}) of run {s.run_id}: {summary.generated} "
            f"generated, {summary.failed} failed, {not_done} not done"
            + (f", {batch.variants_sent} chained variants submitted" if batch.variants_sent else "")
        )
        for failure in summary.failures[:5]:
            print(f"  failed: {failure['job']}: {failure['reason']}")
        if summary.failed or not_done:
            code = EXIT_FAILURES
    if collected:
        print(f"Manifest: {collected[-1].summary.manifest}")
    return code


def cancel_command(args: argparse.Namespace) -> int:
    try:
        context = batch_context_for(args)
    except (BatchModeError, SettingsFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    submissions = open_submissions(context.store, args.run_id)
    if not submissions:
        print(f"error: run {args.run_id} has no open batches", file=sys.stderr)
        return EXIT_BAD_INPUT
    asyncio.run(_cancel(context, submissions))
    print(
        "`catalog-imagegen collect` keeps what they finished; `collect --resubmit` sends the rest"
    )
    return EXIT_OK


async def _cancel(context: BatchContext, submissions: Sequence[Submission]) -> None:
    client = context.client()
    try:
        for submission in submissions:
            if submission.batch_id:
                batch = await client.cancel(submission.batch_id)
                print(f"batch {batch.id}: {batch.status} ({len(submission.jobs)} images)")
    finally:
        await client.aclose()


def open_batch_lines(store: ObjectStore) -> list[str]:
    """For ``status``: each open batch, its images, when it was submitted and is due."""
    return [
        f"in batch {s.batch_id or '(being created)'} (run {s.run_id}): "
        f"{len(s.jobs) + len(s.held)} images, submitted at {s.submitted_at}, due by {s.due_by}"
        for s in open_submissions(store, None)
    ]
