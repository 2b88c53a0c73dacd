"""Fixtures for runs and backfills: tiny templates, synthetic catalogs, a recording provider.

Load with ``-p tests.plugins.catalog_runs`` (or ``pytest_plugins`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import csv
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

# Hermetic Prefect before Prefect is imported (the main conftest does the same).
_HOME = Path(tempfile.mkdtemp(prefix="catalog-runs-tests-"))
os.environ.setdefault("PREFECT_HOME", str(_HOME / "prefect"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.pop("OPENAI_API_KEY", None)

from catalog_imagegen.generation.providers.base import (  # noqa: E402
    ImageRequest,
    JobFailed,
    ProviderResult,
)
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider  # noqa: E402
from catalog_imagegen.pipeline import prepare_run  # noqa: E402
from catalog_imagegen.planning.jobs import Job  # noqa: E402
from catalog_imagegen.planning.templates import load_seasons, load_templates  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# 64x64 previews: fast to render and store, same pipeline as full-size images.
TINY_CARD = """{#-
description = "Tiny square card for tests and benchmarks"
size = "64x64"
quality = "low"
output_format = "png"
-#}
Card of {{ title }} in {{ colour }} for {{ season.label }} ({{ sku }}).
"""


def colour_edits(seasons: tuple[str, ...] = ()) -> list[Job]:
    """The sample catalog's ``colour_edit`` jobs: their prompts do not name the season, so a
    product x colour's seasons are identical requests."""
    templates = REPO / "templates"
    return prepare_run(
        str(REPO / "catalog_samples" / "catalog.csv"),
        load_templates(templates),
        load_seasons(templates),
        model="gpt-image-2",
        template_names=["colour_edit"],
        season_names=seasons,
    ).jobs


def write_tiny_templates(folder: Path, names: Sequence[str] = ("card",)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seasons.toml").write_text((REPO / "templates" / "seasons.toml").read_text())
    for name in names:
        (folder / f"{name}.j2").write_text(TINY_CARD.replace("Card of", f"{name} of"))
    return folder


def write_catalog(
    path: Path, skus: Sequence[str], colours: Sequence[str], seasons: Sequence[str]
) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours", "seasons"])
        for sku in skus:
            writer.writerow([sku, f"Item {sku}", "Tests", "|".join(colours), "|".join(seasons)])
    return path


class RecordingProvider(OfflinePreviewProvider):
    """Offline previews that remember every prompt requested and fail the ones told to."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.prompts: list[str] = []
        self.fail_when: tuple[str, ...] = ()
        # When set, requests wait until the test opens the gate (to hold a run mid-flight).
        self.gate: threading.Event | None = None

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        self.prompts.append(request.prompt)
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 60)
        if any(text in request.prompt for text in self.fail_when):
            raise JobFailed("moderation_blocked: injected by the test")
        return await super().create_images(request)

    async def aclose(self) -> None:  # one provider serves several runs in a test
        return None


@pytest.fixture
def tiny_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_tiny_templates(tmp_path / "templates")
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(folder))
    return folder


@pytest.fixture
def recording_provider(monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    """Every flow in the test uses this provider (through the one wiring function)."""
    provider = RecordingProvider()
    monkeypatch.setattr(
        "catalog_imagegen.definitions.build_provider", lambda settings, seasons: provider
    )
    return provider
