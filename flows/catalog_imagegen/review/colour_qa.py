"""Measuring colour on image bytes: the product's dominant colour, CIEDE2000, blankness, dHash.

Pure functions (Pillow + numpy, no I/O). Images are decoded small (``MAX_SIDE`` pixels), since a
dominant colour and a 64-bit hash need no more, and checking 40,000 images must stay cheap.

The product is told from a plain background by, in order: a mask (``True`` where the product is),
the image's own transparency, or the border: when the border is one plain colour, pixels close to
it are background. When that leaves almost nothing (or the border is busy), the central region is
measured instead.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from catalog_imagegen.catalog.colours import RGB

MAX_SIDE = 128
BORDER = 0.04  # the frame, as a fraction of each side, that samples the background
BACKGROUND_DISTANCE = 12.0  # Lab distance within which a pixel counts as background
PLAIN_BORDER_SHARE = 0.6  # a border is plain when this share of it is background-coloured
MIN_PRODUCT_SHARE = 0.03
BLANK_STD = 3.0  # luminance standard deviation (0-255) below which an image is near blank

Pixels = npt.NDArray[np.float64]  # (..., 3)
_LEVELS = np.arange(256) / 255.0
_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4)
Mask = npt.NDArray[np.bool_]  # (height, width)


@dataclass(frozen=True, slots=True)
class Decoded:
    rgb: npt.NDArray[np.uint8]  # (height, width, 3)
    opaque: Mask | None  # where the image is opaque, when it has real transparency


def decode(data: bytes, max_side: int = MAX_SIDE) -> Decoded:
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (max_side, max_side))  # JPEG decodes at reduced size
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        target = "RGBA" if has_alpha else "RGB"
        # Shrink before converting: a full-size convert costs as much as the PNG decode itself.
        small = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert(target)
        factor = max(1, max(small.size) // max_side)
        if factor > 1:
            small = small.reduce(factor)
        small = small.convert(target) if small.mode != target else small
        small.thumbnail((max_side, max_side), Image.Resampling.BOX)
        array = np.asarray(small)
    opaque = None
    if has_alpha:
        alpha = array[..., 3] >= 128
        if not alpha.all() and alpha.any():
            opaque = alpha
    return Decoded(rgb=np.ascontiguousarray(array[..., :3]), opaque=opaque)


def srgb_to_lab(rgb: npt.ArrayLike) -> Pixels:
    """sRGB (0-255) to CIELAB (D65)."""
    values = np.asarray(rgb)
    if values.dtype == np.uint8:
        linear = _LINEAR[values]  # a table lookup: ten times faster than the power on every pixel
    else:
        c = values.astype(np.float64) / 255.0
        linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def ciede2000(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), kL = kC = kH = 1."""
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = _hue(b1, a1p), _hue(b2, a2p)
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else _hue_difference(h1p, h2p)
    dh_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_mean = h1p + h2p if c1p * c2p == 0 else _hue_mean(h1p, h2p)
    t = (
        1
        - 0.17 * _cos(h_mean - 30)
        + 0.24 * _cos(2 * h_mean)
        + 0.32 * _cos(3 * h_mean + 6)
        - 0.20 * _cos(4 * h_mean - 63)
    )
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    lightness, chroma, hue = dl / s_l, dc / s_c, dh_big / s_h
    return math.sqrt(lightness**2 + chroma**2 + hue**2 + r_t * chroma * hue)


def rgb_difference(expected: RGB, measured: RGB) -> float:
    """CIEDE2000 between two sRGB colours."""
    lab1, lab2 = srgb_to_lab([expected, measured])
    return ciede2000(_triple(lab1), _triple(lab2))


