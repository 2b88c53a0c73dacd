"""The local directory store: the default output, a folder a merchandiser can open.

Objects are written to a temporary name in the same folder and renamed into place, so a crash
never leaves half an image or half a manifest. Metadata sits beside each object in a hidden
``.meta`` tree. Conditional writes are serialized by a file lock (so separate processes, and
workers sharing a folder, are serialized too), giving the same compare-and-swap the S3 store
gets from the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import posixpath
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from catalog_imagegen.storage.base import (
    ObjectInfo,
    PreconditionFailed,
    StoreAccessDenied,
    StoredObject,
    StoreError,
)

META_DIR = ".meta"


class LocalDirectoryStore:
    """``public_base_url`` is where a web server serves the folder, so ``url_for`` gives URLs a
    storefront or Shopify can fetch; without it, ``file://`` URLs."""

    def __init__(self, root: str | Path, *, public_base_url: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"folder {self.root}"

    def check_access(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create {self.describe()}: {error.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise StoreAccessDenied(f"{self.describe()} is not writable")

    def url_for(self, key: str) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key.lstrip('/'), safe='/~')}"
        return self._path(key).as_uri()

    def path_for(self, key: str) -> Path:
        return self._path(key)

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
        path = self._path(key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        meta = {
            "content_type": content_type,
            "cache_control": cache_control,
            "metadata": dict(metadata or {}),
            "etag": etag,
        }
        try:
            if if_match is None and not if_none_match:
                self._write(key, path, data, meta)
                return etag
            with self._locked():
                current = self._etag(path)
                if if_none_match and current is not None:
                    raise PreconditionFailed(f"{key} already exists in {self.describe()}")
                if if_match is not None and current != if_match:
                    raise PreconditionFailed(f"{key} changed in {self.describe()}")
                self._write(key, path, data, meta)
        except OSError as error:
            raise StoreError(f"cannot write {key} to {self.describe()}: {error.strerror}") from None
        return etag

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(
                f"cannot read {key} from {self.describe()}: {error.strerror}"
            ) from None
        return StoredObject(data=data, etag=hashlib.md5(data, usedforsecurity=False).hexdigest())

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        meta = self._read_meta(key)
        etag = meta.get("etag") or self._etag(path) or ""
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=str(etag),
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            content_type=meta.get("content_type"),
            cache_control=meta.get("cache_control"),
            metadata=meta.get("metadata") or {},
        )

    def delete(self, key: str) -> None:
        """Remove an object and its metadata; a missing key is not an error (as in S3)."""
        try:
            self._path(key).unlink(missing_ok=True)
            self._path(f"{META_DIR}/{key}.json").unlink(missing_ok=True)
        except OSError as error:
            reason = error.strerror
            raise StoreError(f"cannot delete {key} from {self.describe()}: {reason}") from None

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix) if prefix.strip("/") else self.root
        start = base if base.is_dir() else base.parent
        for folder, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith("."):
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    yield key

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.root / META_DIR / ".lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _path(self, key: str) -> Path:
        # Lexical, not resolve(): resolving stats every folder of the path, on every image.
        normal = posixpath.normpath(key.replace("\\", "/")) if key else "."
        if normal.startswith(("/", "../")) or normal == "..":
            raise StoreError(f"key {key!r} escapes {self.describe()}")
        return self.root if normal == "." else self.root / normal

    def _write(self, key: str, path: Path, data: bytes, meta: Mapping[str, object]) -> None:
        meta_path = self._path(f"{META_DIR}/{key}.json")
        _atomic_write(meta_path, json.dumps(meta).encode())
        _atomic_write(path, data)

    def _read_meta(self, key: str) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(self._path(f"{META_DIR}/{key}.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return loaded

    def _etag(self, path: Path) -> str | None:
        try:
            return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        except FileNotFoundError:
            return None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
