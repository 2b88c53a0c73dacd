"""Excel workbooks (``.xlsx``): the first sheet, or the one named with ``--sheet``, as a table.

Every cell is read as text (``dtype=str``) so SKUs and barcodes keep their digits. A workbook is
read whole (openpyxl has no row streaming through pandas); Excel caps a sheet at ~1M rows anyway.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.tables import (
    FIRST_DATA_ROW,
    Table,
    TableChunk,
    check_file,
    check_unique_columns,
    rows_of,
)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
_OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"


def is_workbook(file: Path) -> bool:
    """An Excel file, judged by its first bytes (a renamed file still counts) or its suffix."""
    check_file(file)
    try:
        with file.open("rb") as stream:
            head = stream.read(4)
    except OSError as error:
        raise CatalogError(f"{file.name}: cannot be read ({error.strerror})") from None
    if head == _OLD_EXCEL_MAGIC or file.suffix.lower() == ".xls":
        raise CatalogError(f"{file.name}: old Excel (.xls) workbooks are not read; save as .xlsx")
    return head == _ZIP_MAGIC or file.suffix.lower() in WORKBOOK_SUFFIXES


def open_excel_table(file: Path, *, sheet: str | None = None) -> Table:
    name = file.name
    check_file(file)
    try:
        with pd.ExcelFile(file, engine="openpyxl") as workbook:
            sheet_name = _sheet_name(name, workbook, sheet)
            # pandas renames a repeated header name ``colours.1``: check the header as written.
            header = workbook.parse(sheet_name, header=None, nrows=1, dtype=str, na_filter=False)
            cells = [str(c).strip() for c in header.iloc[0]] if len(header) else []
            check_unique_columns(f"{name}, sheet '{sheet_name}'", cells)
            frame = workbook.parse(sheet_name, dtype=str, keep_default_na=False, na_filter=False)
    except ValueError as error:
        raise CatalogError(f"{name}: not a readable Excel workbook ({error})") from None
    except (zipfile.BadZipFile, KeyError, OSError, TypeError, IndexError) as error:
        detail = str(error) or type(error).__name__
        raise CatalogError(f"{name}: not a readable Excel workbook ({detail})") from None
    columns = [str(c).strip() for c in frame.columns]
    if not columns:
        raise CatalogError(f"{name}: the sheet is empty")
    chunk = TableChunk(first_row=FIRST_DATA_ROW, rows=rows_of(frame))
    return Table(file=name, columns=columns, chunks=iter([chunk]), from_workbook=True)


def _sheet_name(name: str, workbook: pd.ExcelFile, sheet: str | None) -> str:
    """The sheet to read: the one ``--sheet`` names, else the first."""
    names = [str(n) for n in workbook.sheet_names]
    if sheet is None:
        if not names:
            raise CatalogError(f"{name}: the workbook has no sheets")
        return names[0]
    if sheet not in names:
        raise CatalogError(f"{name}: has no sheet named '{sheet}'")
    return sheet
