"""One run at a time per parameters: an idempotency key and a create-only lock in the store.

Two clicks or a retried webhook trigger the same run or backfill twice. Both derive the same key
from the catalog's bytes and the parameters; the first creates ``manifests/locks/{key}.json``
(create-only, so exactly one wins, on a folder or on S3), the second finds it and does nothing.
While the run works, a heartbeat rewrites the lock every ``HEARTBEAT_EVERY`` seconds
(compare-and-swap on its ETag); a lock whose last beat is older than ``stale_after`` is taken
over, so a crashed run blocks the next one for minutes, and a live one is never taken over however
long it runs; a lock held by a process that no longer exists on this machine (killed) is taken
over at once. A lock is released at the end by overwriting it with ``released``. A holder that
finds its lock taken over (its store was unreachable past ``stale_after``) is told: ``LockLost``.
Through a Prefect deployment the same key serves as the flow run's idempotency key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog_imagegen.storage.base import ObjectStore, PreconditionFailed, StoreError
from catalog_imagegen.storage.manifest import JSON_TYPE

ALREADY_RUNNING = "AlreadyRunning"  # the state name of a run that stood down for another
LOCKS_PREFIX = "manifests/locks/"
HEARTBEAT_EVERY = 30.0
STALE_AFTER = 5 * 60.0  # ten missed beats: the holder crashed or lost the store


class AlreadyRunning(Exception):
    def __init__(self, key: str, holder: Mapping[str, Any]) -> None:
        super().__init__(
            "already running: the same catalog and selection into the same output "
            f"(run {holder.get('run_id', '?')}, "
            f"since {time.strftime('%H:%M:%S', time.gmtime(holder.get('since', 0)))} UTC; "
            f"idempotency key {key})"
        )
        self.key = key
        self.holder = holder


class LockLost(Exception):
    """Another run took this lock over, judging it stale: its work may overlap this run's."""


@dataclass(slots=True)
class RunLock:
    store: ObjectStore
    key: str
    etag: str
    run_id: str
    since: float
    beats: int = 0

    def renew(self, now: float | None = None) -> None:
        """Beat: the lock is live as of ``now``. ``LockLost`` if another run holds it."""
        clock = time.time() if now is None else now
        body = {"run_id": self.run_id, "since": self.since, "heartbeat": clock, **_process()}
        self.etag = self._replace(body)
        self.beats += 1

    def release(self) -> None:
        """Mark the lock released; ``LockLost`` (naming the new holder) if it was taken over."""
        self._replace({"run_id": self.run_id, "released": True, "since": time.time()})

    def _replace(self, document: Mapping[str, Any]) -> str:
        taken = _put_lock(self.store, self.key, _body(document), if_match=self.etag)
        if taken is None:
            current = self.store.get(lock_key(self.key))
            holder = json.loads(current.data).get("run_id", "?") if current else "nobody"
            raise LockLost(
                f"the lock {lock_key(self.key)} of run {self.run_id} was taken over by run "
                f"{holder} (no heartbeat reached {self.store.describe()} for too long)"
            )
        return taken


@contextlib.contextmanager
def held(
    store: ObjectStore, key: str, run_id: str, *, heartbeat_every: float = HEARTBEAT_EVERY
) -> Iterator[RunLock]:
    """Hold the lock for ``key`` while the block runs, beating in a thread, then release it.

    Raises ``AlreadyRunning`` before the block, and ``LockLost`` after it if the lock was lost.
    """
    lock = acquire(store, key, run_id)
    stop = threading.Event()
    beating = threading.Thread(
        target=_beat, args=(lock, stop, heartbeat_every), name=f"lock-{key}", daemon=True
    )
    beating.start()
    try:
        yield lock
    except BaseException:
        _stop(stop, beating)
        with contextlib.suppress(LockLost, StoreError):  # the run's own error says more
            lock.release()
        raise
    _stop(stop, beating)
    with contextlib.suppress(StoreError):  # a store that died mid-run: the run says so already,
        lock.release()  # and its lock, no longer beating, goes stale and is taken over


def _stop(stop: threading.Event, beating: threading.Thread) -> None:
    stop.set()
    beating.join()


def _beat(lock: RunLock, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            lock.renew()
        except LockLost:
            return  # release() says so when the run ends
        except StoreError:
            continue  # a store hiccup: the next beat tries again, well within stale_after


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
    body = _body({"run_id": run_id, "since": clock, "heartbeat": clock, **_process()})
    for _ in range(3):  # a lock released and replaced between two calls: look again
        created = _put_lock(store, key, body)
        if created is not None:
            return RunLock(store, key, created, run_id, clock)
        current = store.get(lock_key(key))
        if current is None:
            continue
        holder = json.loads(current.data)
        if _alive(holder) and clock - _last_beat(holder) < stale_after:
            raise AlreadyRunning(key, holder)
        taken = _put_lock(store, key, body, if_match=current.etag)
        if taken is not None:
            return RunLock(store, key, taken, run_id, clock)
    raise AlreadyRunning(key, {"run_id": "another run"})


def _process() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(holder: Mapping[str, Any]) -> bool:
    """A holder that has not released; on this machine, one whose process still exists (a run
    killed with SIGKILL is rerun at once, not after ``stale_after``)."""
    if holder.get("released"):
        return False
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return True  # another machine's run: only its heartbeat tells
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, run by another user
    return True


def _last_beat(holder: Mapping[str, Any]) -> float:
    return float(holder.get("heartbeat", holder.get("since", 0)))


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
