"""Parsed JSON documents from the store that never change once written.

A 10,000-image run manifest is megabytes of JSON. Run manifests and storefront versions are
immutable, so each is read and parsed once (orjson: several times faster than ``json``) and every
page, filter and reviewer after that reuses it. Small, changing records (decisions, the
``latest.json`` pointer) are read fresh on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from catalog_imagegen.storage.base import ObjectStore, StoreError
from catalog_imagegen.storage.manifest import POINTER_KEY, RUNS_PREFIX

DOCUMENTS_KEPT = 6
WARMED_RUNS = 2


class DocumentCache:
    def __init__(self, size: int = DOCUMENTS_KEPT) -> None:
        self.size = size
        self._documents: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, store: ObjectStore, key: str) -> Any | None:
        """The immutable document at ``key``, parsed, or ``None`` when it does not exist."""
        with self._lock:
            if key in self._documents:
                self._documents.move_to_end(key)
                return self._documents[key]
        stored = store.get(key)
        if stored is None:
            return None
        document = orjson.loads(stored.data)
        with self._lock:
            self._documents[key] = document
            while len(self._documents) > self.size:
                self._documents.popitem(last=False)
        return document

    def peek(self, store: ObjectStore, key: str) -> Any | None:
        """Like ``load``, without keeping what it parses (the runs list reads many manifests once,
        and must not push out the run being reviewed)."""
        with self._lock:
            if key in self._documents:
                return self._documents[key]
        stored = store.get(key)
        return None if stored is None else orjson.loads(stored.data)

    def storefront_images(self, store: ObjectStore) -> Mapping[str, Any]:
        """The nested ``images`` of the manifest ``latest.json`` points at (empty before any)."""
        pointer = store.get(POINTER_KEY)
        if pointer is None:
            return {}
        version = self.load(store, orjson.loads(pointer.data)["manifest"]) or {}
        images: Mapping[str, Any] = version.get("images", {})
        return images


def warm(cache: DocumentCache, store: ObjectStore, runs: int = WARMED_RUNS) -> None:
    """Parse the newest runs' manifests and the storefront's ahead of the first visit: the run a
    merchandiser opens in the morning is usually the newest one."""
    try:
        keys = [key for key in store.list_keys(RUNS_PREFIX) if key.count("/") == 2]
        for key in sorted(k for k in keys if k.endswith(".json"))[-runs:]:
            cache.load(store, key)
        cache.storefront_images(store)
    except (StoreError, ValueError, KeyError):
        return  # only a head start: the page reads (and reports) the same documents itself
