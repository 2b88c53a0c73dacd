"""The live service's per-model rules that the published schema does not carry (PROVIDERS.md).

Kept apart from the client's model table on purpose: the fake answers as the live API answers
(status, ``code``, ``param``, message), so a wrong entry in the client's table shows up as a
refused request in the tests instead of agreeing with itself. Also the usage the live API reports:
output tokens that, at the model's token price, give its published price per image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog_imagegen.testing.fake_image_api.errors import ApiError

FREE_SIZE_MULTIPLE, FREE_SIZE_LONGEST, FREE_SIZE_RATIO = 16, 3840, 3
FREE_SIZE_PIXELS = (655_360, 8_294_400)

# Output tokens per image at 1024x1024 and at 1536x1024 (or 1024x1536), by quality.
_OUTPUT_TOKENS: Mapping[str, Mapping[str, tuple[int, int]]] = {
    "gpt-image-2": {"low": (200, 167), "medium": (1767, 1367), "high": (7033, 5500)},
    "gpt-image-1.5": {"low": (281, 406), "medium": (1063, 1563), "high": (4156, 6250)},
    "gpt-image-1": {"low": (272, 400), "medium": (1056, 1575), "high": (4160, 6250)},
    "gpt-image-1-mini": {"low": (625, 750), "medium": (1375, 1875), "high": (4500, 6500)},
}


def live_family(model: str) -> str:
    """The family whose live rules apply: ``gpt-image-2-2026-04-21`` is ``gpt-image-2``."""
    for family in ("gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "gpt-image-1"):
        if model == family or model.startswith(family + "-"):
            return family
    return model


def check_live_rules(model: str, fields: Mapping[str, Any]) -> None:
    """Raise the live API's answer to a parameter ``model`` refuses, as the live API words it."""
    family = live_family(model)
    fidelity = fields.get("input_fidelity")
    if fidelity is not None and family == "gpt-image-2":
        raise ApiError(
            400,
            f"The model '{model}' does not support the 'input_fidelity' parameter.",
            code="invalid_input_fidelity_model",
            param="input_fidelity",
        )
    if fidelity is not None and family == "gpt-image-1-mini":
        raise ApiError(
            400,
            f"input_fidelity '{fidelity}' is only supported for gpt-image-1 and gpt-image-1.5.",
            code="invalid_value",
            param="input_fidelity",
        )
    if fields.get("background") == "transparent" and family == "gpt-image-2":
        raise ApiError(
            400,
            "Transparent background is not supported for this model.",
            code="invalid_value",
            param="background",
        )


def free_size_fits(width: int, height: int) -> bool:
    """gpt-image-2's size rule."""
    longest, shortest = max(width, height), min(width, height)
    return (
        width % FREE_SIZE_MULTIPLE == 0
        and height % FREE_SIZE_MULTIPLE == 0
        and longest <= FREE_SIZE_LONGEST
        and longest <= FREE_SIZE_RATIO * shortest
        and FREE_SIZE_PIXELS[0] <= width * height <= FREE_SIZE_PIXELS[1]
    )


def output_tokens(model: str, quality: str, width: int, height: int) -> int:
    """Output tokens of one image: the listed size of its shape, scaled by pixels."""
    table = _OUTPUT_TOKENS.get(live_family(model), _OUTPUT_TOKENS["gpt-image-1"])
    square, oblong = table.get(quality, table["medium"])
    if max(width, height) < 1.25 * min(width, height):
        return round(square * width * height / (1024 * 1024))
    return round(oblong * width * height / (1536 * 1024))
