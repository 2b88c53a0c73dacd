from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import Colour, Product
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.templates import load_seasons, load_templates
from tests.conftest import TEMPLATES

TEMPLATES_LOADED = load_templates(TEMPLATES)
SEASONS = load_seasons(TEMPLATES)


def product(
    sku: str = "A-1", colours: tuple[str, ...] = ("Navy", "Red"), **extra: object
) -> Product:
    values: dict[str, object] = {
        "sku": sku,
        "title": "Parka",
        "category": "Outerwear",
        "row": 2,
        "colours": tuple(Colour(name=c, key=c.lower()) for c in colours),
    }
    values.update(extra)
    return Product(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("colours", "seasons", "templates", "expected"),
    [
        (("Navy",), ("winter",), ("product_card",), 1),
        (("Navy", "Red", "Black"), ("winter", "autumn"), ("product_card",), 6),
        (("Navy", "Red", "Black"), ("winter", "autumn"), ("product_card", "mobile_story"), 12),
        (("Navy", "Red"), (), ("seasonal_banner",), 2),  # default season: evergreen
    ],
)
def test_jobs_are_products_x_colours_x_seasons_x_templates(
    colours: tuple[str, ...], seasons: tuple[str, ...], templates: tuple[str, ...], expected: int
) -> None:
    options = PlanOptions(model="gpt-image-2", seasons=seasons, templates=templates)
    plan = plan_jobs([product(colours=colours)], TEMPLATES_LOADED, SEASONS, options)
    assert plan.rejects == []
    assert len(plan.jobs) == expected
    assert len({job.key for job in plan.jobs}) == expected


def test_keys_are_deterministic_and_depend_on_what_changes_the_image() -> None:
    options = PlanOptions(model="gpt-image-2", seasons=("winter",), templates=("product_card",))
    first = plan_jobs([product()], TEMPLATES_LOADED, SEASONS, options).jobs
    again = plan_jobs([product()], TEMPLATES_LOADED, SEASONS, options).jobs
    other_model = PlanOptions(model="gpt-image-1", seasons=("winter",), templates=("product_card",))
    changed = plan_jobs([product()], TEMPLATES_LOADED, SEASONS, other_model).jobs
    assert [j.key for j in first] == [j.key for j in again]
    assert not {j.key for j in first} & {j.key for j in changed}


def test_prompt_sees_product_colour_and_season() -> None:
    options = PlanOptions(model="m", seasons=("winter",), templates=("product_card",))
    [job, _] = plan_jobs(
        [product(fields={"material": "waxed cotton"})], TEMPLATES_LOADED, SEASONS, options
    ).jobs
    assert "Navy Parka" in job.prompt
    assert "waxed cotton" in job.prompt
    assert SEASONS["winter"].setting in job.prompt


def test_undefined_variable_rejects_that_row_naming_template_line_and_sku(
    templates_copy: Path,
) -> None:
    (templates_copy / "product_card.j2").write_text(
        "Photo of {{ title }}\nin {{ product.fabric }}\n"
    )
    templates = load_templates(templates_copy)
    options = PlanOptions(model="m", seasons=("winter",), templates=("product_card",))
    good = product(sku="GOOD", fields={"fabric": "wool"})
    bad = product(sku="BAD", row=7)
    plan = plan_jobs([good, bad], templates, SEASONS, options, file="c.csv")
    assert {job.sku for job in plan.jobs} == {"GOOD"}
    [reject] = plan.rejects
    assert reject.row == 7
    assert "template 'product_card' line 2" in reject.reason
    assert "'dict object' has no attribute 'fabric'" in reject.reason
    assert "SKU BAD" in reject.reason


def test_unknown_season_is_a_reject() -> None:
    options = PlanOptions(model="m", templates=("product_card",))
    plan = plan_jobs([product(seasons=("monsoon",))], TEMPLATES_LOADED, SEASONS, options)
    assert plan.jobs == []
    assert plan.rejects[0].column == "seasons"
    assert "unknown season 'monsoon'" in plan.rejects[0].reason


def test_edit_template_uses_source_digest_in_key() -> None:
    options = PlanOptions(
        model="m",
        seasons=("winter",),
        templates=("colour_edit",),
        source_digests={"p.png": "sha256:aaa"},
    )
    changed = PlanOptions(
        model="m",
        seasons=("winter",),
        templates=("colour_edit",),
        source_digests={"p.png": "sha256:bbb"},
    )
    one = plan_jobs([product(source_image="p.png")], TEMPLATES_LOADED, SEASONS, options).jobs
    two = plan_jobs([product(source_image="p.png")], TEMPLATES_LOADED, SEASONS, changed).jobs
    assert all(job.mode == "edit" and job.source_image == "p.png" for job in one)
    assert {j.key for j in one}.isdisjoint({j.key for j in two})


def test_edit_template_asked_for_without_photo_is_a_reject() -> None:
    options = PlanOptions(model="m", seasons=("winter",), templates=("colour_edit",))
    plan = plan_jobs([product()], TEMPLATES_LOADED, SEASONS, options)
    assert plan.jobs == []
    assert plan.rejects[0].column == "source_image"


def test_storage_keys_never_escape_for_odd_skus() -> None:
    options = PlanOptions(model="m", seasons=("winter",), templates=("product_card",))
    [job, _] = plan_jobs([product(sku="A/B\\C:D")], TEMPLATES_LOADED, SEASONS, options).jobs
    assert job.storage_key.startswith("images/A_B_C_D/product_card/winter/navy/")


def test_shards_partition_the_products() -> None:
    products = [product(sku=f"SKU-{n}") for n in range(40)]
    whole = plan_jobs(products, TEMPLATES_LOADED, SEASONS, PlanOptions(model="m")).jobs
    parts = [
        plan_jobs(products, TEMPLATES_LOADED, SEASONS, PlanOptions(model="m", shard=(i, 3))).jobs
        for i in range(3)
    ]
    assert all(parts)
    assert sorted(j.key for part in parts for j in part) == sorted(j.key for j in whole)
    assert all(
        {j.sku for j in a}.isdisjoint({j.sku for j in b})
        for a in parts
        for b in parts
        if a is not b
    )
