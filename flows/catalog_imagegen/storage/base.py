"""The object store interface: where images, manifests and reports live.

Two backends implement it: ``LocalDirectoryStore`` (the default, a folder on disk) and
``S3ObjectStore`` (any S3-compatible bucket). Everything above this module talks to a store only
through ``ObjectStore``, so every piece of pipeline logic is testable against a temporary folder.

Keys are ``/``-separated relative paths (``images/SKU-1/card/winter/navy/3f2a....png``). Writes are
all-or-nothing: a reader never sees half an object. Conditional writes (``if_match`` /
``if_none_match``) give the compare-and-swap the manifest pointer needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class StoreError(Exception):
    """A store operation failed; the message names the store (bucket/endpoint or folder) and key."""


class StoreAccessDenied(StoreError):
    """Credentials are wrong or lack permission: retrying cannot help, so the run stops."""


class PreconditionFailed(StoreError):
    """A conditional write lost a race: the object changed (or appeared) since it was read."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime | None = None
    content_type: str | None = None
    cache_control: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    etag: str


class ObjectStore(Protocol):
    """A small, synchronous object store. Implementations must be safe to call from threads."""

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
        """Write ``data`` atomically and return its ETag.

        ``if_match``: write only if the current ETag equals it. ``if_none_match``: write only if the
        key does not exist yet. Either condition failing raises ``PreconditionFailed``.
        """
        ...

    def get(self, key: str) -> StoredObject | None:
        """The object's bytes and ETag, or ``None`` when the key does not exist."""
        ...

    def head(self, key: str) -> ObjectInfo | None:
        """The object's size, ETag and metadata without its body, or ``None``."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, using listings (never one request per key)."""
        ...

    def url_for(self, key: str) -> str:
        """Where a person or a storefront fetches the object (a file path, bucket or CDN URL)."""
        ...

    def describe(self) -> str:
        """A one-line, secret-free description for messages: ``s3://bucket/prefix at URL``."""
        ...

    def check_access(self) -> None:
        """Fail fast, before any image is paid for, when the store cannot be written."""
        ...
