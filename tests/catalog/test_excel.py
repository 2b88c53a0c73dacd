"""Excel workbooks in the generic format: first sheet or --sheet, every cell read as text."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.cli.main import main
from catalog_imagegen.cli.summary import EXIT_BAD_INPUT

GENERIC = {
    "sku": ["00123", "JKT-2"],
    "title": ["Crew Tee", "Rain Jacket"],
    "category": ["T-Shirts", "Outerwear"],
    "colours": ["Navy|Red", "Yellow"],
    "barcode": ["0036527500013", "3.65275E+11"],
}


def workbook(tmp_path: Path, name: str = "catalog.xlsx") -> Path:
    path = tmp_path / name
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"note": ["not the catalog"]}).to_excel(
            writer, sheet_name="Notes", index=False
        )
        pd.DataFrame(GENERIC).to_excel(writer, sheet_name="Products", index=False)
        numbers = dict(GENERIC, sku=[123, 4567], barcode=[36527500013, 365275000000])
        pd.DataFrame(numbers).to_excel(writer, sheet_name="Numbers", index=False)
    return path


def test_named_sheet_reads_as_generic_catalog_with_text_ids(tmp_path: Path) -> None:
    catalog = read_catalog(workbook(tmp_path), sheet="Products")
    assert catalog.format == "excel"
    assert [p.sku for p in catalog.products] == ["00123", "JKT-2"]  # leading zero kept
    assert catalog.products[0].fields["barcode"] == "0036527500013"
    assert [c.key for c in catalog.products[0].colours] == ["navy", "red"]
    assert [(r.row, r.column, r.severity) for r in catalog.rejects] == [(3, "barcode", "warning")]


def test_numeric_cells_never_become_floats(tmp_path: Path) -> None:
    catalog = read_catalog(workbook(tmp_path), sheet="Numbers")
    assert [p.sku for p in catalog.products] == ["123", "4567"]
    assert [p.fields["barcode"] for p in catalog.products] == ["36527500013", "365275000000"]


def test_first_sheet_is_the_default(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"catalog.xlsx: missing required column 'sku'"):
        read_catalog(workbook(tmp_path))


def test_missing_sheet_and_renamed_or_broken_workbooks(tmp_path: Path) -> None:
    path = workbook(tmp_path)
    with pytest.raises(CatalogError, match=r"catalog\.xlsx: has no sheet named 'Nope'"):
        read_catalog(path, sheet="Nope")
    renamed = tmp_path / "catalog.csv"
    renamed.write_bytes(path.read_bytes())  # a workbook saved with the wrong name
    assert read_catalog(renamed, sheet="Products").format == "excel"
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CatalogError, match=r"^broken.xlsx: not a readable Excel workbook"):
        read_catalog(broken)
    with pytest.raises(CatalogError, match="--sheet applies to Excel workbooks"):
        read_catalog(Path(__file__).parent / "fixtures" / "merchant-center.tsv", sheet="x")


def sheet_with_header(tmp_path: Path, header: list[str]) -> Path:
    """A workbook as Excel saves it, written cell by cell: pandas would rename a repeated name."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "SS25"
    sheet.append(header)
    sheet.append(["A-1", "Tee", "Tops", "Navy", "Red"])
    path = tmp_path / "range.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("second", ["colours", "Colours"])
def test_duplicate_header_names_are_refused_naming_file_sheet_and_both_columns(
    tmp_path: Path, second: str
) -> None:
    path = sheet_with_header(tmp_path, ["sku", "title", "category", "colours", second])
    with pytest.raises(CatalogError) as refused:
        read_catalog(path)
    assert str(refused.value) == (
        f"range.xlsx, sheet 'SS25': columns D 'colours' and E '{second}' have the same name; "
        "rename or remove one"
    )


def test_duplicate_header_in_a_workbook_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sheet_with_header(tmp_path, ["sku", "title", "category", "colours", "colours"])
    assert main(["prompts", str(path), "--sheet", "SS25"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "error: range.xlsx, sheet 'SS25': columns D 'colours' and E 'colours' have the same "
        "name; rename or remove one"
    ]
