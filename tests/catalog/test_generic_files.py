"""The generic format as spreadsheets save it: ; delimiters, a BOM, Windows-1252, messy rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog_imagegen.catalog.detect import detect_format
from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.tables import open_csv_table
from tests.catalog.catalog_files import COLOR_SIZE, MERCHANT_CENTER, plan

HEADER = "sku;title;category;colours;barcode\n"


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")],
    ids=["utf-8", "utf-8-bom", "windows-1252"],
)
def test_semicolons_bom_and_windows_1252(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "katalog.csv"
    text = HEADER + "TEE-1;Café Tee;T-Shirts;Crème|Navy Blue;0012345\n"
    path.write_bytes(prefix + text.encode(encoding))
    catalog = read_catalog(path)
    (tee,) = catalog.products
    assert (tee.sku, tee.title) == ("TEE-1", "Café Tee")
    assert [(c.name, c.key) for c in tee.colours] == [
        ("Crème", "creme"),
        ("Navy Blue", "navy-blue"),
    ]
    assert tee.fields["barcode"] == "0012345"


def test_colour_names_are_keyed_once_and_shown_as_written(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,title,category,colours\nTEE-1,Tee,Tops,Navy Blue|navy blue |Red\n", encoding="utf-8"
    )
    (tee,) = read_catalog(path).products
    assert [(c.name, c.key) for c in tee.colours] == [("Navy Blue", "navy-blue"), ("Red", "red")]


def test_messy_rows_are_reported_with_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,title,category,colours,barcode,template\n"
        "TEE-1,Tee,Tops,Red,3.65275E+11,\n"
        "\n"  # a blank line still counts as a spreadsheet row
        "TEE-1,Tee again,Tops,Blue,,\n"
        "TEE-2,,Tops,Blue,,\n"
        "TEE-3,Tee,Tops,,,\n"
        "TEE-4,Tee,Tops,Red,,no_such_template\n",
        encoding="utf-8",
    )
    catalog = read_catalog(path)
    found = [(r.row, r.column, r.severity) for r in catalog.rejects]
    assert found == [
        (2, "barcode", "warning"),
        (4, "sku", "error"),
        (5, "title", "error"),
        (6, "colours", "error"),
    ]
    assert "duplicate SKU 'TEE-1' (first seen on row 2)" in catalog.rejects[1].reason
    planned = plan(catalog)
    (unknown,) = planned.rejects
    assert (unknown.row, unknown.column, unknown.value) == (7, "template", "no_such_template")
    assert "row 7, column 'template'" in unknown.describe()
    with pytest.raises(CatalogError, match=r"row 4, column 'sku'.*\(and 2 more\)"):
        read_catalog(path, strict=True)


def test_large_files_are_read_in_chunks_with_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = [f"SKU-{n:05d},Tee {n},Tops,Red|Blue" for n in range(2_500)]
    path.write_text("sku,title,category,colours\n" + "\n".join(rows) + "\n", encoding="utf-8")
    chunks = list(open_csv_table(path, chunk_rows=1_000).chunks)
    assert [(c.first_row, len(c.rows)) for c in chunks] == [(2, 1000), (1002, 1000), (2002, 500)]
    catalog = read_catalog(path)
    assert len(catalog.products) == 2_500
    assert catalog.products[-1].row == 2_501


def test_formats_are_detected_from_the_header_and_can_be_forced(tmp_path: Path) -> None:
    assert read_catalog(COLOR_SIZE).format == "shopify"
    assert read_catalog(MERCHANT_CENTER).format == "merchant_center"
    assert detect_format(["sku", "title", "category", "colours"]) == "generic"
    assert detect_format(["id", "title", "image_link", "color"]) == "merchant_center"
    with pytest.raises(CatalogError, match="missing required column 'sku'"):
        read_catalog(MERCHANT_CENTER, format="generic")
    with pytest.raises(CatalogError, match="unknown catalog format 'csv'"):
        read_catalog(MERCHANT_CENTER, format="csv")
    assert read_catalog(MERCHANT_CENTER, format="merchant-center").format == "merchant_center"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x00\x01binary", "is not a text (CSV) file"),
        (b'sku,title\n"unterminated,x\n', 'row 2: a quote (") opens a cell that is never closed'),
        (b"sku,title\n\x81\x8d\x8f\x90\x9d\n", "unreadable text encoding"),
    ],
)
def test_unusable_files_raise_one_line_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CatalogError, match=re.escape(message)) as raised:
        read_catalog(path)
    assert str(raised.value).startswith(("bad.csv: ", "bad.csv, row "))
    assert "\n" not in str(raised.value)
