from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from catalog_imagegen.generation.provenance import (
    TRAINED_ALGORITHMIC_MEDIA,
    mark_source_type,
    source_type_of,
)


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(
        buffer, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]
    )
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_marked_images_stay_valid_and_declare_ai_generation(fmt: str) -> None:
    original = encoded(fmt)
    marked = mark_source_type(original, fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert source_type_of(original) is None
    assert source_type_of(marked) == TRAINED_ALGORITHMIC_MEDIA
    with Image.open(io.BytesIO(marked)) as image:
        assert image.size == (64, 48)
        assert image.convert("RGB").getpixel((10, 10)) == Image.open(io.BytesIO(original)).convert(
            "RGB"
        ).getpixel((10, 10))
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        assert xmp is not None
        assert b"trainedAlgorithmicMedia" in (xmp if isinstance(xmp, bytes) else xmp.encode())


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_marking_twice_keeps_one_packet(fmt: str) -> None:
    once = mark_source_type(encoded(fmt), fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert mark_source_type(once, fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48)) == once


EXIFTOOL = shutil.which("exiftool") or "/usr/bin/exiftool"


def encoded_with(fmt: str, mode: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (64, 48), (200, 30, 30, 128)[: len(mode)]).save(
        buffer, {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt], **options
    )
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("png", "RGB", {}),
        ("png", "RGBA", {}),
        ("jpeg", "RGB", {}),
        ("webp", "RGB", {}),
        ("webp", "RGBA", {}),
        ("webp", "RGB", {"lossless": True}),
        ("webp", "RGBA", {"lossless": True}),
    ],
)
def test_an_independent_reader_finds_the_source_type_and_no_fault(
    tmp_path: Path, fmt: str, mode: str, options: dict[str, object]
) -> None:
    if not Path(EXIFTOOL).exists():
        pytest.fail("exiftool is missing: apt-get install libimage-exiftool-perl (scripts/test)")
    marked = mark_source_type(
        encoded_with(fmt, mode, **options), fmt, TRAINED_ALGORITHMIC_MEDIA, (64, 48)
    )
    path = tmp_path / f"image.{fmt}"
    path.write_bytes(marked)
    answer = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-DigitalSourceType", "-Warning", "-Error", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    (tags,) = json.loads(answer.stdout)
    assert tags["XMP-iptcExt:DigitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert [name for name in tags if name.endswith(("Warning", "Error"))] == []
    with Image.open(io.BytesIO(marked)) as image:
        assert image.mode == mode  # the alpha channel is still declared


def test_jpeg_keeps_jfif_first_and_puts_xmp_right_after_it() -> None:
    marked = mark_source_type(encoded("jpeg"), "jpeg", TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert marked[2:4] == b"\xff\xe0" and marked[6:11] == b"JFIF\x00"
    after_app0 = 4 + int.from_bytes(marked[4:6], "big")
    assert marked[after_app0 : after_app0 + 2] == b"\xff\xe1"
    assert marked[after_app0 + 4 :].startswith(b"http://ns.adobe.com/xap/1.0/\x00")


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_extended_header_declares_alpha_when_the_image_has_it(mode: str) -> None:
    simple = encoded_with("webp", mode, lossless=True)
    assert simple[12:16] == b"VP8L"
    alpha_used = bool(int.from_bytes(simple[21:25], "little") >> 28 & 1)
    marked = mark_source_type(simple, "webp", TRAINED_ALGORITHMIC_MEDIA, (64, 48))
    assert marked[12:16] == b"VP8X"
    assert bool(marked[20] & 0x10) == alpha_used == (mode == "RGBA")
