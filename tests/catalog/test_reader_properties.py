"""Whatever file a merchandiser drops, the reader answers with data or one clear CatalogError.

Fed arbitrary bytes and arbitrary CSV tables (with real column names of every format mixed in),
``read_catalog`` never raises anything but ``CatalogError``, every error names the file, and
every reject names the file and a row (but the file-level "no products" warning).
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog_imagegen.catalog.model import CatalogError, CatalogRead
from catalog_imagegen.catalog.reading import read_catalog
from tests.catalog.catalog_files import plan

FORMATS = (None, "generic", "shopify", "merchant-center")
COLUMNS = (
    *("sku", "title", "category", "colours", "seasons", "template", "source_image", "colour_hex"),
    *("Handle", "Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Option2 Name"),
    *("Option2 Value", "Variant SKU", "Variant Barcode", "Image Src", "Variant Image", "Type"),
    *("id", "item_group_id", "color", "image_link", "gtin", "product_type", "g:title"),
)
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["Color", "Colour", "Size", "Red", "Navy Blue", "3.65275E+11", "=1+1", "..", "a/../b"]
    ),
    st.sampled_from(["product_card", "nope", "winter", "#12ab", "Red=#ff0000", '"', "\n", "x;y"]),
)
QUICK = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_error(content: bytes, name: str, fmt: str | None) -> CatalogRead | CatalogError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            return read_catalog(path, format=fmt)
        except CatalogError as error:
            return error


def check_answer(answer: CatalogRead | CatalogError, name: str) -> None:
    if isinstance(answer, CatalogError):
        message = str(answer)
        assert message.startswith(name + ": ") or name in message, message
        assert "\n" not in message
        return
    for reject in answer.rejects:
        assert reject.file == name
        if reject.row is None:  # about the whole file: "no products", a warning
            assert reject.severity == "warning"
            continue
        assert reject.row >= 2
        assert f"{name}, row {reject.row}" in reject.describe()
    for problem in plan(answer).rejects:  # planning what was read never raises either
        assert problem.row is not None


@QUICK
@example(content=b"PK\x03\x04 a broken workbook", suffix=".csv", fmt=None)
@example(content=b"\xd0\xcf\x11\xe0 an old .xls", suffix=".txt", fmt=None)
@example(content=b"sku,title\n\x00", suffix=".csv", fmt="generic")
@given(
    content=st.binary(max_size=600),
    suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx"]),
    fmt=st.sampled_from(FORMATS),
)
def test_arbitrary_bytes_give_data_or_a_catalog_error(
    content: bytes, suffix: str, fmt: str | None
) -> None:
    name = "catalog" + suffix
    check_answer(read_or_error(content, name, fmt), name)


@st.composite
def csv_tables(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=8)), max_size=8))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 1), max_size=8))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return buffer.getvalue().encode(encoding, errors="replace")


@QUICK
@given(content=csv_tables(), fmt=st.sampled_from(FORMATS))
def test_arbitrary_csv_tables_give_data_or_a_catalog_error(content: bytes, fmt: str | None) -> None:
    check_answer(read_or_error(content, "products.csv", fmt), "products.csv")
