"""The lab's corner of the output: every key under ``lab/``, so the lab reuses the run's engine
and resume logic unchanged while never writing where the storefront, status or backfill look."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from catalog_imagegen.storage.base import ObjectInfo, ObjectStore, StoredObject

LAB_PREFIX = "lab/"


class LabStore:
    """An ``ObjectStore`` that keeps all of its keys under ``lab/`` of another store."""

    def __init__(self, store: ObjectStore, prefix: str = LAB_PREFIX) -> None:
        self.store = store
        self.prefix = prefix

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        return self.store.put(
            self.prefix + key,
            data,
            content_type=content_type,
            cache_control=cache_control,
            metadata=metadata,
            if_match=if_match,
            if_none_match=if_none_match,
        )

    def get(self, key: str) -> StoredObject | None:
        return self.store.get(self.prefix + key)

    def head(self, key: str) -> ObjectInfo | None:
        return self.store.head(self.prefix + key)

    def list_keys(self, prefix: str) -> Iterator[str]:
        for key in self.store.list_keys(self.prefix + prefix):
            yield key[len(self.prefix) :]

    def url_for(self, key: str) -> str:
        return self.store.url_for(self.prefix + key)

    def describe(self) -> str:
        return f"{self.store.describe()} ({self.prefix})"

    def check_access(self) -> None:
        self.store.check_access()
