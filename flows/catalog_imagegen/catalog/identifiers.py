"""IDs, SKUs and barcodes are text. A spreadsheet that already turned one into a number in
scientific notation (``3.65275E+11``) lost its last digits; that is reported as a warning."""

from __future__ import annotations

import re

from catalog_imagegen.catalog.model import Reject

_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_BARCODE_WORDS = ("barcode", "gtin", "ean", "upc", "isbn")


def is_identifier_column(normalized: str) -> bool:
    """Columns holding codes (normalized names: ``variant_barcode``, ``gtin``, ``sku``, ``id``)."""
    words = normalized.split("_")
    return normalized in {"sku", "id", "variant_sku", "mpn"} or any(
        word.startswith(_BARCODE_WORDS) for word in words
    )


def mangled_number_warning(
    value: str, *, file: str, row: int, column: str, sku: str = ""
) -> Reject | None:
    if not _SCIENTIFIC.match(value.strip()):
        return None
    reason = (
        f"'{value}' looks like a code a spreadsheet turned into scientific notation, which loses "
        "its last digits; the row is used as it is, but re-export the column as text"
    )
    return Reject(file, row, column, reason, sku=sku, value=value, severity="warning")
