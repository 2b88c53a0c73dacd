"""Colour QA on image bytes: CIEDE2000 against published values, dominant colour, blank, dHash."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from catalog_imagegen.catalog.colours import RGB, parse_hex
from catalog_imagegen.review import colour_qa

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
# supplementary test data, and mathematical observations", Table 1 (all 34 pairs).
SHARMA_2005 = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA_2005)
def test_ciede2000_matches_sharma_2005_reference_pairs(lab1, lab2, expected):
    assert colour_qa.ciede2000(lab1, lab2) == pytest.approx(expected, abs=5e-5)
    assert colour_qa.ciede2000(lab2, lab1) == pytest.approx(expected, abs=5e-5)


def test_srgb_to_lab_matches_known_values():
    white, black, red = colour_qa.srgb_to_lab([(255, 255, 255), (0, 0, 0), (255, 0, 0)])
    assert white == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert black == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    assert red == pytest.approx([53.24, 80.09, 67.20], abs=0.02)


def product_shot(
    product: RGB, background: RGB = (245, 245, 245), size=(240, 240), fmt="PNG"
) -> bytes:
    """A product-like picture: a shape with a shadowed edge and a highlight, on a plain ground."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    shade = tuple(max(0, c - 40) for c in product)
    draw.ellipse((width * 0.2, height * 0.15, width * 0.8, height * 0.9), fill=shade)
    draw.ellipse((width * 0.23, height * 0.18, width * 0.77, height * 0.86), fill=product)
    draw.rectangle((width * 0.45, height * 0.3, width * 0.5, height * 0.4), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("product", "background"),
    [
        ("#1f2a44", "#f5f5f5"),  # navy on white
        ("#b22222", "#ffffff"),  # red on white
        ("#f5f5f5", "#1a1a1a"),  # white product on black
        ("#708238", "#d2b48c"),  # olive on tan
    ],
)
def test_dominant_colour_is_the_product_not_the_background(product, background):
    expected, ground = parse_hex(product), parse_hex(background)
    decoded = colour_qa.decode(product_shot(expected, ground))
    measured = colour_qa.dominant_colour(decoded)
    assert colour_qa.rgb_difference(expected, measured) < 3


def test_dominant_colour_reads_jpeg_too():
    decoded = colour_qa.decode(product_shot((31, 42, 68), fmt="JPEG", size=(1024, 1024)))
    assert max(decoded.rgb.shape) <= colour_qa.MAX_SIDE
    assert colour_qa.rgb_difference((31, 42, 68), colour_qa.dominant_colour(decoded)) < 3


def test_a_busy_border_falls_back_to_the_central_region():
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    noise[60:140, 60:140] = (200, 30, 30)
    decoded = colour_qa.Decoded(rgb=noise, opaque=None)
    assert colour_qa.rgb_difference((200, 30, 30), colour_qa.dominant_colour(decoded)) < 3


def test_a_mask_says_where_the_product_is():
    image = np.full((100, 100, 3), 240, dtype=np.uint8)
    image[:, :50] = (0, 128, 0)  # green left half is "the scene"
    image[40:60, 60:90] = (0, 0, 200)  # the product
    mask = np.zeros((100, 100), dtype=bool)
    mask[40:60, 60:90] = True
    decoded = colour_qa.Decoded(rgb=image, opaque=None)
    assert colour_qa.dominant_colour(decoded, mask) == (0, 0, 200)


def test_transparency_marks_the_product():
    image = Image.new("RGBA", (80, 80), (255, 0, 0, 0))  # transparent red "background"
    ImageDraw.Draw(image).rectangle((20, 20, 60, 60), fill=(0, 90, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    decoded = colour_qa.decode(buffer.getvalue())
    assert colour_qa.dominant_colour(decoded) == (0, 90, 0)


def test_near_blank_images_are_detected():
    flat = Image.new("RGB", (300, 300), (250, 250, 250))
    ImageDraw.Draw(flat).point((10, 10), fill=(240, 240, 240))
    buffer = io.BytesIO()
    flat.save(buffer, "PNG")
    assert colour_qa.is_near_blank(colour_qa.decode(buffer.getvalue()))
    assert not colour_qa.is_near_blank(colour_qa.decode(product_shot((31, 42, 68))))


def test_dhash_is_equal_for_the_same_picture_and_far_for_a_different_one():
    navy = colour_qa.dhash(colour_qa.decode(product_shot((31, 42, 68), size=(240, 240))))
    navy_big = colour_qa.dhash(colour_qa.decode(product_shot((31, 42, 68), size=(800, 800))))
    other = Image.new("RGB", (240, 240), (245, 245, 245))
    ImageDraw.Draw(other).polygon([(10, 230), (120, 10), (230, 230)], fill=(31, 42, 68))
    buffer = io.BytesIO()
    other.save(buffer, "PNG")
    different = colour_qa.dhash(colour_qa.decode(buffer.getvalue()))
    assert colour_qa.hash_distance(navy, navy_big) <= 2
    assert colour_qa.hash_distance(navy, different) > 10
