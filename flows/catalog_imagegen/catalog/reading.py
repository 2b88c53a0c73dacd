"""Reading a catalog file: open it as a table, detect its format, validate every row.

A file that cannot be used at all raises ``CatalogError`` with one clear line naming the file.
Rows that cannot be used become ``Reject`` entries and the rest carry on; ``strict=True`` turns the
first error into a ``CatalogError`` instead (warnings, such as a barcode in scientific notation,
never stop a run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from catalog_imagegen.catalog.archived import without_archived
from catalog_imagegen.catalog.detect import chosen_format, detect_format
from catalog_imagegen.catalog.excel import is_workbook, open_excel_table
from catalog_imagegen.catalog.field_limits import within_limits
from catalog_imagegen.catalog.generic import check_required_columns, read_generic
from catalog_imagegen.catalog.merchant_center import read_merchant_center
from catalog_imagegen.catalog.model import CatalogError, CatalogRead, Product, Reject
from catalog_imagegen.catalog.shopify import read_shopify
from catalog_imagegen.catalog.tables import Table, open_csv_table

NO_PRODUCTS = "no products: the file has a header and no product rows"
Reader = Callable[[Table], tuple[list[Product], list[Reject]]]
READERS: dict[str, Reader] = {
    "generic": read_generic,
    "shopify": read_shopify,
    "merchant_center": read_merchant_center,
}


def read_catalog(
    path: str | Path,
    *,
    strict: bool = False,
    format: str | None = None,  # the CLI flag's name
    sheet: str | None = None,
    include_archived: bool = False,
) -> CatalogRead:
    file = Path(path)
    chosen = chosen_format(format)
    table = open_table(file, workbook=chosen == "excel", sheet=sheet)
    columns = chosen if chosen in READERS else detect_format(table.columns)
    assert columns is not None
    products, rejects = READERS[columns](table)
    products, oversized = within_limits(products, table.file)
    rejects = sorted(rejects + oversized, key=lambda r: r.row or 0) if oversized else rejects
    label = "excel" if columns == "generic" and table.from_workbook else columns
    result = CatalogRead(
        path=str(file), format=label, products=products, rejects=rejects, sheet=sheet
    )
    if not products and not rejects:
        result.rejects.append(Reject(table.file, None, None, NO_PRODUCTS, severity="warning"))
    enforce_strict(result, strict=strict)
    return result if include_archived else without_archived(result)


def check_catalog(path: str | Path, *, format: str | None = None, sheet: str | None = None) -> str:
    """Can this file be read at all: it exists, opens as a table, and has the columns its format
    needs. Reads the header and the first rows only, so a command can say so in a moment."""
    file = Path(path)
    chosen = chosen_format(format)
    table = open_table(file, workbook=chosen == "excel", sheet=sheet)
    columns = chosen if chosen in READERS else detect_format(table.columns)
    if columns == "generic":
        check_required_columns(table.columns, file=table.file)
    return columns or "generic"


def open_table(file: Path, *, workbook: bool = False, sheet: str | None = None) -> Table:
    """The file as a table: an Excel workbook's sheet, else a CSV/TSV read in chunks."""
    if workbook or is_workbook(file):
        return open_excel_table(file, sheet=sheet)
    if sheet is not None:
        raise CatalogError(f"{file.name}: --sheet applies to Excel workbooks, not to CSV files")
    return open_csv_table(file)


def enforce_strict(result: CatalogRead, *, strict: bool) -> None:
    errors = [r for r in result.rejects if r.severity == "error"]
    if strict and errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CatalogError(errors[0].describe() + more + "; --strict stops on the first bad row")
