from __future__ import annotations

import pytest

from catalog_imagegen.catalog.colours import (
    colour_key,
    colour_names_in,
    palette_rgb,
    split_name_and_hex,
)


@pytest.mark.parametrize(
    ("written", "key"),
    [("Navy Blue", "navy-blue"), (" navy blue ", "navy-blue"), ("Crème", "creme"), ("", "unnamed")],
)
def test_colour_keys(written: str, key: str) -> None:
    assert colour_key(written) == key


def test_names_in_text_are_in_order_of_appearance_longest_match_first() -> None:
    assert colour_names_in("a navy shirt on a white background") == ["navy", "white"]
    assert colour_names_in("a jacket in navy blue, on sand") == ["navy-blue", "sand"]


def test_palette_and_hex() -> None:
    assert palette_rgb("Navy") == (31, 42, 68)
    assert palette_rgb("Black/White") == palette_rgb("black")
    assert palette_rgb("Unobtainium") is None
    assert split_name_and_hex("Navy=#1f2a44") == ("Navy", (31, 42, 68))
