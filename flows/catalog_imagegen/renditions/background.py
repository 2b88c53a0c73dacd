"""The background of a product shot, measured and whitened: pure numpy on decoded pixels.

- the border: the outer ``BORDER`` of each side, where a packshot shows only background;
- the product: pixels that differ from the border's colour, and the share of the frame their
  bounding box spans (the longer of its width and height shares, as "fills 85%" is meant);
- whitening: near-white pixels connected to the border become pure white. Connectivity is found on
  a grid of blocks (at most ``GRID`` a side), so a 2,000 px image costs milliseconds, not seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BORDER = 0.02  # of each side
PRODUCT_DIFFERENCE = 24  # a pixel this far (0-255, any channel) from the border colour is product
NEAR_WHITE = 40  # whitening takes pixels whose every channel is at least 255 - NEAR_WHITE
GRID = 256

Pixels = npt.NDArray[np.uint8]  # (height, width, 3)
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class BorderReading:
    colour: tuple[int, int, int]  # the border's median colour
    white_share: float  # of border pixels within the tolerance of pure white


def border_mask(height: int, width: int) -> Mask:
    edge_h, edge_w = max(1, round(height * BORDER)), max(1, round(width * BORDER))
    frame = np.ones((height, width), dtype=bool)
    frame[edge_h : height - edge_h, edge_w : width - edge_w] = False
    return frame


def read_border(rgb: Pixels, tolerance: int) -> BorderReading:
    border = rgb[border_mask(*rgb.shape[:2])]
    median = np.median(border, axis=0)
    white = (border.min(axis=1) >= 255 - tolerance).mean()
    red, green, blue = (int(value) for value in median)
    return BorderReading(colour=(red, green, blue), white_share=float(white))


def product_fill(rgb: Pixels, background: tuple[int, int, int]) -> float:
    """The share of the frame the product's bounding box spans (0 when there is no product)."""
    difference = np.abs(rgb.astype(np.int16) - np.array(background, dtype=np.int16)).max(axis=2)
    product = difference > PRODUCT_DIFFERENCE
    rows, columns = np.flatnonzero(product.any(axis=1)), np.flatnonzero(product.any(axis=0))
    if rows.size == 0:
        return 0.0
    height, width = product.shape
    tall = (rows[-1] - rows[0] + 1) / height
    wide = (columns[-1] - columns[0] + 1) / width
    return float(max(tall, wide))


def whiten_background(rgb: Pixels) -> tuple[Pixels, bool]:
    """``rgb`` with its near-white background made pure white, and whether anything changed."""
    light = rgb.min(axis=2) >= 255 - NEAR_WHITE
    reached = _connected_to_border(light)
    if not (reached & (rgb.min(axis=2) < 255)).any():
        return rgb, False
    whitened = rgb.copy()
    whitened[reached] = 255
    return whitened, True


def _connected_to_border(light: Mask) -> Mask:
    """Light pixels joined to the border through light pixels, decided block by block."""
    height, width = light.shape
    block = max(1, -(-max(height, width) // GRID))
    rows, columns = -(-height // block), -(-width // block)
    padded = np.ones((rows * block, columns * block), dtype=bool)
    padded[:height, :width] = light
    # A block is background only when all of it is light, so the fill cannot leak past an edge.
    blocks = np.asarray(padded.reshape(rows, block, columns, block).all(axis=(1, 3)))
    ring = np.ones_like(blocks)
    ring[1:-1, 1:-1] = False
    reached = _grow_within(blocks & ring, blocks)
    # One block further, limited to light pixels: the band of mixed blocks around the product.
    grown = _dilate(reached)
    full = np.repeat(np.repeat(grown, block, axis=0), block, axis=1)[:height, :width]
    return np.asarray(full & light)


def _grow_within(seed: Mask, allowed: Mask) -> Mask:
    current = seed & allowed
    while True:
        grown = _dilate(current) & allowed
        if np.array_equal(grown, current):
            return current
        current = grown


def _dilate(mask: Mask) -> Mask:
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown
