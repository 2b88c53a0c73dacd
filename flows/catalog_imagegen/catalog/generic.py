"""The generic catalog format: one row per product, documented in the README.

Required columns: ``sku``, ``title``, ``category``, ``colours``. Optional: ``seasons``,
``source_image``, ``template``, ``colour_hex``. Every other column (material, gender, brand, ...) is
passed to templates as ``product.<column>``. Lists (colours, seasons, templates) are separated by
``|``, ``;`` or ``,``. A colour may carry its reference value: ``Navy=#1f2a44``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping

from catalog_imagegen.catalog.colours import (
    RGB,
    colour_key,
    palette_rgb,
    parse_hex,
    split_name_and_hex,
)
from catalog_imagegen.catalog.identifiers import is_identifier_column, mangled_number_warning
from catalog_imagegen.catalog.model import CatalogError, Colour, Product, Reject
from catalog_imagegen.catalog.tables import Table, column_letter

REQUIRED_COLUMNS = ("sku", "title", "category", "colours")
_ALIASES = {
    "colors": "colours",
    "color": "colours",
    "colour": "colours",
    "season": "seasons",
    "templates": "template",
    "image": "source_image",
    "image_url": "source_image",
    "color_hex": "colour_hex",
    "name": "title",
}
_LIST_SEPARATORS = re.compile(r"\s*[|;,]\s*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_column(name: str) -> str:
    cleaned = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return _ALIASES.get(cleaned, cleaned)


def split_list(cell: str) -> list[str]:
    return [part for part in _LIST_SEPARATORS.split(cell.strip()) if part]


def sku_problem(sku: str) -> str | None:
    """Why a SKU cannot be used, or ``None``. Slashes are fine (keys escape them), ``..`` not."""
    if _CONTROL.search(sku):
        return "SKU contains control characters"
    parts = re.split(r"[\\/]", sku)
    if any(part in {".", ".."} for part in parts):
        return "SKU contains a path traversal ('..' or '.')"
    if len(sku) > 200:
        return "SKU is longer than 200 characters"
    return None


def parse_colours(cell: str, hex_cell: str = "") -> tuple[list[Colour], str | None]:
    """Colours of one row, or an error. ``colour_hex`` lists hex values in the same order."""
    colours, error = _shared_colours(cell, hex_cell)
    return list(colours), error


@functools.lru_cache(maxsize=4096)
def _shared_colours(cell: str, hex_cell: str) -> tuple[tuple[Colour, ...], str | None]:
    """Catalog rows repeat the same colour lists: parse each once and share the frozen Colours."""
    written = split_list(cell)
    hexes = split_list(hex_cell) if hex_cell else []
    if hexes and len(hexes) != len(written):
        return (), f"colour_hex has {len(hexes)} values for {len(written)} colours"
    colours: list[Colour] = []
    seen: set[str] = set()
    for index, item in enumerate(written):
        name, rgb = split_name_and_hex(item)
        if hexes:
            rgb = parse_hex(hexes[index])
            if rgb is None:
                return (), f"colour_hex value '{hexes[index]}' is not a #rrggbb colour"
        key = colour_key(name)
        if key in seen:
            continue
        seen.add(key)
        reference: RGB | None = rgb or palette_rgb(name)
        colours.append(Colour(name=name, key=key, rgb=reference))
    return tuple(colours), None


def read_generic(table: Table) -> tuple[list[Product], list[Reject]]:
    """Validate every row of a generic-format table, chunk by chunk."""
    names = {column: normalize_column(column) for column in table.columns}
    columns = list(names.values())
    check_required_columns(columns, file=table.file)
    check_distinct_meanings(table.columns, file=table.file)
    extra = [c for c in dict.fromkeys(columns) if c not in _KNOWN]
    codes = [c for c in dict.fromkeys(columns) if is_identifier_column(c)]
    products: list[Product] = []
    rejects: list[Reject] = []
    seen: dict[str, int] = {}
    for chunk in table.chunks:
        for offset, raw in enumerate(chunk.rows):
            row = chunk.first_row + offset
            cells = {names[k]: v for k, v in raw.items()}
            if not any(cells.values()):
                continue  # a blank line: kept only so later row numbers match the sheet
            rejects.extend(_code_warnings(cells, codes, row=row, file=table.file))
            product, problems = _product_from_cells(
                cells, row=row, file=table.file, extra=extra, seen=seen
            )
            rejects.extend(problems)
            if product is not None:
                products.append(product)
    return products, rejects


def _code_warnings(
    cells: Mapping[str, str], codes: Iterable[str], *, row: int, file: str
) -> Iterator[Reject]:
    for column in codes:
        value = cells.get(column, "")
        warning = mangled_number_warning(
            value, file=file, row=row, column=column, sku=cells.get("sku", "")
        )
        if warning:
            yield warning


_KNOWN = {
    "sku",
    "title",
    "category",
    "colours",
    "seasons",
    "template",
    "source_image",
    "colour_hex",
}


def _product_from_cells(
    cells: Mapping[str, str], *, row: int, file: str, extra: Iterable[str], seen: dict[str, int]
) -> tuple[Product | None, list[Reject]]:
    sku = cells.get("sku", "")

    def reject(column: str, reason: str, value: str = "") -> tuple[None, list[Reject]]:
        return None, [Reject(file, row, column, reason, sku=sku, value=value)]

    if not sku:
        return reject("sku", "missing SKU")
    if problem := sku_problem(sku):
        return reject("sku", problem, sku)
    if sku in seen:
        return reject("sku", f"duplicate SKU '{sku}' (first seen on row {seen[sku]})", sku)
    seen[sku] = row
    if not cells.get("title"):
        return reject("title", "missing title")
    colours, colour_error = parse_colours(cells.get("colours", ""), cells.get("colour_hex", ""))
    if colour_error:
        return reject("colour_hex", colour_error, cells.get("colour_hex", ""))
    if not colours:
        return reject("colours", "no colours")
    product = Product(
        sku=sku,
        title=cells["title"],
        category=cells.get("category", ""),
        colours=tuple(colours),
        row=row,
        seasons=tuple(s.lower() for s in split_list(cells.get("seasons", ""))),
        templates=tuple(split_list(cells.get("template", ""))),
        source_image=cells.get("source_image") or None,
        fields={name: cells[name] for name in extra if cells.get(name)},
    )
    return product, []


def check_distinct_meanings(columns: list[str], *, file: str) -> None:
    """``colours`` and ``color`` are one column spelled twice: refuse rather than pick one."""
    first_seen: dict[str, int] = {}
    for index, column in enumerate(columns):
        meaning = normalize_column(column)
        seen = first_seen.setdefault(meaning, index)
        if seen != index and meaning:
            raise CatalogError(
                f"{file}: columns {column_letter(seen)} '{columns[seen]}' and "
                f"{column_letter(index)} '{column}' both mean '{meaning}'; rename or remove one"
            )


def check_required_columns(columns: Iterable[str], *, file: str) -> None:
    present = set(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        found = ", ".join(sorted(present)) or "none"
        raise CatalogError(
            f"{file}: missing required column {names} (found: {found}); "
            "see 'Catalog format' in the README"
        )
