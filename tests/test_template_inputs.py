"""A template's ``mask`` and ``reference_images`` go with its edits, and are part of its version."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import RunControl
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.generation.template_inputs import load_template_inputs
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.templates import TemplateError, load_seasons, load_templates
from catalog_imagegen.storage.local import LocalDirectoryStore

EDIT_TEMPLATE = """{#-
mode = "edit"
mask = "masks/centre.png"
reference_images = ["refs/logo.png", "refs/fabric.jpg"]
-#}
Change the colour of the {{ title }} to {{ colour }}, with the brand's logo and fabric.
"""
SEASONS = '[winter]\nsetting = "a plain studio"\nlight = "soft light"\nprops = "none"\n'


def encoded(fmt: str, colour: tuple[int, ...], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (16, 16), colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    templates = tmp_path / "templates"
    (templates / "masks").mkdir(parents=True)
    (templates / "refs").mkdir()
    (templates / "card.j2").write_text(EDIT_TEMPLATE)
    (templates / "seasons.toml").write_text(SEASONS)
    (templates / "masks" / "centre.png").write_bytes(encoded("PNG", (0, 0, 0, 0), "RGBA"))
    (templates / "refs" / "logo.png").write_bytes(encoded("PNG", (200, 0, 0)))
    (templates / "refs" / "fabric.jpg").write_bytes(encoded("JPEG", (0, 90, 0)))
    (tmp_path / "photo.png").write_bytes(encoded("PNG", (1, 2, 3)))
    (tmp_path / "catalog.csv").write_text(
        "sku,title,category,colours,seasons,source_image\nJKT-1,Jacket,Coats,Navy,winter,photo.png\n"
    )
    return tmp_path


def test_edits_send_the_photo_the_reference_images_and_the_mask(workspace: Path) -> None:
    folder = workspace / "templates"
    templates = load_templates(folder)
    prepared = prepare_run(
        str(workspace / "catalog.csv"), templates, load_seasons(folder), model="m"
    )
    maker = ImageMaker(
        OfflinePreviewProvider(),
        LocalDirectoryStore(workspace / "out"),
        SourceLoader(workspace),
        run_id="r",
        concurrency=1,
        control=RunControl(),
        template_inputs=load_template_inputs(templates, folder),
    )
    [job] = prepared.jobs
    request = asyncio.run(maker.request_for(job))
    maker.close()
    assert [image.data for image in request.images] == [
        (workspace / "photo.png").read_bytes(),
        (folder / "refs" / "logo.png").read_bytes(),
        (folder / "refs" / "fabric.jpg").read_bytes(),
    ]
    assert [image.content_type for image in request.images] == ["image/png"] * 2 + ["image/jpeg"]
    assert request.mask is not None
    assert request.mask.data == (folder / "masks" / "centre.png").read_bytes()


@pytest.mark.parametrize("changed", ["masks/centre.png", "refs/fabric.jpg"])
def test_changing_a_mask_or_reference_image_changes_the_template_version(
    workspace: Path, changed: str
) -> None:
    folder = workspace / "templates"
    before = load_templates(folder)["card"].version
    (folder / changed).write_bytes(encoded("PNG", (9, 9, 9, 9), "RGBA"))
    assert load_templates(folder)["card"].version != before


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('mask = "masks/missing.png"', "'masks/missing.png' cannot be read"),
        ('reference_images = ["../../etc/passwd"]', "outside the templates folder"),
    ],
)
def test_a_missing_or_escaping_input_file_is_a_template_error(
    workspace: Path, settings: str, message: str
) -> None:
    folder = workspace / "templates"
    (folder / "card.j2").write_text(
        f'{{#-\nmode = "edit"\n{settings}\n-#}}\nEdit {{{{ title }}}}.\n'
    )
    with pytest.raises(TemplateError, match=message):
        load_templates(folder)
