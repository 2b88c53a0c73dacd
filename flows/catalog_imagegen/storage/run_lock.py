"""One backfill at a time per parameters: an idempotency key and a create-only lock in the store.

Two clicks or a retried webhook trigger the same backfill twice. Both derive the same key from the
catalog's bytes and the backfill's parameters; the first creates ``manifests/locks/{key}.json``
(create-only, so exactly one wins, on a folder or on S3), the second finds it and does nothing. A
lock is released at the end by overwriting it (compare-and-swap on its ETag) with ``released``; a
lock older than ``stale_after`` seconds is taken over, so a crashed run does not block forever.
Through a Prefect deployment the same key serves as the flow run's idempotency key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed
from catalog_imagegen.storage.manifest import JSON_TYPE

LOCKS_PREFIX = "manifests/locks/"
STALE_AFTER = 6 * 3600.0


class AlreadyRunning(Exception):
    def __init__(self, key: str, holder: Mapping[str, Any]) -> None:
        super().__init__(
            f"the same backfill is already running (run {holder.get('run_id', '?')}, "
            f"since {time.strftime('%H:%M:%S', time.gmtime(holder.get('since', 0)))} UTC; "
            f"idempotency key {key})"
        )
        self.key = key
        self.holder = holder


@dataclass(slots=True)
class RunLock:
    store: ObjectStore
    key: str
    etag: str
    run_id: str

    def release(self) -> None:
        # A PreconditionFailed means someone took over a lock they judged stale: theirs now.
        with contextlib.suppress(PreconditionFailed):
            self.store.put(
                lock_key(self.key),
                _body({"run_id": self.run_id, "released": True, "since": time.time()}),
                content_type=JSON_TYPE,
                cache_control="no-cache",
                if_match=self.etag,
            )


def idempotency_key(catalog: str | Path, parameters: Mapping[str, Any]) -> str:
    """The same catalog bytes and parameters give the same key, on any machine."""
    digest = hashlib.sha256(Path(catalog).read_bytes()).hexdigest()
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{digest}\n{canonical}".encode()).hexdigest()[:24]


def lock_key(key: str) -> str:
    return f"{LOCKS_PREFIX}{key}.json"


def acquire(
    store: ObjectStore,
    key: str,
    run_id: str,
    *,
    stale_after: float = STALE_AFTER,
    now: float | None = None,
) -> RunLock:
    """Hold the lock for ``key``, or raise ``AlreadyRunning`` if a live run holds it."""
    clock = time.time() if now is None else now
    body = _body({"run_id": run_id, "since": clock})
    for _ in range(3):  # a lock released and replaced between two calls: look again
        created = _put_lock(store, key, body)
        if created is not None:
            return RunLock(store, key, created, run_id)
        current = store.get(lock_key(key))
        if current is None:
            continue
        holder = json.loads(current.data)
        if not holder.get("released") and clock - float(holder.get("since", 0)) < stale_after:
            raise AlreadyRunning(key, holder)
        taken = _put_lock(store, key, body, if_match=current.etag)
        if taken is not None:
            return RunLock(store, key, taken, run_id)
    raise AlreadyRunning(key, {"run_id": "another run"})


def _put_lock(store: ObjectStore, key: str, body: bytes, if_match: str | None = None) -> str | None:
    """The new lock's ETag, or ``None`` if someone else created or changed it first."""
    try:
        return store.put(
            lock_key(key),
            body,
            content_type=JSON_TYPE,
            cache_control="no-cache",
            if_match=if_match,
            if_none_match=if_match is None,
        )
    except PreconditionFailed:
        return None


def _body(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document).encode()
