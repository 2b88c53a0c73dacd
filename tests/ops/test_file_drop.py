"""Catalog file drop: one run per new file, never two for the same bytes, reports beside files."""

from __future__ import annotations

import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.cli.main import main
from catalog_imagegen.flows.file_drop import RunResult, poll_inbox
from catalog_imagegen.storage.local import LocalDirectoryStore
from tests.ops.run_building import run_pipeline
from tests.plugins.ops import SAMPLE_CATALOG, SAMPLES, sample_head

BAD_ROWS = "BAD-1,Broken,Outerwear,Navy,monsoon,,wool,unisex,Northwind\n,No SKU,Tops,Red,,,,,\n"


class PipelineWithoutPrefect:
    """Runs a dropped catalog through the real steps (no Prefect), counting the runs."""

    def __init__(self, store: LocalDirectoryStore) -> None:
        self.store = store
        self.runs: list[str] = []

    async def __call__(self, path: str) -> RunResult:
        run_id = f"run-{len(self.runs) + 1}"
        self.runs.append(path)
        try:
            summary, _ = await run_pipeline(
                Path(path), self.store, run_id, templates=["product_card"]
            )
        except CatalogError as error:
            return RunResult(None, str(error))
        return RunResult(summary)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(SAMPLES / "photos", folder / "photos")  # photos the catalog refers to
    return folder


def drop(inbox: Path, name: str, data: bytes, age: float = 60.0) -> Path:
    path = inbox / name
    path.write_bytes(data)
    past = time.time() - age
    os.utime(path, (past, past))
    return path


async def poll(inbox: Path, run: PipelineWithoutPrefect, settle: float = 10) -> list[str]:
    outcomes = await poll_inbox(LocalDirectoryStore(inbox), run.store, run, settle=settle)
    return [f"{o.file}:{o.status}" for o in outcomes]


async def test_same_catalog_dropped_twice_runs_once(inbox: Path, tmp_path: Path) -> None:
    run = PipelineWithoutPrefect(LocalDirectoryStore(tmp_path / "out"))
    drop(inbox, "catalog.csv", SAMPLE_CATALOG.read_bytes())
    assert await poll(inbox, run) == ["catalog.csv:processed"]
    images = sorted((tmp_path / "out" / "images").rglob("*.png"))

    drop(inbox, "catalog copy.csv", SAMPLE_CATALOG.read_bytes())
    assert await poll(inbox, run) == ["catalog copy.csv:duplicate"]
    assert len(run.runs) == 1
    assert sorted((tmp_path / "out" / "images").rglob("*.png")) == images  # no new images
    assert len(list((tmp_path / "out" / "manifests" / "runs").glob("*.json"))) == 1
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == [
        "catalog copy.csv",
        "catalog copy.csv.report.txt",
        "catalog.csv",
        "catalog.csv.report.txt",
    ]
    report = (inbox / "processed" / "catalog.csv.report.txt").read_text()
    assert "review page: file://" in report
    assert "run manifest: file://" in report
    assert "not run again" in (inbox / "processed" / "catalog copy.csv.report.txt").read_text()
    assert not (inbox / "catalog.csv").exists()


async def test_bad_rows_go_to_processed_with_rejects_and_unreadable_to_failed(
    inbox: Path, tmp_path: Path
) -> None:
    run = PipelineWithoutPrefect(LocalDirectoryStore(tmp_path / "out"))
    drop(inbox, "bad-rows.csv", SAMPLE_CATALOG.read_bytes() + BAD_ROWS.encode())
    drop(inbox, "photo.csv", (SAMPLES / "photos" / "tee.png").read_bytes(), age=120)
    assert await poll(inbox, run) == ["photo.csv:failed", "bad-rows.csv:processed"]

    rejects = (inbox / "processed" / "bad-rows.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "monsoon" in rejects
    assert "BAD-1" in rejects
    report = (inbox / "processed" / "bad-rows.csv.report.txt").read_text()
    assert "Rejected catalog rows: 2" in report
    failed = (inbox / "failed" / "photo.csv.report.txt").read_text()
    assert "is not a text (CSV) file" in failed
    assert (inbox / "failed" / "photo.csv").exists()


async def test_files_still_being_copied_wait(inbox: Path, tmp_path: Path) -> None:
    run = PipelineWithoutPrefect(LocalDirectoryStore(tmp_path / "out"))
    drop(inbox, "catalog.csv.part", SAMPLE_CATALOG.read_bytes())  # a copy tool's temporary name
    drop(inbox, "~$catalog.csv", b"lock")  # a spreadsheet's lock file
    drop(inbox, ".catalog.csv.swp", b"x")
    fresh = drop(inbox, "fresh.csv", SAMPLE_CATALOG.read_bytes()[:200], age=0)  # growing
    assert await poll(inbox, run) == []
    assert run.runs == []

    fresh.write_bytes(SAMPLE_CATALOG.read_bytes())  # the copy finishes ...
    now = datetime.now(UTC)
    outcomes = await poll_inbox(
        LocalDirectoryStore(inbox), run.store, run, settle=10, now=now + timedelta(seconds=11)
    )  # ... and stays unchanged for the settle time
    assert [(o.file, o.status) for o in outcomes] == [("fresh.csv", "processed")]


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_watch_once_runs_the_flow_for_each_dropped_file(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop(inbox, "catalog.csv", sample_head(3))  # 72 images under Prefect; the file is the point
    drop(inbox, "empty.csv", b"", age=120)
    out = tmp_path / "out"
    code = main(["watch", str(inbox), "--once", "--output", str(out), "--settle", "5"])
    printed = capsys.readouterr().out
    assert code == 1  # one file failed
    assert "empty.csv: failed failed/empty.csv" in printed
    assert "catalog.csv: processed processed/catalog.csv" in printed
    assert len(list((out / "manifests" / "runs").glob("*.json"))) == 1
    assert "the file is empty" in (inbox / "failed" / "empty.csv.report.txt").read_text()

    drop(inbox, "catalog again.csv", sample_head(3))
    assert main(["watch", str(inbox), "--once", "--output", str(out)]) == 0
    assert "catalog again.csv: duplicate" in capsys.readouterr().out
    assert len(list((out / "manifests" / "runs").glob("*.json"))) == 1


def test_watch_once_names_the_files_still_waiting_out_their_settle_time(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop(inbox, "just dropped.csv", SAMPLE_CATALOG.read_bytes(), age=2)
    out = tmp_path / "out"
    code = main(["watch", str(inbox), "--once", "--output", str(out), "--settle", "600"])
    printed = capsys.readouterr().out
    assert code == 0
    [line] = [line for line in printed.splitlines() if line.startswith("just dropped.csv")]
    assert re.search(r": waiting: unchanged for \d+ s of 600 s", line), line
    assert not (out / "manifests").exists()  # nothing ran
