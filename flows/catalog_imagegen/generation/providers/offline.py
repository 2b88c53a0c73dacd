"""Offline preview images: the default provider when no API key is configured.

Each preview is deterministic and shows its job at a glance: the colour fills most of the frame (so
a person, or a test, can check the colour x season matrix), a band in the season's accent colour
names the season, and the SKU, colour and template are written on it. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Mapping

from PIL import Image, ImageDraw, ImageFont

from catalog_imagegen.catalog.colours import RGB, palette_rgb, parse_hex
from catalog_imagegen.generation.providers.base import GeneratedImage, ImageRequest, ProviderResult

PREVIEW_MODEL = "offline-preview"
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


class OfflinePreviewProvider:
    name = "offline-preview"
    is_preview = True

    def __init__(
        self, season_accents: Mapping[str, str] | None = None, *, latency: float = 0.0
    ) -> None:
        self.model = PREVIEW_MODEL
        self._accents = dict(season_accents or {})
        # Seconds per request, to mimic a slow image API in demos and crash/resume tests.
        self._latency = latency

    async def check_access(self) -> None:
        return None  # nothing leaves the machine: nothing to check

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        if self._latency > 0:
            await asyncio.sleep(self._latency)
        images = await asyncio.to_thread(self._render_all, request)
        return ProviderResult(images=images)

    async def aclose(self) -> None:
        return None

    def _render_all(self, request: ImageRequest) -> tuple[GeneratedImage, ...]:
        return tuple(self.render(request, index) for index in range(request.settings.n))

    def render(self, request: ImageRequest, index: int = 0) -> GeneratedImage:
        width, height = request.settings.width_height
        fill = request.colour_rgb or palette_rgb(request.colour) or hashed_rgb(request.colour)
        accent = parse_hex(self._accents.get(request.season, "")) or hashed_rgb(request.season)
        image = Image.new("RGB", (width, height), fill)
        draw = ImageDraw.Draw(image)
        band = height // 6
        draw.rectangle((0, height - band, width, height), fill=accent)
        ink = _readable_on(fill)
        size = max(12, width // 28)
        font = ImageFont.load_default(size=size)
        lines = [f"PREVIEW  {request.label}", f"colour: {request.colour}"]
        if index:
            lines.append(f"alternate {index + 1}")
        if request.mode == "edit" and request.images:
            lines.append("edit of product photo")
            _paste_thumbnail(image, request.images[0].data, size=width // 5)
        for line_no, text in enumerate(lines):
            draw.text((size, size + line_no * int(size * 1.4)), text, fill=ink, font=font)
        season_font = ImageFont.load_default(size=max(12, band // 3))
        draw.text(
            (size, height - band + band // 3),
            request.season.upper(),
            fill=_readable_on(accent),
            font=season_font,
        )
        output_format = request.settings.output_format
        buffer = io.BytesIO()
        options: dict[str, object] = {"compress_level": 1} if output_format == "png" else {}
        if output_format in ("jpeg", "webp"):
            options["quality"] = request.settings.output_compression or 90
        image.save(buffer, _PIL_FORMATS[output_format], **options)
        return GeneratedImage(buffer.getvalue(), output_format, width, height)


def hashed_rgb(name: str) -> RGB:
    digest = hashlib.sha256(name.encode()).digest()
    return (digest[0], digest[1], digest[2])


def _readable_on(rgb: RGB) -> RGB:
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (20, 20, 20) if luminance > 140 else (245, 245, 245)


def _paste_thumbnail(image: Image.Image, data: bytes, *, size: int) -> None:
    try:
        with Image.open(io.BytesIO(data)) as source:
            thumbnail = source.convert("RGB")
            thumbnail.thumbnail((size, size))
    except OSError:
        return
    image.paste(thumbnail, (image.width - thumbnail.width - 8, 8))
