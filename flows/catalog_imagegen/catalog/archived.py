"""Archived products: a Shopify export's ``Status`` marks products no longer sold.

They get no images unless a run asks for them (``--include-archived``); drafts stay in, because
merchandisers prepare them. The skipped products are counted, not rejected: nothing is wrong with
their rows.
"""

from __future__ import annotations

from dataclasses import replace

from catalog_imagegen.catalog.model import CatalogRead, Product

ARCHIVED_STATUS = "archived"


def is_archived(product: Product) -> bool:
    return product.fields.get("status", "").strip().casefold() == ARCHIVED_STATUS


def without_archived(catalog: CatalogRead) -> CatalogRead:
    """The catalog without its archived products, whose SKUs it lists in ``archived``."""
    if catalog.format != "shopify":
        return catalog
    kept = [product for product in catalog.products if not is_archived(product)]
    archived = [product.sku for product in catalog.products if is_archived(product)]
    return replace(catalog, products=kept, archived=archived)
