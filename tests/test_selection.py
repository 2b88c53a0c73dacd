"""The slice a backfill selects: pure, no store, no Prefect."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.selection import (
    Selection,
    Slot,
    read_sku_arguments,
    select_jobs,
    selection_of,
    slot_of,
    state_of,
)
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.storage.manifest import ManifestEntry
from tests.plugins.catalog_runs import write_catalog, write_tiny_templates


@pytest.fixture
def jobs(tmp_path: Path) -> list[Job]:
    templates = write_tiny_templates(tmp_path / "t", names=("card", "banner"))
    catalog = write_catalog(
        tmp_path / "c.csv",
        ["JKT-001", "JKT-002", "TEE-001"],
        ["Navy", "Sky Blue"],
        ["winter", "summer"],
    )
    prepared = prepare_run(
        str(catalog), load_templates(templates), load_seasons(templates), model="gpt-image-1"
    )
    assert len(prepared.jobs) == 3 * 2 * 2 * 2
    return prepared.jobs


def entry(job: Job, key: str) -> ManifestEntry:
    return ManifestEntry(
        sku=job.sku, colour=job.colour.name, colour_key=job.colour.key, season=job.season,
        template=job.template, template_version=job.template_version, key=key,
        storage_key="images/x.png", url="file:///x.png", sha256="0", bytes=1, width=1, height=1,
        format="png", model=job.model, prompt=job.prompt, created_at="", run_id="r",
    )  # fmt: skip


def labels(jobs: list[Job]) -> set[tuple[str, str, str, str]]:
    return {slot_of(job) for job in jobs}


def test_no_selection_keeps_every_job_in_plan_order(jobs: list[Job]) -> None:
    assert select_jobs(jobs, Selection(), {}) == jobs


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(skus=("JKT-*",), seasons=("winter",)), 2 * 2 * 2),
        (Selection(skus=("TEE-001",)), 8),
        (Selection(skus=("jkt-*",)), 0),  # SKUs are case-sensitive
        (Selection(colours=("sky blue",)), 12),  # colours match by normalized key
        (Selection(templates=("banner",), seasons=("summer",)), 6),
        (Selection(skus=("JKT-001", "TEE-*"), colours=("Navy",), templates=("card",)), 4),
    ],
)
def test_filters_narrow_the_slice(jobs: list[Job], selection: Selection, expected: int) -> None:
    chosen = select_jobs(jobs, selection, {})
    assert len(chosen) == expected
    for job in chosen:
        assert not selection.seasons or job.season in selection.seasons
        assert not selection.templates or job.template in selection.templates


def test_only_failed_selects_exactly_the_failed_slots(jobs: list[Job]) -> None:
    failed: set[Slot] = {slot_of(jobs[3]), slot_of(jobs[7])}
    chosen = select_jobs(jobs, Selection(only_failed="last"), {}, failed)
    assert labels(chosen) == failed


def test_changed_selects_slots_published_under_another_key(jobs: list[Job]) -> None:
    latest = {slot_of(job): entry(job, job.key) for job in jobs}
    latest[slot_of(jobs[0])] = entry(jobs[0], "an-older-key")
    del latest[slot_of(jobs[1])]  # never published: new, not changed
    chosen = select_jobs(jobs, Selection(changed=True), latest)
    assert chosen == [jobs[0]]


def test_only_flagged_selects_the_flagged_slots_and_says_so(jobs: list[Job]) -> None:
    flagged: set[Slot] = {slot_of(jobs[5])}
    selection = selection_of(force=False, only_flagged=[])
    assert select_jobs(jobs, selection, {}, flagged=flagged) == [jobs[5]]
    assert select_jobs(jobs, Selection(), {}, flagged=flagged) == jobs  # not asked: no filter
    assert selection.describe() == {"only_flagged": True}
    kinds = selection_of(only_flagged=["near_blank"])
    assert kinds.describe() == {"only_flagged": True, "flag_kinds": ["near_blank"]}
    assert state_of(jobs[5], {}, stored=True, flagged=flagged) == "flagged"


def test_states(jobs: list[Job]) -> None:
    job = jobs[0]
    latest = {slot_of(job): entry(job, "old")}
    assert state_of(job, latest, stored=True) == "done"
    assert state_of(job, latest, stored=False) == "changed"
    assert state_of(job, {}, stored=False) == "new"
    assert state_of(job, {}, stored=False, failed_last_run={slot_of(job)}) == "failed_last_time"
    assert state_of(replace(job, key="old"), latest, stored=False) == "new"


def test_sku_arguments_read_files_and_skip_comments() -> None:
    files = {"skus.txt": "JKT-001\n  # a note\nTEE-*  # the tees\n\n"}
    assert read_sku_arguments(["A-1", "@skus.txt", " "], files.__getitem__) == (
        "A-1",
        "JKT-001",
        "TEE-*",
    )


def test_selection_describes_only_what_was_asked() -> None:
    assert Selection().describe() == {}
    assert Selection(skus=("JKT-*",), force=True).describe() == {"skus": ["JKT-*"], "force": True}
