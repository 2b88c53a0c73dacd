from __future__ import annotations

import csv
import io

import pytest

from catalog_imagegen.catalog.model import Reject
from catalog_imagegen.storage.reports import rejects_csv, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Navy", "Navy"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralized(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


def test_rejects_report_is_spreadsheet_safe() -> None:
    data = rejects_csv([Reject("c.csv", 4, "sku", "missing SKU", value='=HYPERLINK("http://x")')])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["file", "row", "column", "severity", "reason", "sku", "value"]
    assert rows[1][:5] == ["c.csv", "4", "sku", "error", "missing SKU"]
    assert rows[1][6].startswith("'=")
