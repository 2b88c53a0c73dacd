"""Google Merchant Center feeds: items grouped by item_group_id, one job per group x colour."""

from __future__ import annotations

from pathlib import Path

from catalog_imagegen.catalog.merchant_center import attribute_name
from catalog_imagegen.catalog.reading import read_catalog
from tests.catalog.catalog_files import MERCHANT_CENTER, jobs_per_slot


def test_tsv_feed_plans_one_job_per_group_and_colour() -> None:
    catalog = read_catalog(MERCHANT_CENTER)
    assert catalog.format == "merchant_center"
    products = {p.sku: p for p in catalog.products}
    assert list(products) == ["TS-100", "SN-01", "MUG-1"]  # an item with no group is its own
    shirt = products["TS-100"]
    assert [(c.name, c.key) for c in shirt.colours] == [
        ("Red", "red"),
        ("Black/White", "black-white"),
    ]
    assert shirt.colours[0].variant_skus == ("TS-RED-S", "TS-RED-M")
    assert shirt.colours[1].variant_skus == ("TS-BW-S", "TS-BW-M")
    assert shirt.colours[1].source_image == "https://cdn.example.com/ts-bw.jpg"
    assert [c.variant_skus for c in products["SN-01"].colours] == [("SN-01-42", "SN-01-43")]
    slots = jobs_per_slot(catalog, "product_card", "colour_edit")
    assert set(slots.values()) == {1}
    # MUG-1 has no colour: its card, but no colour edit (it would change nothing).
    assert len(slots) == (2 + 1 + 1) * 2 - 1


def test_group_attributes_reach_templates_and_the_category_is_readable() -> None:
    shirt = read_catalog(MERCHANT_CENTER).products[0]
    assert shirt.title == "Women's Linen Shirt"
    assert shirt.category == "Shirts & Tops"  # last product_type segment, not the numeric 212
    assert shirt.source_image == "https://cdn.example.com/ts-red.jpg"
    for name, value in {
        "gender": "female",
        "age_group": "adult",
        "material": "linen",
        "pattern": "solid",
        "brand": "Loomwell",
        "google_product_category": "212",
        "description": "Breezy washed linen shirt",
    }.items():
        assert shirt.fields[name] == value
    assert "size" not in shirt.fields  # per item, not per group
    assert "gtin" not in shirt.fields


def test_gtins_stay_text_and_scientific_notation_is_a_warning() -> None:
    catalog = read_catalog(MERCHANT_CENTER)
    assert [(r.row, r.column, r.value, r.severity) for r in catalog.rejects] == [
        (4, "gtin", "1.23456E+13", "warning")
    ]


def test_attribute_names_as_feeds_write_them() -> None:
    assert attribute_name("g:item_group_id") == "item_group_id"
    assert attribute_name(" Item Group ID ") == "item_group_id"
    assert attribute_name("image link") == "image_link"


def test_csv_feed_with_bad_items_reports_row_and_column(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "g:id,g:item_group_id,g:title,g:color,g:image_link\n"
        "A1,G1,Tee,Navy Blue,https://x/a.jpg\n"
        "A2,G1,Tee,navy blue ,https://x/b.jpg\n"
        "A1,G1,Tee,Red,https://x/c.jpg\n"
        ",G2,Cap,Red,https://x/d.jpg\n"
        "B1,G3,,Red,https://x/e.jpg\n",
        encoding="utf-8",
    )
    catalog = read_catalog(feed)
    assert catalog.format == "merchant_center"
    assert [(r.row, r.column) for r in catalog.rejects] == [(4, "id"), (5, "id"), (6, "title")]
    assert "duplicate id 'A1' (first seen on row 2)" in catalog.rejects[0].reason
    (tee,) = catalog.products
    assert [(c.name, c.key, c.variant_skus) for c in tee.colours] == [
        ("Navy Blue", "navy-blue", ("A1", "A2"))
    ]
