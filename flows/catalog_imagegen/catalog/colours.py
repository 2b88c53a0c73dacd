"""Colour names as merchandisers write them, and the reference values behind them.

A colour has three faces: the name as written (``Navy Blue``, shown to templates), a key for
storage paths and lookups (``navy-blue``), and, when known, a reference RGB value used to draw
previews and to check generated images. The reference comes from a ``#hex`` in the catalog, else
from the bundled palette of CSS and common apparel names, else it is unknown (unchecked).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

RGB = tuple[int, int, int]

_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")

# Apparel and home names that CSS lacks, or where CSS's value is far from what shoppers expect.
_APPAREL: dict[str, str] = {
    "navy": "#1f2a44",
    "navy-blue": "#1f2a44",
    "charcoal": "#36454f",
    "olive": "#708238",
    "burgundy": "#800020",
    "maroon": "#800000",
    "cream": "#fffdd0",
    "camel": "#c19a6b",
    "sand": "#c2b280",
    "stone": "#a89f91",
    "khaki": "#c3b091",
    "mustard": "#e1ad01",
    "rust": "#b7410e",
    "terracotta": "#e2725b",
    "mint": "#98ff98",
    "sage": "#9caf88",
    "forest-green": "#228b22",
    "bottle-green": "#006a4e",
    "emerald": "#50c878",
    "teal": "#008080",
    "sky-blue": "#87ceeb",
    "royal-blue": "#4169e1",
    "cobalt": "#0047ab",
    "denim": "#1560bd",
    "indigo": "#3f0fb7",
    "lilac": "#c8a2c8",
    "lavender": "#b57edc",
    "mauve": "#e0b0ff",
    "blush": "#de5d83",
    "rose": "#ff007f",
    "dusty-pink": "#d4a5a5",
    "fuchsia": "#ff00ff",
    "coral": "#ff7f50",
    "peach": "#ffcba4",
    "ivory": "#fffff0",
    "off-white": "#faf9f6",
    "ecru": "#cdb891",
    "taupe": "#483c32",
    "chocolate": "#7b3f00",
    "brown": "#7b4a2d",
    "tan": "#d2b48c",
    "grey": "#808080",
    "gray": "#808080",
    "light-grey": "#d3d3d3",
    "dark-grey": "#505050",
    "heather-grey": "#9a9a9a",
    "graphite": "#383838",
    "jet-black": "#0a0a0a",
    "gold": "#d4af37",
    "silver": "#c0c0c0",
    "bronze": "#cd7f32",
    "copper": "#b87333",
    "wine": "#722f37",
    "plum": "#8e4585",
    "aubergine": "#3d0734",
    "petrol": "#005f6a",
    "turquoise": "#40e0d0",
    "aqua": "#00ffff",
    "lemon": "#fff44f",
    "ochre": "#cc7722",
    "red": "#c8102e",
    "green": "#2e8b57",
    "blue": "#1f5fbf",
    "yellow": "#f5d000",
    "orange": "#f28500",
    "purple": "#6a0dad",
    "pink": "#f4a6c0",
    "white": "#ffffff",
    "black": "#111111",
}


def colour_key(name: str) -> str:
    """Normalize a colour name for keys and lookups: ``' Navy Blue '`` -> ``navy-blue``.

    Accents fold away (``Crème`` -> ``creme``). Letters with no ASCII form (``紺``, ``Тёмный``)
    cannot be spelled in a key, so the key ends in a hash of the name instead: ``colour-3f9a2c1b``,
    the same on every machine, different for every name.
    """
    decomposed = unicodedata.normalize("NFKD", " ".join(name.split()).casefold())
    folded = decomposed.translate(_LATIN_LETTERS)
    ascii_part = _KEY_UNSAFE.sub("-", folded.encode("ascii", "ignore").decode()).strip("-")
    if not any(char.isalnum() and not char.isascii() for char in folded):
        return ascii_part or "unnamed"
    digest = hashlib.sha256(unicodedata.normalize("NFC", folded).encode()).hexdigest()[:8]
    return f"{ascii_part or 'colour'}-{digest}"


# Latin letters that Unicode does not decompose into a base letter and an accent.
_LATIN_LETTERS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ı": "i"}
)


def parse_hex(value: str) -> RGB | None:
    match = _HEX.match(value.strip())
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def to_hex(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def split_name_and_hex(written: str) -> tuple[str, RGB | None]:
    """``'Navy=#1f2a44'`` -> ``('Navy', (31, 42, 68))``; a plain name has no hex."""
    if "=" in written:
        name, _, value = written.partition("=")
        rgb = parse_hex(value)
        if rgb is not None:
            return name.strip(), rgb
    return written.strip(), None


def palette_rgb(name: str) -> RGB | None:
    """The bundled palette's value for a colour name, or ``None`` when the name is unknown.

    A multi-colour name (``Black/White``) resolves to its first colour, the one that dominates.
    """
    first = re.split(r"[/&+,]| and ", name, maxsplit=1)[0]
    key = colour_key(first)
    value = _APPAREL.get(key) or _CSS.get(key.replace("-", ""))
    return parse_hex(value) if value else None


def colour_names_in(text: str) -> list[str]:
    """Palette colour names found in free text, in order of appearance.

    Longer names win over the names inside them (``navy blue`` is found, not ``blue``).
    """
    lowered = " " + _KEY_UNSAFE.sub(" ", text.lower()) + " "
    names = sorted({*_APPAREL, *_CSS}, key=len, reverse=True)
    found: list[tuple[int, str]] = []
    for name in names:
        spaced = " " + name.replace("-", " ") + " "
        position = lowered.find(spaced)
        if position >= 0:
            found.append((position, name))
            lowered = lowered.replace(spaced, " " + "#" * (len(spaced) - 2) + " ")
    return [name for _, name in sorted(found)]


_CSS: dict[str, str] = {
    "aliceblue": "#f0f8ff",
    "antiquewhite": "#faebd7",
    "aqua": "#00ffff",
    "aquamarine": "#7fffd4",
    "azure": "#f0ffff",
    "beige": "#f5f5dc",
    "bisque": "#ffe4c4",
    "black": "#000000",
    "blanchedalmond": "#ffebcd",
    "blue": "#0000ff",
    "blueviolet": "#8a2be2",
    "brown": "#a52a2a",
    "burlywood": "#deb887",
    "cadetblue": "#5f9ea0",
    "chartreuse": "#7fff00",
    "chocolate": "#d2691e",
    "coral": "#ff7f50",
    "cornflowerblue": "#6495ed",
    "cornsilk": "#fff8dc",
    "crimson": "#dc143c",
    "cyan": "#00ffff",
    "darkblue": "#00008b",
    "darkcyan": "#008b8b",
    "darkgoldenrod": "#b8860b",
    "darkgray": "#a9a9a9",
    "darkgreen": "#006400",
    "darkgrey": "#a9a9a9",
    "darkkhaki": "#bdb76b",
    "darkmagenta": "#8b008b",
    "darkolivegreen": "#556b2f",
    "darkorange": "#ff8c00",
    "darkorchid": "#9932cc",
    "darkred": "#8b0000",
    "darksalmon": "#e9967a",
    "darkseagreen": "#8fbc8f",
    "darkslateblue": "#483d8b",
    "darkslategray": "#2f4f4f",
    "darkslategrey": "#2f4f4f",
    "darkturquoise": "#00ced1",
    "darkviolet": "#9400d3",
    "deeppink": "#ff1493",
    "deepskyblue": "#00bfff",
    "dimgray": "#696969",
    "dimgrey": "#696969",
    "dodgerblue": "#1e90ff",
    "firebrick": "#b22222",
    "floralwhite": "#fffaf0",
    "forestgreen": "#228b22",
    "fuchsia": "#ff00ff",
    "gainsboro": "#dcdcdc",
    "ghostwhite": "#f8f8ff",
    "gold": "#ffd700",
    "goldenrod": "#daa520",
    "gray": "#808080",
    "green": "#008000",
    "greenyellow": "#adff2f",
    "grey": "#808080",
    "honeydew": "#f0fff0",
    "hotpink": "#ff69b4",
    "indianred": "#cd5c5c",
    "indigo": "#4b0082",
    "ivory": "#fffff0",
    "khaki": "#f0e68c",
    "lavender": "#e6e6fa",
    "lavenderblush": "#fff0f5",
    "lawngreen": "#7cfc00",
    "lemonchiffon": "#fffacd",
    "lightblue": "#add8e6",
    "lightcoral": "#f08080",
    "lightcyan": "#e0ffff",
    "lightgoldenrodyellow": "#fafad2",
    "lightgray": "#d3d3d3",
    "lightgreen": "#90ee90",
    "lightgrey": "#d3d3d3",
    "lightpink": "#ffb6c1",
    "lightsalmon": "#ffa07a",
    "lightseagreen": "#20b2aa",
    "lightskyblue": "#87cefa",
    "lightslategray": "#778899",
    "lightslategrey": "#778899",
    "lightsteelblue": "#b0c4de",
    "lightyellow": "#ffffe0",
    "lime": "#00ff00",
    "limegreen": "#32cd32",
    "linen": "#faf0e6",
    "magenta": "#ff00ff",
    "maroon": "#800000",
    "mediumaquamarine": "#66cdaa",
    "mediumblue": "#0000cd",
    "mediumorchid": "#ba55d3",
    "mediumpurple": "#9370db",
    "mediumseagreen": "#3cb371",
    "mediumslateblue": "#7b68ee",
    "mediumspringgreen": "#00fa9a",
    "mediumturquoise": "#48d1cc",
    "mediumvioletred": "#c71585",
    "midnightblue": "#191970",
    "mintcream": "#f5fffa",
    "mistyrose": "#ffe4e1",
    "moccasin": "#ffe4b5",
    "navajowhite": "#ffdead",
    "navy": "#000080",
    "oldlace": "#fdf5e6",
    "olive": "#808000",
    "olivedrab": "#6b8e23",
    "orange": "#ffa500",
    "orangered": "#ff4500",
    "orchid": "#da70d6",
    "palegoldenrod": "#eee8aa",
    "palegreen": "#98fb98",
    "paleturquoise": "#afeeee",
    "palevioletred": "#db7093",
    "papayawhip": "#ffefd5",
    "peachpuff": "#ffdab9",
    "peru": "#cd853f",
    "pink": "#ffc0cb",
    "plum": "#dda0dd",
    "powderblue": "#b0e0e6",
    "purple": "#800080",
    "rebeccapurple": "#663399",
    "red": "#ff0000",
    "rosybrown": "#bc8f8f",
    "royalblue": "#4169e1",
    "saddlebrown": "#8b4513",
    "salmon": "#fa8072",
    "sandybrown": "#f4a460",
    "seagreen": "#2e8b57",
    "seashell": "#fff5ee",
    "sienna": "#a0522d",
    "silver": "#c0c0c0",
    "skyblue": "#87ceeb",
    "slateblue": "#6a5acd",
    "slategray": "#708090",
    "slategrey": "#708090",
    "snow": "#fffafa",
    "springgreen": "#00ff7f",
    "steelblue": "#4682b4",
    "tan": "#d2b48c",
    "teal": "#008080",
    "thistle": "#d8bfd8",
    "tomato": "#ff6347",
    "turquoise": "#40e0d0",
    "violet": "#ee82ee",
    "wheat": "#f5deb3",
    "white": "#ffffff",
    "whitesmoke": "#f5f5f5",
    "yellow": "#ffff00",
    "yellowgreen": "#9acd32",
}
