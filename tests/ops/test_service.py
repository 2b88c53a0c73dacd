"""``catalog-imagegen serve`` against a real ``prefect server``: deployments, a triggered run."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.plugins.ops import REPO, SAMPLE_CATALOG, stop_process

REFRESH = "seasonal_refresh/seasonal-refresh"
FILE_DROP = "catalog_file_drop/catalog-file-drop"


@pytest.fixture(scope="module")
def served(
    prefect_server: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], Path, dict[str, Any]]]:
    """``catalog-imagegen serve`` in a subprocess, stopped (with its flow runs) in teardown.
    One for the module: the tests use different deployments, and each checks only the output
    of its own run (a refresh's season, a dropped file's child run)."""
    tmp_path = tmp_path_factory.mktemp("served")
    out, inbox, catalogs = tmp_path / "out", tmp_path / "inbox", tmp_path / "catalogs"
    for folder in (inbox, catalogs, tmp_path / "home"):
        folder.mkdir()
    shutil.copy(SAMPLE_CATALOG, catalogs / "catalog.csv")
    env = dict(os.environ) | prefect_server
    env.update(
        HOME=str(tmp_path / "home"),  # set before the per-test temporary home, so set here
        PYTHONPATH=os.pathsep.join([str(REPO / "flows"), env.get("PYTHONPATH", "")]),
        CATALOG_IMAGEGEN_CATALOG=str(catalogs / "catalog.csv"),
        CATALOG_IMAGEGEN_OUTPUT=str(out),
        CATALOG_IMAGEGEN_INBOX=str(inbox),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    for folder in (catalogs, inbox):  # photos the catalogs refer to
        shutil.copytree(SAMPLE_CATALOG.parent / "photos", folder / "photos")
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "catalog_imagegen.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    expected = {
        REFRESH: {"catalog": env["CATALOG_IMAGEGEN_CATALOG"]},
        FILE_DROP: {"inbox": str(inbox)},
    }
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}):
            deployments = asyncio.run(wait_for_deployments(expected, patience=90))
        yield prefect_server, tmp_path, deployments
    finally:
        stop_process(process)
        log.close()


async def wait_for_deployments(
    expected: dict[str, dict[str, str]], patience: float
) -> dict[str, Any]:
    """The deployments, once registered with ``expected`` parameters (by this serve process)."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + patience
    async with get_client() as client:
        while True:
            try:
                found = {n: await client.read_deployment_by_name(n) for n in expected}
            except ObjectNotFound:
                found = {}
            if found and all(found[n].parameters == p for n, p in expected.items()):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployments not registered: {found}")
            await asyncio.sleep(1)


@pytest.mark.slow
def test_serve_registers_both_deployments_and_a_triggered_refresh_covers_the_season(
    served: tuple[dict[str, str], Path, dict[str, Any]],
) -> None:
    from prefect.deployments import run_deployment

    server, folder, deployments = served
    out = folder / "out"
    with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}):
        refresh = deployments[REFRESH]
        assert [s.schedule.cron for s in refresh.schedules] == ["0 5 * * *"]  # type: ignore[attr-defined]
        drop = deployments[FILE_DROP]
        assert drop.schedules[0].schedule.interval.total_seconds() == 60  # type: ignore[attr-defined]

        flow_run = run_deployment(
            REFRESH, parameters={"on": "2026-11-10"}, timeout=300, poll_interval=1
        )
    assert flow_run.state is not None
    assert flow_run.state.is_completed(), flow_run.state

    pointer = json.loads((out / "manifests" / "latest.json").read_text())
    images = json.loads((out / pointer["manifest"]).read_text())["images"]
    # 2026-11-10 with 30 days' lead: autumn now, winter and holiday coming. Every SKU sold in
    # winter has winter images of every colour.
    with SAMPLE_CATALOG.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    winter = {r["sku"]: r["colours"].split("|") for r in rows if "winter" in r["seasons"]}
    assert len(winter) == 5
    for sku, colours in winter.items():
        assert len(images[sku]) == len(colours)
        for colour, seasons in images[sku].items():
            assert "winter" in seasons, f"{sku} {colour} lacks winter images"
            assert {"product_card", "seasonal_banner"} <= seasons["winter"].keys()


@pytest.mark.slow
def test_a_file_dropped_for_the_served_poller_runs_as_a_named_child_run(
    served: tuple[dict[str, str], Path, dict[str, Any]],
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.deployments import run_deployment

    server, folder, _ = served
    lines = SAMPLE_CATALOG.read_text(encoding="utf-8").splitlines()[:3]  # header + 2 SKUs
    dropped = folder / "inbox" / "small.csv"
    dropped.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(dropped, (time.time() - 60, time.time() - 60))  # copied a minute ago
    with temporary_settings({PREFECT_API_URL: server["PREFECT_API_URL"]}):
        poll = run_deployment(FILE_DROP, timeout=300, poll_interval=1)

        async def child_runs() -> list[object]:
            async with get_client() as client:
                named = FlowRunFilter(name=FlowRunFilterName(any_=["drop-small.csv"]))
                runs = await client.read_flow_runs(
                    flow_run_filter=named, limit=10, sort=FlowRunSort.START_TIME_DESC
                )
                return list(runs)

        children = asyncio.run(child_runs())
    assert poll.state is not None
    assert poll.state.is_completed(), poll.state
    assert len(children) == 1
    assert children[0].state.is_completed()  # type: ignore[attr-defined]
    assert (folder / "inbox" / "processed" / "small.csv").exists()
    report = (folder / "inbox" / "processed" / "small.csv.report.txt").read_text()
    assert "review page: file://" in report
