"""The lab's pure parts: the word diff, the sample, which template drafts replace, the lab store,
and labels read from a template's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import Colour
from catalog_imagegen.generation.providers.base import ImageSettings
from catalog_imagegen.lab.experiment import LabSample
from catalog_imagegen.lab.prompt_diff import Words, changed_words, word_diff
from catalog_imagegen.lab.runner import LabRequest, run_lab
from catalog_imagegen.lab.sample import pick_slots
from catalog_imagegen.lab.store import LabStore
from catalog_imagegen.lab.versions import lab_versions, target_template
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.templates import TemplateError, load_templates
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from tests.lab.lab_setup import write_lab_catalog


@pytest.mark.parametrize(
    ("current", "draft", "expected"),
    [
        ("a b c", "a b c", [Words("same", "a b c")]),
        ("a b c", "a x c", [Words("same", "a"), Words("removed", "b"), Words("added", "x"),
                            Words("same", "c")]),
        ("a b", "a b c d", [Words("same", "a b"), Words("added", "c d")]),
        ("a  b\nc", "a b c", [Words("same", "a b c")]),  # whitespace is not a change
        ("", "new words", [Words("added", "new words")]),
    ],
)  # fmt: skip
def test_word_diff(current: str, draft: str, expected: list[Words]) -> None:
    assert word_diff(current, draft) == expected


def test_changed_words_counts_words_not_runs() -> None:
    assert changed_words(word_diff("one two three", "one four five six")) == (2, 3)


def job(sku: str, colour: str, season: str = "evergreen") -> Job:
    return Job(
        key=f"{sku}-{colour}-{season}", sku=sku, title=sku, colour=Colour(colour, colour),
        season=season, template="card", template_version="v", prompt="p", mode="generate",
        settings=ImageSettings(), model="m", row=2,
    )  # fmt: skip


def test_the_default_sample_covers_categories_then_colours_and_stops_at_the_limit() -> None:
    jobs = [job("A1", "navy"), job("A1", "red"), job("A2", "navy"), job("A2", "green"),
            job("B1", "navy"), job("C1", "navy"), job("C1", "yellow")]  # fmt: skip
    categories = {"A1": "jackets", "A2": "jackets", "B1": "tees", "C1": "bags"}
    assert pick_slots(jobs, categories, 3) == [
        ("A1", "navy", "evergreen"), ("C1", "yellow", "evergreen"), ("B1", "navy", "evergreen")
    ]  # fmt: skip
    assert len(pick_slots(jobs, categories, 6)) == 6
    assert len(pick_slots(jobs, categories, 20)) == len(jobs)


@pytest.mark.parametrize(
    ("drafts", "against", "expected"),
    [
        (["product_card.sunset.j2"], None, "product_card"),
        (["product_card_v2.j2", "product_card-b.j2"], None, "product_card"),
        (["mobile_story_x.j2"], None, "mobile_story"),
        (["anything.j2"], "product_card", "product_card"),
    ],
)
def test_which_template_the_drafts_replace(
    drafts: list[str], against: str | None, expected: str
) -> None:
    known = ["mobile_story", "product", "product_card"]
    assert target_template([Path(d) for d in drafts], known, against) == expected


@pytest.mark.parametrize(
    ("drafts", "against", "message"),
    [
        (["idea.j2"], None, "say --against"),
        (["product_card.j2", "mobile_story.j2"], None, "say --against"),
        (["idea.j2"], "hero", "no template 'hero'"),
    ],
)
def test_unclear_targets_are_refused(drafts: list[str], against: str | None, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        target_template([Path(d) for d in drafts], ["mobile_story", "product_card"], against)


def test_drafts_load_from_anywhere_with_their_label(templates_copy: Path, tmp_path: Path) -> None:
    current = load_templates(templates_copy)["product_card"]
    draft = tmp_path / "elsewhere" / "product_card.j2"
    draft.parent.mkdir()
    text = (templates_copy / "product_card.j2").read_text()
    draft.write_text(text.replace("description =", 'label = "card-v3"\ndescription =', 1))
    versions = lab_versions(current, [draft, draft], templates_copy)
    assert [v.name for v in versions] == ["current", "product_card", "product_card+"]
    assert versions[1].template.name == "product_card"
    assert versions[1].template.label == "card-v3"
    assert versions[1].template.version != current.version
    assert versions[1].describe == f"card-v3 ({versions[1].template.version})"
    assert current.label == ""
    with pytest.raises(TemplateError, match="no such draft"):
        lab_versions(current, [tmp_path / "missing.j2"], templates_copy)


def test_the_lab_store_keeps_every_key_under_lab(tmp_path: Path) -> None:
    outer = LocalDirectoryStore(tmp_path)
    lab = LabStore(outer)
    lab.put("images/a.png", b"x", content_type="image/png")
    outer.put("images/b.png", b"y", content_type="image/png")
    assert (tmp_path / "lab" / "images" / "a.png").read_bytes() == b"x"
    assert list(lab.list_keys("images/")) == ["images/a.png"]
    assert lab.get("images/b.png") is None
    assert lab.url_for("images/a.png").endswith("/lab/images/a.png")


def test_a_chained_draft_brings_the_base_its_colour_is_edited_from(
    templates_copy: Path, tmp_path: Path
) -> None:
    catalog = write_lab_catalog(tmp_path, [("JKT-001", "Jacket", "Outerwear", "Navy|Red")])
    chain = templates_copy / "examples" / "product_card_chain.j2"
    settings = Settings(output=str(tmp_path / "out"), templates_dir=templates_copy)
    sample = LabSample(colours=("Red",))
    result = run_lab(LabRequest(str(catalog), (chain,), "product_card", sample), settings)
    rows = {row["colour_key"]: row["images"] for row in result.document["slots"]}
    assert sorted(rows) == ["navy", "red"]  # red is edited from the navy base
    assert sorted(rows["red"]) == ["current", "product_card_chain"]
    assert sorted(rows["navy"]) == ["product_card_chain"]
    assert rows["red"]["product_card_chain"]["entry"]["base"].endswith(".png")
    assert result.counts() == {"generated": 3, "skipped": 0, "failed": 0, "not_dispatched": 0}
