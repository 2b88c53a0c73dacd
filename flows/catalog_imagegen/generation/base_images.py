"""The base images that chained colour variants edit.

A dependent waits for its base's outcome (without holding a provider slot), then edits the base's
bytes: kept in memory from the moment the base is stored until its last dependent has them, or
read back from the store when the base was made by an earlier run. The base's digest then gives
the dependent its final key (``jobs.with_base``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal, Protocol

from catalog_imagegen.generation.image_files import InvalidImage, inspect_image
from catalog_imagegen.generation.providers.base import CONTENT_TYPES, SourceImage
from catalog_imagegen.planning.jobs import Job, with_base
from catalog_imagegen.storage.base import ObjectStore, StoreError


class Finished(Protocol):
    """What a dependent needs to know of its base's outcome."""

    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class BaseUnavailable:
    """Why a dependent cannot be made: its base failed, was not dispatched, or is not stored."""

    status: Literal["failed", "not_dispatched"]
    reason: str


class BaseImages:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._expected: Counter[str] = Counter()  # base key -> dependents still to pick it up
        self._kept: dict[str, bytes] = {}

    def expect(self, job: Job) -> None:
        """Note a dependent about to run, so its base's bytes are kept for it."""
        if job.depends_on is not None:
            self._expected[job.depends_on] += 1

    def keep(self, job: Job, data: bytes) -> None:
        """Hold a just-stored image in memory if dependents will edit it."""
        if self._expected.get(job.key):
            self._kept[job.key] = data

    async def wait(
        self, job: Job, finished: Awaitable[Finished] | None
    ) -> tuple[Job, SourceImage] | BaseUnavailable:
        """The dependent with its final key, and its base image; or why it cannot be made."""
        base_key = job.depends_on
        assert base_key is not None
        try:
            if finished is not None:
                base = await finished
                if base.status == "not_dispatched":
                    return BaseUnavailable("not_dispatched", f"base image not made: {base.reason}")
                if base.status not in ("generated", "skipped"):
                    return BaseUnavailable("failed", f"base image failed: {base.reason}")
            data = self._kept.get(base_key)
            if data is None:
                data = await asyncio.to_thread(self._read, job)
        except StoreError as error:
            return BaseUnavailable("failed", f"base image failed: cannot read it ({error})")
        finally:
            self._release(base_key)
        if data is None:
            return BaseUnavailable(
                "failed", f"base image failed: {job.base_storage_key} is missing"
            )
        return self._resolve(job, data)

    def _read(self, job: Job) -> bytes | None:
        stored = self._store.get(job.base_storage_key) if job.base_storage_key else None
        return stored.data if stored else None

    def _release(self, base_key: str) -> None:
        self._expected[base_key] -= 1
        if self._expected[base_key] <= 0:
            del self._expected[base_key]
            self._kept.pop(base_key, None)

    @staticmethod
    def _resolve(job: Job, data: bytes) -> tuple[Job, SourceImage] | BaseUnavailable:
        digest = hashlib.sha256(data).hexdigest()
        if job.waits_for_base:
            job = with_base(job, digest)
        elif job.base_sha256 != digest:
            reason = f"base image {job.base_storage_key} changed while this run waited; run again"
            return BaseUnavailable("failed", reason)
        try:
            fmt, _, _ = inspect_image(data)
        except InvalidImage as error:
            return BaseUnavailable("failed", f"base image failed: stored base is {error}")
        return job, SourceImage(data=data, filename=f"base.{fmt}", content_type=CONTENT_TYPES[fmt])
