"""Channel profiles as data, and templates naming the channels they serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.planning.templates import TemplateError, load_templates
from catalog_imagegen.renditions.channels import ChannelError, load_channels, profile_from
from catalog_imagegen.renditions.sizing import size_for_channels

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_the_shipped_channels_are_the_six_marketplaces() -> None:
    channels = load_channels(TEMPLATES)
    assert sorted(channels) == [
        "amazon_main",
        "ebay",
        "etsy",
        "google_shopping",
        "shopify",
        "zalando",
    ]
    amazon = channels["amazon_main"]
    assert (amazon.size, amazon.format, amazon.white_background, amazon.min_fill) == (
        (2000, 2000),
        "jpeg",
        True,
        0.85,
    )
    assert channels["zalando"].size == (1801, 2600)  # 1:1.44, upright
    assert channels["google_shopping"].marker
    assert (channels["ebay"].size, channels["ebay"].min_side) == (None, 1600)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"size": "2000"}, "channel 'x': size must be WIDTHxHEIGHT"),
        ({"format": "tiff"}, "channel 'x': format must be one of jpeg, png, webp, not 'tiff'"),
        ({"fit": "stretch"}, "channel 'x': fit must be 'pad' or 'crop'"),
        ({"quality": 101}, "channel 'x': quality must be a whole number 1-100"),
        ({"min_fill": 85}, "channel 'x': min_fill must be a share of the frame"),
        ({"background": "grey"}, "channel 'x': background must be 'white' or 'any'"),
        ({"max_bytes": "10MB"}, "channel 'x': max_bytes must be a whole number above 0"),
        ({"colour": "white"}, "channel 'x': unknown field(s) colour"),
        ({"aspect": "1x1.44"}, "channel 'x': aspect must be WIDTH:HEIGHT like"),
    ],
)
def test_a_bad_profile_names_the_channel_and_the_field(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ChannelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        profile_from("x", values)


def test_users_add_a_channel_by_adding_a_table(templates_copy: Path) -> None:
    with (templates_copy / "channels.toml").open("a") as handle:
        handle.write('\n[lookbook]\nsize = "1200x1600"\nformat = "webp"\nquality = 85\n')
    lookbook = load_channels(templates_copy)["lookbook"]
    assert (lookbook.size, lookbook.format, lookbook.extension) == ((1200, 1600), "webp", "webp")


def test_a_template_names_its_channels_and_they_leave_its_version_alone(
    templates_copy: Path,
) -> None:
    card = templates_copy / "product_card.j2"
    before = load_templates(templates_copy)["product_card"]
    card.write_text(
        card.read_text().replace(
            'quality = "medium"\n',
            'quality = "medium"\nchannels = ["amazon_main", "google_shopping"]\n',
        )
    )
    after = load_templates(templates_copy)["product_card"]
    assert [c.name for c in after.channels] == ["amazon_main", "google_shopping"]
    assert before.channels == ()
    assert after.version == before.version  # same image, same key: no new request


def test_an_unknown_channel_names_the_template_and_the_known_ones(templates_copy: Path) -> None:
    card = templates_copy / "product_card.j2"
    card.write_text(card.read_text().replace("n = 1\n", 'n = 1\nchannels = ["amazon"]\n'))
    with pytest.raises(TemplateError) as error:
        load_templates(templates_copy)
    assert str(error.value) == (
        "product_card.j2: unknown channel(s) amazon (known: amazon_main, ebay, etsy, "
        "google_shopping, shopify, zalando)"
    )


@pytest.mark.parametrize(
    ("channels", "size"),
    [
        (["amazon_main"], "2000x2000"),
        (["amazon_main", "google_shopping"], "2000x2000"),
        (["shopify", "etsy"], "2048x2048"),
        (["zalando"], "1808x2608"),  # 1:1.44, sides in multiples of 16
        (["zalando", "amazon_main"], "2608x2608"),  # aspects disagree: square
        (["ebay"], "1600x1600"),
    ],
)
def test_size_channels_asks_for_what_serves_every_channel_without_upscaling(
    templates_copy: Path, channels: list[str], size: str
) -> None:
    card = templates_copy / "product_card.j2"
    served = "channels = [" + ", ".join(f'"{c}"' for c in channels) + "]"
    card.write_text(card.read_text().replace('size = "1024x1024"', f'size = "channels"\n{served}'))
    assert load_templates(templates_copy)["product_card"].settings.size == size


def test_the_size_for_channels_stays_within_the_models_free_sizes() -> None:
    huge = profile_from("poster", {"size": "6000x2000"})
    width, height = (int(side) for side in size_for_channels([huge]).split("x"))
    assert width <= 3840
    assert width * height <= 8_294_400
    assert width % 16 == height % 16 == 0
    assert width / height == pytest.approx(3.0, rel=0.02)
