"""Images the fake API returns: real files of the asked size and format, coloured by the prompt.

A generated image is the prompt's colour edge to edge but for a thin neutral frame, so a colour
check downstream has something true to find. An edit keeps the first input image and paints the
prompt's colour over its centre (or over the mask's transparent area), so a test can tell the input
was used. With ``small_product_on_grey``, a generation is a small product on a light grey backdrop.
Rendering is cached: a server answering hundreds of requests a second mostly copies bytes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from catalog_imagegen.catalog.colours import RGB, colour_names_in, palette_rgb, parse_hex
from catalog_imagegen.generation.providers.base import OutputFormat
from catalog_imagegen.testing.fake_image_api.checks import ImageCall
from catalog_imagegen.testing.fake_image_api.config import FakeImageApiConfig
from catalog_imagegen.testing.fake_image_api.errors import ApiError

_FRAME_RGB = (236, 236, 236)
_SAME_IMAGE_RGB = (128, 128, 128)
_STUDIO_GREY_RGB = (232, 232, 232)
SMALL_PRODUCT_SHARE = 1 / 3  # of each side
_JPEG_SEGMENT_MAX = 65533
_HEX_IN_TEXT = re.compile(r"(?<![0-9A-Za-z&])(#[0-9a-fA-F]{6})(?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class RenderedImage:
    data: bytes
    # ``data`` as base64 (ASCII), computed once: responses splice it into their JSON as is.
    b64: bytes
    width: int
    height: int
    format: OutputFormat


class InvalidSourceImage(ValueError):
    """An uploaded image or mask that Pillow cannot read."""


def prompt_rgb(prompt: str, *, last: bool = False) -> RGB:
    """The prompt's colour: a ``#hex`` in it, else the palette colour it names first (``last``:
    the one it names last), else a hash.

    First by position for a generation: in "a navy shirt on a white background" the product is
    navy. Last for an edit: "change the colour from navy to black" asks for black.
    """
    hex_match = _HEX_IN_TEXT.search(prompt)
    if hex_match is not None:
        return parse_hex(hex_match.group(1)) or hashed_rgb(prompt)
    names = colour_names_in(prompt)
    if names:
        text = " " + re.sub(r"[^a-z0-9]+", " ", prompt.lower()) + " "

        def position(name: str) -> int:
            spaced = " " + name.replace("-", " ") + " "
            return text.rfind(spaced) if last else text.find(spaced)

        first = (max if last else min)(names, key=position)
        rgb = palette_rgb(first)
        if rgb is not None:
            return rgb
    return hashed_rgb(prompt)


def hashed_rgb(text: str) -> RGB:
    digest = hashlib.sha256(text.encode()).digest()
    return (digest[0], digest[1], digest[2])


@lru_cache(maxsize=512)
def render_generated(
    rgb: RGB,
    size: tuple[int, int],
    output_format: OutputFormat,
    transparent: bool,
    padded_to: int | None,
) -> RenderedImage:
    width, height = size
    mode = "RGBA" if transparent else "RGB"
    frame = (0, 0, 0, 0) if transparent else _FRAME_RGB
    image = Image.new(mode, size, frame)
    border = max(1, min(width, height) // 32)
    image.paste(_fill(rgb, mode), (border, border, width - border, height - border))
    return _encode(image, output_format, padded_to)


@lru_cache(maxsize=512)
def render_small_product(
    rgb: RGB, size: tuple[int, int], output_format: OutputFormat, padded_to: int | None
) -> RenderedImage:
    """The prompt's colour as a small centred product on a light grey studio backdrop."""
    width, height = size
    image = Image.new("RGB", size, _STUDIO_GREY_RGB)
    product_w, product_h = round(width * SMALL_PRODUCT_SHARE), round(height * SMALL_PRODUCT_SHARE)
    left, top = (width - product_w) // 2, (height - product_h) // 2
    image.paste(rgb, (left, top, left + product_w, top + product_h))
    return _encode(image, output_format, padded_to)


