"""One request per distinct request: jobs whose requests are byte-identical share one.

``colour_edit`` does not mention the season, so its autumn and winter requests for a product x
colour are the same bytes; on a 48-SKU catalog such duplicates were 12.5% of the spend. The first
job with a request identity (``Job.request_identity``) is its leader and asks the provider; every
other job with it waits for the leader's outcome, holding no request slot, and then stores the
leader's stored image again under its own key, with its own metadata and manifest entry. Only the
leader's small outcome is kept, never image bytes, so a long run's memory stays flat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from catalog_imagegen.generation.outcomes import (
    JobOutcome,
    entry_for,
    now_iso,
    object_metadata,
)
from catalog_imagegen.generation.providers.base import CONTENT_TYPES
from catalog_imagegen.planning.jobs import Job, image_key
from catalog_imagegen.storage.base import ObjectStore, StoreError
from catalog_imagegen.storage.manifest import IMMUTABLE


class SharedRequests:
    def __init__(self) -> None:
        self._leaders: dict[str, asyncio.Future[JobOutcome]] = {}

    async def outcome_for(
        self,
        job: Job,
        make: Callable[[Job], Awaitable[JobOutcome]],
        copy: Callable[[Job, JobOutcome], Awaitable[JobOutcome]],
    ) -> JobOutcome:
        """``make(job)`` for the first job with its request identity; for the others, ``copy``
        of the leader's outcome once it is known."""
        if job.depends_on is not None:
            return await make(job)  # its request holds its base's bytes, known only later
        identity = job.request_identity
        leader = self._leaders.get(identity)
        if leader is not None:
            return await copy(job, await asyncio.shield(leader))
        future: asyncio.Future[JobOutcome] = asyncio.get_running_loop().create_future()
        self._leaders[identity] = future
        try:
            outcome = await make(job)
        except BaseException:
            del self._leaders[identity]  # a later job with this request asks for itself
            future.cancel()
            raise
        future.set_result(outcome)
        return outcome


def copied_outcome(
    job: Job, leader: JobOutcome, store: ObjectStore, *, run_id: str, model: str
) -> tuple[JobOutcome, bytes | None]:
    """The leader's image stored again in ``job``'s slot (and the primary image's bytes), or
    the leader's failure. Blocking: run it in a worker thread."""
    shared_from = leader.job.label
    if leader.status != "generated" or leader.entry is None:
        reason = f"same request as {shared_from}, which was {leader.status.replace('_', ' ')}"
        detail = f"{reason}: {leader.reason}" if leader.reason else reason
        return JobOutcome(job, leader.status, detail, shared_from=shared_from), None
    source = leader.entry
    keys = [source.storage_key, *source.alternates]
    targets = [image_key(job, index) for index in range(len(keys))]
    primary: bytes | None = None
    try:
        # Alternates first, the primary last: the primary's presence means the job is done.
        for source_key, target in reversed(list(zip(keys, targets, strict=True))):
            stored = store.get(source_key)
            if stored is None:
                raise StoreError(f"{source_key} vanished")
            size = (source.width, source.height)
            metadata = object_metadata(job, model, size, source.sha256)
            content_type = CONTENT_TYPES.get(source.format, "application/octet-stream")
            store.put(
                target,
                stored.data,
                content_type=content_type,
                cache_control=IMMUTABLE,
                metadata=metadata,
            )
            primary = stored.data
    except StoreError as error:
        reason = f"copying the image of the identical request {shared_from} failed: {error}"
        return JobOutcome(job, "failed", reason, shared_from=shared_from), None
    entry = entry_for(
        job,
        storage_key=targets[0],
        url=store.url_for(targets[0]),
        sha256=source.sha256,
        size=source.bytes,
        width=source.width,
        height=source.height,
        created_at=now_iso(),
        run_id=run_id,
        model=model,
        alternates=tuple(targets[1:]),
        flags=source.flags,
    )
    outcome = JobOutcome(job, "generated", entry=entry, review=leader.review)
    outcome.shared_from = shared_from
    return outcome, primary
