"""Batch mode pays once per distinct request, as synchronous runs do: within a batch, identical
requests share one line; across runs, an image stored for the identical request is copied at
submission. Over real HTTP against the fake Files and Batches API, with the sample catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.batch.conftest import sync_image_requests
from tests.plugins.catalog_runs import colour_edits


def batch_run(catalog: Path, output: Path, *flags: str) -> int:
    command = ["run", str(catalog), "--output", str(output), "--template", "colour_edit"]
    return main([*command, "--via", "batch", "--wait", *flags])


def test_identical_requests_share_one_batch_line_and_every_slot_gets_the_image(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = colour_edits()
    distinct = {job.request_identity for job in jobs}
    assert len(distinct) < len(jobs)  # the sample's colour edits repeat across seasons
    output = tmp_path / "out"

    assert batch_run(sample_catalog, output) == 0, capsys.readouterr().out

    billed = fake_api.app.batches.billed
    assert len(billed) == len(distinct) and set(billed.values()) == {1}
    assert sync_image_requests(fake_api) == 0
    entries = load_latest(LocalDirectoryStore(output)).entries
    assert len(entries) == len(jobs)
    by_request: dict[str, set[str]] = {}
    for entry in entries.values():
        by_request.setdefault(entry.request, set()).add(entry.sha256)
        assert (output / entry.storage_key).is_file()
    # Every slot of one request holds that request's one image.
    assert len(by_request) == len(distinct) and all(len(s) == 1 for s in by_request.values())


def test_a_later_batch_run_copies_images_stored_for_identical_requests(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert batch_run(sample_catalog, output, "--season", "autumn") == 0, capsys.readouterr().out
    autumn = {job.request_identity for job in colour_edits(("autumn",))}
    assert len(fake_api.app.batches.billed) == len(autumn)
    capsys.readouterr()

    assert batch_run(sample_catalog, output) == 0
    printed = capsys.readouterr().out

    everything = colour_edits()
    copied_now = [j for j in everything if j.season != "autumn" and j.request_identity in autumn]
    assert copied_now and f"{len(copied_now)} copied now" in printed
    billed = fake_api.app.batches.billed
    # Across both runs, each distinct request was paid once.
    assert len(billed) == len({job.request_identity for job in everything})
    assert set(billed.values()) == {1}
    entries = load_latest(LocalDirectoryStore(output)).entries
    assert len(entries) == len(everything)
    autumn_images = {e.request: e.sha256 for e in entries.values() if e.season == "autumn"}
    for job in copied_now:
        entry = entries[(job.sku, job.colour.key, job.season, job.template)]
        assert entry.sha256 == autumn_images[job.request_identity]
        assert (output / entry.storage_key).is_file()


def test_a_failed_line_fails_the_jobs_that_shared_it(
    tmp_path: Path, fake_api: FakeImageApi, sample_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = [j for j in colour_edits() if j.sku == "JKT-001" and j.colour.key == "navy"]
    assert len(shared) == 2 and len({j.request_identity for j in shared}) == 1
    fake_api.configure(moderation_pattern="Alpine Down Jacket to Navy")
    output = tmp_path / "out"

    assert batch_run(sample_catalog, output, "--sku", "JKT-001") == 1
    printed = capsys.readouterr().out

    assert "4 generated, 2 failed" in printed
    copy_failed = "JKT-001 / Navy / winter / colour_edit: same request as JKT-001 / Navy / autumn"
    assert copy_failed in printed and "moderation" in printed
    assert len(fake_api.app.batches.created_lines()) == 3  # navy, black, red: once each
    entries = load_latest(LocalDirectoryStore(output)).entries
    assert {e.colour for e in entries.values()} == {"Black", "Red"}
