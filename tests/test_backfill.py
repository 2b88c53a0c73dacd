"""Backfills and spend limits, through the flows, against a provider that records requests."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen import pipeline
from catalog_imagegen.definitions import build_store
from catalog_imagegen.flows.backfill import ALREADY_RUNNING, catalog_backfill, idempotency_key_for
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.planning.pricing import load_price_table
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings_file import load_settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.run_history import load_run
from catalog_imagegen.storage.run_lock import lock_key
from tests.plugins.catalog_runs import RecordingProvider, write_catalog

pytestmark = pytest.mark.usefixtures("prefect_harness", "tiny_templates")

SKUS = ["JKT-001", "JKT-002", "TEE-001", "TEE-002", "BAG-001"]
COLOURS = ["Navy", "Red"]
SEASONS = ["winter", "summer"]
ALL_JOBS = len(SKUS) * len(COLOURS) * len(SEASONS)


@pytest.fixture
def catalog(tmp_path: Path) -> str:
    return str(write_catalog(tmp_path / "catalog.csv", SKUS, COLOURS, SEASONS))


@pytest.fixture
def output(tmp_path: Path) -> str:
    return str(tmp_path / "out")


@dataclass
class Ran:
    state: Any
    data: Any  # the RunSummary, or the Forecast of a dry run


async def backfill(catalog: str, output: str, dry_run: bool = False, **parameters: Any) -> Ran:
    request = RunRequest(catalog=catalog, output=output, progress=False, **parameters)
    if dry_run:
        settings = request.settings_for(load_settings())
        store = build_store(settings)
        prepared = pipeline.prepare(request, settings, store)
        prices = load_price_table(settings.prices_file)
        return Ran(None, pipeline.dry_run(prepared, request, settings, store, prices))
    state = await catalog_backfill(request, return_state=True)  # type: ignore[arg-type]
    return Ran(state, await state.aresult(raise_on_failure=False))


async def refresh(catalog: str, output: str, **parameters: Any) -> Ran:
    request = RunRequest(catalog=catalog, output=output, progress=False, **parameters)
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    return Ran(state, await state.aresult(raise_on_failure=False))


def requested_skus_seasons(provider: RecordingProvider) -> list[tuple[str, str]]:
    """(sku, season) of every prompt requested; the tiny template writes both into the prompt."""
    found = []
    for prompt in provider.prompts:
        sku = prompt.rsplit("(", 1)[1].rstrip(").\n ")
        season = "winter" if "Winter" in prompt else "summer"
        found.append((sku, season))
    return found


async def test_sku_glob_and_season_request_exactly_that_slice(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    ran = await backfill(catalog, output, skus=["JKT-*"], seasons=["winter"])
    assert ran.state.is_completed()
    assert sorted(requested_skus_seasons(recording_provider)) == sorted(
        [("JKT-001", "winter")] * 2 + [("JKT-002", "winter")] * 2
    )
    summary = ran.data
    assert (summary.generated, summary.skipped, summary.failed) == (4, 0, 0)
    assert len(load_latest(LocalDirectoryStore(output)).entries) == 4


async def test_only_failed_requests_exactly_the_failures_again(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    recording_provider.fail_when = ("TEE-002", "Red for Winter")
    first = (await refresh(catalog, output)).data
    failed = {f["job"] for f in first.failures}
    assert first.failed == len(failed) == 4 + 4  # TEE-002 x4, plus Red/winter of the others
    recording_provider.prompts.clear()
    recording_provider.fail_when = ()
    summary = (await backfill(catalog, output, only_failed="last")).data
    assert len(recording_provider.prompts) == summary.generated == len(failed)
    assert summary.skipped == 0
    assert len(load_latest(LocalDirectoryStore(output)).entries) == ALL_JOBS


async def test_only_failed_of_a_named_run(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    recording_provider.fail_when = ("BAG-001",)
    failing = (await refresh(catalog, output)).data
    recording_provider.fail_when = ()
    await refresh(catalog, output)  # the last run now: its failures are none
    recording_provider.prompts.clear()
    summary = (await backfill(catalog, output, only_failed=failing.run_id)).data
    # fixed by the run in between: selected again, but stored, so skipped and not requested
    assert (summary.planned, summary.skipped, len(recording_provider.prompts)) == (4, 4, 0)


async def test_force_regenerates_the_slice_beside_the_cached_originals(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    await refresh(catalog, output)
    store = LocalDirectoryStore(output)
    before = load_latest(store).entries
    recording_provider.prompts.clear()
    summary = (await backfill(catalog, output, skus=["TEE-001"], force=True)).data
    assert summary.generated == len(recording_provider.prompts) == 4
    after = load_latest(store).entries
    for slot, entry in after.items():
        if slot[0] == "TEE-001":
            assert entry.key == before[slot].key  # same inputs ...
            assert entry.storage_key != before[slot].storage_key  # ... new immutable object
            assert store.head(before[slot].storage_key) is not None  # the original stays
        else:
            assert entry == before[slot]
    recording_provider.prompts.clear()
    rerun = (await refresh(catalog, output)).data
    assert (rerun.generated, rerun.skipped, recording_provider.prompts) == (0, ALL_JOBS, [])
    assert load_latest(store).entries == after  # a plain rerun keeps the redone images


async def test_changed_selects_jobs_whose_template_changed(
    catalog: str, output: str, tiny_templates: Path, recording_provider: RecordingProvider
) -> None:
    await refresh(catalog, output)
    card = tiny_templates / "card.j2"
    card.write_text(card.read_text().replace("card of", "studio card of"))
    recording_provider.prompts.clear()
    dry = (await backfill(catalog, output, changed=True, dry_run=True)).data
    assert dry.states["changed"] == ALL_JOBS
    assert recording_provider.prompts == []
    summary = (await backfill(catalog, output, changed=True)).data
    assert summary.generated == len(recording_provider.prompts) == ALL_JOBS
    assert all(p.startswith("studio card of") for p in recording_provider.prompts)


async def test_dry_run_counts_equal_what_the_run_then_does(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    await backfill(catalog, output, skus=["JKT-*"])
    dry = (await backfill(catalog, output, dry_run=True, max_images=7)).data
    requested_before = len(recording_provider.prompts)
    assert dry.states == {"new": ALL_JOBS - 8, "done": 8, "changed": 0, "failed_last_time": 0}
    assert (dry.generate, dry.skip, dry.not_dispatched) == (7, 8, ALL_JOBS - 8 - 7)
    assert len(recording_provider.prompts) == requested_before  # no provider call
    real = (await backfill(catalog, output, max_images=7)).data
    assert (real.generated, real.skipped, real.not_dispatched) == (
        dry.generate,
        dry.skip,
        dry.not_dispatched,
    )


async def test_max_images_stops_after_ten_and_reports_the_rest(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    ran = await refresh(catalog, output, max_images=10, concurrency=4)
    assert ran.state.is_failed()
    summary = ran.data
    assert (summary.generated, summary.not_dispatched) == (10, ALL_JOBS - 10)
    assert len(recording_provider.prompts) == 10
    ledger = load_run(LocalDirectoryStore(output), summary.run_id).document["jobs"]
    left = [row for row in ledger if row["status"] == "not_dispatched"]
    assert len(left) == ALL_JOBS - 10
    assert all(row["reason"] == "--max-images 10 reached" for row in left)


async def test_max_cost_stops_at_the_estimated_budget(
    catalog: str, output: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    recording_provider: RecordingProvider,
) -> None:  # fmt: skip
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"gpt-image-2": {"per_image": {"low/64x64": 0.25}}}}))
    monkeypatch.setenv("CATALOG_IMAGEGEN_PRICES_FILE", str(prices))
    summary = (await refresh(catalog, output, max_cost=1.0)).data
    assert (summary.generated, summary.not_dispatched) == (4, ALL_JOBS - 4)
    assert summary.estimated_cost == pytest.approx(1.0)
    assert len(recording_provider.prompts) == 4


def test_the_same_backfill_twice_at_once_runs_once(
    catalog: str, output: str, recording_provider: RecordingProvider
) -> None:
    """Two clicks: two threads start the same backfill; one runs, the other stands down."""
    recording_provider.gate = threading.Event()  # the running one waits in its requests

    def click() -> Ran:
        return asyncio.run(backfill(catalog, output, skus=["JKT-*", "TEE-*"]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        clicks = [pool.submit(click), pool.submit(click)]
        done, _ = wait(clicks, timeout=120, return_when=FIRST_COMPLETED)
        recording_provider.gate.set()
        assert [c.result().state.name for c in done] == [ALREADY_RUNNING]
        results = [c.result() for c in clicks]
    assert sorted(r.state.name for r in results) == sorted(["Completed", ALREADY_RUNNING])
    assert len(recording_provider.prompts) == len(set(recording_provider.prompts)) == 16
    request = RunRequest(catalog=catalog, output=output, skus=("JKT-*", "TEE-*"), progress=False)
    lock = LocalDirectoryStore(output).get(lock_key(idempotency_key_for(request)))
    assert lock is not None  # the key a deployment trigger would use is the one locked on
    assert json.loads(lock.data)["released"] is True
    again = asyncio.run(backfill(catalog, output, skus=["JKT-*", "TEE-*"])).data
    assert (again.generated, again.skipped) == (0, 16)  # the lock was released
