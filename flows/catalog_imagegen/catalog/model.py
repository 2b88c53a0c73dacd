"""What a catalog holds once read: products with their colours, and the rows that were rejected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from catalog_imagegen.catalog.colours import RGB


class CatalogError(Exception):
    """The catalog cannot be used at all (missing file, unreadable, missing required column).

    The message is one line, names the file (and the column where there is one), and is meant
    for a merchandiser: the CLI prints it without a traceback.
    """


@dataclass(frozen=True, slots=True)
class Colour:
    name: str  # as written in the catalog, shown to templates
    key: str  # normalized for storage keys and lookups: "navy-blue"
    rgb: RGB | None = None  # reference value: catalog hex, else palette, else unknown
    variant_skus: tuple[str, ...] = ()  # every variant SKU that shares this colour's image
    source_image: str | None = None  # a colour-specific product photo (Shopify Variant Image)
    # The product has no colour option: this is its title's colour, or none ("as shown"). Its
    # prompts carry no colour words of their own, and nothing edits it into another colour.
    implied: bool = False


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    title: str
    category: str
    colours: tuple[Colour, ...]
    row: int  # spreadsheet row number of the product's first row (the header is row 1)
    seasons: tuple[str, ...] = ()  # empty: the run's seasons
    templates: tuple[str, ...] = ()  # empty: the run's templates
    source_image: str | None = None
    # Every other non-empty column, by normalized name: material, gender, brand, ...
    fields: Mapping[str, str] = field(default_factory=dict)


Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Reject:
    """A catalog row (or one of its images) that could not be used, and why."""

    file: str
    row: int | None
    column: str | None
    reason: str
    sku: str = ""
    value: str = ""
    severity: Severity = "error"

    def describe(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        label = "warning" if self.severity == "warning" else "rejected"
        return f"{', '.join(where)}: {label}: {self.reason}"


@dataclass(slots=True)
class CatalogRead:
    path: str
    format: str  # generic | excel (generic columns in a workbook) | shopify | merchant_center
    products: list[Product]
    rejects: list[Reject]
    sheet: str | None = None  # the workbook sheet read, when one was named
    archived: list[str] = field(default_factory=list)  # SKUs of archived products left out
