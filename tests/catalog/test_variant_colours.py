"""Which Shopify option is the colour, and the colour of a product that has none."""

from __future__ import annotations

import pytest

from catalog_imagegen.catalog.plain_text import html_to_text
from catalog_imagegen.catalog.variant_colours import fallback_colour, is_colour_option


@pytest.mark.parametrize(
    "name", ["Color", "colour", "COLOR", " Farbe ", "Couleur", "Color / Colore", "Kleur", "Färg"]
)
def test_colour_option_names(name: str) -> None:
    assert is_colour_option(name)


@pytest.mark.parametrize("name", ["Size", "Title", "Material", "Colourway notes", ""])
def test_other_option_names(name: str) -> None:
    assert not is_colour_option(name)


@pytest.mark.parametrize(
    ("title", "name", "key"),
    [
        ("Yellow Wool Jumper", "Yellow", "yellow"),
        ("Olive Green Jacket", "Olive Green", "olive-green"),
        ("Light Blue Vase", "Light Blue", "light-blue"),
        ("Off-White Sneaker", "Off-White", "off-white"),
        ("Floral White Top", "White", "white"),
        ("Antique Drawers", "as shown", "default"),
        ("", "as shown", "default"),
    ],
)
def test_fallback_colour_from_the_title(title: str, name: str, key: str) -> None:
    colour = fallback_colour(title)
    assert (colour.name, colour.key) == (name, key)


def test_body_html_becomes_plain_text() -> None:
    html = "<p>Soft <b>organic</b> cotton&nbsp;&amp; more</p><ul><li>A</li><li>B</li></ul>"
    assert html_to_text(html + "<script>x()</script>") == "Soft organic cotton & more A B"
