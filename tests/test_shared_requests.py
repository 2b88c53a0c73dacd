"""One request per distinct request: within a run, and across runs through the manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.ledger import job_cost
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.renditions.channels import load_channels
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import stored_requests
from tests.plugins.catalog_runs import REPO, RecordingProvider, colour_edits

SAMPLE = REPO / "catalog_samples" / "catalog.csv"
TEMPLATES = REPO / "templates"


async def make(
    jobs: list[Job], store: LocalDirectoryStore, run_id: str, **options: object
) -> tuple[list[JobOutcome], RecordingProvider]:
    provider = RecordingProvider()
    maker = ImageMaker(
        provider,
        store,
        SourceLoader(SAMPLE.parent),
        run_id=run_id,
        concurrency=4,
        control=RunControl(),
        **options,  # type: ignore[arg-type]
    )
    try:
        return await maker.make(jobs), provider
    finally:
        maker.close()


def test_seasons_of_a_prompt_without_the_season_are_one_request() -> None:
    jobs = colour_edits()
    by_request = Counter(job.request_identity for job in jobs)
    assert len(jobs) == 72 and len(by_request) == 36
    assert len({job.key for job in jobs}) == 72  # every slot keeps its own key
    product_cards = prepare_run(
        str(SAMPLE), load_templates(TEMPLATES), load_seasons(TEMPLATES), model="gpt-image-2"
    ).jobs
    cards = [job for job in product_cards if job.template == "product_card"]
    assert len({job.request_identity for job in cards}) == len(cards)  # names the season


async def test_identical_requests_in_a_run_go_out_once_and_fill_every_slot(
    tmp_path: Path,
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    outcomes, provider = await make(colour_edits(), store, "run-1")
    assert len(provider.prompts) == 36
    assert Counter(o.status for o in outcomes) == {"generated": 72}
    shared = [o for o in outcomes if o.shared_from]
    assert len(shared) == 36
    for outcome in shared:
        assert outcome.entry is not None and outcome.attempts == 0
        stored = store.get(outcome.entry.storage_key)
        assert stored is not None and outcome.entry.storage_key == outcome.job.storage_key
        assert job_cost(outcome, DEFAULT_PRICE_TABLE, "gpt-image-2")["estimated"] == 0.0
    leaders = {o.job.label: o for o in outcomes if not o.shared_from}
    for outcome in shared:
        leader = leaders[outcome.shared_from]
        assert leader.entry is not None and outcome.entry is not None
        assert outcome.entry.sha256 == leader.entry.sha256
        assert outcome.job.season != leader.job.season


async def test_a_copy_derives_the_renditions_of_its_own_channels(tmp_path: Path) -> None:
    shopify = load_channels(TEMPLATES)["shopify"]
    jobs = [replace(job, channels=(shopify,)) for job in colour_edits(("autumn", "winter"))]
    store = LocalDirectoryStore(tmp_path / "out")
    outcomes, provider = await make(jobs[:4], store, "run-1")
    copies = [o for o in outcomes if o.shared_from]
    assert copies and len(provider.prompts) < len(outcomes)
    for outcome in outcomes:
        assert outcome.entry is not None
        rendition = outcome.entry.renditions["shopify"]
        assert store.get(rendition["key"]) is not None
        assert rendition["key"].startswith(outcome.entry.storage_key.rsplit("/", 1)[0])


async def test_an_image_stored_by_an_earlier_run_is_reused_for_an_identical_request(
    tmp_path: Path,
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    first, _ = await make(colour_edits(("autumn",)), store, "run-1")
    entries = {o.entry.slot: o.entry for o in first if o.entry is not None}
    done = {o.job.key for o in first}
    later = [job for job in colour_edits() if job.key not in done]

    second, provider = await make(later, store, "run-2", stored_requests=stored_requests(entries))

    autumn_requests = {o.job.request_identity for o in first}
    reused = [o for o in second if o.job.request_identity in autumn_requests]
    assert reused and all(o.shared_from.endswith("(run-1)") for o in reused)
    assert len(provider.prompts) == len({o.job.request_identity for o in second}) - len(
        {o.job.request_identity for o in reused}
    )
    assert {o.status for o in second} == {"generated"}


async def test_a_forced_redo_never_reuses_a_stored_image(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    first, _ = await make(colour_edits(("winter",)), store, "run-1")
    entries = {o.entry.slot: o.entry for o in first if o.entry is not None}
    redo = [replace(job, redo="abc123") for job in colour_edits(("winter",))]
    second, provider = await make(redo, store, "run-2", stored_requests=stored_requests(entries))
    assert len(provider.prompts) == len(redo)
    assert not any(o.shared_from for o in second)
