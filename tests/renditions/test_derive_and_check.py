"""Deriving each channel's deliverable and checking it: pure functions on real image bytes."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from catalog_imagegen.generation.provenance import TRAINED_ALGORITHMIC_MEDIA, source_type_of
from catalog_imagegen.renditions.channels import ChannelProfile, load_channels
from catalog_imagegen.renditions.checks import check_rendition, noncompliance_flags
from catalog_imagegen.renditions.derive import derive_rendition
from tests.renditions.shots import STUDIO_GREY, WHITE, product_shot

SHIPPED = load_channels(Path(__file__).resolve().parents[2] / "templates")
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@pytest.mark.parametrize("channel", sorted(SHIPPED))
@pytest.mark.parametrize("size", [(1024, 1024), (1536, 1024), (1024, 1536)])
def test_every_shipped_channel_gets_its_exact_deliverable(
    channel: str, size: tuple[int, int]
) -> None:
    profile = SHIPPED[channel]
    derived = derive_rendition(product_shot(size=size), profile)
    with Image.open(io.BytesIO(derived.data)) as image:
        assert image.format == PIL_FORMATS[profile.format]
        assert image.mode == "RGB"
        assert image.size == (derived.width, derived.height)
        if profile.size is not None:
            assert image.size == profile.size
        else:
            assert (profile.min_side or 0) <= max(image.size) <= (profile.max_side or 10**9)
    assert profile.max_bytes is not None
    assert len(derived.data) <= profile.max_bytes
    assert source_type_of(derived.data) == TRAINED_ALGORITHMIC_MEDIA  # the marker survives
    checks = check_rendition(derived.data, profile)
    assert [c.name for c in checks if not c.ok] == []


AMAZON = SHIPPED["amazon_main"]
UPRIGHT = ChannelProfile(
    "upright", min_side=1000, max_side=3000, aspect=1 / 1.44, aspect_text="1:1.44"
)
GOOGLE = SHIPPED["google_shopping"]


@pytest.mark.parametrize(
    ("background", "share", "profile", "failing"),
    [
        (WHITE, 0.9, AMAZON, []),
        (STUDIO_GREY, 0.9, AMAZON, ["background"]),
        (WHITE, 0.5, AMAZON, ["fill"]),
        (STUDIO_GREY, 0.33, AMAZON, ["background", "fill"]),
        (STUDIO_GREY, 0.33, replace(AMAZON, fix_background=True), ["fill"]),
        (STUDIO_GREY, 0.9, replace(AMAZON, fix_background=True), []),
        (STUDIO_GREY, 0.33, GOOGLE, []),  # no background or fill rule
        (STUDIO_GREY, 0.33, SHIPPED["zalando"], ["background"]),
    ],
)
def test_checks_flag_what_the_channel_rejects(
    background: tuple[int, int, int], share: float, profile: ChannelProfile, failing: list[str]
) -> None:
    derived = derive_rendition(product_shot(background=background, product_share=share), profile)
    checks = check_rendition(derived.data, profile, background_fixed=derived.background_fixed)
    assert [c.name for c in checks if not c.ok] == failing
    assert derived.background_fixed == (profile.fix_background and background != WHITE)


def test_flags_carry_the_measured_value_and_the_rule() -> None:
    derived = derive_rendition(product_shot(background=STUDIO_GREY, product_share=0.33), AMAZON)
    flags = noncompliance_flags("amazon_main", check_rendition(derived.data, AMAZON))
    assert [f["message"] for f in flags] == [
        "amazon_main: background #e8e8e8, white 0.00 < 0.98",
        "amazon_main: fill 0.33 < 0.85",
    ]
    fill = flags[1]
    assert (fill["kind"], fill["check"], fill["measured"], fill["rule"]) == (
        "noncompliant",
        "fill",
        0.33,
        ">= 0.85",
    )


def test_a_fixed_background_is_recorded_on_the_check_and_the_flag() -> None:
    profile = replace(AMAZON, fix_background=True)
    derived = derive_rendition(product_shot(background=STUDIO_GREY, product_share=0.33), profile)
    checks = check_rendition(derived.data, profile, background_fixed=True)
    assert {c.name: c.ok for c in checks}["background_fixed"] is True
    [flag] = noncompliance_flags("amazon_main", checks, background_fixed=True)
    assert flag["check"] == "fill"
    assert flag["background_fixed"] is True
    with Image.open(io.BytesIO(derived.data)) as image:
        assert image.convert("RGB").getpixel((5, 5)) == WHITE


def test_the_missing_ai_marker_is_flagged_where_the_channel_requires_it() -> None:
    derived = derive_rendition(product_shot(marked=False), GOOGLE)
    failing = [c for c in check_rendition(derived.data, GOOGLE) if not c.ok]
    assert [(c.name, c.measured) for c in failing] == [("marker", None)]


def test_quality_steps_down_to_fit_the_size_limit_and_what_cannot_fit_is_flagged() -> None:
    noisy = Image.effect_noise((1024, 1024), 120).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    source = buffer.getvalue()
    roomy = derive_rendition(source, replace(AMAZON, max_bytes=None))
    limit = len(roomy.data) * 3 // 4
    fitted = derive_rendition(source, replace(AMAZON, max_bytes=limit))
    assert len(fitted.data) <= limit
    tight = replace(AMAZON, max_bytes=10_000)
    too_big = derive_rendition(source, tight)
    [size_check] = [c for c in check_rendition(too_big.data, tight) if c.name == "bytes"]
    assert not size_check.ok
    assert size_check.measured == len(too_big.data) > 10_000


@pytest.mark.parametrize(
    ("profile", "source_size", "expected"),
    [
        (ChannelProfile("wide", size=(1000, 500), fit="crop"), (1024, 1024), (1000, 500)),
        (ChannelProfile("tall", size=(500, 1000), fit="pad"), (1536, 1024), (500, 1000)),
        (ChannelProfile("small", min_side=1600), (512, 384), (1600, 1200)),
        (ChannelProfile("big", max_side=800), (1536, 1024), (800, 533)),
        (ChannelProfile("as_is", min_side=500, max_side=2000), (1024, 1536), (1024, 1536)),
        (UPRIGHT, (1024, 1024), (1024, 1475)),  # padded to 1:1.44, within the limits
        (replace(UPRIGHT, fit="crop"), (1024, 1024), (711, 1024)),
        (replace(UPRIGHT, min_side=2600), (1024, 1024), (1805, 2600)),
    ],
)
def test_fitting_pads_crops_or_scales_into_the_limits(
    profile: ChannelProfile, source_size: tuple[int, int], expected: tuple[int, int]
) -> None:
    derived = derive_rendition(product_shot(size=source_size), profile)
    assert (derived.width, derived.height) == expected


def test_cmyk_and_transparent_sources_become_srgb_rgb() -> None:
    cmyk = io.BytesIO()
    Image.new("CMYK", (600, 600), (0, 0, 0, 0)).save(cmyk, "JPEG")
    as_given = {c.name: c for c in check_rendition(cmyk.getvalue(), AMAZON)}
    assert (as_given["colour_space"].ok, as_given["colour_space"].measured) == (False, "CMYK")
    rgba = io.BytesIO()
    Image.new("RGBA", (600, 600), (0, 0, 0, 0)).save(rgba, "PNG")
    for source in (cmyk.getvalue(), rgba.getvalue()):
        derived = derive_rendition(source, AMAZON)
        checks = {c.name: c for c in check_rendition(derived.data, AMAZON)}
        assert checks["colour_space"].ok
        assert checks["background"].ok  # transparency over white


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_every_format_is_encoded_as_asked_and_keeps_the_marker(fmt: str) -> None:
    profile = ChannelProfile("x", format=fmt, size=(800, 600), marker=True, max_bytes=5_000_000)
    derived = derive_rendition(product_shot(fmt="png"), profile)
    assert source_type_of(derived.data) == TRAINED_ALGORITHMIC_MEDIA
    assert [c.name for c in check_rendition(derived.data, profile) if not c.ok] == []
    with Image.open(io.BytesIO(derived.data)) as image:
        assert (image.format, image.size) == (PIL_FORMATS[fmt], (800, 600))


def test_the_aspect_of_a_limits_profile_is_checked() -> None:
    square = derive_rendition(product_shot(), ChannelProfile("square", size=(1200, 1200)))
    [aspect] = [c for c in check_rendition(square.data, UPRIGHT) if c.name == "aspect"]
    assert (aspect.ok, aspect.measured, aspect.rule) == (False, 1.0, "1:1.44 (0.694) within 1%")
    upright = derive_rendition(product_shot(), UPRIGHT)
    assert all(c.ok for c in check_rendition(upright.data, UPRIGHT))
