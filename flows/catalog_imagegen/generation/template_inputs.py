"""A template's own input images: ``reference_images`` and a ``mask``, sent with its edits.

An edit request carries the product photo (or a chain's base image) first, then the template's
reference images (a logo, a fabric swatch: up to 16 images in all), and the template's mask (a PNG
whose transparent area is where the model may paint). A generation request has no image inputs,
so a generate template's mask serves colour QA only. The files' bytes are part of the template's
version (``templates.template_version``), so changing one remakes that template's images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from catalog_imagegen.generation.image_files import InvalidImage, inspect_image
from catalog_imagegen.generation.providers.base import CONTENT_TYPES, SourceImage
from catalog_imagegen.planning.templates import PromptTemplate, TemplateError, input_path


@dataclass(frozen=True, slots=True)
class TemplateInputs:
    references: tuple[SourceImage, ...] = ()
    mask: SourceImage | None = None


def load_template_inputs(
    templates: Mapping[str, PromptTemplate], folder: Path
) -> dict[str, TemplateInputs]:
    """The input images of every template that has any, read once for the run."""
    inputs = {}
    for name, template in templates.items():
        if template.mask or template.reference_images:
            inputs[name] = TemplateInputs(
                references=tuple(
                    _image(folder, name, relative) for relative in template.reference_images
                ),
                mask=_image(folder, name, template.mask) if template.mask else None,
            )
    return inputs


def _image(folder: Path, template: str, relative: str) -> SourceImage:
    path = input_path(folder, template, relative)
    data = path.read_bytes()
    try:
        fmt, _, _ = inspect_image(data)
    except InvalidImage as error:
        raise TemplateError(f"template '{template}': '{relative}' is {error}") from None
    return SourceImage(data=data, filename=path.name, content_type=CONTENT_TYPES[fmt])
