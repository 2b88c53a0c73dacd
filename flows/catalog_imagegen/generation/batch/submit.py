"""Submitting jobs as batches: photos uploaded once, requests in JSONL files, each recorded.

Each input file becomes one batch and one submission record, written before the batch is created
and again as soon as it exists. Jobs whose requests are byte-identical (``Job.request_identity``)
share one line, as synchronous runs share one request: the others are recorded as its copies.
Chained variants whose base is in the same submission are held in its record and sent once the
base is collected (``send_variants``), editing the stored base.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.batch.client import BatchClient
from catalog_imagegen.generation.batch.submissions import (
    ABANDONED_AFTER,
    METADATA_RUN,
    METADATA_SUBMISSION,
    Submission,
    is_stale,
    load_submissions,
    not_in_open_batches,
    record,
)
from catalog_imagegen.generation.batch.wire import endpoint_for, input_files, request_line
from catalog_imagegen.generation.maker import image_request
from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.generation.providers.base import SourceImage
from catalog_imagegen.generation.providers.model_rules import PERMISSIVE, ModelRules
from catalog_imagegen.planning.jobs import Job, with_base
from catalog_imagegen.storage.base import ObjectStore

PHOTO_PURPOSE = "vision"


@dataclass(slots=True)
class BatchSender:
    """What submitting needs: the API, the store, where photos are, and the run's identity."""

    client: BatchClient
    store: ObjectStore
    sources: SourceLoader
    model: str
    run_id: str
    catalog: str
    max_lines: int = 50_000
    rules: ModelRules = PERMISSIVE  # the model table's rules, as the synchronous client has them
    _uploaded: dict[str, str] = field(default_factory=dict)  # photo or base key -> file id

    async def submit(self, jobs: Sequence[Job]) -> list[Submission]:
        """Send ``jobs`` (none of them in an open batch); their records, one per batch."""
        unique = list({job.key: job for job in jobs}.values())
        ready = [job for job in unique if not job.waits_for_base]
        held = [job for job in unique if job.waits_for_base]
        submissions = []
        for endpoint in sorted({endpoint_for(image_request(job)) for job in ready}):
            same = [job for job in ready if endpoint_for(image_request(job)) == endpoint]
            submissions += await self._submit_endpoint(endpoint, same)
        holders = {key: s for s in submissions for key in (job.key for job in s.jobs)}
        orphans = [job for job in held if job.depends_on not in holders]
        for job in held:
            if job.depends_on in holders:
                holders[job.depends_on].held.append(job)
        for submission in submissions:
            if submission.held:
                await asyncio.to_thread(self._rerecord, submission)
        if orphans:
            # Their bases are not in these batches: sent if stored, else left for a later run.
            submissions += await self.send_variants(orphans)
        return submissions

    async def send_variants(self, variants: Sequence[Job]) -> list[Submission]:
        """Chained variants whose bases are stored now: each edits its stored base."""
        resolved = [await self._with_stored_base(job) for job in variants]
        ready = [job for job in resolved if job is not None and not job.waits_for_base]
        free, _ = await asyncio.to_thread(not_in_open_batches, ready, self.store)
        return await self.submit(free) if free else []

    async def _submit_endpoint(self, endpoint: str, jobs: list[Job]) -> list[Submission]:
        leaders, copies = one_line_per_request(jobs)
        lines = [await self._line(job) for job in leaders]
        submissions = []
        start = 0
        for file_lines in input_files(lines, max_lines=self.max_lines):
            in_file = leaders[start : start + len(file_lines)]
            start += len(file_lines)
            followers = [(job, leader.key) for leader in in_file for job in copies[leader.key]]
            content = b"".join(file_lines)
            submissions.append(await self._create(endpoint, in_file, followers, content))
        return submissions

    async def _create(
        self, endpoint: str, jobs: list[Job], copies: list[tuple[Job, str]], content: bytes
    ) -> Submission:
        """One batch of ``jobs``' lines; ``copies`` are jobs with their requesting job's key."""
        submission = Submission(
            submission_id=secrets.token_hex(8),
            run_id=self.run_id,
            catalog=self.catalog,
            endpoint=endpoint,
            submitted_at=now_iso(),
            jobs=[*jobs, *(job for job, _ in copies)],
            copies={job.key: leader for job, leader in copies},
        )
        etag = await asyncio.to_thread(record, self.store, submission)
        file_id = await self.client.upload(
            f"{submission.submission_id}.jsonl", content, purpose="batch"
        )
        metadata = {METADATA_RUN: self.run_id, METADATA_SUBMISSION: submission.submission_id}
        batch = await self.client.create(file_id, endpoint, metadata)
        submission.batch_id, submission.input_file_id = batch.id, file_id
        submission.state = "open"
        await asyncio.to_thread(record, self.store, submission, etag)
        return submission

    def _rerecord(self, submission: Submission) -> None:
        stored = self.store.get(submission.key)
        record(self.store, submission, stored.etag if stored else None)

    async def _line(self, job: Job) -> bytes:
        file_ids: list[str] = []
        if job.mode == "edit" or job.depends_on is not None:
            file_ids.append(await self._photo_file(job))
        return request_line(job.key, image_request(job), self.model, file_ids, self.rules)

    async def _photo_file(self, job: Job) -> str:
        """The file id of the image the job edits, uploaded the first time it is needed."""
        source = job.base_storage_key if job.depends_on is not None else job.source_image
        if not source:
            raise ValueError(f"an edit needs a source image ({job.label})")
        if source not in self._uploaded:
            image = await self._image(job, source)
            self._uploaded[source] = await self.client.upload(
                image.filename, image.data, purpose=PHOTO_PURPOSE
            )
        return self._uploaded[source]

    async def _image(self, job: Job, source: str) -> SourceImage:
        if job.depends_on is None:
            return await self.sources.load(source)
        stored = await asyncio.to_thread(self.store.get, source)
        if stored is None:
            raise ValueError(f"{job.label}: base image {source} is missing")
        extension = source.rsplit(".", 1)[-1]
        content_type = "image/jpeg" if extension == "jpeg" else f"image/{extension}"
        return SourceImage(stored.data, f"base.{extension}", content_type)

    async def _with_stored_base(self, job: Job) -> Job | None:
        """The variant with its final key, from its stored base's digest; None without a base."""
        if not job.waits_for_base or job.base_storage_key is None:
            return job
        stored = await asyncio.to_thread(self.store.get, job.base_storage_key)
        if stored is None:
            return None
        return with_base(job, hashlib.sha256(stored.data).hexdigest())


