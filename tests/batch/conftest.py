"""What the batch tests share: the fake Files and Batches API (in-process, real HTTP on
loopback) as the command's endpoint, a copy of the sample catalog, and what a user checks after a
batch run: the images stored, the storefront manifest, and the synchronous requests (none)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.conftest import SAMPLE_CATALOG

KEY = "sk-batch-test-key"
SYNC_IMAGE_PATHS = ("/v1/images/generations", "/v1/images/edits")


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImageApi]:
    with FakeImageApi(api_key=KEY) as api:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("CATALOG_IMAGEGEN_BATCH_POLL_SECONDS", "0.05")
        yield api


@pytest.fixture
def sample_catalog(tmp_path: Path) -> Path:
    """A copy of the bundled sample catalog, photos included."""
    copied = tmp_path / "sample" / "catalog.csv"
    shutil.copytree(SAMPLE_CATALOG.parent, copied.parent)
    return copied


def stored_images(output: Path) -> list[Path]:
    return sorted(p for p in (output / "images").rglob("*") if p.is_file())


def sync_image_requests(api: FakeImageApi) -> int:
    return sum(1 for r in api.requests if r.path in SYNC_IMAGE_PATHS)


def latest_keys(output: Path) -> dict[tuple[str, str, str, str], str]:
    entries = load_latest(LocalDirectoryStore(output)).entries
    return {slot: entry.storage_key for slot, entry in entries.items()}
