"""Batch mode against a synchronous run, and chained variants, over real HTTP to the fake API.

The synchronous run goes through the ``catalog_refresh`` flow under the session's Prefect harness;
the batch run through the command. Both write to their own folder; their storefront manifests
must name the same images.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.generation.batch.submissions import load_submissions
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.batch.conftest import latest_keys, stored_images, sync_image_requests
from tests.plugins.ops import sample_head
from tests.test_variants import CATALOG, CHAIN_TEMPLATE, SAMPLE_PHOTO, SEASONS


@pytest.mark.usefixtures("prefect_harness")
def test_sample_catalog_by_batch_makes_what_a_synchronous_run_makes(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_batch, by_sync = tmp_path / "batch-out", tmp_path / "sync-out"

    code = main(["run", str(sample_catalog), "--output", str(by_batch), "--via", "batch", "--wait"])
    assert code == 0, capsys.readouterr().out
    assert sync_image_requests(fake_api) == 0
    billed = fake_api.app.batches.billed
    assert set(billed.values()) == {1}  # every line delivered (and paid) once
    assert len(stored_images(by_batch)) == 288

    code = main(["run", str(sample_catalog), "--output", str(by_sync), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    # Both send identical requests once and copy the image into the other slots.
    assert len(billed) == sync_image_requests(fake_api) < 288
    assert latest_keys(by_batch) == latest_keys(by_sync)
    batch_entries = load_latest(LocalDirectoryStore(by_batch)).entries
    sync_entries = load_latest(LocalDirectoryStore(by_sync)).entries
    for slot, entry in batch_entries.items():
        assert (entry.sha256, entry.width, entry.prompt, entry.renditions) == (
            sync_entries[slot].sha256,
            sync_entries[slot].width,
            sync_entries[slot].prompt,
            sync_entries[slot].renditions,
        )


def test_chained_variants_edit_their_collected_base_images(
    tmp_path: Path,
    fake_api: FakeImageApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "card.j2").write_text(CHAIN_TEMPLATE)
    (templates / "seasons.toml").write_text(SEASONS)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "jacket.png").write_bytes(SAMPLE_PHOTO.read_bytes())
    (tmp_path / "catalog.csv").write_text(CATALOG)
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates))
    fake_api.configure(wrong_colour_pattern="from Yellow to Olive", wrong_colour="magenta")
    output = tmp_path / "out"

    code = main(["run", "catalog.csv", "--output", str(output), "--via", "batch", "--wait"])
    assert code == 0, capsys.readouterr().out

    # Bases first (a generation batch and an edit batch for the photo), variants in later ones.
    batches = sorted(fake_api.app.batches.batches.values(), key=lambda b: b.created_at)
    lines = [(batch.id, line.call) for batch in batches for line in batch.lines]
    base_batches = {b for b, call in lines if "Change the colour" not in call.prompt}
    variant_calls = [call for b, call in lines if "Change the colour" in call.prompt]
    assert len(lines) - len(variant_calls) == 3 and len(variant_calls) == 6
    assert [b.id for b in batches[: len(base_batches)]] == sorted(
        base_batches, key=[b.id for b in batches].index
    )
    entries = load_latest(LocalDirectoryStore(output)).entries
    stored = {e.storage_key: (output / e.storage_key).read_bytes() for e in entries.values()}
    by_prompt = {call.prompt: call for call in variant_calls}
    for entry in entries.values():
        if entry.base is None:
            continue
        sent = by_prompt[entry.prompt].images[0]  # the file the edit line referred to
        assert hashlib.sha256(sent).digest() == hashlib.sha256(stored[entry.base]).digest()
    assert sum(1 for e in entries.values() if e.base) == 6
    # Colour QA ran on the collected images as on synchronous ones.
    flagged = {slot for slot, e in entries.items() if e.flags}
    assert flagged == {("TEE-1", "olive", "winter", "card")}
    assert sync_image_requests(fake_api) == 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_synchronous_run_does_not_send_jobs_an_open_batch_holds(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample_catalog.write_bytes(sample_head(3))  # three products, every template: 72 images
    output = tmp_path / "out"
    fake_api.configure(batch_delay_s=3600)
    batch_run = ["run", str(sample_catalog), "--output", str(output), "--template", "product_card"]
    assert main([*batch_run, "--via", "batch"]) == 0

    assert main(["run", str(sample_catalog), "--output", str(output), "--no-progress"]) == 0
    sent = {r.prompt for r in fake_api.requests if r.path in ("/v1/images/generations",)}
    batched = {line.call.prompt for b in fake_api.app.batches.batches.values() for line in b.lines}
    assert sent and batched and not sent & batched


@pytest.mark.usefixtures("prefect_harness")
async def test_the_seasonal_refresh_submits_batches_and_the_served_poller_collects_them(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path
) -> None:
    from catalog_imagegen.flows.batches import batch_collect
    from catalog_imagegen.flows.service import seasonal_refresh

    output = tmp_path / "out"
    state = await seasonal_refresh(
        catalog=str(sample_catalog), on="2026-11-30", output=str(output), return_state=True
    )
    assert state.is_completed() and "submitted in" in (state.message or "")
    assert sync_image_requests(fake_api) == 0
    submitted = sum(fake_api.app.batches.created_lines().values())
    assert submitted > 0

    jobs = sum(len(s.jobs) for s, _ in load_submissions(LocalDirectoryStore(output)))

    collected = await batch_collect(output=str(output), return_state=True)
    assert collected.is_completed(), collected.message
    assert len(latest_keys(output)) == jobs > submitted == len(fake_api.app.batches.billed)
    assert sync_image_requests(fake_api) == 0
