"""Shopify product CSV exports: the real samples and a Color x Size export in the current shape."""

from __future__ import annotations

import csv

import pytest

from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.shopify import read_shopify
from catalog_imagegen.catalog.tables import open_csv_table
from tests.catalog.catalog_files import (
    APPAREL,
    COLOR_SIZE,
    HOME_AND_GARDEN,
    jobs_per_slot,
    plan,
)

ALL_TEMPLATES = ("colour_edit", "mobile_story", "product_card", "seasonal_banner")


def handles_in(path: object) -> list[str]:
    with open(str(path), encoding="utf-8-sig", newline="") as stream:
        return list(dict.fromkeys(row["Handle"] for row in csv.DictReader(stream)))


@pytest.mark.parametrize("path", [APPAREL, HOME_AND_GARDEN], ids=["apparel", "home-and-garden"])
def test_real_exports_plan_one_job_per_product_colour_season_template(path: object) -> None:
    catalog = read_catalog(str(path))
    assert catalog.format == "shopify"
    assert catalog.rejects == []
    assert [p.sku for p in catalog.products] == handles_in(path)
    slots = jobs_per_slot(catalog)
    # No colour options in these exports: every product gets exactly one colour of its own.
    assert all(len(p.colours) == 1 for p in catalog.products)
    assert set(slots.values()) == {1}
    # One season (evergreen); no colour edit, which would change the photo into its own colour.
    generated = [t for t in ALL_TEMPLATES if t != "colour_edit"]
    assert len(slots) == len(catalog.products) * len(generated)
    assert {t for *_, t in slots} == set(generated)


def test_products_without_a_colour_option_take_their_colour_from_the_title() -> None:
    colours = {p.sku: p.colours[0] for p in read_catalog(str(HOME_AND_GARDEN)).products}
    assert (colours["pink-armchair"].name, colours["pink-armchair"].key) == ("Pink", "pink")
    assert colours["yellow-watering-can"].name == "Yellow"
    assert (colours["antique-drawers"].name, colours["antique-drawers"].key) == (
        "as shown",
        "default",
    )


def test_product_fields_photos_and_description_come_from_the_first_row() -> None:
    products = {p.sku: p for p in read_catalog(str(HOME_AND_GARDEN)).products}
    pot = products["clay-plant-pot"]
    assert pot.title == "Clay Plant Pot"
    assert pot.source_image == "https://burst.shopifycdn.com/photos/single-sprout-in-a-pot_925x.jpg"
    assert pot.fields["description"] == "Classic blown clay pot for plants"  # no <p>
    assert (pot.fields["type"], pot.fields["vendor"], pot.fields["tags"]) == (
        "Outdoor",
        "Company 123",
        "Pot, Plants",
    )
    assert pot.category == "Outdoor"
    assert "variant_price" not in pot.fields


def test_color_and_size_plan_one_job_per_product_colour_not_per_size() -> None:
    catalog = read_catalog(str(COLOR_SIZE))
    products = {p.sku: p for p in catalog.products}
    assert list(products) == ["everyday-crew-tee", "harbour-hoodie", "wollschal", "canvas-tote"]
    tee = products["everyday-crew-tee"]
    assert [(c.name, c.key) for c in tee.colours] == [
        ("Navy Blue", "navy-blue"),
        ("black", "black"),
    ]
    assert tee.colours[0].variant_skus == ("TEE-NVY-S", "TEE-NVY-M", "TEE-NVY-L")
    assert tee.colours[1].variant_skus == ("TEE-BLK-S", "TEE-BLK-M", "TEE-BLK-L")
    assert tee.colours[1].source_image == "https://cdn.example.com/tee-black.jpg"
    hoodie = products["harbour-hoodie"]  # Colour is Option2 there
    assert [c.key for c in hoodie.colours] == ["sage", "rust"]
    assert [c.name for c in products["wollschal"].colours] == ["Dunkelgrün", "Grau"]  # Farbe
    assert [c.name for c in products["canvas-tote"].colours] == ["Sand"]
    assert products["canvas-tote"].colours[0].variant_skus == ("TOTE-1",)

    slots = jobs_per_slot(catalog, "product_card")
    assert set(slots.values()) == {1}
    assert len(slots) == 2 + 2 + 2 + 1  # products x colours; sizes never multiply images


def test_product_fields_are_filled_forward_for_later_variant_rows() -> None:
    tee = read_catalog(str(COLOR_SIZE)).products[0]
    assert tee.title == "Everyday Crew Tee"
    assert tee.row == 2
    assert tee.category == "T-Shirts"
    assert tee.fields["product_category"].endswith("Shirts & Tops")
    assert tee.fields["description"] == "Soft organic cotton & a relaxed fit. Crew neck"
    assert tee.fields["status"] == "active"
    prompt = plan(read_catalog(str(COLOR_SIZE)), "product_card").jobs[0].prompt
    assert "Navy Blue Everyday Crew Tee (T-Shirts)" in prompt


def test_forward_fill_works_across_chunk_boundaries() -> None:
    whole = read_shopify(open_csv_table(COLOR_SIZE))
    in_pairs = read_shopify(open_csv_table(COLOR_SIZE, chunk_rows=2))
    assert in_pairs == whole


def test_barcodes_stay_text_and_scientific_notation_is_a_warning_naming_row_and_column() -> None:
    catalog = read_catalog(str(COLOR_SIZE), strict=True)  # warnings never stop a strict run
    warnings = [r for r in catalog.rejects if r.severity == "warning"]
    assert [(r.row, r.column, r.value) for r in warnings] == [
        (2, "Variant Barcode", "3.65275E+11"),
        (3, "Variant Barcode", "3.65275E+11"),
        (5, "Variant Barcode", "3.65276E+11"),
        (9, "Variant Barcode", "4.00638E+12"),
    ]
    assert "row 2, column 'Variant Barcode': warning" in warnings[0].describe()
    assert [r for r in catalog.rejects if r.severity == "error"] == []
    # The rows are still used: every variant is listed on its colour.
    assert sum(len(c.variant_skus) for c in catalog.products[0].colours) == 6


def test_leading_zeros_in_barcodes_survive(tmp_path: object) -> None:
    catalog = read_catalog(str(COLOR_SIZE))
    values = [r.value for r in catalog.rejects]
    assert "0036527500013" not in values  # a real barcode is not flagged
    with open(COLOR_SIZE, encoding="utf-8") as stream:
        assert "0036527500013" in stream.read()


def test_duplicate_variant_skus_and_missing_titles_are_reported_with_row_and_column(
    tmp_path: object,
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "products_export.csv"
    path.write_text(
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Image Src\n"
        "tee,Tee,Color,Red,SKU-1,https://x/1.jpg\n"
        "tee,,,Blue,SKU-1,\n"
        "mug,,Title,Default Title,MUG-1,\n"
        ",,,,ORPHAN,\n",
        encoding="utf-8",
    )
    catalog = read_catalog(path)
    assert [(r.row, r.column) for r in catalog.rejects] == [
        (3, "Variant SKU"),
        (4, "Title"),
        (5, "Handle"),
    ]
    assert "first seen on row 2" in catalog.rejects[0].reason
    assert [p.sku for p in catalog.products] == ["tee"]
    assert [c.variant_skus for c in catalog.products[0].colours] == [("SKU-1",), ()]
