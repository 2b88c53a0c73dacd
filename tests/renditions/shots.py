"""Product shots for rendition tests: a product on a plain background, marked as AI-made."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from catalog_imagegen.generation.provenance import TRAINED_ALGORITHMIC_MEDIA, mark_source_type

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
STUDIO_GREY: RGB = (232, 232, 232)


def product_shot(
    *,
    background: RGB = WHITE,
    product_share: float = 0.9,
    size: tuple[int, int] = (1024, 1024),
    fmt: str = "png",
    marked: bool = True,
) -> bytes:
    """A navy product spanning ``product_share`` of each side, centred on ``background``."""
    width, height = size
    image = Image.new("RGB", size, background)
    product_w, product_h = round(width * product_share), round(height * product_share)
    left, top = (width - product_w) // 2, (height - product_h) // 2
    draw = ImageDraw.Draw(image)
    draw.ellipse((left, top, left + product_w - 1, top + product_h - 1), fill=(31, 42, 68))
    buffer = io.BytesIO()
    image.save(buffer, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt])
    data = buffer.getvalue()
    return mark_source_type(data, fmt, TRAINED_ALGORITHMIC_MEDIA, size) if marked else data
