"""Storing renditions beside their image, and deriving the ones a stored image still lacks.

The I/O edge of ``renditions/``: the maker calls ``store_renditions`` with each image it stores;
a rerun calls ``complete_renditions`` on the images it skips, so a channel added to a template gets
its deliverables from the stored image without a single request to the provider. Renditions are
stored like images: immutable caching, the image's metadata plus the channel's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from catalog_imagegen.generation.outcomes import JobOutcome, object_metadata
from catalog_imagegen.generation.providers.base import CONTENT_TYPES
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.renditions.channels import ChannelProfile, rendition_key
from catalog_imagegen.renditions.checks import Check, check_rendition, noncompliance_flags
from catalog_imagegen.renditions.derive import Derived, derive_rendition
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import IMMUTABLE, ManifestEntry

Flag = Mapping[str, Any]
DERIVE_THREADS = 4
Renditions = dict[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class StoredRenditions:
    renditions: Renditions  # the manifest's record of each, by channel
    flags: tuple[Flag, ...]  # a ``noncompliant`` flag per failed check


def store_renditions(
    store: ObjectStore,
    job: Job,
    image_key: str,
    image: bytes,
    *,
    model: str,
    run_id: str,
    channels: Sequence[ChannelProfile] | None = None,
) -> StoredRenditions:
    """Derive, check and store ``job``'s channel renditions (or just ``channels``) of ``image``."""
    renditions: Renditions = {}
    flags: list[Flag] = []
    for profile in job.channels if channels is None else channels:
        derived = derive_rendition(image, profile)
        checks = check_rendition(derived.data, profile, background_fixed=derived.background_fixed)
        key = rendition_key(image_key, profile)
        digest = hashlib.sha256(derived.data).hexdigest()
        metadata = object_metadata(job, model, (derived.width, derived.height), digest)
        store.put(
            key,
            derived.data,
            content_type=CONTENT_TYPES[derived.format],
            cache_control=IMMUTABLE,
            metadata={**metadata, "channel": profile.name},
        )
        record = rendition_record(derived, digest, checks, store.url_for(key))
        renditions[profile.name] = {"key": key, **record, "run_id": run_id}
        fixed = derived.background_fixed
        flags.extend(noncompliance_flags(profile.name, checks, background_fixed=fixed))
    return StoredRenditions(renditions, tuple(flags))


def rendition_record(
    derived: Derived, sha256: str, checks: Sequence[Check], url: str
) -> dict[str, Any]:
    """What the manifest says about one rendition."""
    return {
        "url": url,
        "width": derived.width,
        "height": derived.height,
        "bytes": len(derived.data),
        "format": derived.format,
        "sha256": sha256,
        "compliant": all(check.ok for check in checks),
        "checks": {check.name: check.to_json() for check in checks},
    }


def missing_channels(
    job: Job, image_key: str, stored: Collection[str], entry: ManifestEntry | None
) -> tuple[ChannelProfile, ...]:
    """The channels of ``job`` whose rendition is not stored or not in the manifest entry."""
    recorded = entry.renditions if entry is not None else {}
    return tuple(
        profile
        for profile in job.channels
        if profile.name not in recorded or rendition_key(image_key, profile) not in stored
    )


def complete_renditions(
    outcomes: Sequence[JobOutcome], store: ObjectStore, derive_only: Collection[str], run_id: str
) -> list[JobOutcome]:
    """``outcomes`` of stored images, with the renditions of jobs in ``derive_only`` (job keys)
    derived from the stored image: no request to the provider. Pillow and numpy let go of the GIL
    while they resize, encode and measure, so images are derived a few at a time."""

    def completed(outcome: JobOutcome) -> JobOutcome:
        entry = outcome.entry
        if outcome.job.key not in derive_only or entry is None:
            return outcome
        return replace(outcome, entry=_with_missing_renditions(outcome.job, entry, store, run_id))

    if not derive_only:
        return list(outcomes)
    with ThreadPoolExecutor(DERIVE_THREADS, thread_name_prefix="derive") as pool:
        return list(pool.map(completed, outcomes))


def _with_missing_renditions(
    job: Job, entry: ManifestEntry, store: ObjectStore, run_id: str
) -> ManifestEntry:
    stored = set(store.list_keys(entry.storage_key.rsplit(".", 1)[0] + "/"))
    missing = missing_channels(job, entry.storage_key, stored, entry)
    image = store.get(entry.storage_key) if missing else None
    if image is None:
        return entry
    made = store_renditions(
        store,
        job,
        entry.storage_key,
        image.data,
        model=entry.model,
        run_id=run_id,
        channels=missing,
    )
    redone = set(made.renditions)
    kept = [
        flag
        for flag in entry.flags
        if flag.get("kind") != "noncompliant" or flag.get("channel") not in redone
    ]
    return replace(
        entry,
        renditions={**entry.renditions, **made.renditions},
        flags=(*kept, *made.flags),
    )
