"""Jobs a batch need not send: an earlier run stored the image of their exact request.

A synchronous run copies such an image into the job's slot instead of paying for it again
(``shared_requests``); batch mode does the same when it submits, so a seasonal refresh whose
``colour_edit`` requests do not mention the season pays nothing for the seasons already made. The
copies are published at once, as the submitting run; a job whose stored image has gone from the
store is sent in the batch after all. A deliberate redo (``--force``) never reuses an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.generation.shared_requests import copied_outcome, slot_label
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import ManifestEntry, load_latest, stored_requests

COPIERS = 8  # copies in flight: each is a read and a few writes, mostly waiting on the store


def copy_stored(
    jobs: Sequence[Job], store: ObjectStore, *, run_id: str, model: str
) -> tuple[list[JobOutcome], list[Job]]:
    """The outcomes of ``jobs`` whose request's image is stored (copied into their slots), and
    the jobs left to send. Blocking: run it in a worker thread."""
    stored = stored_requests(load_latest(store).entries)
    pairs: list[tuple[Job, ManifestEntry]] = []
    to_send: list[Job] = []
    for job in jobs:
        entry = stored.get(job.request_identity) if _may_reuse(job) else None
        if entry is None:
            to_send.append(job)
        else:
            pairs.append((job, entry))

    def copy(pair: tuple[Job, ManifestEntry]) -> JobOutcome | Job:
        job, entry = pair
        copied = copied_outcome(job, entry, slot_label(entry), store, run_id=run_id, model=model)
        return job if copied is None else copied[0]

    with ThreadPoolExecutor(COPIERS, thread_name_prefix="copy") as workers:
        results = list(workers.map(copy, pairs))
    outcomes = [result for result in results if isinstance(result, JobOutcome)]
    gone = [result for result in results if isinstance(result, Job)]
    return outcomes, to_send + gone


def _may_reuse(job: Job) -> bool:
    return job.depends_on is None and not job.redo
