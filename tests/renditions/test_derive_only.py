"""Derive only: a stored image missing a channel's rendition gets it from the store, in a backfill
slice as in a rerun, without a request. Plain functions (no Prefect), a real local store."""

from __future__ import annotations

from pathlib import Path

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import RunControl, now_iso
from catalog_imagegen.pipeline import PreparedRun, prepare_run
from catalog_imagegen.planning.selection import selection_of
from catalog_imagegen.planning.slices import plan_slice
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.resume import split_done
from tests.plugins.catalog_runs import RecordingProvider
from tests.renditions.test_channel_runs import serve_channels

CATALOG = "sku,title,category,colours,seasons\nTEE-1,Crew Tee,T-Shirts,Navy|Red,summer\n"


def plan(tmp_path: Path, templates: Path) -> PreparedRun:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG)
    return prepare_run(
        str(catalog),
        load_templates(templates),
        load_seasons(templates),
        model="gpt-image-2",
        template_names=["product_card"],
    )


async def first_run(tmp_path: Path, templates: Path, store: LocalDirectoryStore) -> None:
    prepared = plan(tmp_path, templates)
    maker = ImageMaker(
        RecordingProvider(),
        store,
        SourceLoader(tmp_path),
        run_id="r1",
        concurrency=2,
        control=RunControl(),
    )
    outcomes = await maker.make(prepared.jobs)
    maker.close()
    summary = RunSummary(run_id="r1", catalog="c", output="", preview=True)
    finish_run(store, summary, outcomes, [], started_at=now_iso(), provider="p", model="m")


async def test_a_backfill_slice_derives_a_new_channel_and_a_lost_rendition(
    tmp_path: Path, templates_copy: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    serve_channels(templates_copy, ["google_shopping"])
    await first_run(tmp_path, templates_copy, store)
    first = {e.key: e for e in load_latest(store).entries.values()}

    serve_channels(templates_copy, ["google_shopping", "shopify"])
    jobs = plan(tmp_path, templates_copy).jobs
    assert {job.key for job in jobs} == set(first)  # the same images: channels are not keyed
    split = split_done(jobs, store, load_latest(store))
    assert (split.todo, split.derive_only) == ([], set(first))
    sliced = plan_slice(jobs, selection_of(), store, "r2")
    assert sliced.todo == []
    for outcome in sliced.skipped:
        assert outcome.entry is not None
        renditions = outcome.entry.renditions
        assert sorted(renditions) == ["google_shopping", "shopify"]
        assert renditions["shopify"]["run_id"] == "r2"  # derived now
        assert renditions["google_shopping"]["run_id"] == "r1"  # kept as it was
        assert store.head(renditions["shopify"]["key"]) is not None

    summary = RunSummary(run_id="r2", catalog="c", output="", preview=True)
    finish_run(store, summary, sliced.skipped, [], started_at=now_iso(), provider="p", model="m")
    assert (summary.renditions, summary.generated) == (len(first), 0)
    assert split_done(jobs, store, load_latest(store)).derive_only == set()

    lost = first[jobs[0].key].renditions["google_shopping"]["key"]
    (tmp_path / "out" / lost).unlink()
    split = split_done(jobs, store, load_latest(store))
    assert split.derive_only == {jobs[0].key}
