"""Submissions: what was sent in which batch, recorded in the store so nothing is paid twice.

A submission is written before its batch is created (state ``submitting``, with its jobs), then
again as soon as the batch exists (``open``, with the batch id and input file id). A command
killed in between leaves a ``submitting`` record; the next command finds the batch by the
submission id in its ``metadata`` (``recover_lost``, in ``submit``). Collecting claims a record by
compare-and-swap (``collecting``), so collectors running at once never publish a batch twice.
Records hold whole jobs, so ``collect`` needs neither the catalog nor the templates.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from catalog_imagegen.catalog.model import Colour
from catalog_imagegen.generation.providers.base import ImageSettings
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.renditions.channels import ChannelProfile
from catalog_imagegen.storage.base import ObjectStore

SUBMISSIONS_PREFIX = "batches/submissions/"
COMPLETION_WINDOW = timedelta(hours=24)
# A ``submitting`` record this old without a batch was abandoned before its batch was created.
ABANDONED_AFTER = timedelta(minutes=15)
# A ``collecting`` claim this old was left by a collector that died: another may take over.
STALE_CLAIM = timedelta(minutes=30)
METADATA_RUN = "catalog_imagegen_run"
METADATA_SUBMISSION = "catalog_imagegen_submission"

State = Literal["submitting", "open", "collecting", "collected", "abandoned"]


@dataclass(slots=True)
class Submission:
    submission_id: str
    run_id: str
    catalog: str
    endpoint: str
    submitted_at: str
    jobs: list[Job]
    # Chained variants whose bases are in this batch: submitted once the bases are collected.
    held: list[Job] = field(default_factory=list)
    # Jobs whose request is byte-identical to another job's in this batch: no line of their own,
    # the other's image is copied into their slot at collection (job key -> the requesting job).
    copies: dict[str, str] = field(default_factory=dict)
    state: State = "submitting"
    batch_id: str | None = None
    input_file_id: str | None = None
    claimed_at: str | None = None
    # After collection: the batch's final status, and the jobs it left undone (expired, cancelled).
    batch_status: str = ""
    not_done: list[Job] = field(default_factory=list)
    resubmitted: bool = False

    @property
    def key(self) -> str:
        return f"{SUBMISSIONS_PREFIX}{self.submission_id}.json"

    @property
    def is_open(self) -> bool:
        """Its jobs may still be made by the provider: they must not be sent again."""
        return self.state in ("submitting", "open", "collecting")

    @property
    def due_by(self) -> str:
        submitted = datetime.fromisoformat(self.submitted_at)
        return (submitted + COMPLETION_WINDOW).isoformat(timespec="seconds")

    @property
    def requested(self) -> list[Job]:
        """The jobs with a line in the batch: those the provider makes and bills."""
        return [job for job in self.jobs if job.key not in self.copies]

    def job_keys(self) -> Iterator[str]:
        for job in (*self.jobs, *self.held):
            yield job.key

    def to_json(self) -> bytes:
        document = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("jobs", "held", "not_done")
        }
        for name in ("jobs", "held", "not_done"):
            document[name] = [job_to_json(job) for job in getattr(self, name)]
        # Compact: a record of 20,000 jobs is written by ``json``'s C encoder (``indent`` is not).
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Submission:
        document = json.loads(data)
        for name in ("jobs", "held", "not_done"):
            document[name] = [job_from_json(value) for value in document.get(name) or ()]
        return cls(**document)


def record(store: ObjectStore, submission: Submission, etag: str | None = None) -> str:
    """Write the record; a new one only if absent, an existing one only if unchanged since
    ``etag`` (``PreconditionFailed`` otherwise). Returns the new ETag."""
    return store.put(
        submission.key,
        submission.to_json(),
        content_type="application/json",
        cache_control="no-cache",
        if_match=etag,
        if_none_match=etag is None,
    )


def load_submissions(store: ObjectStore) -> list[tuple[Submission, str]]:
    """Every record with its ETag, oldest first."""
    found = []
    for key in store.list_keys(SUBMISSIONS_PREFIX):
        stored = store.get(key)
        if stored is not None:
            found.append((Submission.from_json(stored.data), stored.etag))
    return sorted(found, key=lambda pair: pair[0].submitted_at)


def open_job_keys(submissions: Iterable[Submission]) -> dict[str, Submission]:
    """The jobs in batches that may still make them, by job key."""
    return {key: s for s in submissions if s.is_open for key in s.job_keys()}


def is_stale(moment: str | None, age: timedelta) -> bool:
    return moment is None or datetime.now(UTC) - datetime.fromisoformat(moment) > age


def job_to_json(job: Job) -> dict[str, Any]:
    return asdict(job)


def job_from_json(value: dict[str, Any]) -> Job:
    colour = dict(value["colour"])
    colour["rgb"] = tuple(colour["rgb"]) if colour.get("rgb") else None
    colour["variant_skus"] = tuple(colour.get("variant_skus") or ())
    return Job(
        **{
            **value,
            "colour": Colour(**colour),
            "settings": ImageSettings(**value["settings"]),
            "channels": tuple(channel_from_json(c) for c in value.get("channels") or ()),
        }
    )


def channel_from_json(value: dict[str, Any]) -> ChannelProfile:
    size = value.get("size")
    return ChannelProfile(**{**value, "size": tuple(size) if size else None})


def not_in_open_batches(
    jobs: Sequence[Job], store: ObjectStore
) -> tuple[list[Job], dict[str, Submission]]:
    """``jobs`` less those an open batch may still make, and those, with their submission."""
    open_keys = open_job_keys(s for s, _ in load_submissions(store))
    free = [job for job in jobs if job.key not in open_keys]
    in_batch = {job.key: open_keys[job.key] for job in jobs if job.key in open_keys}
    return free, in_batch


def jobs_not_in_batches(jobs: list[Job], store: ObjectStore) -> list[Job]:
    """For synchronous runs and backfills: ``jobs`` less those an open batch will make."""
    free, in_batch = not_in_open_batches(jobs, store)
    if in_batch:
        batches = sorted({s.batch_id or "(being created)" for s in in_batch.values()})
        logging.getLogger(__name__).warning(
            "%d images are in open batches (%s): not sent again; `catalog-imagegen collect` "
            "stores them",
            len(in_batch),
            ", ".join(batches),
        )
    return free
