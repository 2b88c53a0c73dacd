"""Parsed JSON documents from the store that never change once written, and what is built from them.

A 10,000-image run manifest is megabytes of JSON. Run manifests and storefront versions are
immutable, so each is read and parsed once, in the shape its page needs
(``document_shapes``), and every page, filter and reviewer after that reuses it; so is what pages
build from them (the grid of a run against a storefront version). Small, changing records
(decisions, the ``latest.json`` pointer) are read fresh on every request.

Two requests wanting the same document at once (the first visit while the start-up warm-up is
still parsing it) parse it once: the second waits for the first.

While a document is parsed or a grid built, Python's cyclic garbage collector is paused. Those
allocate hundreds of thousands of dicts, and each allocation burst set off collections that walked
the whole heap again: about 40% of a big run's first open, measured. What they build holds no
reference cycles, so reference counting frees it all the same when it leaves the cache.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson

from catalog_imagegen.review.app.document_shapes import STOREFRONT, WHOLE, DocumentShape
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.manifest import POINTER_KEY

DOCUMENTS_KEPT = 8
HEADINGS_KEPT = 100  # small: every run the runs list shows (``RUN_HEADING``)
Built = TypeVar("Built")


class DocumentCache:
    def __init__(self, size: int = DOCUMENTS_KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def load(self, store: ObjectStore, key: str, shape: DocumentShape = WHOLE) -> Any | None:
        """The immutable document at ``key``, parsed in ``shape``, or ``None`` when it does not
        exist."""
        return self.built(("document", key, shape.name), lambda: _parsed(store, key, shape))

    def built(self, name: Hashable, build: Callable[[], Built]) -> Built:
        """What ``build`` makes, made once per ``name`` (which must name everything it is built
        from, immutable keys only) and kept for the ``size`` latest names; ``None`` is not kept."""
        with self._lock:
            if name in self._kept:
                self._kept.move_to_end(name)
                return self._kept[name]  # type: ignore[no-any-return]
            building = self._building.setdefault(name, threading.Lock())
        with building:  # one builds, others wanting the same wait for it
            with self._lock:
                if name in self._kept:
                    return self._kept[name]  # type: ignore[no-any-return]
            try:
                with collector_paused():
                    made = build()
            except BaseException:
                with self._lock:
                    self._building.pop(name, None)
                raise
            with self._lock:
                self._building.pop(name, None)
                if made is not None:  # not written yet, perhaps: asked again next time
                    self._kept[name] = made
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return made

    def storefront(self, store: ObjectStore) -> tuple[str, dict[str, Any]]:
        """The key of the manifest ``latest.json`` points at, and its nested ``images`` cut to
        what an earlier image shows (``""`` and no images before the first publish)."""
        pointer = store.get(POINTER_KEY)
        if pointer is None:
            return "", {}
        key = str(orjson.loads(pointer.data)["manifest"])
        version = self.load(store, key, STOREFRONT) or {}
        return key, version.get("images", {})


_pauses = 0
_pauses_lock = threading.Lock()
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile (back as it was once no thread needs it off)."""
    global _pauses, _collector_was_enabled
    with _pauses_lock:
        if _pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_enabled:
                gc.enable()


def _parsed(store: ObjectStore, key: str, shape: DocumentShape) -> Any | None:
    stored = store.get(key)
    return None if stored is None else shape.parse(stored.data)
