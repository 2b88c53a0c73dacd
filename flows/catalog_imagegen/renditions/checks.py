"""Compliance checks on a rendition's bytes, and the flags its failures become. Pure.

Each check gives what was measured and the rule, so a flag reads like the reason a marketplace
would give: ``amazon_main: fill 0.31 < 0.85``. Background and fill are measured on a copy at most
``MEASURE_SIDE`` pixels a side (JPEG decodes at that size directly), which is plenty for a border
and a bounding box.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from catalog_imagegen.generation.provenance import (
    ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    source_type_of,
)
from catalog_imagegen.renditions.background import product_fill, read_border
from catalog_imagegen.renditions.channels import ChannelProfile

MEASURE_SIDE = 512
ASPECT_TOLERANCE = 0.01
MIN_WHITE_SHARE = 0.98  # of the border within the tolerance: anti-aliasing may touch an edge
_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
_MARKERS = (TRAINED_ALGORITHMIC_MEDIA, ALGORITHMIC_MEDIA)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    measured: Any
    rule: str
    failure: str = ""  # how the failure reads after the channel's name

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "measured": self.measured, "rule": self.rule}


def check_rendition(
    data: bytes, profile: ChannelProfile, *, background_fixed: bool = False
) -> list[Check]:
    """Every check that applies to ``profile``, measured on ``data``."""
    with Image.open(io.BytesIO(data)) as image:
        fmt, size, mode = _FORMATS.get(image.format or "", "unknown"), image.size, image.mode
        icc = image.info.get("icc_profile")
        image.draft("RGB", (MEASURE_SIDE, MEASURE_SIDE))
        small = image.convert("RGB")
    small.thumbnail((MEASURE_SIDE, MEASURE_SIDE))
    checks = [
        _dimensions(size, profile),
        *_aspect(size, profile),
        Check("format", fmt == profile.format, fmt, profile.format, f"format {fmt}"),
        _colour_space(mode, icc),
    ]
    if profile.max_bytes:
        ok = len(data) <= profile.max_bytes
        failure = f"file {len(data)} bytes > {profile.max_bytes}"
        checks.append(Check("bytes", ok, len(data), f"<= {profile.max_bytes}", failure))
    if profile.marker:
        found = source_type_of(data)
        failure = "AI marker missing (IPTC DigitalSourceType)"
        checks.append(Check("marker", found in _MARKERS, found, " or ".join(_MARKERS), failure))
    checks.extend(_look(np.asarray(small), profile, background_fixed))
    return checks


def noncompliance_flags(
    channel: str, checks: list[Check], *, background_fixed: bool = False
) -> list[Mapping[str, Any]]:
    """One ``noncompliant`` flag per failed check, with the measured value and the rule."""
    flags: list[Mapping[str, Any]] = []
    for check in checks:
        if check.ok:
            continue
        flag = {
            "kind": "noncompliant",
            "channel": channel,
            "check": check.name,
            "measured": check.measured,
            "rule": check.rule,
            "message": f"{channel}: {check.failure}",
        }
        if background_fixed:
            flag["background_fixed"] = True
        flags.append(flag)
    return flags


def _dimensions(size: tuple[int, int], profile: ChannelProfile) -> Check:
    measured = f"{size[0]}x{size[1]}"
    if profile.size is not None:
        rule = f"{profile.size[0]}x{profile.size[1]}"
        return Check("dimensions", size == profile.size, measured, rule, f"{measured} != {rule}")
    longest = max(size)
    low, high = profile.min_side or 1, profile.max_side or 10**9
    rule = f"longest side {low}-{high}" if profile.max_side else f"longest side >= {low}"
    return Check("dimensions", low <= longest <= high, measured, rule, f"{measured}: {rule}")


def _aspect(size: tuple[int, int], profile: ChannelProfile) -> list[Check]:
    if profile.aspect is None:
        return []
    ratio = size[0] / size[1]
    ok = abs(ratio / profile.aspect - 1) <= ASPECT_TOLERANCE
    rule = f"{profile.aspect_text} ({profile.aspect:.3f}) within {ASPECT_TOLERANCE:.0%}"
    return [Check("aspect", ok, round(ratio, 3), rule, f"aspect {ratio:.3f} != {rule}")]


def _colour_space(mode: str, icc: bytes | None) -> Check:
    # No embedded profile means sRGB to every browser and marketplace; a profile must say sRGB.
    srgb = icc is None or b"sRGB" in icc[:1024]
    measured = mode + ("" if icc is None else (" sRGB" if srgb else " other ICC profile"))
    ok = mode == "RGB" and srgb
    return Check("colour_space", ok, measured, "RGB, sRGB", f"colour space {measured}")


def _look(rgb: np.ndarray[Any, Any], profile: ChannelProfile, fixed: bool) -> list[Check]:
    checks = []
    border = read_border(rgb, profile.white_tolerance)
    if profile.white_background:
        share = round(border.white_share, 2)
        hex_colour = "#{:02x}{:02x}{:02x}".format(*border.colour)
        rule = f"white within {profile.white_tolerance}, share >= {MIN_WHITE_SHARE}"
        failure = f"background {hex_colour}, white {share:.2f} < {MIN_WHITE_SHARE}"
        check = Check("background", share >= MIN_WHITE_SHARE, share, rule, failure)
        checks.append(check)
    if fixed:
        checks.append(Check("background_fixed", True, True, "near-white border made white"))
    if profile.min_fill is not None:
        fill = round(product_fill(rgb, border.colour), 2)
        failure = f"fill {fill:.2f} < {profile.min_fill:.2f}"
        checks.append(
            Check("fill", fill >= profile.min_fill, fill, f">= {profile.min_fill}", failure)
        )
    return checks
