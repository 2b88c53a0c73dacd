"""Reading an image request and checking it as OpenAI does, so the fake rejects what OpenAI rejects.

The parameter sets follow the official OpenAPI schemas (``CreateImageRequest``,
``CreateImageEditRequest``, ``EditImageBodyJsonParam``); the checks are the ones a client is likely
to trip over, not every rule of the real API. Unlike OpenAI, a missing ``model`` is an error: the
real default (``dall-e-2``) is never what this project wants.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from catalog_imagegen.generation.providers.base import OutputFormat
from catalog_imagegen.testing.fake_image_api.bodies import DecodedBody
from catalog_imagegen.testing.fake_image_api.errors import ApiError
from catalog_imagegen.testing.fake_image_api.live_rules import (
    check_live_rules,
    free_size_fits,
    output_tokens,
)

Endpoint = Literal["generations", "edits"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


GPT_GENERATION_PARAMS = _names(
    "prompt model n quality output_format output_compression stream partial_images size "
    "moderation background user"
)
DALL_E_GENERATION_PARAMS = _names("prompt model n quality response_format size style user")
GPT_EDIT_FORM_PARAMS = _names(
    "image image[] mask prompt background model n size output_format output_compression user "
    "input_fidelity stream partial_images quality"
)
DALL_E_EDIT_FORM_PARAMS = _names("image mask prompt model n size response_format user")
GPT_EDIT_JSON_PARAMS = _names(
    "model images mask prompt n quality input_fidelity size user output_format output_compression "
    "moderation background stream partial_images"
)
_FIXED_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
_DEFAULT_SIZES = {"dall-e-2": "1024x1024", "dall-e-3": "1024x1024"}
_QUALITIES = {
    "dall-e-2": ("standard", "auto"),
    "dall-e-3": ("standard", "hd", "auto"),
    "gpt-image": ("low", "medium", "high", "auto"),
}
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


@dataclass(frozen=True, slots=True)
class ImageCall:
    """A request that passed the checks: what to draw and how to answer."""

    endpoint: Endpoint
    prompt: str
    model: str
    n: int
    size: tuple[int, int]
    quality: str
    output_format: OutputFormat
    transparent: bool
    # ``url`` or ``b64_json`` when a DALL-E request asked; None for GPT image models.
    response_format: str | None
    images: tuple[bytes, ...]
    mask: bytes | None

    def usage(self) -> dict[str, Any]:
        """Token usage as the GPT image models report it; output tokens scale with pixels."""
        text_tokens = max(1, len(self.prompt) // 4)
        image_tokens = 323 * len(self.images)
        output = output_tokens(self.model, self.quality, *self.size) * self.n
        return {
            "input_tokens": text_tokens + image_tokens,
            "output_tokens": output,
            "total_tokens": text_tokens + image_tokens + output,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        }


def check_call(endpoint: Endpoint, body: DecodedBody, models: Collection[str]) -> ImageCall:
    fields = {name: value for name, value in body.fields.items() if value is not None}
    model, family = _model_and_family(endpoint, body, fields, models)
    check_live_rules(model, fields)
    prompt = _text(fields, "prompt", required=True)
    if fields.get("stream") in (True, "true"):
        raise ApiError(
            400, "The fake image API does not stream; send stream=false.", param="stream"
        )
    output_format = _choice(fields, "output_format", ("png", "jpeg", "webp"), "png")
    background = _choice(fields, "background", ("transparent", "opaque", "auto"), "auto")
    if background == "transparent" and output_format == "jpeg":
        raise ApiError(400, "Transparent background requires png or webp.", param="background")
    form = not body.is_json
    _integer(fields, "output_compression", default=100, low=0, high=100, form=form)
    _choice(fields, "moderation", ("low", "auto"), "auto")
    _choice(fields, "input_fidelity", ("high", "low"), "low")
    images, mask = _source_images(body, fields) if endpoint == "edits" else ((), None)
    response_format = _choice(fields, "response_format", ("url", "b64_json"), "url")
    return ImageCall(
        endpoint=endpoint,
        prompt=prompt,
        model=model,
        n=_integer(fields, "n", default=1, low=1, high=1 if model == "dall-e-3" else 10, form=form),
        size=_size(_text(fields, "size") or _DEFAULT_SIZES.get(family, "auto"), model, family),
        quality=_quality(fields, family),
        output_format=cast(OutputFormat, output_format),
        transparent=background == "transparent",
        response_format=response_format if family.startswith("dall-e") else None,
        images=images,
        mask=mask,
    )


def _model_and_family(
    endpoint: Endpoint, body: DecodedBody, fields: Mapping[str, Any], models: Collection[str]
) -> tuple[str, str]:
    """The model, once known to be served, and no parameter it does not take."""
    if endpoint == "generations" and not body.is_json:
        raise ApiError(400, "Invalid Content-Type header, expected application/json.")
    model = _text(fields, "model", required=True)
    if model not in models:
        raise ApiError(
            400, _invalid_value_message(model, models), code="invalid_value", param="model"
        )
    family = _family(model)
    known = _known_params(endpoint, family, body.is_json)
    for name in list(fields) + [file.name for file in body.files]:
        if name not in known:
            raise ApiError(
                400, f"Unknown parameter: '{name}'.", code="unknown_parameter", param=name
            )
    return model, family


def _quality(fields: Mapping[str, Any], family: str) -> str:
    """The quality asked for, with ``auto`` resolved as the response reports it."""
    quality = _choice(fields, "quality", _QUALITIES.get(family, _QUALITIES["gpt-image"]), "auto")
    if quality != "auto":
        return quality
    return "standard" if family.startswith("dall-e") else "medium"


def _family(model: str) -> str:
    if model.startswith("dall-e"):
        return model
    if model.startswith("gpt-image-2"):
        return "gpt-image-2"
    if model.startswith(("gpt-image", "chatgpt-image")):
        return "gpt-image"
    return "other"


def _known_params(endpoint: Endpoint, family: str, is_json: bool) -> frozenset[str]:
    dall_e = family.startswith("dall-e")
    if endpoint == "generations":
        return DALL_E_GENERATION_PARAMS if dall_e else GPT_GENERATION_PARAMS
    if is_json:
        return GPT_EDIT_JSON_PARAMS
    return DALL_E_EDIT_FORM_PARAMS if dall_e else GPT_EDIT_FORM_PARAMS


def _text(fields: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(
                400,
                f"Missing required parameter: '{name}'.",
                code="missing_required_parameter",
                param=name,
            )
        return ""
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"Invalid type for '{name}': expected a string, but got {type(value).__name__}.",
            code="invalid_type",
            param=name,
        )
    return value


def _choice(fields: Mapping[str, Any], name: str, allowed: Collection[str], default: str) -> str:
    value = _text(fields, name) or default
    if value not in allowed:
        raise ApiError(
            400, _invalid_value_message(value, allowed), code="invalid_value", param=name
        )
    return value


def _integer(
    fields: Mapping[str, Any], name: str, *, default: int, low: int, high: int, form: bool
) -> int:
    """An integer parameter; form fields are text, so there a numeral counts as one."""
    value = fields.get(name, default)
    if form and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(
            400,
            f"Invalid type for '{name}': expected an integer, but got {type(value).__name__}.",
            code="invalid_type",
            param=name,
        )
    if not low <= value <= high:
        side, bound = (
            ("above maximum", f"<= {high}") if value > high else ("below minimum", f">= {low}")
        )
        raise ApiError(
            400,
            f"Invalid '{name}': integer {side} value. Expected a value {bound}, but got {value}.",
            code="integer_above_max_value" if value > high else "integer_below_min_value",
            param=name,
        )
    return value


def _size(value: str, model: str, family: str) -> tuple[int, int]:
    fixed = _FIXED_SIZES.get(family)
    if fixed is not None and value not in fixed:
        raise ApiError(
            400, _invalid_value_message(value, fixed), code="invalid_value", param="size"
        )
    if value == "auto":
        return (1024, 1024)
    match = _SIZE.match(value)
    width, height = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    rule = "WIDTHxHEIGHT within the model's limits"
    if family == "gpt-image-2":
        fits = free_size_fits(width, height)
        rule = (
            "both sides multiples of 16, the longest at most 3840, the aspect ratio at most 3:1, "
            "and 655,360 to 8,294,400 pixels"
        )
    else:
        fits = min(width, height) >= 16 and max(width, height) <= 4096
    if not fits:
        raise ApiError(
            400,
            f"Invalid size '{value}' for {model}: expected {rule}.",
            code="invalid_value",
            param="size",
        )
    return (width, height)


def _invalid_value_message(value: str, allowed: Collection[str]) -> str:
    quoted = [f"'{item}'" for item in allowed]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    return f"Invalid value: '{value}'. Supported values are: {listed}."


def _source_images(
    body: DecodedBody, fields: Mapping[str, Any]
) -> tuple[tuple[bytes, ...], bytes | None]:
    if body.is_json:
        refs = fields.get("images")
        if not isinstance(refs, list) or not refs:
            raise ApiError(
                400,
                "Missing required parameter: 'images'.",
                code="missing_required_parameter",
                param="images",
            )
        mask_ref = fields.get("mask")
        images = tuple(_data_url_bytes(ref, "images") for ref in refs)
        return images, (_data_url_bytes(mask_ref, "mask") if mask_ref is not None else None)
    images = tuple(f.data or b"" for f in body.files if f.name in ("image", "image[]"))
    if not images:
        raise ApiError(
            400,
            "Missing required parameter: 'image'.",
            code="missing_required_parameter",
            param="image",
        )
    if len(images) > 16:
        raise ApiError(400, "Too many images: at most 16 can be edited at once.", param="image")
    masks = [f.data or b"" for f in body.files if f.name == "mask"]
    return images, (masks[0] if masks else None)


def _data_url_bytes(ref: object, param: str) -> bytes:
    url = ref.get("image_url") if isinstance(ref, dict) else None
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise ApiError(
            400,
            "The fake image API only reads data URLs (data:image/png;base64,...): it cannot "
            "fetch image URLs or file IDs.",
            param=param,
        )
    try:
        return base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except binascii.Error:
        raise ApiError(400, f"Invalid base64 image data in '{param}'.", param=param) from None
