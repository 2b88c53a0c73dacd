"""A draft that only adds marketplace channels: the same template version as the current
template, so one image serves both, and each column shows its own channels' renditions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.lab.lab_setup import run_command, write_lab_catalog

KEY = "sk-proj-LABCHANNELS-9f8e7d6c5b4a"
CHANNELS = {"amazon_main", "zalando"}


def write_channels_draft(folder: Path, templates: Path) -> Path:
    current = (templates / "product_card.j2").read_text()
    draft = current.replace("n = 1\n", 'n = 1\nchannels = ["amazon_main", "zalando"]\n', 1)
    assert draft != current
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "product_card.amazon.j2"
    path.write_text(draft)
    return path


def channels_of(image: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The channels of an image's renditions, and of its ``noncompliant`` flags."""
    entry = image["entry"]
    flagged = {f["channel"] for f in entry["flags"] if f.get("kind") == "noncompliant"}
    return set(entry.get("renditions") or {}), flagged


def test_a_channels_only_draft_shows_its_own_renditions_from_the_one_image_it_shares(
    tmp_path: Path, templates_copy: Path
) -> None:
    catalog = write_lab_catalog(tmp_path)
    draft = write_channels_draft(tmp_path / "drafts", templates_copy)
    output = tmp_path / "output"
    with FakeImageApi(api_key=KEY) as api:
        done = run_command(
            tmp_path,
            templates_copy,
            "lab",
            str(draft),
            "--catalog",
            str(catalog),
            "--output",
            str(output),
            "--sku",
            "JKT-001",
            OPENAI_API_KEY=KEY,
            OPENAI_BASE_URL=api.base_url,
        )
        requests = [r for r in api.requests if r.path.endswith("/images/generations")]

    assert done.code == 0, done.stdout + done.stderr
    (path,) = (output / "lab" / "runs").glob("*/manifest.json")
    document = json.loads(path.read_text())
    current, drafted = (version["name"] for version in document["versions"])
    (slot,) = document["slots"]
    assert len(requests) == 1  # one image, made and paid once
    images = slot["images"]
    assert images[current]["entry"]["sha256"] == images[drafted]["entry"]["sha256"]

    current_renditions, current_flagged = channels_of(images[current])
    draft_renditions, draft_flagged = channels_of(images[drafted])
    assert not current_renditions & CHANNELS and not current_flagged & CHANNELS
    assert draft_renditions == CHANNELS
    assert draft_flagged <= CHANNELS
    estimated = [images[name]["cost"]["estimated"] for name in (current, drafted)]
    assert sorted(estimated) == [0.0, document["cost"]["estimated"]]
    assert document["cost"]["estimated"] > 0
