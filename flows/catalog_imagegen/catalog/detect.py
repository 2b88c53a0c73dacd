"""Which catalog format a file is in, from its header names (and, for workbooks, its bytes).

``--format`` overrides the guess: ``generic``, ``shopify``, ``merchant-center``, or ``excel``
(a workbook in the generic format, for a file whose name and first bytes do not say so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from catalog_imagegen.catalog.merchant_center import is_merchant_center_header
from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.shopify import is_shopify_header

ColumnFormat = Literal["generic", "shopify", "merchant_center"]
FORMAT_CHOICES = ("auto", "generic", "shopify", "merchant-center", "excel")


def detect_format(columns: Iterable[str]) -> ColumnFormat:
    names = list(columns)
    if is_shopify_header(names):
        return "shopify"
    if is_merchant_center_header(names):
        return "merchant_center"
    return "generic"


def chosen_format(name: str | None) -> str | None:
    """A ``--format`` value as the readers name it (``merchant-center`` -> ``merchant_center``);
    ``None`` for auto-detection."""
    if name is None or name == "auto":
        return None
    if name not in FORMAT_CHOICES:
        choices = ", ".join(FORMAT_CHOICES)
        raise CatalogError(f"unknown catalog format '{name}' (choose from: {choices})")
    return name.replace("-", "_")
