"""The idempotency lock: one holder per key, released at the end, taken over when stale."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.run_lock import (
    AlreadyRunning,
    LockLost,
    acquire,
    held,
    idempotency_key,
    lock_key,
)


def test_same_parameters_same_key_and_catalog_bytes_count(tmp_path: Path) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku\nA\n")
    first = idempotency_key(catalog, {"skus": ["A"], "force": True})
    assert first == idempotency_key(catalog, {"force": True, "skus": ["A"]})
    assert first != idempotency_key(catalog, {"skus": ["B"], "force": True})
    catalog.write_text("sku\nA\nB\n")
    assert first != idempotency_key(catalog, {"skus": ["A"], "force": True})


def test_second_holder_is_refused_until_release(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    lock = acquire(store, "k", "run-1")
    with pytest.raises(AlreadyRunning, match="run-1"):
        acquire(store, "k", "run-2")
    lock.release()
    acquire(store, "k", "run-3").release()
    assert store.get(lock_key("k")) is not None


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    acquire(store, "k", "crashed", now=1000.0)
    with pytest.raises(AlreadyRunning):
        acquire(store, "k", "early", now=1000.0 + 60, stale_after=3600)
    taken = acquire(store, "k", "later", now=1000.0 + 7200, stale_after=3600)
    assert taken.run_id == "later"


def test_concurrent_acquires_have_exactly_one_winner(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    winners: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(8)

    def contend(name: str) -> None:
        start.wait()
        try:
            acquire(store, "k", name)
            winners.append(name)
        except AlreadyRunning:
            refused.append(name)

    threads = [threading.Thread(target=contend, args=(f"run-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert len(refused) == 7


def test_a_renewed_lock_is_not_taken_over_however_long_the_run(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    lock = acquire(store, "k", "long-backfill", now=1000.0)
    for hour in range(1, 10):
        lock.renew(now=1000.0 + hour * 3600 - 60)
        with pytest.raises(AlreadyRunning, match="long-backfill"):
            acquire(store, "k", "newcomer", now=1000.0 + hour * 3600, stale_after=3600)


def test_releasing_a_lock_someone_took_over_says_so(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    lock = acquire(store, "k", "stalled", now=1000.0)
    acquire(store, "k", "taker", now=1000.0 + 7200, stale_after=3600)
    with pytest.raises(LockLost, match="taker"):
        lock.renew(now=1000.0 + 7201)
    with pytest.raises(LockLost, match="taker"):
        lock.release()
    holder = json.loads(store.get(lock_key("k")).data)  # type: ignore[union-attr]
    assert holder["run_id"] == "taker" and not holder.get("released")


def test_a_held_lock_beats_while_the_run_works(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path)
    with held(store, "k", "run-1", heartbeat_every=0.01) as lock:
        first = json.loads(store.get(lock_key("k")).data)  # type: ignore[union-attr]
        deadline = time.monotonic() + 60
        while lock.beats == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        beaten = json.loads(store.get(lock_key("k")).data)  # type: ignore[union-attr]
    assert lock.beats > 0 and beaten["heartbeat"] > first["heartbeat"]
    assert json.loads(store.get(lock_key("k")).data)["released"]  # type: ignore[union-attr]


def test_a_lock_whose_process_was_killed_on_this_machine_is_taken_over_at_once(
    tmp_path: Path,
) -> None:
    store = LocalDirectoryStore(tmp_path)
    killed = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    holder = {"run_id": "killed", "since": time.time(), "heartbeat": time.time(),
              "host": socket.gethostname(), "pid": int(killed.stdout)}  # fmt: skip
    store.put(lock_key("k"), json.dumps(holder).encode(), content_type="application/json")
    assert acquire(store, "k", "rerun").run_id == "rerun"
    with pytest.raises(AlreadyRunning, match="rerun"):  # a live process keeps its lock
        acquire(store, "k", "third")


def test_a_store_gone_at_the_end_does_not_turn_a_finished_run_into_a_crash(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "store")
    with held(store, "k", "run-1", heartbeat_every=3600):
        shutil.rmtree(tmp_path / "store")
        (tmp_path / "store").write_text("not a folder any more")  # every write now fails
    assert (tmp_path / "store").read_text() == "not a folder any more"