@lru_cache(maxsize=32)
def render_edit(
    source: bytes,
    mask: bytes | None,
    rgb: RGB,
    size: tuple[int, int],
    output_format: OutputFormat,
    transparent: bool,
    padded_to: int | None,
) -> RenderedImage:
    width, height = size
    mode = "RGBA" if transparent else "RGB"
    image = _open(source, "image").convert(mode).resize(size)
    if mask is None:
        box = (width // 10, height // 10, width - width // 10, height - height // 10)
        image.paste(_fill(rgb, mode), box)
    else:
        alpha = _open(mask, "mask").convert("RGBA").resize(size).getchannel("A")
        # OpenAI edits where the mask is fully transparent.
        editable = alpha.point(lambda value: 255 if value == 0 else 0)
        image.paste(_fill(rgb, mode), (0, 0, width, height), editable)
    return _encode(image, output_format, padded_to)


async def render_for(call: ImageCall, config: FakeImageApiConfig) -> RenderedImage:
    """The image answering ``call``: the prompt's colour unless the configuration says otherwise."""
    size, output_format, transparent = call.size, call.output_format, call.transparent
    if config.same_image_for_all:
        return render_generated(_SAME_IMAGE_RGB, size, output_format, False, config.image_bytes)
    rgb = prompt_rgb(call.prompt, last=call.endpoint != "generations")
    if config.wrong_colour_pattern and re.search(config.wrong_colour_pattern, call.prompt):
        rgb = config.wrong_colour_rgb or rgb
    if call.endpoint == "generations" and config.small_product_on_grey:
        return render_small_product(rgb, size, output_format, config.image_bytes)
    if call.endpoint == "generations":
        return render_generated(rgb, size, output_format, transparent, config.image_bytes)
    try:
        # Decoding an upload takes real CPU: off the event loop, so other requests keep moving.
        return await asyncio.to_thread(
            render_edit,
            call.images[0],
            call.mask,
            rgb,
            size,
            output_format,
            transparent,
            config.image_bytes,
        )
    except InvalidSourceImage as error:
        raise ApiError(
            400, f"Invalid image file: {error}.", code="invalid_image_file", param="image"
        ) from None


def _fill(rgb: RGB, mode: str) -> tuple[int, ...]:
    return (*rgb, 255) if mode == "RGBA" else rgb


def _open(data: bytes, what: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            return opened.copy()
    except (UnidentifiedImageError, OSError):
        raise InvalidSourceImage(f"the {what} is not a readable PNG, JPEG or WebP file") from None


def _encode(
    image: Image.Image, output_format: OutputFormat, padded_to: int | None
) -> RenderedImage:
    data = _save(image, output_format, padding=b"")
    if padded_to is not None and padded_to > len(data):
        data = _save(image, output_format, padding=_noise(padded_to - len(data)))
    return RenderedImage(
        data=data,
        b64=base64.b64encode(data),
        width=image.width,
        height=image.height,
        format=output_format,
    )


def _save(image: Image.Image, output_format: OutputFormat, padding: bytes) -> bytes:
    """Encode; ``padding`` goes where decoders skip it: a private PNG chunk, JPEG comments, XMP."""
    buffer = io.BytesIO()
    if output_format == "png":
        info = PngImagePlugin.PngInfo()
        if padding:
            # Ancillary, private, safe-to-copy: any PNG reader skips it.
            info.add(b"fkPd", padding)
        image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
        return buffer.getvalue()
    if output_format == "webp":
        image.save(buffer, format="WEBP", lossless=True, method=0, xmp=padding)
        return buffer.getvalue()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return _with_jpeg_comments(buffer.getvalue(), padding)


def _with_jpeg_comments(jpeg: bytes, padding: bytes) -> bytes:
    segments = [
        b"\xff\xfe" + (len(part) + 2).to_bytes(2, "big") + part
        for part in (
            padding[i : i + _JPEG_SEGMENT_MAX] for i in range(0, len(padding), _JPEG_SEGMENT_MAX)
        )
    ]
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _noise(size: int) -> bytes:
    """Incompressible, so padded images stay big through any transport compression."""
    return random.Random(size).randbytes(size)
