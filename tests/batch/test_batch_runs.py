"""Batch mode end to end: the command against the fake Files and Batches API over real HTTP.

Each test runs ``catalog-imagegen`` in this process (``main([...])``) with the fake serving on a
loopback port; what the fake billed is compared with what the store holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.generation.batch.collect import CollectedBatch
from catalog_imagegen.generation.batch.runs import batch_context, collect_once, uses_batch
from catalog_imagegen.generation.batch.submissions import load_submissions
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE
from catalog_imagegen.settings import Settings
from catalog_imagegen.settings_file import SettingsFileError, load_settings, load_settings_with
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from catalog_imagegen.testing.fake_image_api.batch_lines import LineError
from tests.batch.conftest import latest_keys, stored_images, sync_image_requests
from tests.conftest import SAMPLE_CATALOG
from tests.plugins.catalog_runs import write_catalog, write_tiny_templates


@pytest.fixture
def small_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = write_tiny_templates(tmp_path / "templates")
    card = folder / "card.j2"  # a size gpt-image-2 takes: the fake checks lines as the API does
    card.write_text(card.read_text().replace('"64x64"', '"1024x1024"'))
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(folder))
    skus = [f"SKU-{n}" for n in range(4)]
    return write_catalog(tmp_path / "catalog.csv", skus, ["navy", "red"], ["winter"])


def run_batch(catalog: Path, output: Path, *flags: str) -> int:
    return main(["run", str(catalog), "--output", str(output), "--via", "batch", *flags])


def test_two_batch_runs_submit_each_job_once_then_collect_publishes(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(batch_delay_s=3600)
    assert run_batch(small_catalog, output) == 0
    first = capsys.readouterr().out
    assert run_batch(small_catalog, output) == 0
    second = capsys.readouterr().out

    assert "8 submitted in 1 batches" in first
    assert "8 already in open batches, 0 submitted" in second
    assert set(fake_api.app.batches.created_lines().values()) == {1}
    assert len(fake_api.app.batches.created_lines()) == 8
    assert main(["status", "--output", str(output)]) == 0
    assert "in batch batch_" in capsys.readouterr().out

    fake_api.configure(batch_delay_s=0)
    assert main(["collect", "--wait", "--output", str(output)]) == 0
    assert len(stored_images(output)) == 8
    assert len(latest_keys(output)) == 8
    assert set(fake_api.app.batches.billed.values()) == {1}
    assert sync_image_requests(fake_api) == 0
    # The ledger's actual cost is the reported tokens at batch prices: half the synchronous.
    [run_file] = (output / "manifests" / "runs").glob("*.json")
    rows = json.loads(run_file.read_text())["jobs"]
    for row in rows:
        sync_cost = DEFAULT_PRICE_TABLE.actual("gpt-image-2", row["usage"])
        assert sync_cost and row["cost"]["actual"] == pytest.approx(sync_cost / 2, abs=1e-6)


def test_expired_batch_keeps_half_and_resubmit_sends_only_the_rest(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(batch_expire_after=0.5)
    assert run_batch(small_catalog, output, "--wait") == 1
    assert "(expired)" in capsys.readouterr().out
    assert len(stored_images(output)) == 4
    first_billed = set(fake_api.app.batches.billed)

    fake_api.configure(batch_expire_after=None)
    assert main(["collect", "--resubmit", "--wait", "--output", str(output)]) == 0
    resent = fake_api.app.batches.created_lines()
    assert len(stored_images(output)) == 8
    assert len(latest_keys(output)) == 8
    # The second batch held only the four jobs the first left undone; nothing was paid twice.
    sent_twice = {key for key, count in resent.items() if count == 2}
    assert sum(resent.values()) == 12 and len(sent_twice) == 4
    assert not sent_twice & first_billed
    assert set(fake_api.app.batches.billed.values()) == {1}
    assert len(fake_api.app.batches.billed) == 8

    # A later batch run has nothing to send.
    assert run_batch(small_catalog, output) == 0
    assert "8 already stored" in capsys.readouterr().out


def test_failed_lines_fail_their_jobs_with_the_providers_reason(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(moderation_pattern="SKU-1 ")
    assert run_batch(small_catalog, output, "--wait") == 1
    printed = capsys.readouterr().out
    assert "6 generated, 2 failed" in printed
    assert "moderation" in printed and "SKU-1 / navy" in printed
    run = json.loads(next((output / "manifests" / "runs").glob("*.json")).read_text())
    failed = [row for row in run["jobs"] if row["status"] == "failed"]
    assert len(failed) == 2 and all(row["cost"]["estimated"] == 0 for row in failed)


def test_a_batch_that_fails_validation_reports_line_errors_and_pays_nothing(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    # The provider stops serving the model between the command's pre-flight check and the
    # batch's validation: every line fails it.
    fake_api.configure(batch_delay_s=3600)
    assert run_batch(small_catalog, output) == 0
    [batch] = fake_api.app.batches.batches.values()
    fake_api.configure(models=["gpt-image-1"], batch_delay_s=0)
    batch.lines, batch.errors = (
        [],
        [LineError(n, "Invalid value: 'gpt-image-2'.", "invalid_value", "model") for n in (1, 2)],
    )
    batch.status = "failed"
    assert main(["collect", "--output", str(output)]) == 1
    printed = capsys.readouterr().out
    assert "failed validation, nothing was billed: line 1:" in printed
    assert "gpt-image-2" in printed
    assert not fake_api.app.batches.billed
    assert not (output / "images").exists()


def test_cancel_keeps_nothing_unmade_and_lists_the_rest_as_not_done(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(batch_delay_s=3600)
    assert run_batch(small_catalog, output) == 0
    run_id = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["cancel", run_id, "--output", str(output)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert main(["collect", "--output", str(output)]) == 1
    assert "(cancelled) of run" in (printed := capsys.readouterr().out)
    assert "0 generated, 0 failed, 8 not done" in printed
    ((submission, _),) = load_submissions(LocalDirectoryStore(output))
    assert submission.batch_status == "cancelled" and len(submission.not_done) == 8


def test_a_command_killed_between_create_and_record_does_not_resubmit(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(batch_create_stall_s=60, batch_delay_s=3600)
    command = [sys.executable, "-m", "catalog_imagegen.cli.main", "run", str(small_catalog)]
    command += ["--output", str(output), "--via", "batch"]
    child = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not fake_api.app.batches.batches and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_api.app.batches.batches, "the command never created its batch"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    ((left, _),) = load_submissions(LocalDirectoryStore(output))
    assert left.state == "submitting" and left.batch_id is None

    fake_api.configure(batch_create_stall_s=0, batch_delay_s=0)
    assert run_batch(small_catalog, output, "--wait") == 0
    assert "8 already in open batches, 0 submitted" in capsys.readouterr().out
    assert len(fake_api.app.batches.batches) == 1
    assert set(fake_api.app.batches.billed.values()) == {1}
    assert len(stored_images(output)) == 8


def test_dry_run_shows_synchronous_and_batch_estimates_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SAMPLE_CATALOG), "--dry-run", "--output", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    sync = float(printed.split("  estimated cost $", 1)[1].split()[0])
    batch = float(printed.split("results within 24 h): $", 1)[1].split()[0])
    assert sync > 0 and batch == pytest.approx(sync / 2, abs=0.01)


@pytest.mark.parametrize(
    ("via", "rpm", "planned", "batch"),
    [
        ("batch", None, 1, True),
        ("sync", 5, 100_000, False),
        ("auto", 5, 601, True),  # 601 images at 5 a minute: just over 2 hours
        ("auto", 5, 600, False),
        ("auto", None, 100_000, False),  # no rate known: synchronous
    ],
)
def test_auto_uses_batch_when_the_plan_outlasts_the_threshold(
    via: str, rpm: int | None, planned: int, batch: bool
) -> None:
    assert uses_batch(via, Settings(rpm=rpm), planned) is batch


def test_via_comes_from_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "catalog-imagegen.toml").write_text('via = "batch"\nbatch_poll_seconds = 30\n')
    settings = load_settings(cwd=tmp_path)
    assert (settings.via, settings.batch_poll_seconds) == ("batch", 30.0)
    (tmp_path / "catalog-imagegen.toml").write_text('via = "later"\n')
    with pytest.raises(SettingsFileError, match="via must be one of sync, batch, auto"):
        load_settings(cwd=tmp_path)


def test_a_backfill_by_batch_skips_jobs_in_open_batches_unless_forced(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    fake_api.configure(batch_delay_s=3600)
    assert run_batch(small_catalog, output) == 0
    backfill = ["backfill", str(small_catalog), "--sku", "SKU-1", "--output", str(output)]
    assert main([*backfill, "--via", "batch"]) == 0
    assert "2 already in open batches, 0 submitted" in capsys.readouterr().out
    assert main([*backfill, "--via", "batch", "--force"]) == 0
    assert "2 submitted in 1 batches" in capsys.readouterr().out
    assert sum(fake_api.app.batches.created_lines().values()) == 10


def test_collectors_running_at_once_publish_each_batch_once(
    tmp_path: Path, fake_api: FakeImageApi, small_catalog: Path
) -> None:
    output = tmp_path / "out"
    assert run_batch(small_catalog, output) == 0
    context = batch_context(load_settings_with(output=str(output)))

    async def two_collectors() -> list[list[CollectedBatch]]:
        return list(
            await asyncio.gather(
                collect_once(context, resubmit=False), collect_once(context, resubmit=False)
            )
        )

    first, second = asyncio.run(two_collectors())
    assert len(first) + len(second) == 1
    assert len(list((output / "manifests" / "runs").glob("*.json"))) == 1
    assert len(stored_images(output)) == 8
