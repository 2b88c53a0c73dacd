"""Bounds on field sizes, so one pasted 10 MB cell cannot become a 10 MB prompt, manifest entry
and review page. A row with an oversized field is rejected, naming the column and its length.

The title and colour names go into every manifest entry and the review page, so they are short;
any other field can reach a prompt, and no prompt may be longer than a model takes (32,000
characters for gpt-image-2), so no field may be either.
"""

from __future__ import annotations

from collections.abc import Iterator

from catalog_imagegen.catalog.model import Product, Reject

MAX_TITLE_CHARS = 500
MAX_COLOUR_CHARS = 100
MAX_CATEGORY_CHARS = 500
MAX_FIELD_CHARS = 32_000


def oversized_fields(product: Product, file: str) -> Iterator[Reject]:
    """One reject per field of ``product`` longer than its bound."""
    bounded = [
        ("title", product.title, MAX_TITLE_CHARS),
        ("category", product.category, MAX_CATEGORY_CHARS),
        *(("colours", colour.name, MAX_COLOUR_CHARS) for colour in product.colours),
        *((name, value, MAX_FIELD_CHARS) for name, value in product.fields.items()),
        ("source_image", product.source_image or "", MAX_FIELD_CHARS),
    ]
    for column, value, limit in bounded:
        if len(value) > limit:
            reason = f"{len(value):,} characters (at most {limit:,})"
            yield Reject(file, product.row, column, reason, sku=product.sku)


def within_limits(products: list[Product], file: str) -> tuple[list[Product], list[Reject]]:
    """The products whose fields all fit, and a reject for every field that does not."""
    kept: list[Product] = []
    rejects: list[Reject] = []
    for product in products:
        problems = list(oversized_fields(product, file))
        rejects.extend(problems)
        if not problems:
            kept.append(product)
    return kept, rejects
