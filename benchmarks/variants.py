"""Throughput of ``chain`` colour variants against ``independent`` ones, on the same catalog.

Runs the run's steps without Prefect (prepare, split, make in overlapping chunks with one
ImageMaker, publish) against a fake provider with a fixed latency, once per strategy, each into a
fresh folder, and prints images/s for each and their ratio. Chained dependents wait for their
base without holding a slot, so the ratio should stay within 5% of 1.

    PYTHONPATH=flows python benchmarks/variants.py --products 334 --latency 0.05 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog_imagegen import pipeline
from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.outcomes import now_iso
from catalog_imagegen.generation.progress import SilentProgress
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.base import ObjectInfo, ObjectStore, StoredObject
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.testing.colour_fake import ColourHonouringProvider

COLOURS = ["Navy|Black|Red", "Yellow|Olive|Teal", "White|Orange|Purple"]
TEMPLATE = """{{#-
mode = "generate"
output_format = "png"
variant_strategy = "{strategy}"
-#}}
{{% if base_colour is defined and base_colour %}}Change the colour of the {{{{ title }}}} from
{{{{ base_colour }}}} to {{{{ colour }}}}; keep everything else.{{% else %}}Studio photo of a
{{{{ title }}}} in {{{{ colour }}}}.{{% endif %}}
"""
SEASONS = '[winter]\nsetting = "a studio"\nlight = "soft"\nprops = "none"\n'


class MemoryStore:
    """Objects in a dict: takes the disk (fsync per image) out of a scheduling measurement."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}

    def put(self, key: str, data: bytes, **options: Any) -> str:
        self.objects[key] = (data, dict(options.get("metadata") or {}))
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    def get(self, key: str) -> StoredObject | None:
        found = self.objects.get(key)
        return StoredObject(found[0], "etag") if found else None

    def head(self, key: str) -> ObjectInfo | None:
        found = self.objects.get(key)
        return ObjectInfo(key, len(found[0]), "etag", metadata=found[1]) if found else None

    def list_keys(self, prefix: str) -> Iterator[str]:
        return iter([key for key in self.objects if key.startswith(prefix)])

    def url_for(self, key: str) -> str:
        return f"memory://{key}"

    def describe(self) -> str:
        return "memory"


def write_inputs(folder: Path, products: int, strategy: str) -> Path:
    templates = folder / "templates"
    templates.mkdir(parents=True)
    (templates / "card.j2").write_text(TEMPLATE.format(strategy=strategy))
    (templates / "seasons.toml").write_text(SEASONS)
    rows = ["sku,title,category,colours,seasons"]
    rows += [f"SKU-{n:05d},Jacket {n},Outerwear,{COLOURS[n % 3]},winter" for n in range(products)]
    (folder / "catalog.csv").write_text("\n".join(rows) + "\n")
    return folder / "catalog.csv"


async def run_once(args: argparse.Namespace, strategy: str, folder: Path) -> dict[str, float]:
    catalog = write_inputs(folder, args.products, strategy)
    store: ObjectStore = MemoryStore() if args.memory else LocalDirectoryStore(folder / "output")
    request = RunRequest(catalog=str(catalog), concurrency=args.concurrency, progress=False)
    settings = request.settings_for(
        Settings(templates_dir=folder / "templates", model="fake", colour_qa=not args.no_qa)
    )
    provider = ColourHonouringProvider(
        latency=args.latency, size=args.size, unique=not args.cached_images
    )
    resources = Resources(provider, store, SilentProgress())
    started = time.perf_counter()
    prepared = pipeline.prepare(request, settings, store)
    sliced = pipeline.select(prepared, request, store, strategy)
    maker = pipeline.image_maker(resources, settings, request, strategy, prepared.templates)
    making, cpu = time.perf_counter(), time.process_time()
    outcomes, _ = await pipeline.make(sliced.todo, maker, chunk_size=max(500, args.concurrency * 4))
    made, cpu = time.perf_counter() - making, time.process_time() - cpu
    maker.close()
    summary = pipeline.new_summary(request, resources, strategy)
    pipeline.publish(resources, summary, outcomes, prepared, started_at=now_iso())
    total = time.perf_counter() - started
    assert summary.generated == len(prepared.jobs), summary.failures[:3]
    ideal = len(outcomes) * args.latency / args.concurrency
    return {
        "images": len(outcomes),
        "make_s": made,
        "images_per_s": len(outcomes) / made,
        "efficiency": ideal / made,
        "cpu_ms_per_image": 1000 * cpu / len(outcomes),
        "total_s": total,
        "flagged": summary.flagged,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=334, help="3 colours each")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--size", type=int, default=256, help="fake image side in pixels")
    parser.add_argument("--no-qa", action="store_true", help="skip colour QA")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved")
    parser.add_argument("--memory", action="store_true", help="an in-memory store, not a folder")
    parser.add_argument(
        "--cached-images",
        action="store_true",
        help="the fake paints each image once and repeats it: measures scheduling, not CPU",
    )
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"independent": [], "chain": []}
    for _ in range(args.repeat):
        for strategy in results:
            with tempfile.TemporaryDirectory() as folder:
                results[strategy].append(await run_once(args, strategy, Path(folder)))
    for strategy, runs in results.items():
        middle = sorted(runs, key=lambda r: r["images_per_s"])[len(runs) // 2]
        rates = ", ".join(f"{r['images_per_s']:.1f}" for r in runs)
        print(
            f"{strategy:12} {middle['images']:.0f} images: median {middle['images_per_s']:.1f} "
            f"images/s (runs: {rates}; make {middle['make_s']:.2f} s, "
            f"{middle['efficiency']:.0%} of ideal; "
            f"{statistics.median(r['cpu_ms_per_image'] for r in runs):.1f} ms CPU per image; "
            f"{middle['flagged']:.0f} flagged)"
        )
    chain = statistics.median(r["images_per_s"] for r in results["chain"])
    independent = statistics.median(r["images_per_s"] for r in results["independent"])
    print(f"chain / independent throughput (medians): {chain / independent:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
