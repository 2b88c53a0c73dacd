"""``serve`` starts the review app; there, Regenerate is a run of the served backfill deployment."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from catalog_imagegen.review.app.regenerating import BACKFILL_DEPLOYMENT
from catalog_imagegen.review.decisions import load_decisions
from catalog_imagegen.review.regeneration import make_slots
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.local import LocalDirectoryStore
from tests.ops.test_service import wait_for_deployments
from tests.plugins.ops import REPO, free_port, stop_process

SLOT = "SKU-0001/red/winter/product_card"


def held_run(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    catalog = folder / "catalog.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours", "seasons"])
        for number in range(2):
            writer.writerow([f"SKU-{number:04d}", f"Rain Coat {number}", "Outerwear",
                             "Navy|Red", "winter"])  # fmt: skip
    monkeypatch.setenv("CATALOG_IMAGEGEN_APPROVAL", "required")
    settings = load_settings_with(output=str(folder / "out"), progress=False)
    made = asyncio.run(make_slots(settings, str(catalog), None, ["product_card"]))
    return catalog, made.summary.run_id


def wait_for_app(url: str, process: subprocess.Popen[bytes], patience: float) -> None:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        assert process.poll() is None, "serve exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"review app not up at {url}")


@pytest.mark.slow
def test_served_app_regenerates_through_the_backfill_deployment(
    prefect_server: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run_id = held_run(tmp_path, monkeypatch)
    port = free_port()
    env = dict(os.environ) | prefect_server
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "flows"), env.get("PYTHONPATH", "")]),
        CATALOG_IMAGEGEN_OUTPUT=str(tmp_path / "out"),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "catalog_imagegen.cli", "serve", "--review-port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    store = LocalDirectoryStore(tmp_path / "out")
    try:
        wait_for_app(f"{url}/", process, patience=120)
        with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}):
            asyncio.run(wait_for_deployments({BACKFILL_DEPLOYMENT: {}}, patience=90))
        with httpx.Client(base_url=url, timeout=30) as client:
            page = client.get(f"/runs/{run_id}").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            client.post("/reviewer", data={"csrf": csrf, "name": "Ana", "back": "/"})
            form = {"csrf": csrf, "scope": "slot", "slot": SLOT, "seen": "0", "back": "/"}
            client.post(f"/runs/{run_id}/decide", data=form | {"decision": "reject",
                        "note": "hood looks flat"})  # fmt: skip
            client.post(f"/runs/{run_id}/regenerate", data=form)
            regeneration = wait_for_regeneration(store, run_id, patience=300)
            assert regeneration["state"] == "done", regeneration
            assert "hood looks flat" in regeneration["prompt"]
            assert regeneration["run_id"] != run_id
            page = client.get(f"/runs/{run_id}").text
        assert f'alt="new image for {SLOT.replace("/", " ")}"' in page
    finally:
        stop_process(process)
        log.close()
    assert json.loads((tmp_path / "out" / "manifests" / "rejections.json").read_text())


def wait_for_regeneration(store: LocalDirectoryStore, run_id: str, patience: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        regeneration = load_decisions(store, run_id).regenerations.get(SLOT, {})
        if regeneration.get("state") in ("done", "failed"):
            return dict(regeneration)
        time.sleep(0.25)
    raise TimeoutError(f"regeneration of {SLOT} still {regeneration}")
