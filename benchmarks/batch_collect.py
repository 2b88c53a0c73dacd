"""Collecting a large batch: images per second and peak memory, with colour QA on.

Submits a synthetic catalog (``--images`` jobs, 1024x1024 PNG product cards) as one batch to the
fake Files and Batches API in a child process (its CPU and memory are not counted here), lets the
fake finish it, then times ``collect``: the output file read as a stream over HTTP, every image
checked, marked, measured by colour QA, stored in a local folder, and the run published. Peak
RSS is this process's ``ru_maxrss``; submitting holds only request lines, so the peak is the
collection's. Targets: at least 50 images/s and under 500 MB on 2 cores.

    PYTHONPATH=flows python benchmarks/batch_collect.py --images 20000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.batch.client import BatchClient
from catalog_imagegen.generation.batch.collect import BatchCollector
from catalog_imagegen.generation.batch.submit import BatchSender
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import RunControl
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.review.image_review import ReviewSettings
from catalog_imagegen.settings import Secret
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.testing.fake_image_api import FakeImageApiProcess

COLOURS = "Navy|Black|Red|Yellow|Olive|Teal|White|Orange|Purple|Green"
TEMPLATE = """{#-
mode = "generate"
size = "1024x1024"
quality = "low"
output_format = "png"
-#}
Studio photo of a {{ title }} in {{ colour }}, on a plain light background.
"""
SEASONS = '[winter]\nsetting = "a studio"\nlight = "soft"\nprops = "none"\n'
KEY = "sk-benchmark"


class ModelNamed(OfflinePreviewProvider):
    """Only names the model for manifest entries: collecting never asks a provider."""

    is_preview = False
    model = "gpt-image-1"


def write_inputs(folder: Path, images: int) -> Path:
    templates = folder / "templates"
    templates.mkdir(parents=True)
    (templates / "card.j2").write_text(TEMPLATE)
    (templates / "seasons.toml").write_text(SEASONS)
    colours = COLOURS.count("|") + 1
    rows = ["sku,title,category,colours,seasons"]
    rows += [f"SKU-{n},Jacket {n},Outerwear,{COLOURS},winter" for n in range(images // colours)]
    (folder / "catalog.csv").write_text("\n".join(rows) + "\n")
    return folder / "catalog.csv"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(args: argparse.Namespace, folder: Path, base_url: str) -> None:
    catalog = write_inputs(folder, args.images)
    templates = folder / "templates"
    prepared = prepare_run(
        str(catalog), load_templates(templates), load_seasons(templates), model="gpt-image-1"
    )
    store = LocalDirectoryStore(folder / "out")
    client = BatchClient(base_url=base_url, api_key=Secret(KEY))
    sources = SourceLoader(folder)
    sender = BatchSender(client, store, sources, "gpt-image-1", "bench", str(catalog))
    started = time.perf_counter()
    [submission] = await sender.submit(prepared.jobs)
    print(f"submitted {len(submission.jobs)} jobs in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    assert submission.batch_id is not None
    await client.retrieve(submission.batch_id)  # the fake does the work when first asked
    print(f"the fake finished the batch in {time.perf_counter() - started:.1f} s")
    rss_before = peak_rss_mb()
    maker = ImageMaker(
        ModelNamed(), store, sources, run_id="bench", concurrency=args.concurrency,
        control=RunControl(), review=None if args.no_qa else ReviewSettings(),
    )  # fmt: skip
    collector = BatchCollector(client, store, maker, sender, DEFAULT_PRICE_TABLE.for_batch())
    started, cpu_started = time.perf_counter(), cpu_seconds()
    [collected] = await collector.collect_all()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    maker.close()
    await client.aclose()
    made = collected.summary.generated
    print(
        f"collected {made} images ({collected.summary.failed} failed) in {elapsed:.1f} s: "
        f"{made / elapsed:.1f} images/s; colour QA {'off' if args.no_qa else 'on'}; "
        f"peak RSS {peak_rss_mb():.0f} MB (before collecting: {rss_before:.0f} MB); "
        f"CPU {1000 * cpu / max(made, 1):.1f} ms per image in this process, "
        f"so {2 * made / max(cpu, 1e-9):.0f} images/s if 2 cores were ours alone"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-qa", action="store_true", help="colour QA off")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="batch-collect-") as tmp,
        FakeImageApiProcess(api_key=KEY) as api,
    ):
        asyncio.run(run(args, Path(tmp), api.base_url))


if __name__ == "__main__":
    main()