def product_mask(decoded: Decoded, mask: Mask | None = None, lab: Pixels | None = None) -> Mask:
    """Where the product is: the given mask, else transparency, else not-the-plain-background."""
    height, width = decoded.rgb.shape[:2]
    chosen: Mask | None
    if mask is not None:
        chosen = _fit(mask, width, height)
    elif decoded.opaque is not None:
        chosen = decoded.opaque
    else:
        chosen = _not_background(srgb_to_lab(decoded.rgb) if lab is None else lab)
    if chosen is None or chosen.mean() < MIN_PRODUCT_SHARE:
        return central_region(height, width)
    return chosen


def dominant_colour(decoded: Decoded, mask: Mask | None = None) -> RGB:
    """The product's most common colour: its biggest colour bin, refined by nearby pixels."""
    lab = srgb_to_lab(decoded.rgb)
    where = product_mask(decoded, mask, lab)
    pixels, pixels_lab = decoded.rgb[where].astype(np.int64), lab[where]
    bins = (pixels[:, 0] // 32) * 64 + (pixels[:, 1] // 32) * 8 + pixels[:, 2] // 32
    in_biggest = bins == np.bincount(bins, minlength=512).argmax()
    seed = pixels_lab[in_biggest].mean(axis=0)
    near = np.linalg.norm(pixels_lab - seed, axis=1) < BACKGROUND_DISTANCE
    mean = pixels[near].mean(axis=0) if near.any() else pixels[in_biggest].mean(axis=0)
    red, green, blue = (int(value) for value in np.rint(mean))
    return (red, green, blue)


def is_near_blank(decoded: Decoded) -> bool:
    """Almost one flat colour everywhere: the model returned nothing worth showing."""
    luminance = decoded.rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return float(luminance.std()) < BLANK_STD


def dhash(decoded: Decoded) -> int:
    """64-bit difference hash of the luminance: equal for the same picture, whatever its size."""
    gray = Image.fromarray(decoded.rgb).convert("L").resize((9, 8), Image.Resampling.BOX)
    cells = np.asarray(gray, dtype=np.int16)
    bits = (cells[:, 1:] > cells[:, :-1]).flatten()
    return int(sum(1 << index for index, bit in enumerate(bits) if bit))


def hash_distance(first: int, second: int) -> int:
    return (first ^ second).bit_count()


def central_region(height: int, width: int) -> Mask:
    mask = np.zeros((height, width), dtype=bool)
    mask[height // 4 : height - height // 4, width // 4 : width - width // 4] = True
    return mask


def mask_from_png(data: bytes) -> Mask:
    """An edit mask as the image API takes it: transparent where the product is (edited)."""
    with Image.open(io.BytesIO(data)) as image:
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
    return np.asarray(alpha < 128)


def _not_background(lab: Pixels) -> Mask | None:
    height, width = lab.shape[:2]
    edge_h, edge_w = max(1, int(height * BORDER)), max(1, int(width * BORDER))
    frame = np.ones((height, width), dtype=bool)
    frame[edge_h : height - edge_h, edge_w : width - edge_w] = False
    background = np.median(lab[frame], axis=0)
    distance = np.linalg.norm(lab - background, axis=-1)
    if (distance[frame] < BACKGROUND_DISTANCE).mean() < PLAIN_BORDER_SHARE:
        return None  # a busy border (a scene, a banner): no plain background to remove
    return np.asarray(distance >= BACKGROUND_DISTANCE)


def _fit(mask: Mask, width: int, height: int) -> Mask:
    if mask.shape == (height, width):
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255).resize((width, height))
    return np.asarray(image) >= 128


def _hue(b: float, a: float) -> float:
    return 0.0 if a == 0 and b == 0 else math.degrees(math.atan2(b, a)) % 360


def _hue_difference(h1: float, h2: float) -> float:
    delta = h2 - h1
    if delta > 180:
        return delta - 360
    if delta < -180:
        return delta + 360
    return delta


def _hue_mean(h1: float, h2: float) -> float:
    if abs(h1 - h2) <= 180:
        return (h1 + h2) / 2
    return (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2


def _cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def _triple(values: Pixels) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))
