"""A catalog file as a table: its header, then its rows in chunks of strings, never all at once.

Every cell stays a string (IDs and barcodes are never turned into numbers). Rows are numbered the
way a spreadsheet numbers them: the header is row 1, so the first data row is row 2. Blank lines
are kept as empty rows so that numbering matches what the merchandiser sees.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from catalog_imagegen.catalog.model import CatalogError

ENCODINGS = ("utf-8-sig", "cp1252")
# Excel's "Unicode text" is UTF-16 with a byte order mark (and tabs); its NUL bytes are not binary.
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
CHUNK_ROWS = 20_000
FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1
_SAMPLE_BYTES = 64 * 1024
_BLOCK_BYTES = 1024 * 1024
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_PARSE_ERRORS = (pd.errors.ParserError, csv.Error, ValueError, UnicodeError, OverflowError)


@dataclass(slots=True)
class TableChunk:
    first_row: int  # spreadsheet row number of the chunk's first row
    rows: list[dict[str, str]]  # cells by column name as written in the header (stripped)


@dataclass(slots=True)
class Table:
    file: str  # the file's name, used in every message and reject
    columns: list[str]
    chunks: Iterator[TableChunk]
    from_workbook: bool = False


def check_file(file: Path) -> None:
    if not file.exists():
        raise CatalogError(f"{file}: no such catalog file")
    if file.is_dir():
        raise CatalogError(f"{file}: is a folder, not a catalog file")


def open_csv_table(file: Path, *, chunk_rows: int = CHUNK_ROWS) -> Table:
    """The CSV/TSV table in ``file``: UTF-8 (with or without BOM) or Windows-1252; , ; or tab."""
    name = file.name
    sample = _read_sample(file)
    utf16 = sample.startswith(UTF16_BOMS)
    if b"\x00" in sample and not utf16:
        raise CatalogError(f"{name}: is not a text (CSV) file")
    encoding = "utf-16" if utf16 else detect_encoding(file)
    text = sample.decode(encoding, errors="ignore")
    if not text.strip():
        raise CatalogError(f"{name}: the file is empty")
    reader = _csv_reader(file, encoding, sniff_delimiter(text), chunk_rows)
    try:
        first = next(reader)
    except StopIteration:
        raise CatalogError(f"{name}: the file is empty") from None
    except _PARSE_ERRORS as error:
        raise unreadable(name, error) from None
    check_unique_columns(name, header_of(text, sniff_delimiter(text)))
    columns = [str(c).strip() for c in first.columns]
    return Table(file=name, columns=columns, chunks=_chunks(name, first, reader))


def header_of(text: str, delimiter: str) -> list[str]:
    """The header as written (pandas renames a repeated name ``colours.1``)."""
    lines = io.StringIO(text.lstrip("\ufeff"), newline="")
    try:
        return [cell.strip() for cell in next(csv.reader(lines, delimiter=delimiter), [])]
    except csv.Error:  # pandas read it; only a header the csv module cannot is left unchecked
        return []


def check_unique_columns(name: str, columns: list[str]) -> None:
    """Two columns with one name: which one a reader would use is a guess, so refuse the file."""
    first_seen: dict[str, int] = {}
    for index, column in enumerate(columns):
        seen = first_seen.setdefault(column.casefold(), index)
        if seen != index and column:
            raise CatalogError(
                f"{name}: columns {column_letter(seen)} '{columns[seen]}' and "
                f"{column_letter(index)} '{column}' have the same name; rename or remove one"
            )


def column_letter(index: int) -> str:
    """Spreadsheet column letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def unreadable(name: str, error: BaseException, after_row: int | None = None) -> CatalogError:
    """One line for a CSV the parser gave up on, with the spreadsheet row where it can tell."""
    if match := _UNCLOSED_QUOTE.search(str(error)):
        row = int(match.group(1)) + 1  # pandas counts records from 0, the header included
        return CatalogError(f'{name}, row {row}: a quote (") opens a cell that is never closed')
    where = f" after row {after_row}" if after_row is not None else ""
    return CatalogError(f"{name}: not a readable CSV table{where} ({_detail(error)})")


def detect_encoding(file: Path) -> str:
    """The first encoding that decodes the whole file, checked block by block (no full copy)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with file.open("rb") as stream:
                while block := stream.read(_BLOCK_BYTES):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        except OSError as error:
            raise CatalogError(f"{file.name}: cannot be read ({error.strerror})") from None
        return encoding
    raise CatalogError(f"{file.name}: unreadable text encoding (expected UTF-8 or Windows-1252)")


def sniff_delimiter(text: str) -> str:
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def rows_of(frame: pd.DataFrame) -> list[dict[str, str]]:
    columns = [str(c).strip() for c in frame.columns]
    return [
        dict(zip(columns, (_cell(v) for v in values), strict=True))
        for values in frame.itertuples(index=False, name=None)
    ]


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def _read_sample(file: Path) -> bytes:
    check_file(file)
    try:
        with file.open("rb") as stream:
            return stream.read(_SAMPLE_BYTES)
    except OSError as error:
        raise CatalogError(f"{file.name}: cannot be read ({error.strerror})") from None


def _csv_reader(
    file: Path, encoding: str, delimiter: str, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    try:
        return iter(
            pd.read_csv(
                file,
                sep=delimiter,
                encoding=encoding,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
                skip_blank_lines=False,
                chunksize=chunk_rows,
            )
        )
    except _PARSE_ERRORS as error:
        raise unreadable(file.name, error) from None


def _chunks(name: str, first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[TableChunk]:
    row = FIRST_DATA_ROW
    frame: pd.DataFrame | None = first
    while frame is not None:
        yield TableChunk(first_row=row, rows=rows_of(frame))
        row += len(frame)
        try:
            frame = next(rest)
        except StopIteration:
            frame = None
        except _PARSE_ERRORS as error:
            raise unreadable(name, error, after_row=row - 1) from None


def _detail(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__
