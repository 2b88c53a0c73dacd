"""Collecting finished batches: every image stored and published as a synchronous one would be.

The output file is read line by line, a few lines at a time; each image goes through the
``ImageMaker``'s own storing path (checks, provenance, colour QA, storage under its key, manifest
entry). A job recorded as a copy of a line's identical request gets that image copied into its
slot. A failed line is its job's failure (and its copies') with the provider's reason. An expired
or cancelled batch keeps what finished and records the rest as not done, for ``collect
--resubmit``; a batch that failed validation pays nothing and names the provider's line errors. A
collector claims a record by compare-and-swap, so several may run at once and each batch is
published once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from catalog_imagegen.generation.batch.client import BatchClient, BatchInfo
from catalog_imagegen.generation.batch.submissions import (
    STALE_CLAIM,
    Submission,
    is_stale,
    load_submissions,
    record,
)
from catalog_imagegen.generation.batch.submit import BatchSender, recover_lost
from catalog_imagegen.generation.batch.wire import ResultLine, provider_result, read_result_line
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.generation.shared_requests import follow
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.pricing import PriceTable
from catalog_imagegen.review.image_review import flag_near_duplicates
from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed
from catalog_imagegen.storage.publishing import RunSummary, finish_run

LINES_IN_FLIGHT = 32
LINE_ERRORS_SHOWN = 5


@dataclass(slots=True)
class CollectedBatch:
    submission: Submission
    summary: RunSummary
    variants_sent: int


@dataclass(slots=True)
class BatchCollector:
    client: BatchClient
    store: ObjectStore
    maker: ImageMaker
    sender: BatchSender
    prices: PriceTable  # at batch prices
    provider_name: str = "openai-compatible"
    approval_required: bool = False

    async def collect_all(self, *, resubmit: bool = False) -> list[CollectedBatch]:
        """Every finished batch collected and published; with ``resubmit``, what expired or
        cancelled batches left undone is sent again (once)."""
        await recover_lost(self.client, self.store)
        collected = []
        for submission, etag in await asyncio.to_thread(load_submissions, self.store):
            stale = submission.state == "collecting" and is_stale(
                submission.claimed_at, STALE_CLAIM
            )
            if submission.state == "open" or stale:
                done = await self.collect_one(submission, etag)
                if done is not None:
                    collected.append(done)
        if resubmit:
            await self.resubmit_not_done()
        return collected

    async def resubmit_not_done(self) -> list[Submission]:
        sent = []
        for submission, etag in await asyncio.to_thread(load_submissions, self.store):
            if submission.state != "collected" or submission.resubmitted or not submission.not_done:
                continue
            submission.resubmitted = True
            try:
                await asyncio.to_thread(record, self.store, submission, etag)
            except PreconditionFailed:
                continue  # another command is resubmitting it
            sender = replace(self.sender, run_id=submission.run_id, catalog=submission.catalog)
            sent += await sender.submit(submission.not_done)
        return sent

    async def collect_one(self, submission: Submission, etag: str) -> CollectedBatch | None:
        assert submission.batch_id is not None
        batch = await self.client.retrieve(submission.batch_id)
        if batch.is_open:
            return None
        submission.state, submission.claimed_at = "collecting", now_iso()
        try:
            etag = await asyncio.to_thread(record, self.store, submission, etag)
        except PreconditionFailed:
            return None  # another collector has it
        started_at = now_iso()
        self.maker.run_id = published_run_id(submission)  # entries name the run that published
        outcomes = await self._outcomes(submission, batch)
        variants, held_outcomes, held_not_done = self._held(submission, outcomes)
        sender = replace(self.sender, run_id=submission.run_id, catalog=submission.catalog)
        sent = await sender.send_variants(variants) if variants else []
        summary = await asyncio.to_thread(
            self._publish, submission, batch, outcomes + held_outcomes, started_at
        )
        submission.state, submission.batch_status = "collected", batch.status
        submission.not_done = [o.job for o in outcomes if o.status == "not_dispatched"]
        submission.not_done += held_not_done
        await asyncio.to_thread(record, self.store, submission, etag)
        return CollectedBatch(submission, summary, sum(len(s.jobs) for s in sent))

    async def _outcomes(self, submission: Submission, batch: BatchInfo) -> list[JobOutcome]:
        if batch.status == "failed":
            reason = _validation_failure(batch)
            return [JobOutcome(job, "failed", reason) for job in submission.jobs]
        jobs = {job.key: job for job in submission.requested}
        outcomes: list[JobOutcome] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                outcomes += await self._read_file(file_id, jobs)
        seen = {outcome.job.key for outcome in outcomes}
        reason = (
            f"batch {batch.id} {batch.status} before this image was made; "
            "`catalog-imagegen collect --resubmit` sends it again"
        )
        outcomes += [
            JobOutcome(j, "not_dispatched", reason) for k, j in jobs.items() if k not in seen
        ]
        outcomes += await self._copies(submission, outcomes)
        if self.maker.review is not None:
            flag_near_duplicates(outcomes, self.maker.review)
        return outcomes

    async def _read_file(self, file_id: str, jobs: dict[str, Job]) -> list[JobOutcome]:
        outcomes: list[JobOutcome] = []
        lines: list[ResultLine] = []
        async for raw in self.client.lines(file_id):
            if raw.strip():
                lines.append(read_result_line(raw))
            if len(lines) >= LINES_IN_FLIGHT:
                outcomes += await self._keep(lines, jobs)
                lines = []
        return outcomes + await self._keep(lines, jobs)

    async def _keep(self, lines: Sequence[ResultLine], jobs: dict[str, Job]) -> list[JobOutcome]:
        known = [(line, jobs[line.custom_id]) for line in lines if line.custom_id in jobs]
        return list(await asyncio.gather(*(self._keep_one(line, job) for line, job in known)))

    async def _keep_one(self, line: ResultLine, job: Job) -> JobOutcome:
        fmt = job.settings.output_format
        # Decoded in the maker's own threads: images decoded by more threads take more memory
        # (each thread's allocator arena keeps its own free pages).
        result = await self.maker.in_worker(provider_result, line, fmt, job.prompt)
        if isinstance(result, str):
            return JobOutcome(job, "failed", result)  # unbilled: no attempt is counted
        return await self.maker.keep_answer(job, result)

    async def _copies(
        self, submission: Submission, outcomes: Sequence[JobOutcome]
    ) -> list[JobOutcome]:
        """The jobs whose requests were identical to a line's: its image copied, no request."""
        by_key = {outcome.job.key: outcome for outcome in outcomes}
        copies = [job for job in submission.jobs if job.key in submission.copies]
        made: list[JobOutcome] = []
        for start in range(0, len(copies), LINES_IN_FLIGHT):
            made += await asyncio.gather(
                *(
                    follow(job, by_key[submission.copies[job.key]], self.maker.copy)
                    for job in copies[start : start + LINES_IN_FLIGHT]
                )
            )
        return made

    def _held(
        self, submission: Submission, outcomes: Sequence[JobOutcome]
    ) -> tuple[list[Job], list[JobOutcome], list[Job]]:
        """Held variants to send now, those that cannot be made, and those left for later."""
        by_key = {outcome.job.key: outcome for outcome in outcomes}
        ready: list[Job] = []
        failed: list[JobOutcome] = []
        later: list[Job] = []
        for job in submission.held:
            base = by_key.get(job.depends_on or "")
            if base is not None and base.status == "generated":
                ready.append(job)
            elif base is not None and base.status == "not_dispatched":
                later.append(job)
            else:
                reason = f"base image failed: {base.reason if base else 'not in its batch'}"
                failed.append(JobOutcome(job, "failed", reason))
        return ready, failed, later

    def _publish(
        self,
        submission: Submission,
        batch: BatchInfo,
        outcomes: list[JobOutcome],
        started_at: str,
    ) -> RunSummary:
        summary = RunSummary(
            run_id=published_run_id(submission),
            catalog=submission.catalog,
            output=self.store.describe(),
            preview=False,
            selection={"batch": batch.id, "batch_status": batch.status},
        )
        finish_run(
            self.store,
            summary,
            outcomes,
            [],
            started_at=started_at,
            provider=self.provider_name,
            model=self.maker.provider.model,
            prices=self.prices,
            approval_required=self.approval_required,
        )
        return summary


def published_run_id(submission: Submission) -> str:
    """The run a collected batch is published as: its run, and which of its batches."""
    return f"{submission.run_id}-{submission.submission_id}"


def _validation_failure(batch: BatchInfo) -> str:
    shown = [f"line {e.get('line')}: {e.get('message')}" for e in batch.errors[:LINE_ERRORS_SHOWN]]
    more = len(batch.errors) - len(shown)
    listed = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    return f"batch {batch.id} failed validation, nothing was billed: {listed or 'no details'}"
