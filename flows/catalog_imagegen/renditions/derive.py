"""Deriving a channel's deliverable from the one generated image: pure, bytes in, bytes out.

In order: decode to sRGB RGB (transparency over white), whiten a near-white background when the
profile asks, fit the size (pad or crop to an exact size, or scale the longest side into limits),
encode in the profile's format and quality (stepping the quality down until the file fits), and
put back the provenance marker the source carried, since re-encoding drops all metadata.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageCms

from catalog_imagegen.generation.provenance import mark_source_type, source_type_of
from catalog_imagegen.renditions.background import read_border, whiten_background
from catalog_imagegen.renditions.channels import ChannelProfile

WHITE = (255, 255, 255)
LOWEST_QUALITY = 60  # below this a marketplace image looks worse than an oversized file is risky
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True, slots=True)
class Derived:
    data: bytes
    width: int
    height: int
    format: str
    background_fixed: bool = False


def derive_rendition(source: bytes, profile: ChannelProfile) -> Derived:
    """``profile``'s deliverable made from the image bytes ``source``."""
    image = open_srgb(source)
    fixed = False
    if profile.fix_background:
        whitened, fixed = whiten_background(np.asarray(image))
        image = Image.fromarray(whitened) if fixed else image
    fitted = fit_image(image, profile)
    data = encode_within(fitted, profile)
    source_type = source_type_of(source)
    if source_type is not None:
        data = mark_source_type(data, profile.format, source_type, fitted.size)
    return Derived(data, fitted.width, fitted.height, profile.format, fixed)


def open_srgb(data: bytes) -> Image.Image:
    """The image as 8-bit sRGB RGB: converted from its ICC profile, transparency over white."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        image = opened.copy()
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source_profile, _SRGB, outputMode=mode)
        image = converted if converted is not None else image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, WHITE)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def fit_image(image: Image.Image, profile: ChannelProfile) -> Image.Image:
    if profile.size is None:
        return _within_limits(image, profile)
    width, height = profile.size
    if profile.fit == "crop":
        scale = max(width / image.width, height / image.height)
        scaled = _scaled(image, scale)
        left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
        return scaled.crop((left, top, left + width, top + height))
    scaled = _scaled(image, min(width / image.width, height / image.height))
    if scaled.size == (width, height):
        return scaled
    canvas = Image.new("RGB", (width, height), pad_colour(image, profile))
    canvas.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return canvas


def pad_colour(image: Image.Image, profile: ChannelProfile) -> tuple[int, int, int]:
    """White for a white-background channel; else the image's own border colour, so it blends."""
    if profile.white_background:
        return WHITE
    small = image.copy()
    small.thumbnail((128, 128))
    return read_border(np.asarray(small), profile.white_tolerance).colour


def encode_within(image: Image.Image, profile: ChannelProfile) -> bytes:
    """Encoded at the profile's quality, stepped down (jpeg, webp) until ``max_bytes`` fits."""
    quality = profile.quality
    data = encode(image, profile.format, quality)
    lossy = profile.format in ("jpeg", "webp")
    while (
        profile.max_bytes and len(data) > profile.max_bytes and lossy and quality > LOWEST_QUALITY
    ):
        quality = max(LOWEST_QUALITY, quality - 5)
        data = encode(image, profile.format, quality)
    return data


def encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", compress_level=6)
    else:
        image.save(buffer, format=_PIL_FORMATS[fmt], quality=quality)
    return buffer.getvalue()


def _within_limits(image: Image.Image, profile: ChannelProfile) -> Image.Image:
    if profile.aspect is not None and abs(image.width / image.height / profile.aspect - 1) > 0.005:
        # Into the aspect first, at the image's own scale: then the limits scale it.
        if profile.fit == "crop":
            size = _cropped_to(image.size, profile.aspect)
        else:
            size = _padded_to(image.size, profile.aspect)
        image = fit_image(image, replace(profile, size=size, aspect=None))
    longest = max(image.size)
    target = longest
    if profile.min_side and longest < profile.min_side:
        target = profile.min_side
    if profile.max_side and longest > profile.max_side:
        target = profile.max_side
    return image if target == longest else _scaled(image, target / longest)


def _padded_to(size: tuple[int, int], aspect: float) -> tuple[int, int]:
    width, height = size
    if width / height < aspect:
        return (round(height * aspect), height)
    return (width, round(width / aspect))


def _cropped_to(size: tuple[int, int], aspect: float) -> tuple[int, int]:
    width, height = size
    if width / height > aspect:
        return (round(height * aspect), height)
    return (width, round(width / aspect))


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
