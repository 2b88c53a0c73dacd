from __future__ import annotations

import re

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


def test_non_latin_colour_names_keep_distinct_stable_keys() -> None:
    keys = [colour_key(name) for name in ("紺", "黒", "白", "Тёмно-синий", "ネイビー", "أزرق")]
    assert len(set(keys)) == len(keys)
    assert "unnamed" not in keys
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in keys)
    assert colour_key(" 紺 ") == colour_key("紺")
    assert colour_key("Weiß") == "weiss" and colour_key("Ørsted Blå") == "orsted-bla"


def test_names_in_text_are_in_order_of_appearance_longest_match_first() -> None:
    assert colour_names_in("a navy shirt on a white background") == ["navy", "white"]
    assert colour_names_in("a jacket in navy blue, on sand") == ["navy-blue", "sand"]


def test_palette_and_hex() -> None:
    assert palette_rgb("Navy") == (31, 42, 68)
    assert palette_rgb("Black/White") == palette_rgb("black")
    assert palette_rgb("Unobtainium") is None
    assert split_name_and_hex("Navy=#1f2a44") == ("Navy", (31, 42, 68))
