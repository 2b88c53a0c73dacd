"""Runs started together: the same catalog into the same output runs once; others proceed."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.cli.summary import EXIT_ALREADY_RUNNING, report_state
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.run_lock import ALREADY_RUNNING
from tests.plugins.catalog_runs import RecordingProvider, write_catalog

pytestmark = pytest.mark.usefixtures("prefect_harness", "tiny_templates")

SKUS = ["JKT-001", "TEE-001"]
IMAGES = len(SKUS) * 2 * 2


def catalog_at(path: Path, skus: list[str] = SKUS) -> str:
    return str(write_catalog(path, skus, ["Navy", "Red"], ["winter", "summer"]))


def run(catalog: str, output: Path, **parameters: Any) -> Any:
    request = RunRequest(catalog=catalog, output=str(output), progress=False, **parameters)
    return asyncio.run(catalog_refresh(request, return_state=True))  # type: ignore[arg-type]


def test_the_same_run_started_twice_makes_each_image_once(
    tmp_path: Path, recording_provider: RecordingProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = catalog_at(tmp_path / "catalog.csv")
    recording_provider.gate = threading.Event()  # the first run waits in its requests
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(run, catalog, tmp_path / "out") for _ in range(2)]
        done, _ = wait(runs, timeout=300, return_when=FIRST_COMPLETED)
        recording_provider.gate.set()
        states = [r.result() for r in runs]
    [first_done] = done
    assert first_done.result().name == ALREADY_RUNNING
    assert sorted(s.name for s in states) == sorted(["Completed", ALREADY_RUNNING])
    assert len(recording_provider.prompts) == len(set(recording_provider.prompts)) == IMAGES
    assert report_state(first_done.result()) == EXIT_ALREADY_RUNNING
    assert "already running" in capsys.readouterr().out


def test_different_catalogs_and_disjoint_selections_run_together(
    tmp_path: Path, recording_provider: RecordingProvider
) -> None:
    shirts = catalog_at(tmp_path / "shirts.csv", ["TEE-001"])
    jackets = catalog_at(tmp_path / "jackets.csv", ["JKT-001"])
    recording_provider.gate = threading.Event()
    arguments: list[tuple[str, dict[str, Any]]] = [
        (shirts, {}),
        (jackets, {"seasons": ("winter",)}),
        (jackets, {"seasons": ("summer",)}),
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = [pool.submit(run, c, tmp_path / "out", **p) for c, p in arguments]
        while len(recording_provider.prompts) < 3 and not any(r.done() for r in runs):
            threading.Event().wait(0.05)  # all three are making images at once
        recording_provider.gate.set()
        states = [r.result() for r in runs]
    assert [s.name for s in states] == ["Completed"] * 3
    assert len(recording_provider.prompts) == len(set(recording_provider.prompts)) == 4 + 2 + 2
