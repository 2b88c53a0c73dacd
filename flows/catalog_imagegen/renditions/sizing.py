"""The size to ask the model for, so one image serves every channel of a template. Pure.

A template that says ``size = "channels"`` gets the smallest size that no channel's deliverable has
to be scaled up from: the longest side its channels need, in their shared aspect ratio (square when
they disagree), with sides in multiples of 16 and within gpt-image-2's free sizes (``PROVIDERS.md``:
longest side <= 3840, 655,360 to 8,294,400 pixels, ratio <= 3:1). Zalando's 1801x2600 asks for
1808x2608; Amazon's 2000x2000 with Google's 1500x1500 asks for 2000x2000.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from catalog_imagegen.renditions.channels import ChannelProfile

STEP = 16
MAX_SIDE = 3840
MIN_PIXELS, MAX_PIXELS = 655_360, 8_294_400
SAME_ASPECT = 0.01  # relative difference within which two channels share an aspect ratio


def size_for_channels(channels: Sequence[ChannelProfile]) -> str:
    """``WIDTHxHEIGHT`` for the model; raises ``ValueError`` when there are no channels."""
    if not channels:
        raise ValueError('size = "channels" needs a channels list')
    targets = [c.size or (c.min_side or 1024, c.min_side or 1024) for c in channels]
    aspects = [width / height for width, height in targets]
    aspect = aspects[0] if max(aspects) / min(aspects) - 1 <= SAME_ASPECT else 1.0
    aspect = min(3.0, max(1 / 3, aspect))
    longest = min(MAX_SIDE, max(max(target) for target in targets))
    width, height = _sides(longest, aspect)
    while width * height > MAX_PIXELS:
        longest -= STEP
        width, height = _sides(longest, aspect)
    while width * height < MIN_PIXELS:
        longest += STEP
        width, height = _sides(longest, aspect)
    return f"{width}x{height}"


def _sides(longest: int, aspect: float) -> tuple[int, int]:
    """Sides in multiples of ``STEP``, the longest rounded up, the other to the nearest step."""
    long_side = math.ceil(longest / STEP) * STEP
    short_side = max(STEP, round(long_side * min(aspect, 1 / aspect) / STEP) * STEP)
    return (long_side, short_side) if aspect >= 1 else (short_side, long_side)
