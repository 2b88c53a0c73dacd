"""A fake image provider that honours the colour a prompt asks for, for tests and benchmarks.

Each image is a product-like shape on a plain light background, painted in the last palette
colour the prompt names (``... from Navy to Red`` paints red). The shape depends only on the SKU,
so every colour of a product shows "the same product in the same pose", as a good colour edit
would. Every request is recorded (``requests``), and each image carries a one-pixel serial mark,
so remaking an image gives new bytes, as a real model does. Misbehaviour is opt-in:
``wrong_colours`` paints another colour, ``ignore_colours`` paints one colour whatever is asked,
``blank_colours`` returns a flat image.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import re
from collections.abc import Mapping

from PIL import Image, ImageDraw

from catalog_imagegen.catalog.colours import RGB, colour_key, palette_rgb
from catalog_imagegen.generation.providers.base import GeneratedImage, ImageRequest, ProviderResult

BACKGROUND: RGB = (244, 244, 242)
_WORD = re.compile(r"[a-z0-9]+")
_SERIALS = itertools.count(1)  # across instances: a later run never repeats an earlier image


class ColourHonouringProvider:
    name = "colour-fake"
    is_preview = False

    def __init__(
        self,
        *,
        latency: float = 0.0,
        size: int = 96,
        wrong_colours: Mapping[str, str] | None = None,
        ignore_colours: str | None = None,
        blank_colours: frozenset[str] = frozenset(),
        unique: bool = True,
    ) -> None:
        self.model = "fake-image-1"
        self.latency = latency
        self.size = size
        self.wrong_colours = {colour_key(k): v for k, v in (wrong_colours or {}).items()}
        self.ignore_colours = ignore_colours
        self.blank_colours = frozenset(colour_key(c) for c in blank_colours)
        self.unique = unique  # False: one cached image per colour asked for (costs no CPU)
        self._painted: dict[str, bytes] = {}
        self.requests: list[ImageRequest] = []

    async def check_access(self) -> None:
        return None

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        self.requests.append(request)
        serial = next(_SERIALS)
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.unique:
            data = self.paint(request, serial)
        else:
            asked = asked_colour(request.prompt)
            data = self._painted.get(asked) or self.paint(request, 0)
            self._painted[asked] = data
        fmt = request.settings.output_format
        return ProviderResult(images=(GeneratedImage(data, fmt, self.size, self.size),))

    async def aclose(self) -> None:
        return None

    def paint(self, request: ImageRequest, serial: int) -> bytes:
        asked = asked_colour(request.prompt)
        painted = self.ignore_colours or self.wrong_colours.get(colour_key(asked), asked)
        image = Image.new("RGB", (self.size, self.size), BACKGROUND)
        if colour_key(asked) not in self.blank_colours:
            _draw_product(image, request.label.split(" / ")[0], palette_rgb(painted) or (128,) * 3)
        image.putpixel((0, 0), (serial % 251, serial // 251 % 251, serial // 63001 % 251))
        buffer = io.BytesIO()
        image.save(
            buffer, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[request.settings.output_format]
        )
        return buffer.getvalue()


def asked_colour(prompt: str) -> str:
    """The last palette colour named in ``prompt`` (longest name wins where names overlap)."""
    words = _WORD.findall(prompt.lower())
    for end in range(len(words), 0, -1):
        for length in (3, 2, 1):
            name = "-".join(words[max(0, end - length) : end])
            if palette_rgb(name) is not None:
                return name
    return "grey"


def _draw_product(image: Image.Image, sku: str, colour: RGB) -> None:
    digest = hashlib.sha256(sku.encode()).digest()
    size = image.width
    left, top = size * (0.15 + digest[0] / 2550), size * (0.12 + digest[1] / 2550)
    right, bottom = size * (0.85 - digest[2] / 2550), size * (0.9 - digest[3] / 2550)
    shade = tuple(max(0, c - 35) for c in colour)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((left, top, right, bottom), radius=size // 8, fill=(*shade,))
    inset = size * 0.03
    draw.rounded_rectangle(
        (left + inset, top + inset, right - inset, bottom - inset), radius=size // 10, fill=colour
    )
    sleeve = size * (0.2 + digest[4] / 1275)
    draw.polygon([(left, top + sleeve), (left - size * 0.1, bottom), (left, bottom)], fill=colour)
