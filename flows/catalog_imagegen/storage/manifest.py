"""The storefront manifest: every published image, findable by sku -> colour -> season -> template.

Each run writes its own immutable manifest (``manifests/runs/{run_id}.json``), then moves the
storefront's pointer ``manifests/latest.json`` to a new immutable version that merges the previous
one with the run's entries. The pointer moves by compare-and-swap (``If-Match`` on its ETag, or
create-only), retried on conflict, so runs finishing together all land and a run covering ten SKUs
never drops the other ten thousand. Per slot the newest image wins, so a slow run finishing after a
``backfill --force`` does not put the old image back. A reader that follows the pointer always
finds a whole manifest.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed

SCHEMA_VERSION = 1
POINTER_KEY = "manifests/latest.json"
VERSIONS_PREFIX = "manifests/versions/"
RUNS_PREFIX = "manifests/runs/"
IMMUTABLE = "public, max-age=31536000, immutable"
POINTER_CACHE = "public, max-age=30"
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    sku: str
    colour: str
    colour_key: str
    season: str
    template: str
    template_version: str
    key: str
    storage_key: str
    url: str
    sha256: str
    bytes: int
    width: int
    height: int
    format: str
    model: str
    prompt: str
    created_at: str
    run_id: str
    variant_skus: tuple[str, ...] = ()
    base: str | None = None
    alternates: tuple[str, ...] = ()
    flags: tuple[Mapping[str, Any], ...] = ()
    template_label: str = ""  # the template version's given name, when it has one
    # Channel deliverables derived from this image, by channel name (``renditions/``).
    renditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The digest of the request that made the image (``Job.request_identity``): a later job with
    # the same request reuses this image instead of paying for it again.
    request: str = ""

    @property
    def slot(self) -> tuple[str, str, str, str]:
        return (self.sku, self.colour_key, self.season, self.template)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("sku", "colour_key", "season", "template"):
            data.pop(name)
        data["variant_skus"] = list(self.variant_skus)
        data["alternates"] = list(self.alternates)
        data["flags"] = [dict(flag) for flag in self.flags]
        if not self.template_label:
            data.pop("template_label")  # unlabelled templates: the manifest stays as it was
        data["renditions"] = {name: dict(value) for name, value in self.renditions.items()}
        return data

    @classmethod
    def from_json(cls, slot: tuple[str, str, str, str], data: Mapping[str, Any]) -> ManifestEntry:
        sku, colour_key, season, template = slot
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["variant_skus"] = tuple(data.get("variant_skus", ()))
        values["alternates"] = tuple(data.get("alternates", ()))
        values["flags"] = tuple(data.get("flags", ()))
        values["renditions"] = dict(data.get("renditions", {}))
        return cls(sku=sku, colour_key=colour_key, season=season, template=template, **values)


Slots = dict[tuple[str, str, str, str], ManifestEntry]


def stored_requests(entries: Mapping[Any, ManifestEntry]) -> dict[str, ManifestEntry]:
    """The stored image of each request the manifest knows, by request digest."""
    return {entry.request: entry for entry in entries.values() if entry.request}


def nest(entries: Iterable[ManifestEntry]) -> dict[str, Any]:
    images: dict[str, Any] = {}
    for entry in sorted(entries, key=lambda e: e.slot):
        sku, colour, season, template = entry.slot
        images.setdefault(sku, {}).setdefault(colour, {}).setdefault(season, {})[template] = (
            entry.to_json()
        )
    return images


def flatten(images: Mapping[str, Any]) -> Iterator[ManifestEntry]:
    for sku, colours in images.items():
        for colour, seasons in colours.items():
            for season, templates in seasons.items():
                for template, data in templates.items():
                    yield ManifestEntry.from_json((sku, colour, season, template), data)


@dataclass(slots=True)
class Published:
    run_key: str
    version_key: str
    pointer_etag: str
    entries: int
    attempts: int


@dataclass(slots=True)
class LatestManifest:
    entries: Slots = field(default_factory=dict)
    etag: str | None = None
    version_key: str | None = None


def load_latest(store: ObjectStore) -> LatestManifest:
    pointer = store.get(POINTER_KEY)
    if pointer is None:
        return LatestManifest()
    target = json.loads(pointer.data)["manifest"]
    stored = store.get(target)
    if stored is None:
        raise ValueError(f"{POINTER_KEY} points at {target}, which is missing")
    document = json.loads(stored.data)
    entries = {entry.slot: entry for entry in flatten(document.get("images", {}))}
    return LatestManifest(entries=entries, etag=pointer.etag, version_key=target)


def write_run_manifest(store: ObjectStore, run_id: str, document: Mapping[str, Any]) -> str:
    key = f"{RUNS_PREFIX}{run_id}.json"
    store.put(
        key, _dumps(document), content_type=JSON_TYPE, cache_control=IMMUTABLE, if_none_match=True
    )
    return key


def publish(
    store: ObjectStore,
    run_id: str,
    entries: Iterable[ManifestEntry],
    *,
    generated_at: str,
    max_attempts: int = 20,
) -> Published:
    """Merge ``entries`` into the latest manifest and move the pointer with compare-and-swap.

    Per slot the newest image wins (``created_at``), whoever publishes last."""
    offered = list(entries)
    for attempt in range(1, max_attempts + 1):
        latest = load_latest(store)
        new = [e for e in offered if not older_than(e, latest.entries.get(e.slot))]
        if latest.version_key and all(latest.entries.get(e.slot) == e for e in new):
            # Nothing the storefront does not already have (a rerun with nothing to do): a new
            # version would only rewrite the same entries, which costs seconds per 100,000.
            return Published(
                f"{RUNS_PREFIX}{run_id}.json",
                latest.version_key,
                latest.etag or "",
                len(latest.entries),
                attempt,
            )
        merged = dict(latest.entries)
        merged.update((entry.slot, entry) for entry in new)
        document = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": generated_at,
            "run_id": run_id,
            "previous": latest.version_key,
            "images": nest(merged.values()),
        }
        body = _dumps(document)
        version_key = f"{VERSIONS_PREFIX}{hashlib.sha256(body).hexdigest()[:32]}.json"
        store.put(version_key, body, content_type=JSON_TYPE, cache_control=IMMUTABLE)
        pointer = _dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "manifest": version_key,
                "run_id": run_id,
                "updated_at": generated_at,
                "entries": len(merged),
            }
        )
        try:
            etag = store.put(
                POINTER_KEY,
                pointer,
                content_type=JSON_TYPE,
                cache_control=POINTER_CACHE,
                if_match=latest.etag,
                if_none_match=latest.etag is None,
            )
        except PreconditionFailed:
            time.sleep(random.uniform(0.05, 0.2) * attempt)  # another run moved it: merge again
            continue
        return Published(f"{RUNS_PREFIX}{run_id}.json", version_key, etag, len(merged), attempt)
    raise PreconditionFailed(
        f"could not move {POINTER_KEY} after {max_attempts} attempts: too many runs at once"
    )


def older_than(entry: ManifestEntry, current: ManifestEntry | None) -> bool:
    """Whether ``current`` holds a newer image for the slot than ``entry``: a slower run's skipped
    entries, or a late approval of an older run, must not put an older image back."""
    if current is None:
        return False
    return _made_at(entry) < _made_at(current)


def _made_at(entry: ManifestEntry) -> datetime:
    try:
        made = datetime.fromisoformat(entry.created_at)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return made if made.tzinfo else made.replace(tzinfo=UTC)


def _dumps(document: Mapping[str, Any]) -> bytes:
    """Compact JSON. ``indent`` would make ``json`` use its pure-Python encoder, which holds a
    string per token: for a 20,000-image manifest, 170 MB more and a few seconds slower."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
