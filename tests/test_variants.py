"""Colour variants that look like one product (``chain``), and colour QA flags on what was made.

The pipeline runs as the flow runs it, without Prefect: prepare, split off what is stored, make
the rest chunk by chunk with one ImageMaker, publish. The provider is an in-process fake that
paints the colour each prompt asks for and records every request.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog_imagegen import pipeline
from catalog_imagegen.catalog.colours import palette_rgb, to_hex
from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.outcomes import JobOutcome, now_iso
from catalog_imagegen.generation.progress import SilentProgress
from catalog_imagegen.generation.providers.base import JobFailed, ProviderResult
from catalog_imagegen.pipeline import chunk_jobs, prepare_run
from catalog_imagegen.planning.jobs import with_base
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.request import RunRequest
from catalog_imagegen.review.image_review import ReviewSettings, flagged_slots
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import POINTER_KEY, LatestManifest, load_latest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.testing.colour_fake import ColourHonouringProvider

SAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "catalog_samples" / "photos" / "jacket.png"
CATALOG = """sku,title,category,colours,seasons,source_image
JKT-1,Down Jacket,Outerwear,Navy|Black|Red,winter,photos/jacket.png
TEE-1,Crew Tee,T-Shirts,Yellow|Olive|Navy,winter,
BAG-1,Canvas Tote,Bags,Orange|Purple|Teal,winter,
"""
CHAIN_TEMPLATE = """{#-
description = "Product card; every colour edited from one base image"
mode = "generate"
output_format = "png"
variant_strategy = "chain"
-#}
{% if base_colour %}Change the colour of the {{ title }} from {{ base_colour }} to {{ colour }}.
Keep everything else exactly as it is.{% else %}Studio photo of a {{ title }} in {{ colour }},
on a plain light background.{% endif %}
"""
SEASONS = '[winter]\nsetting = "a plain studio"\nlight = "soft light"\nprops = "none"\n'


@dataclass
class Run:
    summary: RunSummary
    outcomes: list[JobOutcome]
    latest: LatestManifest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "photos").mkdir()
    shutil.copy(SAMPLE_PHOTO, tmp_path / "photos" / "jacket.png")
    (tmp_path / "catalog.csv").write_text(CATALOG)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "card.j2").write_text(CHAIN_TEMPLATE)
    (templates / "seasons.toml").write_text(SEASONS)
    return tmp_path


async def run_catalog(
    workspace: Path, provider: object, colour_retry: bool = False, chunk_size: int = 500
) -> Run:
    """One run through the pipeline's own steps, with this chunk size."""
    store = LocalDirectoryStore(workspace / "output")
    request = RunRequest(catalog=str(workspace / "catalog.csv"), progress=False, concurrency=4)
    settings = Settings(
        templates_dir=workspace / "templates", model="fake", colour_retry=colour_retry
    )
    resources = Resources(provider, store, SilentProgress())  # type: ignore[arg-type]
    run_id = f"run-{secrets.token_hex(4)}"
    prepared = pipeline.prepare(request, settings, store)
    sliced = pipeline.select(prepared, request, store, run_id)
    maker = pipeline.image_maker(resources, settings, request, run_id, prepared.templates)
    made, _ = await pipeline.make(sliced.todo, maker, chunk_size=chunk_size)
    await maker.close_all()
    summary = pipeline.new_summary(request, resources, run_id)
    pipeline.publish(resources, summary, sliced.skipped + made, prepared, started_at=now_iso())
    return Run(summary, made, load_latest(store))


def entries_by_colour(run: Run) -> dict[tuple[str, str], object]:
    return {(e.sku, e.colour_key): e for e in run.latest.entries.values()}


async def test_chain_edits_every_other_colour_from_the_stored_base(workspace):
    provider = ColourHonouringProvider()
    run = await run_catalog(workspace, provider)

    assert run.summary.generated == 9
    assert run.summary.failed == 0
    bases = [r for r in provider.requests if "Studio photo" in r.prompt]
    edits = [r for r in provider.requests if "Change the colour" in r.prompt]
    assert len(bases) == 3
    assert len(edits) == 6
    modes = {r.label.split(" / ")[0]: r.mode for r in bases}
    assert modes == {"JKT-1": "edit", "TEE-1": "generate", "BAG-1": "generate"}  # JKT-1: a photo
    (jacket,) = [r for r in bases if r.mode == "edit"]
    assert jacket.images[0].data == SAMPLE_PHOTO.read_bytes()
    store = LocalDirectoryStore(workspace / "output")
    entries = run.latest.entries.values()
    base_entries = {e.sku: e for e in entries if e.base is None}
    assert sorted(base_entries) == ["BAG-1", "JKT-1", "TEE-1"]
    for edit in edits:
        assert edit.mode == "edit"
        assert len(edit.images) == 1
        sku = edit.label.split(" / ")[0]
        stored_base = store.get(base_entries[sku].storage_key)
        assert stored_base is not None
        assert edit.images[0].data == stored_base.data
    dependents = [e for e in entries if e.base is not None]
    assert len(dependents) == 6
    for entry in dependents:
        assert entry.base == base_entries[entry.sku].storage_key
    assert run.summary.flags == []  # right colours, same pose: nothing to flag


async def test_remaking_one_base_remakes_its_two_dependents_and_nothing_else(workspace):
    first = await run_catalog(workspace, ColourHonouringProvider())
    before = entries_by_colour(first)

    unchanged = ColourHonouringProvider()
    again = await run_catalog(workspace, unchanged)
    assert unchanged.requests == []
    assert again.summary.skipped == 9

    tee_base = before[("TEE-1", "yellow")]
    (workspace / "output" / tee_base.storage_key).unlink()  # force the base to be made again
    remade = ColourHonouringProvider()
    after = await run_catalog(workspace, remade)

    assert sorted(r.label.split(" / ")[1] for r in remade.requests) == ["Navy", "Olive", "Yellow"]
    assert all(r.label.startswith("TEE-1") for r in remade.requests)
    assert after.summary.generated == 3
    assert after.summary.skipped == 6
    now = entries_by_colour(after)
    for slot, entry in now.items():
        remade_here = slot[0] == "TEE-1"
        assert (entry.sha256 != before[slot].sha256) == remade_here, slot
        # The base keeps its key (same request); its dependents' keys follow the new base bytes.
        assert (entry.key != before[slot].key) == (remade_here and slot != ("TEE-1", "yellow"))
    assert now[("TEE-1", "navy")].base == now[("TEE-1", "yellow")].storage_key


async def test_dependents_of_a_base_stored_by_a_crashed_run_find_it_by_its_metadata(workspace):
    await run_catalog(workspace, ColourHonouringProvider())
    (workspace / "output" / POINTER_KEY).unlink()  # as if the run died before publishing
    provider = ColourHonouringProvider()
    run = await run_catalog(workspace, provider)
    assert provider.requests == []
    assert run.summary.skipped == 9
    assert len([e for e in run.latest.entries.values() if e.base]) == 6


class FailingBaseProvider(ColourHonouringProvider):
    async def create_images(self, request):  # type: ignore[no-untyped-def]
        if request.label.startswith("JKT-1") and "Studio photo" in request.prompt:
            self.requests.append(request)
            raise JobFailed("moderation blocked the image")
        result: ProviderResult = await super().create_images(request)
        return result


async def test_a_failed_base_fails_its_dependents_without_asking_the_provider(workspace):
    provider = FailingBaseProvider()
    run = await run_catalog(workspace, provider)
    assert run.summary.failed == 3
    assert run.summary.generated == 6
    assert [r.label for r in provider.requests if r.label.startswith("JKT-1")] == [
        "JKT-1 / Navy / winter / card"
    ]
    reasons = {f["job"]: f["reason"] for f in run.summary.failures}
    assert reasons["JKT-1 / Black / winter / card"] == (
        "base image failed: moderation blocked the image"
    )
    assert reasons["JKT-1 / Red / winter / card"].startswith("base image failed:")


async def test_the_one_wrong_colour_is_flagged_with_measured_and_expected(workspace):
    run = await run_catalog(workspace, ColourHonouringProvider(wrong_colours={"red": "green"}))
    flagged = {slot: e.flags for slot, e in entries_by_colour(run).items() if e.flags}
    assert list(flagged) == [("JKT-1", "red")]
    (flag,) = flagged[("JKT-1", "red")]
    assert flag["kind"] == "colour_mismatch"
    assert flag["expected"] == to_hex(palette_rgb("red"))
    assert flag["measured"] == to_hex(palette_rgb("green"))
    assert flag["delta_e"] > 20
    assert run.summary.flagged == 1
    assert run.summary.flags[0]["job"] == "JKT-1 / Red / winter / card"
    assert flagged_slots(run.latest) == {("JKT-1", "red", "winter", "card")}
    assert flagged_slots(run.latest, kinds=["near_blank"]) == set()


async def test_a_colour_mismatch_is_retried_once_with_a_stronger_instruction(workspace):
    provider = ColourHonouringProvider(wrong_colours={"red": "green"})
    run = await run_catalog(workspace, provider, colour_retry=True)
    red = [r for r in provider.requests if r.label == "JKT-1 / Red / winter / card"]
    assert len(red) == 2
    assert "IMPORTANT" in red[1].prompt
    assert "IMPORTANT" not in red[0].prompt
    assert len(provider.requests) == 10
    (flag,) = entries_by_colour(run)[("JKT-1", "red")].flags
    assert flag["kind"] == "colour_mismatch"
    assert flag["retried"] is True


async def test_the_same_image_for_every_colour_is_flagged_near_duplicate(workspace):
    run = await run_catalog(workspace, ColourHonouringProvider(ignore_colours="grey"))
    entries = entries_by_colour(run)
    for (sku, colour), entry in entries.items():
        kinds = {f["kind"]: f for f in entry.flags}
        assert "near_duplicate" in kinds, (sku, colour)
        duplicate = kinds["near_duplicate"]
        assert duplicate["of"] in {e.storage_key for (s, c), e in entries.items() if s == sku}
        assert duplicate["of"] != entry.storage_key
        assert duplicate["distance"] <= 4
    counts = {}
    for flag in run.summary.flags:
        counts[flag["kind"]] = counts.get(flag["kind"], 0) + 1
    assert counts["near_duplicate"] == 9


async def test_near_blank_images_are_flagged(workspace):
    run = await run_catalog(workspace, ColourHonouringProvider(blank_colours=frozenset({"black"})))
    flagged = {slot: [f["kind"] for f in e.flags] for slot, e in entries_by_colour(run).items()}
    assert flagged[("JKT-1", "black")] == ["near_blank"]
    assert sum(1 for kinds in flagged.values() if kinds) == 1


def test_the_planner_emits_each_base_right_before_its_dependents(workspace):
    folder = workspace / "templates"
    prepared = prepare_run(
        str(workspace / "catalog.csv"), load_templates(folder), load_seasons(folder), model="m"
    )
    jobs = prepared.jobs
    assert [j.colour.name for j in jobs[:3]] == ["Navy", "Black", "Red"]
    base, *dependents = jobs[:3]
    assert base.depends_on is None
    assert base.mode == "edit"
    assert base.source_image
    for job in dependents:
        assert job.depends_on == base.key
        assert job.base_storage_key == base.storage_key
        assert job.mode == "edit"
        assert job.source_image is None
        assert job.waits_for_base
    assert jobs[3].depends_on is None
    assert jobs[3].mode == "generate"
    first, second = with_base(dependents[0], "a" * 64), with_base(dependents[0], "b" * 64)
    assert first.key != second.key != dependents[0].key
    assert first.key == with_base(dependents[0], "a" * 64).key
    with pytest.raises(ValueError, match="not a dependent"):
        with_base(first, "c" * 64)
    for chunk in chunk_jobs(jobs, 2):
        assert len(chunk) == 3
        assert chunk[0].depends_on is None


async def test_chunks_of_any_size_keep_dependents_with_their_base(workspace):
    provider = ColourHonouringProvider()
    run = await run_catalog(workspace, provider, chunk_size=1)
    assert run.summary.generated == 9
    assert run.summary.flags == []


def test_the_example_chain_template_plans_bases_and_colour_edits():
    root = Path(__file__).resolve().parents[1]
    templates = load_templates(root / "templates" / "examples")
    prepared = prepare_run(
        str(root / "catalog_samples" / "catalog.csv"),
        templates,
        load_seasons(root / "templates"),
        model="m",
        template_names=["product_card_chain"],
    )
    jacket = [j for j in prepared.jobs if j.sku == "JKT-001" and j.season == "winter"]
    assert [j.colour.name for j in jacket] == ["Navy", "Black", "Red"]
    assert jacket[0].mode == "edit"
    assert jacket[0].source_image == "photos/jacket.png"
    assert "Change the colour of the Alpine Down Jacket from Navy to Red" in jacket[2].prompt
    assert "Change the colour" not in jacket[0].prompt


async def test_the_cli_summary_counts_and_lists_flags(workspace, capsys):
    from catalog_imagegen.cli.summary import print_summary

    run = await run_catalog(workspace, ColourHonouringProvider(wrong_colours={"red": "green"}))
    print_summary(run.summary)
    out = capsys.readouterr().out
    assert "Flagged:      1 colour_mismatch" in out
    red, green = to_hex(palette_rgb("red")), to_hex(palette_rgb("green"))
    assert f"colour_mismatch: JKT-1 / Red / winter / card (expected {red}, measured {green}" in out


def test_colour_qa_settings_come_from_the_environment(tmp_path):
    from catalog_imagegen.definitions import build_review
    from catalog_imagegen.settings import settings_from_env

    settings = settings_from_env(
        {
            "CATALOG_IMAGEGEN_COLOUR_TOLERANCE": "12.5",
            "CATALOG_IMAGEGEN_DUPLICATE_DISTANCE": "6",
            "CATALOG_IMAGEGEN_COLOUR_RETRY": "yes",
        }
    )
    assert build_review(settings) == ReviewSettings(
        colour_tolerance=12.5, duplicate_distance=6, colour_retry=True
    )
    assert build_review(settings_from_env({"CATALOG_IMAGEGEN_COLOUR_QA": "off"})) is None
    with pytest.raises(ValueError, match="COLOUR_RETRY"):
        settings_from_env({"CATALOG_IMAGEGEN_COLOUR_RETRY": "maybe"})
