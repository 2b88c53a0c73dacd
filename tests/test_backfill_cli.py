"""The ``backfill --dry-run``, ``run --dry-run`` and ``status`` commands (no Prefect needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.generation.outcomes import JobOutcome
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.storage.base import ObjectStore
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.s3 import S3ObjectStore
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.plugins.catalog_runs import write_catalog

pytestmark = pytest.mark.usefixtures("tiny_templates")


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    skus = ["JKT-001", "JKT-002", "TEE-001"]
    return write_catalog(tmp_path / "catalog.csv", skus, ["Navy", "Red"], ["winter", "summer"])


def record_run(
    catalog: Path, output: Path | ObjectStore, tiny_templates: Path, run_id: str
) -> None:
    """A finished run whose first job failed and the rest were generated (no provider needed)."""
    prepared = prepare_run(
        str(catalog), load_templates(tiny_templates), load_seasons(tiny_templates), model="m"
    )
    outcomes = [JobOutcome(prepared.jobs[0], "failed", "moderation_blocked", attempts=1)]
    outcomes += [JobOutcome(job, "not_dispatched", "--max-images 0") for job in prepared.jobs[1:]]
    summary = RunSummary(run_id=run_id, catalog=str(catalog), output="", preview=True)
    summary.selection = {"skus": ["JKT-*"]}
    store = output if not isinstance(output, Path) else LocalDirectoryStore(output)
    finish_run(
        store, summary, outcomes, [], started_at="2026-01-01T00:00:00", provider="p", model="m"
    )


def test_backfill_dry_run_prints_the_slice_by_state(
    catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skus = tmp_path / "skus.txt"
    skus.write_text("JKT-001\n# the tees\nTEE-*\n")
    code = main(
        ["backfill", str(catalog), "--output", str(tmp_path / "out"), "--dry-run",
         "--sku", f"@{skus}", "--season", "winter"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Dry run: 4 jobs selected (4 new, 0 done, 0 changed, 0 failed last time)" in out
    assert "would generate 4, skip 0 (already stored), not dispatch 0" in out
    assert not (tmp_path / "out" / "images").exists()


def test_run_dry_run_prices_the_jobs_and_applies_max_images(
    catalog: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"gpt-image-2": {"per_image": {"low/64x64": 0.1}}}}))
    monkeypatch.setenv("CATALOG_IMAGEGEN_PRICES_FILE", str(prices))
    code = main(["run", str(catalog), "--output", str(tmp_path / "out"), "--dry-run",
                 "--max-images", "5"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "would generate 5, skip 0 (already stored), not dispatch 7" in out
    assert "estimated cost $0.50" in out
    assert "would stop dispatching: --max-images 5 reached" in out


def test_only_failed_dry_run_selects_the_last_runs_failures(
    catalog: Path, tmp_path: Path, tiny_templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    record_run(catalog, output, tiny_templates, "20260101T000000Z-aaaaaa")
    code = main(["backfill", str(catalog), "--output", str(output), "--dry-run", "--only-failed"])
    assert code == 0
    assert "Dry run: 1 jobs selected (0 new, 0 done, 0 changed, 1 failed last time)" in (
        capsys.readouterr().out
    )
    assert main(["backfill", str(catalog), "--output", str(output), "--dry-run",
                 "--only-failed", "no-such-run"]) == 2  # fmt: skip


def test_status_lists_the_last_runs_newest_first(
    catalog: Path, tmp_path: Path, tiny_templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    assert main(["status", "--output", str(output)]) == 0
    assert "no runs yet" in capsys.readouterr().out
    record_run(catalog, output, tiny_templates, "20260101T000000Z-aaaaaa")
    record_run(catalog, output, tiny_templates, "20260102T000000Z-bbbbbb")
    assert main(["status", "--output", str(output), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["run"] for row in rows] == ["20260102T000000Z-bbbbbb", "20260101T000000Z-aaaaaa"]
    assert rows[0]["failed"] == 1
    assert rows[0]["not_dispatched"] == 11
    assert rows[0]["selection"] == "skus=JKT-*"
    assert main(["status", "--output", str(output), "--limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "0 done, 0 skipped, 1 failed, 11 not dispatched" in text
    assert "aaaaaa" not in text


@pytest.mark.slow  # a real S3 server
def test_status_and_backfill_read_the_bucket_named_by_the_run_flags(
    catalog: Path,
    tiny_templates: Path,
    s3_env: SeaweedFS,
    s3_bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_run(catalog, S3ObjectStore(s3_bucket, "shop"), tiny_templates, "20260101T000000Z-aaaaaa")
    assert main(["status", "--bucket", s3_bucket, "--prefix", "shop"]) == 0
    assert "20260101T000000Z-aaaaaa" in capsys.readouterr().out
    assert main(["status", "--output", f"s3://{s3_bucket}/shop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == 1
    assert main(["status", "--bucket", s3_bucket, "--prefix", "elsewhere"]) == 0
    assert f"no runs yet in s3://{s3_bucket}/elsewhere" in capsys.readouterr().out

    flags = ["--bucket", s3_bucket, "--prefix", "shop", "--dry-run", "--only-failed"]
    assert main(["backfill", str(catalog), *flags]) == 0
    assert "1 jobs selected (0 new, 0 done, 0 changed, 1 failed last time)" in (
        capsys.readouterr().out
    )
