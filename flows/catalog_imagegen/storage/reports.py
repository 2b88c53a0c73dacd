"""Files written for people: CSVs a merchandiser opens in a spreadsheet.

Every cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, or a
tab or carriage return) is neutralized with a leading apostrophe, whatever its origin.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from catalog_imagegen.catalog.model import Reject
from catalog_imagegen.storage.manifest import ManifestEntry

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REJECT_COLUMNS = ("file", "row", "column", "severity", "reason", "sku", "value")
IMAGE_COLUMNS = (
    "sku",
    "colour",
    "season",
    "template",
    "url",
    "storage_key",
    "width",
    "height",
    "bytes",
    "format",
    "template_version",
    "model",
    "created_at",
    "variant_skus",
    "flags",
    "prompt",
)


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def rejects_csv(rejects: Iterable[Reject]) -> bytes:
    return csv_bytes(
        REJECT_COLUMNS,
        (
            [r.file, r.row or "", r.column or "", r.severity, r.reason, r.sku, r.value]
            for r in rejects
        ),
    )


def images_csv(entries: Iterable[ManifestEntry]) -> bytes:
    return csv_bytes(
        IMAGE_COLUMNS,
        (
            [
                e.sku,
                e.colour,
                e.season,
                e.template,
                e.url,
                e.storage_key,
                e.width,
                e.height,
                e.bytes,
                e.format,
                e.template_version,
                e.model,
                e.created_at,
                " ".join(e.variant_skus),
                " ".join(str(f.get("kind", "")) for f in e.flags),
                e.prompt,
            ]
            for e in entries
        ),
    )
