"""Resuming: what the store already holds for a plan, learned from one listing, and the manifest
entries of images stored by a run that never published (a crash, a kill)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from catalog_imagegen.generation.image_files import InvalidImage, inspect_image
from catalog_imagegen.generation.outcomes import entry_for, now_iso
from catalog_imagegen.planning.jobs import IMAGES_PREFIX, Job, with_base
from catalog_imagegen.renditions.storing import missing_channels
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import (
    LatestManifest,
    ManifestEntry,
)


@dataclass(slots=True)
class DoneSplit:
    todo: list[Job]
    done: list[Job]
    known: dict[str, ManifestEntry]  # entries of done jobs, by job key, where the manifest had them
    # Done jobs whose image is stored but some channel rendition is not: derive only, no request.
    derive_only: set[str] = field(default_factory=set)


def split_done(jobs: Sequence[Job], store: ObjectStore, latest: LatestManifest) -> DoneSplit:
    """What the store already holds, learned from one listing (never one request per job).

    A chained variant is done when its base is stored and not about to be remade, and the image
    keyed by that base's digest is stored; its job comes back with its final key.
    """
    stored = set(store.list_keys(IMAGES_PREFIX))
    by_key = {entry.key: entry for entry in latest.entries.values()}
    digests = {entry.storage_key: entry.sha256 for entry in latest.entries.values()}
    remade = {job.key for job in jobs if job.depends_on is None and job.storage_key not in stored}
    split = DoneSplit(todo=[], done=[], known={})
    for job in jobs:
        if job.waits_for_base and job.depends_on not in remade:
            digest = base_digest(job, store, stored, digests)
            job = with_base(job, digest) if digest else job
        if job.storage_key in stored and not job.waits_for_base:
            split.done.append(job)
            entry = by_key.get(job.key)
            if entry is not None:
                split.known[job.key] = entry
            image_key = entry.storage_key if entry is not None else job.storage_key
            if missing_channels(job, image_key, stored, entry):
                split.derive_only.add(job.key)
        else:
            split.todo.append(job)
    return split


def base_digest(
    job: Job, store: ObjectStore, stored: set[str], digests: dict[str, str]
) -> str | None:
    """The sha256 of a dependent's stored base: from the manifest, else the object's metadata."""
    key = job.base_storage_key
    if key is None or key not in stored:
        return None
    if key not in digests:
        info = store.head(key)
        digest = unquote((info.metadata if info else {}).get("sha256", ""))
        if not digest:
            data = store.get(key)
            digest = hashlib.sha256(data.data).hexdigest() if data else ""
        digests[key] = digest
    return digests[key] or None


def recover_entry(job: Job, store: ObjectStore, run_id: str) -> ManifestEntry:
    """The manifest entry of an image stored earlier whose run never published (a crash, a kill)."""
    info = store.head(job.storage_key)
    meta = {k: unquote(v) for k, v in (info.metadata if info else {}).items()}
    if info is not None and {"sha256", "width", "height"} <= meta.keys():
        created = info.last_modified.isoformat(timespec="seconds") if info.last_modified else None
        return entry_for(
            job,
            storage_key=job.storage_key,
            url=store.url_for(job.storage_key),
            sha256=meta["sha256"],
            size=info.size,
            width=int(meta["width"]),
            height=int(meta["height"]),
            created_at=created or now_iso(),
            run_id=run_id,
            model=meta.get("model", job.model),
        )
    stored = store.get(job.storage_key)
    data = stored.data if stored else b""
    try:
        _, width, height = inspect_image(data)
    except InvalidImage:
        width = height = 0
    return entry_for(
        job,
        storage_key=job.storage_key,
        url=store.url_for(job.storage_key),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        width=width,
        height=height,
        created_at=now_iso(),
        run_id=run_id,
        model=job.model,
    )
