"""The inbox: a folder (or an ``s3://`` prefix) where merchandisers drop catalog files.

An inbox is an object store that can also delete (``InboxStore``), so a local folder and a shared
bucket behave the same. Only files at its top level count; ``processed/`` and ``failed/`` hold the
files already handled, each with its report beside it.

- A file still being copied is not picked up: temporary names (``.part``, ``~$...``, dotfiles) are
  ignored, and a file must be unchanged for ``settle`` seconds (its modification time).
- The same bytes are run once: a claim ``inbox-state/{sha256}.json`` is written create-only in the
  output store, so two pollers (or two machines sharing a bucket) cannot both run one file.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed, StoredObject

PROCESSED = "processed"
FAILED = "failed"
STATE_PREFIX = "inbox-state/"
TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".filepart", "~")
TEXT_TYPE = "text/plain; charset=utf-8"


class InboxStore(ObjectStore, Protocol):
    """An object store that can delete: moving a file is copy, then delete."""

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class DroppedFile:
    key: str
    size: int
    modified: datetime | None


def is_catalog_name(key: str) -> bool:
    """A top-level file that is not a temporary or hidden one."""
    if "/" in key:
        return False
    name = key.lower()
    return not (name.startswith((".", "~$")) or name.endswith(TEMPORARY_SUFFIXES))


def settled_files(inbox: InboxStore, *, now: datetime, settle: float) -> list[DroppedFile]:
    """Files unchanged for ``settle`` seconds, oldest first; newer ones wait for the next look."""
    files = []
    for key in inbox.list_keys(""):
        if not is_catalog_name(key):
            continue
        info = inbox.head(key)
        if info is None:
            continue  # gone since the listing
        if info.last_modified and (now - info.last_modified).total_seconds() < settle:
            continue
        files.append(DroppedFile(key, info.size, info.last_modified))
    return sorted(files, key=lambda f: (f.modified or now, f.key))


def waiting_files(inbox: InboxStore, *, now: datetime, settle: float) -> list[tuple[str, float]]:
    """Files still inside their settle time, with how long each has been unchanged (seconds)."""
    waiting = []
    for key in inbox.list_keys(""):
        info = inbox.head(key) if is_catalog_name(key) else None
        if info is not None and info.last_modified:
            unchanged = (now - info.last_modified).total_seconds()
            if unchanged < settle:
                waiting.append((key, max(unchanged, 0.0)))
    return sorted(waiting)


def unchanged_since(inbox: InboxStore, dropped: DroppedFile, data: StoredObject) -> bool:
    """Whether the bytes read are the file that settled (not one replaced meanwhile)."""
    info = inbox.head(dropped.key)
    return (
        info is not None
        and len(data.data) == dropped.size
        and info.size == dropped.size
        and info.last_modified == dropped.modified
    )


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(slots=True)
class Claim:
    """The right to run one file's bytes; ``earlier`` is the record of a previous drop, if any."""

    key: str
    etag: str | None
    earlier: dict[str, Any] | None = None

    @property
    def won(self) -> bool:
        return self.etag is not None


def claim_digest(store: ObjectStore, digest: str, record: dict[str, Any]) -> Claim:
    """Claim ``digest`` create-only; a file that failed earlier may be claimed again (CAS)."""
    key = f"{STATE_PREFIX}{digest}.json"
    body = json.dumps(record, indent=1).encode()
    try:
        return Claim(key, store.put(key, body, content_type="application/json", if_none_match=True))
    except PreconditionFailed:
        pass
    stored = store.get(key)
    earlier = json.loads(stored.data) if stored else {}
    if stored is None or earlier.get("status") != FAILED:
        return Claim(key, None, earlier)  # running now, or processed already
    try:
        etag = store.put(key, body, content_type="application/json", if_match=stored.etag)
    except PreconditionFailed:
        return Claim(key, None, earlier)  # another poller retried it first
    return Claim(key, etag, earlier)


def record_outcome(store: ObjectStore, claim: Claim, record: dict[str, Any]) -> None:
    store.put(claim.key, json.dumps(record, indent=1).encode(), content_type="application/json")


def move_with_reports(
    inbox: InboxStore, key: str, folder: str, data: bytes, reports: dict[str, bytes]
) -> str:
    """Copy the file into ``folder`` (never over another file), write its reports, delete it.

    ``reports`` maps a suffix (``.report.txt``) to content; each lands beside the moved file.
    """
    moved = _free_key(inbox, folder, key, digest_of(data)[:8], data)
    for suffix, content in reports.items():
        content_type = "text/csv; charset=utf-8" if suffix.endswith(".csv") else TEXT_TYPE
        inbox.put(moved + suffix, content, content_type=content_type)
    inbox.delete(key)
    return moved


def _free_key(inbox: InboxStore, folder: str, key: str, tag: str, data: bytes) -> str:
    path = PurePosixPath(key)
    candidates = [f"{folder}/{key}", f"{folder}/{path.stem}-{tag}{path.suffix}"]
    candidates += [f"{folder}/{path.stem}-{tag}-{n}{path.suffix}" for n in range(2, 100)]
    for candidate in candidates:
        try:
            content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            inbox.put(candidate, data, content_type=content_type, if_none_match=True)
            return candidate
        except PreconditionFailed:
            continue
    raise PreconditionFailed(f"no free name for {key} in {folder}/ of {inbox.describe()}")
