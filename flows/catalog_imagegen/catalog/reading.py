"""Reading a catalog file: decode it, detect its format, validate every row.

A file that cannot be used at all raises ``CatalogError`` with one clear line. Rows that cannot be
used become ``Reject`` entries and the rest carry on; ``strict=True`` turns the first reject into a
``CatalogError`` instead.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from catalog_imagegen.catalog.generic import (
    check_required_columns,
    normalize_column,
    products_from_frame,
)
from catalog_imagegen.catalog.model import CatalogError, CatalogRead

ENCODINGS = ("utf-8-sig", "cp1252")


def read_catalog(path: str | Path, *, strict: bool = False) -> CatalogRead:
    file = Path(path)
    name = file.name
    text = decode_catalog(file)
    frame = _frame_from_text(text, name=name)
    frame.columns = pd.Index([normalize_column(c) for c in frame.columns])
    check_required_columns(frame.columns, file=name)
    products, rejects = products_from_frame(frame, file=name, seen={})
    result = CatalogRead(path=str(file), format="generic", products=products, rejects=rejects)
    enforce_strict(result, strict=strict)
    return result


def enforce_strict(result: CatalogRead, *, strict: bool) -> None:
    errors = [r for r in result.rejects if r.severity == "error"]
    if strict and errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CatalogError(errors[0].describe() + more + "; --strict stops on the first bad row")


def decode_catalog(file: Path) -> str:
    if not file.exists():
        raise CatalogError(f"{file}: no such catalog file")
    if file.is_dir():
        raise CatalogError(f"{file}: is a folder, not a catalog file")
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise CatalogError(f"{file}: cannot be read ({error.strerror})") from None
    if b"\x00" in raw[:4096]:
        raise CatalogError(f"{file.name}: is not a text (CSV) file")
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CatalogError(f"{file.name}: unreadable text encoding (expected UTF-8 or Windows-1252)")


def _frame_from_text(text: str, *, name: str) -> pd.DataFrame:
    if not text.strip():
        raise CatalogError(f"{name}: the file is empty")
    delimiter = _sniff_delimiter(text)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as error:
        detail = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise CatalogError(f"{name}: not a readable CSV table ({detail})") from None


def _sniff_delimiter(text: str) -> str:
    header = text.lstrip("\ufeff").splitlines()[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
