"""Google Merchant Center product feeds (tab-separated or CSV), with the spec's attribute names.

Items are variants; ``item_group_id`` groups them into a product (an item without one is its own
product), and the product's SKU is that group id. Colours come from ``color``: a multi-colour
value such as ``Black/White`` stays one colour. ``image_link`` is the source photo; every other
product-level attribute (``gender``, ``age_group``, ``material``, ``pattern``, ``brand``, ...) is
available to templates from the group's first item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from catalog_imagegen.catalog.generic import sku_problem
from catalog_imagegen.catalog.identifiers import mangled_number_warning
from catalog_imagegen.catalog.model import Product, Reject
from catalog_imagegen.catalog.tables import Table
from catalog_imagegen.catalog.variant_colours import ColourCollector, category_from

# Attributes that differ between the items of a group, so they are not product template fields.
_ITEM_LEVEL = frozenset(
    {
        *("id", "item_group_id", "title", "description", "color", "size", "image_link"),
        *("additional_image_link", "link", "mobile_link", "gtin", "mpn", "price", "sale_price"),
        *("sale_price_effective_date", "availability", "availability_date", "shipping"),
        *("shipping_weight", "identifier_exists", "lifestyle_image_link"),
    }
)
_IDENTIFIERS = ("gtin", "id", "mpn")


def attribute_name(column: str) -> str:
    """``g:item_group_id``, ``Item Group ID``, ``item group id`` -> ``item_group_id``."""
    cleaned = column.strip().lower()
    cleaned = cleaned.removeprefix("g:")
    return re.sub(r"[^0-9a-z]+", "_", cleaned).strip("_")


def is_merchant_center_header(columns: Iterable[str]) -> bool:
    names = {attribute_name(c) for c in columns}
    signature = {"image_link", "item_group_id", "google_product_category", "link", "availability"}
    return {"id", "title"} <= names and bool(names & signature) and "sku" not in names


@dataclass(slots=True)
class _GroupDraft:
    group: str
    row: int
    title: str
    description: str
    fields: dict[str, str]
    image: str | None
    colours: ColourCollector = field(default_factory=ColourCollector)

    def product(self) -> Product:
        fields = dict(self.fields)
        if self.description:
            fields["description"] = self.description
        return Product(
            sku=self.group,
            title=self.title,
            category=category_from(
                fields.get("product_type", ""),
                fields.get("google_product_category", ""),
            ),
            colours=self.colours.colours(self.title),
            row=self.row,
            source_image=self.image,
            fields=fields,
        )


@dataclass(slots=True)
class MerchantCenterReader:
    file: str
    groups: dict[str, _GroupDraft | None] = field(default_factory=dict)  # None: rejected
    rejects: list[Reject] = field(default_factory=list)
    item_rows: dict[str, int] = field(default_factory=dict)

    def read(self, table: Table) -> tuple[list[Product], list[Reject]]:
        for chunk in table.chunks:
            for offset, raw in enumerate(chunk.rows):
                cells = {attribute_name(k): v for k, v in raw.items()}
                self.add_item(cells, chunk.first_row + offset)
        products = [group.product() for group in self.groups.values() if group is not None]
        return products, self.rejects

    def add_item(self, cells: dict[str, str], row: int) -> None:
        if not any(cells.values()):
            return
        item_id = cells.get("id", "")
        group_id = cells.get("item_group_id", "") or item_id
        for column in _IDENTIFIERS:
            warning = mangled_number_warning(
                cells.get(column, ""), file=self.file, row=row, column=column, sku=group_id
            )
            if warning:
                self.rejects.append(warning)
        if problem := self._item_problem(cells, item_id, group_id, row):
            column, reason, value = problem
            self.rejects.append(Reject(self.file, row, column, reason, group_id, value))
            return
        self.item_rows[item_id] = row
        if group_id not in self.groups:
            self.groups[group_id] = self._start(group_id, cells, row)
        group = self.groups[group_id]
        if group is not None:
            group.colours.add(
                cells.get("color", ""), sku=item_id, image=cells.get("image_link", "")
            )

    def _item_problem(
        self, cells: dict[str, str], item_id: str, group_id: str, row: int
    ) -> tuple[str, str, str] | None:
        if not item_id:
            return "id", "missing id", ""
        if item_id in self.item_rows:
            first = self.item_rows[item_id]
            return "id", f"duplicate id '{item_id}' (first seen on row {first})", item_id
        if problem := sku_problem(group_id):
            return "item_group_id", problem, group_id
        if not cells.get("title"):
            return "title", "missing title", ""
        return None

    def _start(self, group_id: str, cells: dict[str, str], row: int) -> _GroupDraft:
        fields = {k: v for k, v in cells.items() if v and k not in _ITEM_LEVEL}
        return _GroupDraft(
            group=group_id,
            row=row,
            title=cells["title"],
            description=cells.get("description", ""),
            fields=fields,
            image=cells.get("image_link") or None,
        )


def read_merchant_center(table: Table) -> tuple[list[Product], list[Reject]]:
    return MerchantCenterReader(file=table.file).read(table)
