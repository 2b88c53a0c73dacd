"""Catalog file drop into a shared bucket: the same inbox rules, on a real S3 server (SeaweedFS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.definitions import build_inbox
from catalog_imagegen.flows.file_drop import poll_inbox
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.s3 import S3ObjectStore
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.ops.test_file_drop import BAD_ROWS, PipelineWithoutPrefect
from tests.plugins.ops import SAMPLE_CATALOG, SAMPLES, sample_head

pytestmark = pytest.mark.slow  # a real S3 server


@pytest.fixture
def s3_inbox(s3_env: SeaweedFS, s3_bucket: str) -> S3ObjectStore:
    inbox = build_inbox(f"s3://{s3_bucket}/inbox")
    assert isinstance(inbox, S3ObjectStore)
    return inbox


def drop(inbox: S3ObjectStore, name: str, data: bytes) -> None:
    inbox.put(name, data, content_type="text/csv")


def text_of(inbox: S3ObjectStore, key: str) -> str:
    stored = inbox.get(key)
    assert stored is not None, f"{key} is not in {inbox.describe()}"
    return stored.data.decode("utf-8-sig")


async def test_bucket_inbox_runs_each_file_once_and_files_it_with_its_report(
    s3_inbox: S3ObjectStore, tmp_path: Path
) -> None:
    run = PipelineWithoutPrefect(LocalDirectoryStore(tmp_path / "out"))
    drop(s3_inbox, "catalog.csv", SAMPLE_CATALOG.read_bytes() + BAD_ROWS.encode())
    drop(s3_inbox, "photo.csv", (SAMPLES / "photos" / "tee.png").read_bytes())
    drop(s3_inbox, "catalog.csv.part", b"still uploading")

    # Just uploaded: not settled yet (the object's Last-Modified is younger than the settle time).
    assert await poll_inbox(s3_inbox, run.store, run, settle=60) == []
    later = datetime.now(UTC) + timedelta(seconds=61)
    outcomes = await poll_inbox(s3_inbox, run.store, run, settle=60, now=later)
    assert sorted((o.file, o.status, o.moved_to) for o in outcomes) == [
        ("catalog.csv", "processed", "processed/catalog.csv"),
        ("photo.csv", "failed", "failed/photo.csv"),
    ]
    assert "Rejected catalog rows: 2" in text_of(s3_inbox, "processed/catalog.csv.report.txt")
    assert "BAD-1" in text_of(s3_inbox, "processed/catalog.csv.rejects.csv")
    reason = text_of(s3_inbox, "failed/photo.csv.report.txt")
    assert "is not a text (CSV) file" in reason

    drop(s3_inbox, "catalog copy.csv", SAMPLE_CATALOG.read_bytes() + BAD_ROWS.encode())
    outcomes = await poll_inbox(s3_inbox, run.store, run, settle=0)
    assert [(o.file, o.status) for o in outcomes] == [("catalog copy.csv", "duplicate")]
    assert len(run.runs) == 2  # the catalog and the photo; the copy was not run
    assert sorted(s3_inbox.list_keys("")) == [
        "catalog.csv.part",
        "failed/photo.csv",
        "failed/photo.csv.report.txt",
        "processed/catalog copy.csv",
        "processed/catalog copy.csv.report.txt",
        "processed/catalog.csv",
        "processed/catalog.csv.rejects.csv",
        "processed/catalog.csv.report.txt",
    ]


@pytest.mark.usefixtures("prefect_harness")
def test_watch_once_on_a_bucket_inbox(
    s3_inbox: S3ObjectStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for photo in (SAMPLES / "photos").iterdir():  # the catalog's relative photo paths
        s3_inbox.put(f"photos/{photo.name}", photo.read_bytes(), content_type="image/png")
    drop(s3_inbox, "catalog.csv", sample_head(3))  # every template, 72 images
    inbox_uri = f"s3://{s3_inbox.bucket}/inbox"
    out = tmp_path / "out"
    code = main(["watch", inbox_uri, "--once", "--output", str(out), "--settle", "0"])
    assert code == 0
    assert "catalog.csv: processed processed/catalog.csv" in capsys.readouterr().out
    report = text_of(s3_inbox, "processed/catalog.csv.report.txt")
    assert "storefront manifest: file://" in report
    assert "72 generated, 0 already stored, 0 failed" in report  # edits found their photos
    assert len(list((out / "manifests" / "runs").glob("*.json"))) == 1

    drop(s3_inbox, "again.csv", sample_head(3))
    assert main(["watch", inbox_uri, "--once", "--output", str(out), "--settle", "0"]) == 0
    assert "again.csv: duplicate" in capsys.readouterr().out
    assert len(list((out / "manifests" / "runs").glob("*.json"))) == 1


@pytest.mark.usefixtures("prefect_harness")
def test_watch_stores_into_the_bucket_its_store_flags_name(
    s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "tees.csv").write_text(
        "sku,title,category,colours,seasons\nT-1,Tee,Tops,Navy,summer\n"
    )
    flags = ["--bucket", s3_bucket, "--prefix", "shop", "--settle", "0"]
    assert main(["watch", str(inbox), "--once", *flags]) == 0
    latest = load_latest(S3ObjectStore(s3_bucket, "shop"))
    assert latest.entries and {e.sku for e in latest.entries.values()} == {"T-1"}
    assert not (tmp_path / "output").exists()
