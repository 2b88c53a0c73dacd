from __future__ import annotations

import io

import pytest
from PIL import Image

from catalog_imagegen.catalog.colours import palette_rgb
from catalog_imagegen.generation.providers.base import ImageRequest, ImageSettings
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider


def dominant(data: bytes) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((128, 128), Image.Resampling.NEAREST)
    colours = image.getcolors(128 * 128)
    assert colours is not None
    return max(colours)[1]


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("colour", ["Navy", "Red", "Sage", "Heather Grey", "Mustard"])
async def test_preview_dominant_colour_is_the_colour_it_was_made_for(fmt: str, colour: str) -> None:
    provider = OfflinePreviewProvider({"winter": "#a7c7e7"})
    settings = ImageSettings(size="512x768", output_format=fmt)  # type: ignore[arg-type]
    request = ImageRequest(
        prompt="p", settings=settings, colour=colour, season="winter", label="SKU-1 / x"
    )
    result = await provider.create_images(request)
    [image] = result.images
    assert (image.width, image.height) == (512, 768)
    assert Image.open(io.BytesIO(image.data)).format.lower() == fmt  # type: ignore[union-attr]
    expected = palette_rgb(colour)
    assert expected is not None
    measured = dominant(image.data)
    assert max(abs(a - b) for a, b in zip(measured, expected, strict=True)) <= 6


async def test_previews_are_deterministic_and_n_gives_alternates() -> None:
    provider = OfflinePreviewProvider()
    request = ImageRequest(
        prompt="p",
        settings=ImageSettings(size="256x256", n=2),
        colour="Red",
        season="summer",
        label="S",
    )
    one = await provider.create_images(request)
    two = await provider.create_images(request)
    assert [i.data for i in one.images] == [i.data for i in two.images]
    assert len(one.images) == 2 and one.images[0].data != one.images[1].data
