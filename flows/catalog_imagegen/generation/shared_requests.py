"""One request per distinct request: jobs whose requests are byte-identical share one.

``colour_edit`` does not mention the season, so its autumn and winter requests for a product x
colour are the same bytes; on a 48-SKU catalog such duplicates were 12.5% of the spend. The first
job with a request identity (``Job.request_identity``) is its leader and asks the provider; every
other job with it waits for the leader's outcome, holding no request slot, and then stores the
leader's stored image again under its own key, with its own metadata and manifest entry. Across
runs, an image the manifest already holds for the identical request is copied the same way.
Only small outcomes and entries are kept, never image bytes, so a long run's memory stays flat.
A deliberate redo (``--force``, ``--only-flagged``) never reuses a stored image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from catalog_imagegen.generation.outcomes import JobOutcome, entry_for, now_iso, object_metadata
from catalog_imagegen.generation.providers.base import CONTENT_TYPES
from catalog_imagegen.planning.jobs import Job, image_key
from catalog_imagegen.renditions.storing import store_renditions
from catalog_imagegen.storage.base import ObjectStore, StoreError
from catalog_imagegen.storage.manifest import IMMUTABLE, ManifestEntry

Copy = Callable[[Job, ManifestEntry, str], Awaitable[JobOutcome | None]]


class SharedRequests:
    def __init__(self, stored: Mapping[str, ManifestEntry] | None = None) -> None:
        self._leaders: dict[str, asyncio.Future[JobOutcome]] = {}
        self._stored = dict(stored or {})  # request digest -> an earlier run's image

    async def outcome_for(
        self, job: Job, make: Callable[[Job], Awaitable[JobOutcome]], copy: Copy
    ) -> JobOutcome:
        """``make(job)`` for the first job with its request identity; for the others, a
        ``copy`` of the leader's image once it is stored (or the leader's failure)."""
        if job.depends_on is not None:
            return await make(job)  # its request holds its base's bytes, known only later
        identity = job.request_identity
        earlier = None if job.redo else self._stored.get(identity)
        if earlier is not None and (copied := await copy(job, earlier, slot_label(earlier))):
            return copied
        leader = self._leaders.get(identity)
        if leader is not None:
            return await follow(job, await asyncio.shield(leader), copy)
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


async def follow(job: Job, leader: JobOutcome, copy: Copy) -> JobOutcome:
    """``job``'s outcome from the outcome of the job with its identical request: that image
    copied into its slot, or the same failure."""
    shared_from = leader.job.label
    if leader.status == "generated" and leader.entry is not None:
        copied = await copy(job, leader.entry, shared_from)
        if copied is not None:
            copied.review = leader.review
            return copied
        reason = f"the image of the identical request {shared_from} could not be copied"
        return JobOutcome(job, "failed", reason, shared_from=shared_from)
    reason = f"same request as {shared_from}, which was {leader.status.replace('_', ' ')}"
    detail = f"{reason}: {leader.reason}" if leader.reason else reason
    return JobOutcome(job, leader.status, detail, shared_from=shared_from)


def copied_outcome(
    job: Job,
    source: ManifestEntry,
    shared_from: str,
    store: ObjectStore,
    *,
    run_id: str,
    model: str,
) -> tuple[JobOutcome, bytes] | None:
    """``source``'s images stored again in ``job``'s slot, with the primary's bytes; ``None``
    when they are not in the store any more. Blocking: run it in a worker thread."""
    keys = [source.storage_key, *source.alternates]
    targets = [image_key(job, index) for index in range(len(keys))]
    stored = []
    for source_key in keys:
        try:
            found = store.get(source_key)
        except StoreError:
            return None
        if found is None:
            return None
        stored.append(found.data)
    # Renditions (of this job's own channels) and alternates first, the primary last: its
    # presence means the job is done.
    renditions = store_renditions(store, job, targets[0], stored[0], model=model, run_id=run_id)
    size = (source.width, source.height)
    for target, data in reversed(list(zip(targets, stored, strict=True))):
        store.put(
            target,
            data,
            content_type=CONTENT_TYPES.get(source.format, "application/octet-stream"),
            cache_control=IMMUTABLE,
            metadata=object_metadata(job, model, size, source.sha256),
        )
    colour_flags = tuple(flag for flag in source.flags if flag.get("kind") != "noncompliant")
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
        flags=(*colour_flags, *renditions.flags),
        renditions=renditions.renditions,
    )
    primary = stored[0]
    return JobOutcome(job, "generated", entry=entry, shared_from=shared_from), primary


def slot_label(entry: ManifestEntry) -> str:
    return f"{entry.sku} / {entry.colour} / {entry.season} / {entry.template} ({entry.run_id})"
