from __future__ import annotations

import io

import pytest
from PIL import Image

from catalog_imagegen.generation.provenance import (
    TRAINED_ALGORITHMIC_MEDIA,
    mark_source_type,
    source_type_of,
)


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(
        buffer, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    )
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_marked_images_stay_valid_and_declare_ai_generation(fmt: str) -> None:
    original = encoded(fmt)
    marked = mark_source_type(original, fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert source_type_of(original) is None
    assert source_type_of(marked) == TRAINED_ALGORITHMIC_MEDIA
    with Image.open(io.BytesIO(marked)) as image:
        assert image.size == (64, 48)
        assert image.convert("RGB").getpixel((10, 10)) == Image.open(io.BytesIO(original)).convert(
            "RGB"
        ).getpixel((10, 10))
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        assert xmp is not None
        assert b"trainedAlgorithmicMedia" in (xmp if isinstance(xmp, bytes) else xmp.encode())


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_marking_twice_keeps_one_packet(fmt: str) -> None:
    once = mark_source_type(encoded(fmt), fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert mark_source_type(once, fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48)) == once
