"""Rendition benchmark: CPU seconds to derive and check one channel deliverable, per channel.

    .venv/bin/python benchmarks/renditions.py [--repeat 10] [--size 1024x1024] [--format png]

Derives every shipped channel's rendition (``templates/channels.toml``) from one generated-like
image (a product on a light grey backdrop, marked as AI-made, as the fake API returns), and checks
it, ``--repeat`` times. Prints CPU time (process time, all threads) per rendition for deriving
(decode, fit, encode, marker) and for checking (decode small, border, fill), by channel.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw

from catalog_imagegen.generation.provenance import TRAINED_ALGORITHMIC_MEDIA, mark_source_type
from catalog_imagegen.renditions.channels import ChannelProfile, load_channels
from catalog_imagegen.renditions.checks import check_rendition
from catalog_imagegen.renditions.derive import derive_rendition

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def generated_image(size: tuple[int, int], fmt: str) -> bytes:
    width, height = size
    image = Image.new("RGB", size, (232, 232, 232))
    box = (width // 3, height // 3, 2 * width // 3, 2 * height // 3)
    ImageDraw.Draw(image).ellipse(box, fill=(31, 42, 68))
    buffer = io.BytesIO()
    image.save(buffer, PIL_FORMATS[fmt])
    return mark_source_type(buffer.getvalue(), fmt, TRAINED_ALGORITHMIC_MEDIA, size)


def cpu_per_rendition(source: bytes, profile: ChannelProfile, repeat: int) -> tuple[float, float]:
    derive_times, check_times = [], []
    for _ in range(repeat):
        started = time.process_time()
        derived = derive_rendition(source, profile)
        derived_at = time.process_time()
        check_rendition(derived.data, profile, background_fixed=derived.background_fixed)
        derive_times.append(derived_at - started)
        check_times.append(time.process_time() - derived_at)
    return statistics.median(derive_times), statistics.median(check_times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--format", default="png", choices=sorted(PIL_FORMATS))
    args = parser.parse_args()
    width, height = (int(side) for side in args.size.split("x"))
    source = generated_image((width, height), args.format)
    profiles = load_channels(TEMPLATES)
    profiles["amazon_main+fix"] = replace(profiles["amazon_main"], fix_background=True)
    print(f"source: {args.size} {args.format}, {len(source):,} bytes; median of {args.repeat}")
    print(f"{'channel':<18}{'output':>11}{'derive ms':>11}{'check ms':>10}{'total ms':>10}")
    totals = []
    for name, profile in profiles.items():
        derive_s, check_s = cpu_per_rendition(source, profile, args.repeat)
        totals.append(derive_s + check_s)
        output = f"{profile.size[0]}x{profile.size[1]}" if profile.size else "limits"
        print(
            f"{name:<18}{output:>11}{derive_s * 1e3:>11.0f}{check_s * 1e3:>10.0f}"
            f"{(derive_s + check_s) * 1e3:>10.0f}"
        )
    print(f"mean CPU per rendition: {statistics.mean(totals) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
