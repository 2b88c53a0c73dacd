"""Where a store is, written the way the command line takes it back (``--output``)."""

from __future__ import annotations

import shlex

from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.s3 import S3ObjectStore


def output_location(store: ObjectStore) -> str | None:
    """The folder, or ``s3://bucket/prefix``; None for a store the command line cannot name."""
    if isinstance(store, LocalDirectoryStore):
        return str(store.root)
    if isinstance(store, S3ObjectStore):
        return f"s3://{store.bucket}/{store.prefix}" if store.prefix else f"s3://{store.bucket}"
    return None


def approve_command(store: ObjectStore, run_id: str) -> str:
    """The command that publishes a held run, with the output it was written to."""
    location = output_location(store)
    where = f" --output {shlex.quote(location)}" if location else ""
    return f"catalog-imagegen approve {run_id}{where}"
