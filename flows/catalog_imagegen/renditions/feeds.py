"""A Google Merchant Center supplemental feed of the run's renditions. Pure: entries in, TSV out.

Merchant Center matches a supplemental feed's rows to its products by ``id`` alone, so there is one
row per item id: a Shopify catalog's variant SKUs, a Merchant Center file's own item ids, a generic
catalog's SKUs. ``image_link`` is the preferred image's rendition (the product card, evergreen),
``additional_image_link`` the others, comma-separated. Only compliant renditions whose URL the
world can fetch (http or https) go in; the rest are counted by reason for the run summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog_imagegen.storage.manifest import ManifestEntry

FEED_CHANNEL = "google_shopping"
FEED_COLUMNS = ("id", "image_link", "additional_image_link")
MAX_ADDITIONAL = 10  # Merchant Center reads at most ten additional images
VARIANT_ID_FORMATS = ("shopify", "merchant_center")  # catalogs whose rows are per variant or item
PREFERRED_TEMPLATE = "product_card"
NO_VARIANT_SKU = "no variant SKU (Merchant Center matches rows by id)"


@dataclass(slots=True)
class Feed:
    data: bytes
    rows: int = 0
    left_out: Counter[str] = field(default_factory=Counter)  # renditions kept out, by reason


def supplemental_feed(
    entries: Iterable[ManifestEntry], catalog_format: str, channel: str = FEED_CHANNEL
) -> Feed:
    """The feed of ``channel``'s renditions of ``entries``, one row per item id."""
    left_out: Counter[str] = Counter()
    links: dict[str, list[tuple[tuple[bool, bool, str, str], str]]] = {}
    for entry in entries:
        rendition = entry.renditions.get(channel)
        if rendition is None:
            continue
        ids = item_ids(entry, catalog_format)
        reason = why_left_out(rendition) or ("" if ids else NO_VARIANT_SKU)
        if reason:
            left_out[reason] += 1
            continue
        for item_id in ids:
            links.setdefault(item_id, []).append((_preference(entry), str(rendition["url"])))
    lines = ["\t".join(FEED_COLUMNS)]
    for item_id in sorted(links):
        urls = list(dict.fromkeys(_url_cell(url) for _, url in sorted(links[item_id])))
        lines.append("\t".join((_cell(item_id), urls[0], ",".join(urls[1 : 1 + MAX_ADDITIONAL]))))
    return Feed(("\n".join(lines) + "\n").encode(), rows=len(links), left_out=left_out)


def why_left_out(rendition: Mapping[str, Any]) -> str:
    if not rendition.get("compliant", False):
        return "noncompliant"
    if not str(rendition.get("url", "")).startswith(("https://", "http://")):
        return "no public URL (set --public-base-url)"
    return ""


def item_ids(entry: ManifestEntry, catalog_format: str) -> tuple[str, ...]:
    """Shopify and Merchant Center catalogs: each variant's SKU or item id (none when its
    variants have no SKU: a handle matches nothing in Merchant Center); others: the SKU."""
    if catalog_format in VARIANT_ID_FORMATS:
        return entry.variant_skus
    return (entry.sku,)


def _preference(entry: ManifestEntry) -> tuple[bool, bool, str, str]:
    return (
        entry.template != PREFERRED_TEMPLATE,
        entry.season != "evergreen",
        entry.template,
        entry.season,
    )


def _cell(value: str) -> str:
    """Tabs and line breaks would split the row: a feed cell has neither."""
    return " ".join(value.split())


def _url_cell(url: str) -> str:
    # A comma separates additional links, so one inside a URL is percent-encoded.
    return _cell(url).replace(",", "%2C")
