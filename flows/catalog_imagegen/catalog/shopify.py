"""Shopify's product CSV export (the older header and the current one with ``Product Category``).

One product per ``Handle``; only a product's first row carries its product fields, later rows
carry variant and image fields, so product fields are taken from the handle's first row (which
is the forward fill, done across chunks). The product's SKU is its Handle: unique per product and
present on every row, where ``Variant SKU`` is per variant and often empty. The colour dimension
is whichever option is named Color/Colour (any case or common language); sizes and other options
never multiply images: one colour lists every variant SKU that has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog_imagegen.catalog.generic import normalize_column, sku_problem
from catalog_imagegen.catalog.identifiers import mangled_number_warning
from catalog_imagegen.catalog.model import Product, Reject
from catalog_imagegen.catalog.plain_text import html_to_text
from catalog_imagegen.catalog.tables import Table
from catalog_imagegen.catalog.variant_colours import (
    ColourCollector,
    category_from,
    is_colour_option,
)

HANDLE, TITLE, BODY = "handle", "title", "body (html)"
VARIANT_SKU, VARIANT_IMAGE, VARIANT_BARCODE = "variant sku", "variant image", "variant barcode"
IMAGE_SRC = "image src"
OPTION_NAMES = ("option1 name", "option2 name", "option3 name")
# Columns that belong to a variant or an image row, never to the product's template fields.
_ROW_LEVEL_PREFIXES = (
    *("variant ", "option", "image ", "cost per item"),
    *("included /", "price /", "compare at price /"),
)
_VARIANT_MARKERS = ("option1 value", VARIANT_SKU, "variant price", VARIANT_BARCODE)


def is_shopify_header(columns: Iterable[str]) -> bool:
    names = {c.strip().lower() for c in columns}
    return HANDLE in names and bool(names & {TITLE, VARIANT_SKU, "option1 name", BODY})


def colour_option_column(first_row: dict[str, str]) -> str | None:
    """The ``OptionN Value`` column holding colour, from the names on a product's first row."""
    for number, name_column in enumerate(OPTION_NAMES, start=1):
        if is_colour_option(first_row.get(name_column, "")):
            return f"option{number} value"
    return None


def is_variant_row(cells: dict[str, str]) -> bool:
    """Image-only rows (a handle and an image) carry none of the variant fields."""
    return any(cells.get(column) for column in _VARIANT_MARKERS)


@dataclass(slots=True)
class _ProductDraft:
    handle: str
    row: int
    title: str
    fields: dict[str, str]
    colour_column: str | None
    colours: ColourCollector = field(default_factory=ColourCollector)
    image: str | None = None

    def product(self) -> Product:
        colours = self.colours.colours(self.title)
        own_image = next((c.source_image for c in colours if c.source_image), None)
        return Product(
            sku=self.handle,
            title=self.title,
            category=category_from(
                self.fields.get("type", ""),
                self.fields.get("product_category", ""),
            ),
            colours=colours,
            row=self.row,
            source_image=self.image or own_image,
            fields=self.fields,
        )


@dataclass(slots=True)
class ShopifyReader:
    file: str
    drafts: dict[str, _ProductDraft | None] = field(default_factory=dict)  # None: rejected
    rejects: list[Reject] = field(default_factory=list)
    variant_rows: dict[str, int] = field(default_factory=dict)  # Variant SKU -> first row

    def read(self, table: Table) -> tuple[list[Product], list[Reject]]:
        for chunk in table.chunks:
            for offset, raw in enumerate(chunk.rows):
                self.add_row({k.lower(): v for k, v in raw.items()}, chunk.first_row + offset)
        products = [draft.product() for draft in self.drafts.values() if draft is not None]
        return products, self.rejects

    def add_row(self, cells: dict[str, str], row: int) -> None:
        handle = cells.get(HANDLE, "")
        if not handle:
            if any(cells.values()):
                self._reject(row, "Handle", "missing Handle: the row belongs to no product")
            return
        if handle not in self.drafts:
            self.drafts[handle] = self._start(handle, cells, row)
        draft = self.drafts[handle]
        if draft is None:
            return
        if cells.get(IMAGE_SRC) and draft.image is None:
            draft.image = cells[IMAGE_SRC]
        if is_variant_row(cells):
            self._add_variant(draft, cells, row)

    def _start(self, handle: str, cells: dict[str, str], row: int) -> _ProductDraft | None:
        if problem := sku_problem(handle):
            self._reject(row, "Handle", problem, handle, handle)
            return None
        title = cells.get(TITLE, "")
        if not title:
            self._reject(row, "Title", "missing Title on the product's first row", handle)
            return None
        return _ProductDraft(
            handle=handle,
            row=row,
            title=title,
            fields=product_fields(cells),
            colour_column=colour_option_column(cells),
        )

    def _add_variant(self, draft: _ProductDraft, cells: dict[str, str], row: int) -> None:
        sku = cells.get(VARIANT_SKU, "")
        for column, label in ((VARIANT_BARCODE, "Variant Barcode"), (VARIANT_SKU, "Variant SKU")):
            warning = mangled_number_warning(
                cells.get(column, ""), file=self.file, row=row, column=label, sku=draft.handle
            )
            if warning:
                self.rejects.append(warning)
        if sku and sku in self.variant_rows:
            first = self.variant_rows[sku]
            reason = f"duplicate Variant SKU '{sku}' (first seen on row {first}); listed once"
            self._reject(row, "Variant SKU", reason, draft.handle, sku)
            sku = ""
        elif sku:
            self.variant_rows[sku] = row
        colour = cells.get(draft.colour_column, "") if draft.colour_column else ""
        draft.colours.add(colour, sku=sku, image=cells.get(VARIANT_IMAGE, ""))

    def _reject(self, row: int, column: str, reason: str, sku: str = "", value: str = "") -> None:
        self.rejects.append(Reject(self.file, row, column, reason, sku=sku, value=value))


def product_fields(cells: dict[str, str]) -> dict[str, str]:
    """Template fields from a product's first row: ``type``, ``vendor``, ``tags``,
    ``product_category``, ``description`` (Body as plain text), ``seo_title``, ``status``, ..."""
    fields: dict[str, str] = {}
    for column, value in cells.items():
        if not value or column in (HANDLE, TITLE) or column.startswith(_ROW_LEVEL_PREFIXES):
            continue
        if column == BODY:
            text = html_to_text(value)
            if text:
                fields["description"] = text
            continue
        fields[normalize_column(column)] = value
    return fields


def read_shopify(table: Table) -> tuple[list[Product], list[Reject]]:
    return ShopifyReader(file=table.file).read(table)
