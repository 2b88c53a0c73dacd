"""Catalog files as spreadsheets write them: header-only, duplicate headers, UTF-16 ("Unicode
text" from Excel), unclosed quotes; each either read or refused with one line naming the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.reading import read_catalog

HEADER = "sku,title,category,colours\n"


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "catalog.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_header_only_file_warns_that_there_are_no_products(tmp_path: Path) -> None:
    read = read_catalog(write(tmp_path, HEADER))
    assert read.products == []
    [warning] = read.rejects
    assert warning.severity == "warning"
    assert warning.describe() == (
        "catalog.csv: warning: no products: the file has a header and no product rows"
    )


def test_duplicate_header_names_are_refused_naming_both_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,title,colours,category,Colours\nA,Tee,Navy,Tops,Red\n")
    with pytest.raises(CatalogError) as refused:
        read_catalog(path)
    assert str(refused.value) == (
        "catalog.csv: columns C 'colours' and E 'Colours' have the same name; rename or remove one"
    )


def test_generic_aliases_of_one_column_are_duplicates_too(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,title,category,colours,color\nA,Tee,Tops,Navy,Red\n")
    with pytest.raises(CatalogError, match="columns D 'colours' and E 'color' both mean 'colours'"):
        read_catalog(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_from_excel_unicode_text_are_read(tmp_path: Path, encoding: str) -> None:
    bom = "\ufeff" if encoding != "utf-16" else ""  # "utf-16" writes its own BOM
    text = bom + "sku\ttitle\tcategory\tcolours\nTEE-1\tCrème Tee\tTops\tNavy|Red\n"
    read = read_catalog(write(tmp_path, text, encoding))
    assert [(p.sku, p.title, len(p.colours)) for p in read.products] == [("TEE-1", "Crème Tee", 2)]
    assert read.rejects == []


def test_an_unclosed_quote_names_the_spreadsheet_row(tmp_path: Path) -> None:
    rows = 'A,"Two\nlines",Tops,Navy\nB,Tee,Tops,Red\nC,"Broken,Tops,Red\nD,Tee,Tops,Red\n'
    with pytest.raises(CatalogError) as refused:
        read_catalog(write(tmp_path, HEADER + rows))
    # The header is row 1; A spans two lines but is one row: C is row 4.
    assert str(refused.value) == (
        'catalog.csv, row 4: a quote (") opens a cell that is never closed'
    )
