"""The OpenAI images wire format: request bodies out, images in. Pure, so tested without HTTP.

Requests follow ``CreateImageRequest`` (JSON, ``/images/generations``) and
``CreateImageEditRequest`` (multipart, ``/images/edits``) from OpenAI's OpenAPI document. The model
is always sent (the generations default is otherwise dall-e-2), and dall-e-only fields
(``response_format``, ``style``) are never sent: gpt-image models answer 400 "Unknown parameter".
Nor is any optional parameter the model table says the model refuses (gpt-image-2 answers 400 to
``input_fidelity``). Batch files are built from the same functions, so both paths send the same.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from catalog_imagegen.generation.providers.base import ImageRequest, ImageSettings
from catalog_imagegen.generation.providers.model_rules import PERMISSIVE, ModelRules

MAX_EDIT_IMAGES = 16
DEFAULT_EDIT_FIDELITY = "high"  # "low" drops logos and fine detail, which a product shot needs

FormFile = tuple[str, tuple[str, bytes, str]]


class MalformedResponse(ValueError):
    """A 200 whose body is not the images document it should be (truncated, bad JSON/base64)."""


@dataclass(frozen=True, slots=True)
class ReturnedImage:
    """One entry of ``data[]``: the bytes (``b64_json``) or where to download them (``url``)."""

    data: bytes | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ImagesAnswer:
    images: tuple[ReturnedImage, ...]
    usage: dict[str, int]


def common_fields(settings: ImageSettings, model: str, prompt: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "n": settings.n,
        "size": settings.size,
        "quality": settings.quality,
        "output_format": settings.output_format,
    }
    if settings.background is not None:
        fields["background"] = settings.background
    if settings.output_compression is not None and settings.output_format != "png":
        fields["output_compression"] = settings.output_compression
    return fields


def generation_body(
    request: ImageRequest, model: str, rules: ModelRules = PERMISSIVE
) -> dict[str, Any]:
    """The JSON body of ``/images/generations`` for ``request`` under the model's ``rules``."""
    body = common_fields(request.settings, model, request.prompt)
    if request.settings.moderation is not None:
        body["moderation"] = request.settings.moderation
    if request.user:
        body["user"] = request.user
    return _without_refused(body, rules)


def edit_fields(
    request: ImageRequest, model: str, rules: ModelRules = PERMISSIVE
) -> dict[str, Any]:
    """The non-file fields of ``/images/edits`` for ``request`` under the model's ``rules``."""
    fields = common_fields(request.settings, model, request.prompt)
    fields["input_fidelity"] = request.settings.input_fidelity or DEFAULT_EDIT_FIDELITY
    if request.user:
        fields["user"] = request.user
    return _without_refused(fields, rules)


def _without_refused(fields: dict[str, Any], rules: ModelRules) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if rules.sends(name)}


def edit_form(
    request: ImageRequest, model: str, rules: ModelRules = PERMISSIVE
) -> tuple[dict[str, str], list[FormFile]]:
    """Form fields and file parts: one photo as ``image``, several as repeated ``image[]``."""
    if not request.images:
        raise ValueError(f"an edit needs a source image ({request.label})")
    if len(request.images) > MAX_EDIT_IMAGES:
        raise ValueError(
            f"an edit takes at most {MAX_EDIT_IMAGES} images, got {len(request.images)}"
        )
    fields = {name: str(value) for name, value in edit_fields(request, model, rules).items()}
    part = "image" if len(request.images) == 1 else "image[]"
    files: list[FormFile] = [
        (part, (image.filename, image.data, image.content_type)) for image in request.images
    ]
    if request.mask is not None:
        mask = request.mask
        files.append(("mask", (mask.filename, mask.data, mask.content_type)))
    return fields, files


def edit_json_body(
    request: ImageRequest,
    model: str,
    images: list[dict[str, str]],
    rules: ModelRules = PERMISSIVE,
) -> dict[str, Any]:
    """The JSON form of an edit (``EditImageBodyJsonParam``), as batches need: the same fields as
    ``edit_form``, with the photos referred to (``{"file_id": ...}``) instead of attached."""
    if not images or len(images) > MAX_EDIT_IMAGES:
        raise ValueError(f"an edit takes 1 to {MAX_EDIT_IMAGES} images ({request.label})")
    return edit_fields(request, model, rules) | {"images": images}


def parse_images_answer(body: bytes) -> ImagesAnswer:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponse(
            f"the response body is not valid JSON ({len(body)} bytes)"
        ) from None
    return images_answer(document)


def images_answer(document: Any) -> ImagesAnswer:
    """The images and usage of a decoded ``ImagesResponse``."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list) or not data:
        raise MalformedResponse("the response has no data[] images")
    images = tuple(_returned_image(entry) for entry in data)
    return ImagesAnswer(images, usage_counts(document.get("usage")))


def _returned_image(entry: object) -> ReturnedImage:
    if not isinstance(entry, dict):
        raise MalformedResponse("a data[] entry is not an object")
    if isinstance(b64 := entry.get("b64_json"), str) and b64:
        try:
            return ReturnedImage(data=base64.b64decode(b64, validate=True))
        except (binascii.Error, ValueError):
            raise MalformedResponse("data[].b64_json is not valid base64") from None
    if isinstance(url := entry.get("url"), str) and url:
        return ReturnedImage(url=url)
    raise MalformedResponse("a data[] entry has neither b64_json nor url")


def usage_counts(usage: object) -> dict[str, int]:
    """Integer token counts of ``usage``; nested details flattened as ``parent.child``."""
    counts: dict[str, int] = {}
    if not isinstance(usage, dict):
        return counts
    for name, value in usage.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            counts[name] = value
        elif isinstance(value, dict):
            counts.update({f"{name}.{k}": v for k, v in usage_counts(value).items()})
    return counts
