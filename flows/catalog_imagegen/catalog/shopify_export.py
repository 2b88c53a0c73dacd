"""Writing the generated imagery back as a Shopify product CSV, ready for Shopify's importer.

The file holds the original export's rows and columns unchanged, except that each variant's
``Variant Image`` points at its colour's generated image, and each product gains one image row
(``Handle``, ``Image Src``, ``Image Position``, ``Image Alt Text``) per colour, placed after the
product's own photos so its featured image stays as it was. One generated image stands for each
colour: the ``product_card`` template's where the run made it (square, made for product pages),
else the first square template's, else the first template's by name; of its seasons, evergreen,
else the first by name. Where the image has a compliant ``shopify`` channel rendition (2048x2048),
the file links that instead. Every cell goes through ``reports.safe_cell``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from catalog_imagegen.catalog.colours import colour_key
from catalog_imagegen.catalog.reading import open_table
from catalog_imagegen.catalog.shopify import (
    HANDLE,
    IMAGE_SRC,
    TITLE,
    VARIANT_IMAGE,
    colour_option_column,
    is_variant_row,
)
from catalog_imagegen.catalog.variant_colours import DEFAULT_COLOUR_KEY, fallback_colour
from catalog_imagegen.storage.manifest import ManifestEntry
from catalog_imagegen.storage.reports import csv_bytes

PRODUCT_IMAGE_TEMPLATE = "product_card"
SHOPIFY_CHANNEL = "shopify"
IMAGE_POSITION, IMAGE_ALT = "image position", "image alt text"
_ADDED_COLUMNS = ("Image Src", "Image Position", "Image Alt Text", "Variant Image")


def shopify_import_csv(
    catalog: Path, entries: Iterable[ManifestEntry], *, sheet: str | None = None
) -> bytes:
    """The Shopify export at ``catalog`` with the run's images attached to its products."""
    images = images_by_colour(entries)
    table = open_table(catalog, sheet=sheet)
    header = list(table.columns)
    header += [c for c in _ADDED_COLUMNS if c.lower() not in {h.lower() for h in header}]
    named = {h.lower(): h for h in header}
    products: dict[str, list[dict[str, str]]] = {}
    for chunk in table.chunks:
        for offset, row in enumerate(chunk.rows):
            handle = row.get(named[HANDLE], "") or f"\x00row {chunk.first_row + offset}"
            products.setdefault(handle, []).append(row)
    out: list[list[str]] = []
    for handle, rows in products.items():
        for row in product_rows(handle, rows, images, named):
            out.append([row.get(column, "") for column in header])
    return csv_bytes(header, out)


def images_by_colour(entries: Iterable[ManifestEntry]) -> dict[tuple[str, str], ManifestEntry]:
    """The one image per (product SKU, colour key) that the import file attaches."""
    chosen: dict[tuple[str, str], ManifestEntry] = {}
    for entry in entries:
        slot = (entry.sku, entry.colour_key)
        if slot not in chosen or _preference(entry) < _preference(chosen[slot]):
            chosen[slot] = entry
    return chosen


def _preference(entry: ManifestEntry) -> tuple[bool, bool, str, bool, str]:
    return (
        entry.template != PRODUCT_IMAGE_TEMPLATE,
        entry.width != entry.height,
        entry.template,
        entry.season != "evergreen",
        entry.season,
    )


def product_rows(
    handle: str,
    rows: Sequence[dict[str, str]],
    images: dict[tuple[str, str], ManifestEntry],
    named: dict[str, str],
) -> list[dict[str, str]]:
    """A product's rows with variant images set, then one new image row per colour."""
    first = {k.lower(): v for k, v in rows[0].items()}
    title = first.get(TITLE, "")
    option = colour_option_column(first)
    fallback = fallback_colour(title).key
    colour_keys: list[str] = []
    out = []
    for row in rows:
        cells = {k.lower(): v for k, v in row.items()}
        updated = dict(row)
        if is_variant_row(cells):
            value = cells.get(option, "") if option else ""
            key = colour_key(value) if value else fallback
            colour_keys.append(key)
            if (handle, key) in images:
                updated[named[VARIANT_IMAGE]] = image_url(images[handle, key])
        out.append(updated)
    next_position = _last_position(rows, named) + 1
    for key in dict.fromkeys(colour_keys or [fallback]):
        entry = images.get((handle, key))
        if entry is None:
            continue
        alt = title if key == DEFAULT_COLOUR_KEY else f"{title} - {entry.colour}"
        out.append(
            {
                named[HANDLE]: handle,
                named[IMAGE_SRC]: image_url(entry),
                named[IMAGE_POSITION]: str(next_position),
                named[IMAGE_ALT]: alt,
            }
        )
        next_position += 1
    return out


def image_url(entry: ManifestEntry) -> str:
    """The ``shopify`` channel's rendition where the run derived a compliant one, else the image."""
    rendition = entry.renditions.get(SHOPIFY_CHANNEL)
    if rendition is not None and rendition.get("compliant"):
        return str(rendition["url"])
    return entry.url


def _last_position(rows: Sequence[dict[str, str]], named: dict[str, str]) -> int:
    positions = [row.get(named[IMAGE_POSITION], "") for row in rows]
    numbers = [int(p) for p in positions if p.isdigit()]
    with_images = sum(1 for row in rows if row.get(named[IMAGE_SRC]))
    return max([*numbers, with_images])
