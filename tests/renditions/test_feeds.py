"""The Merchant Center supplemental feed: one row per item id, compliant public renditions only."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_imagegen.renditions.feeds import NO_VARIANT_SKU, supplemental_feed
from catalog_imagegen.storage.manifest import ManifestEntry

CDN = "https://cdn.example.com/shop"


def entry(
    sku: str,
    *,
    season: str = "evergreen",
    template: str = "product_card",
    variant_skus: tuple[str, ...] = (),
    url: str | None = None,
    compliant: bool = True,
) -> ManifestEntry:
    key = f"images/{sku}/{template}/{season}/navy/k"
    rendition: dict[str, Any] = {
        "key": f"{key}/google_shopping.jpg",
        "url": url or f"{CDN}/{key}/google_shopping.jpg",
        "compliant": compliant,
    }
    return ManifestEntry(
        sku=sku,
        colour="Navy",
        colour_key="navy",
        season=season,
        template=template,
        template_version="v",
        key="k" * 32,
        storage_key=f"{key}.png",
        url=f"{CDN}/{key}.png",
        sha256="0" * 64,
        bytes=1,
        width=1024,
        height=1024,
        format="png",
        model="gpt-image-2",
        prompt="p",
        created_at="2026-11-30T00:00:00+00:00",
        run_id="r",
        variant_skus=variant_skus,
        renditions={"google_shopping": rendition},
    )


def rows(data: bytes) -> list[list[str]]:
    return [line.split("\t") for line in data.decode().splitlines()]


def test_one_row_per_variant_sku_with_the_product_card_first() -> None:
    entries = [
        entry("tee", season="winter", variant_skus=("TEE-S", "TEE-M")),
        entry("tee", variant_skus=("TEE-S", "TEE-M")),
        entry("tee", template="banner", variant_skus=("TEE-S", "TEE-M")),
    ]
    feed = supplemental_feed(entries, "shopify")
    base = f"{CDN}/images/tee"
    links = (
        f"{base}/product_card/evergreen/navy/k/google_shopping.jpg",
        f"{base}/product_card/winter/navy/k/google_shopping.jpg,"
        f"{base}/banner/evergreen/navy/k/google_shopping.jpg",
    )
    assert rows(feed.data) == [
        ["id", "image_link", "additional_image_link"],
        ["TEE-M", *links],
        ["TEE-S", *links],
    ]
    assert (feed.rows, dict(feed.left_out)) == (2, {})


@pytest.mark.parametrize(
    ("catalog_format", "variant_skus", "ids"),
    [
        ("generic", ("TEE-S",), ["tee"]),  # a generic catalog's SKU
        ("merchant_center", ("item-1", "item-2"), ["item-1", "item-2"]),  # the items' own ids
        ("shopify", ("TEE-S",), ["TEE-S"]),
    ],
)
def test_the_id_is_what_merchant_center_knows_the_item_by(
    catalog_format: str, variant_skus: tuple[str, ...], ids: list[str]
) -> None:
    feed = supplemental_feed([entry("tee", variant_skus=variant_skus)], catalog_format)
    assert [row[0] for row in rows(feed.data)[1:]] == ids


def test_what_is_left_out_is_counted_by_reason() -> None:
    entries = [
        entry("a", variant_skus=("A-1",), compliant=False),
        entry("b", variant_skus=("B-1",), url="file:///out/images/b/google_shopping.jpg"),
        entry("c", variant_skus=("C-1",), url="s3://bucket/images/c/google_shopping.jpg"),
        entry("d"),  # a Shopify variant without a SKU
        entry("e", variant_skus=("E-1",)),
    ]
    feed = supplemental_feed(entries, "shopify")
    assert [row[0] for row in rows(feed.data)] == ["id", "E-1"]
    assert dict(feed.left_out) == {
        "noncompliant": 1,
        "no public URL (set --public-base-url)": 2,
        NO_VARIANT_SKU: 1,
    }


def test_cells_cannot_break_the_tab_separated_layout() -> None:
    odd = entry("x", variant_skus=("X\t1",), url=f"{CDN}/a,b.jpg")
    [_, row] = rows(supplemental_feed([odd], "shopify").data)
    assert row == ["X 1", f"{CDN}/a%2Cb.jpg", ""]
