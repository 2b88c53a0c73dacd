"""The idempotency lock: one holder per key, released at the end, taken over when stale."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.run_lock import AlreadyRunning, acquire, idempotency_key, lock_key


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
