"""Every shipped template with every shipped season, against real Shopify exports: prompts read
right, and no request is paid for that asks for nothing (a colour change to the same colour)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.settings import default_templates_dir
from tests.catalog.catalog_files import APPAREL, HOME_AND_GARDEN

GENERIC = """sku,title,category,colours
JMP-1,Yellow Wool Jumper,Jumpers,Yellow|Navy
JKT-1,Navy Sports Jacket,Jackets,navy
SHT-1,Green Shirt,shirts,Green
OWL-1,Owl Mug,,Orange
"""
TEMPLATES = [default_templates_dir(), default_templates_dir() / "examples"]
# What reads wrong, and the issue that found it.
AWKWARD = {
    "a word twice": re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE),  # "a Yellow Yellow Wool Jumper"
    "'as shown' as a colour": re.compile(r"\bas shown\b", re.IGNORECASE),
    "props that are none": re.compile(r"\bno props\b", re.IGNORECASE),
    "'a' before a vowel": re.compile(r"\ba [aeiou]", re.IGNORECASE),
    "a verb agreeing with a plural": re.compile(r"\b\w+s (sits|is|stands)\b"),
    "'with' twice in a clause": re.compile(r"\bwith\b[^.;:]*\bwith\b"),  # "tree with ... with"
    "a place to stand on that is a room": re.compile(r"\bon a [^.;]*\broom\b"),
    "an empty clause": re.compile(r"\(\s*\)|\s[.,;]|\bof (a|the)\s*[.,(]"),
}


def all_prompts(catalog: Path, templates_dir: Path) -> list[Job]:
    templates = load_templates(templates_dir)
    seasons = load_seasons(default_templates_dir())
    products = read_catalog(str(catalog)).products
    options = PlanOptions(model="gpt-image-2", seasons=tuple(seasons), templates=tuple(templates))
    plan = plan_jobs(products, templates, seasons, options)
    assert all(r.column == "source_image" for r in plan.rejects), plan.rejects
    return plan.jobs


@pytest.fixture
def generic_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "generic.csv"
    path.write_text(GENERIC, encoding="utf-8")
    return path


@pytest.mark.parametrize("templates_dir", TEMPLATES, ids=["shipped", "examples"])
@pytest.mark.parametrize("catalog", ["apparel", "home-and-garden", "generic"])
def test_every_shipped_prompt_reads_right(
    catalog: str, templates_dir: Path, generic_catalog: Path
) -> None:
    path = {"apparel": APPAREL, "home-and-garden": HOME_AND_GARDEN}.get(catalog, generic_catalog)
    jobs = all_prompts(path, templates_dir)
    assert jobs
    problems = [
        f"{name}: {job.sku} {job.template} {job.season}: {job.prompt}"
        for job in jobs
        for name, pattern in AWKWARD.items()
        if pattern.search(job.prompt)
    ]
    assert problems == []


def test_a_product_without_a_colour_option_gets_no_colour_words_and_no_colour_edit() -> None:
    jobs = all_prompts(HOME_AND_GARDEN, default_templates_dir())
    pot = [job for job in jobs if job.sku == "clay-plant-pot"]
    assert {job.template for job in pot} == {"mobile_story", "product_card", "seasonal_banner"}
    card = next(j for j in pot if j.template == "product_card" and j.season == "evergreen")
    assert "Clay Plant Pot" in card.prompt
    assert "colour" not in card.prompt.lower()
    jumper = [job for job in all_prompts(APPAREL, default_templates_dir())]
    assert not [j for j in jumper if j.template == "colour_edit"]  # no colour options there


def test_a_title_naming_its_colour_is_not_given_it_twice(generic_catalog: Path) -> None:
    jobs = all_prompts(generic_catalog, default_templates_dir())
    card = {(j.sku, j.colour.key): j.prompt for j in jobs if j.template == "product_card"}
    assert "the Yellow Wool Jumper (Jumpers)" in card["JMP-1", "yellow"]
    assert "the Navy Yellow Wool Jumper (Jumpers)" in card["JMP-1", "navy"]
    assert "the Navy Sports Jacket (Jackets)" in card["JKT-1", "navy"]


def test_an_empty_type_gives_no_category_rather_than_the_titles_last_word() -> None:
    products = {p.sku: p for p in read_catalog(str(APPAREL)).products}
    assert products["led-high-tops"].category == ""  # "Tops" would be wrong: they are shoes
