"""Checks on image bytes: is this the format we asked for, and how big is it."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

_PIL_TO_FORMAT = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}


class InvalidImage(ValueError):
    pass


def inspect_image(data: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` read from the header, without decoding the pixels."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = _PIL_TO_FORMAT.get(image.format or "")
            if fmt is None:
                raise InvalidImage(f"unsupported image format {image.format}")
            return fmt, image.width, image.height
    except (UnidentifiedImageError, OSError) as error:
        raise InvalidImage(f"not a readable image ({error})") from None


def check_image(data: bytes, expected_format: str) -> tuple[int, int]:
    fmt, width, height = inspect_image(data)
    if fmt != expected_format:
        raise InvalidImage(f"expected a {expected_format} image, got {fmt}")
    return width, height
