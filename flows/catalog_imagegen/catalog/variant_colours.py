"""The colours of a product whose rows are variants (Shopify, Merchant Center).

Variants that share a colour share its images: one ``Colour`` per distinct colour key, listing
every variant SKU with that colour, in the order the catalog first mentions each. A product with
no colour of its own gets one from its title (``Yellow Wool Jumper`` -> Yellow), else a neutral
"as shown" colour keyed ``default``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog_imagegen.catalog.colours import colour_key, palette_rgb
from catalog_imagegen.catalog.model import Colour

DEFAULT_COLOUR_KEY = "default"
DEFAULT_COLOUR_NAME = "as shown"
# Option names that mean colour, lowercased, in the languages Shopify stores are set up in.
COLOUR_OPTION_NAMES = frozenset(
    {
        *("color", "colour", "colors", "colours", "farbe", "couleur", "colore", "kleur"),
        *("färg", "farg", "farve", "farge", "väri", "vari", "kolor", "cor", "barva", "szín"),
        *("renk", "culoare", "χρώμα", "цвет", "колір", "색상", "カラー", "色", "颜色", "顏色"),
    }
)
_SHADES = frozenset(
    {"light", "dark", "pale", "deep", "bright", "sky", "royal", "forest", "bottle"}
    | {"heather", "jet", "off", "dusty", "hot", "baby", "powder", "midnight", "steel", "neon"}
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def is_colour_option(name: str) -> bool:
    """``Color``, ``colour``, ``Farbe``, ``Color / Colore``: any part naming colour counts."""
    parts = re.split(r"[/|,]", name.strip().lower())
    return any(part.strip() in COLOUR_OPTION_NAMES for part in parts)


def fallback_colour(title: str) -> Colour:
    """The colour a product's title names, as written (``Olive Green Jacket`` -> Olive Green,
    ``Off-White Sneaker`` -> Off-White), else the neutral "as shown" colour."""
    matches = list(_WORD.finditer(title))
    words = [m.group() for m in matches]
    for start in range(len(words)):
        end = _colour_span_end(words, start)
        if end > start:
            name = title[matches[start].start() : matches[end - 1].end()]
            first_colour = next(w for w in words[start:end] if w.lower() not in _SHADES)
            rgb = palette_rgb(name) or palette_rgb(first_colour)
            return Colour(name=name, key=colour_key(name), rgb=rgb, implied=True)
    return Colour(name=DEFAULT_COLOUR_NAME, key=DEFAULT_COLOUR_KEY, implied=True)


def _colour_span_end(words: list[str], start: int) -> int:
    """End of the colour phrase starting at ``start``: shade words, then colour words; or start.

    Words are matched one by one, so CSS compounds read as two words (``Floral White``) name
    only their colour word: ``White``."""
    index = start
    while index < len(words) and words[index].lower() in _SHADES:
        index += 1
    end = index
    while end < len(words) and palette_rgb(words[end]) is not None:
        end += 1
    return end if end > index else start


def category_from(*candidates: str) -> str:
    """The first non-empty candidate's last ``>`` segment (``Home > Decor > Vases`` -> Vases)
    that is not a numeric taxonomy ID; else none. Never the title's last word: "LED High Tops"
    are shoes, not tops."""
    for candidate in candidates:
        last = candidate.split(">")[-1].strip()
        if last and not last.isdigit():
            return last
    return ""


@dataclass(slots=True)
class _Draft:
    name: str
    skus: list[str] = field(default_factory=list)
    source_image: str | None = None
    implied: bool = False


@dataclass(slots=True)
class ColourCollector:
    """Collects one product's colours from its variant rows, keyed by ``colour_key``."""

    named: dict[str, _Draft] = field(default_factory=dict)
    own: _Draft | None = None  # variants with no colour value: the product's own colour

    def add(self, written: str, *, sku: str = "", image: str = "") -> None:
        name = written.strip()
        if name:
            draft = self.named.setdefault(colour_key(name), _Draft(name=name))
        else:
            draft = self.own = self.own or _Draft(name="")
        if sku and sku not in draft.skus:
            draft.skus.append(sku)
        if image and draft.source_image is None:
            draft.source_image = image

    def colours(self, title: str) -> tuple[Colour, ...]:
        drafts = dict(self.named)
        if self.own is not None or not drafts:
            own = self.own or _Draft(name="")
            base = fallback_colour(title)
            if base.key in drafts:  # untagged variants of a colour the title names
                drafts[base.key].skus.extend(s for s in own.skus if s not in drafts[base.key].skus)
            else:
                drafts[base.key] = _Draft(base.name, own.skus, own.source_image, implied=True)
        return tuple(
            Colour(
                name=d.name,
                key=key,
                rgb=palette_rgb(d.name),
                variant_skus=tuple(d.skus),
                source_image=d.source_image,
                implied=d.implied,
            )
            for key, d in drafts.items()
        )