def one_line_per_request(jobs: Sequence[Job]) -> tuple[list[Job], dict[str, list[Job]]]:
    """The jobs that get a line (the first with each request identity) and, by their key, the
    jobs whose requests are identical to theirs. A chained variant's request holds its base's
    bytes, so variants always get lines of their own (as in ``shared_requests``)."""
    leaders: dict[str, Job] = {}
    copies: dict[str, list[Job]] = {}
    for job in jobs:
        identity = job.key if job.depends_on is not None else job.request_identity
        leader = leaders.setdefault(identity, job)
        copies.setdefault(leader.key, [])
        if leader is not job:
            copies[leader.key].append(job)
    return list(leaders.values()), copies


async def recover_lost(client: BatchClient, store: ObjectStore) -> list[Submission]:
    """Records left ``submitting`` by a command killed around creating a batch: the batch is
    found by its metadata and recorded; a record whose batch never came is abandoned."""
    lost = [(s, etag) for s, etag in load_submissions(store) if s.state == "submitting"]
    if not lost:
        return []
    wanted = {s.submission_id for s, _ in lost}
    found = {}
    async for batch in client.batches():
        submission_id = batch.metadata.get(METADATA_SUBMISSION)
        if submission_id in wanted:
            found[submission_id] = batch
        if len(found) == len(wanted):
            break
    recovered = []
    for submission, etag in lost:
        match = found.get(submission.submission_id)
        if match is not None:
            submission.batch_id, submission.input_file_id = match.id, match.input_file_id
            submission.state = "open"
        elif is_stale(submission.submitted_at, ABANDONED_AFTER):
            submission.state = "abandoned"
        else:
            continue  # another command may be creating it right now
        await asyncio.to_thread(record, store, submission, etag)
        recovered.append(submission)
    return recovered
