from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import CatalogError
from catalog_imagegen.catalog.reading import read_catalog
from tests.conftest import SAMPLE_CATALOG

HEADER = "sku,title,category,colours,seasons,material\n"


def write(tmp_path: Path, text: str, name: str = "catalog.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_catalog_reads_cleanly() -> None:
    catalog = read_catalog(SAMPLE_CATALOG)
    assert catalog.rejects == []
    assert len(catalog.products) >= 12
    assert all(len(p.colours) == 3 for p in catalog.products)
    assert all(len(p.seasons) == 2 for p in catalog.products)


def test_ids_stay_strings(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "00123,Tee,Tops,Navy,,cotton\n1.50,Cap,Hats,Red,,\n")
    skus = [p.sku for p in read_catalog(path).products]
    assert skus == ["00123", "1.50"]


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (",Tee,Tops,Navy,,", "sku", "missing SKU"),
        ("A-1,Tee,Tops,,,", "colours", "no colours"),
        ("../../etc/passwd,Tee,Tops,Navy,,", "sku", "path traversal"),
        ("A-1,,Tops,Navy,,", "title", "missing title"),
    ],
)
def test_bad_row_is_rejected_with_row_and_column(
    tmp_path: Path, row: str, column: str, reason: str
) -> None:
    path = write(tmp_path, HEADER + "OK-1,Good,Tops,Navy,,\n" + row + "\n")
    catalog = read_catalog(path)
    assert [p.sku for p in catalog.products] == ["OK-1"]
    [reject] = catalog.rejects
    assert (reject.row, reject.column) == (3, column)
    assert reason in reject.reason
    assert "catalog.csv, row 3" in reject.describe()


def test_duplicate_sku_names_the_first_row(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "A-1,Tee,Tops,Navy,,\nA-1,Tee again,Tops,Red,,\n")
    catalog = read_catalog(path)
    assert len(catalog.products) == 1
    assert "duplicate SKU 'A-1' (first seen on row 2)" in catalog.rejects[0].reason


def test_colours_split_and_normalize(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "A-1,Tee,Tops,Navy Blue| navy blue |Black/White;Red=#ff0000,,\n"
    )
    [product] = read_catalog(path).products
    assert [c.name for c in product.colours] == ["Navy Blue", "Black/White", "Red"]
    assert [c.key for c in product.colours] == ["navy-blue", "black-white", "red"]
    assert product.colours[2].rgb == (255, 0, 0)


def test_strict_stops_on_first_bad_row(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ",Tee,Tops,Navy,,\n")
    with pytest.raises(CatalogError, match=r"catalog.csv, row 2, column 'sku'.*--strict"):
        read_catalog(path, strict=True)


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such catalog file") as error:
        read_catalog(tmp_path / "nope.csv")
    assert "\n" not in str(error.value)


def test_missing_required_column_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,title,category\nA,B,C\n")
    with pytest.raises(CatalogError, match=r"catalog.csv: missing required column 'colours'"):
        read_catalog(path)


def test_windows_1252_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_bytes("sku;title;category;colours\nA-1;Crème Tee;Tops;Crème\n".encode("cp1252"))
    [product] = read_catalog(path).products
    assert product.title == "Crème Tee"


def test_non_latin_colours_stay_separate_images(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "JP-1,着物,Tops,紺|黒|白,,\n")
    [product] = read_catalog(path).products
    assert [c.name for c in product.colours] == ["紺", "黒", "白"]
    assert len({c.key for c in product.colours}) == 3


def test_two_colour_names_with_one_key_are_a_row_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "A-1,Tee,Tops,Navy Blue|Navy-Blue,,\nB-1,Cap,Hats,Navy|navy,,\n"
    )
    catalog = read_catalog(path)
    assert [(p.sku, [c.name for c in p.colours]) for p in catalog.products] == [("B-1", ["Navy"])]
    [reject] = catalog.rejects
    assert (reject.row, reject.column) == (2, "colours")
    assert "'Navy Blue' and 'Navy-Blue'" in reject.reason
