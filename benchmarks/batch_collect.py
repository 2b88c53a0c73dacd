"""Collecting a large batch: images per second and peak memory, with colour QA on.

The fake Files and Batches API runs in a child process (its CPU and memory are not counted). A
second child submits a synthetic catalog (``--images`` jobs, 1024x1024 PNG product cards) as one
batch, and the fake finishes it. A third child, like ``catalog-imagegen collect``, knows only the
store: it times collecting, with the output file read as a stream over HTTP, every image checked,
marked, measured by colour QA and stored in a local folder, and the run published. Its peak RSS
(``ru_maxrss``) is reported. Targets: at least 50 images/s and under 500 MB on 2 cores.

    PYTHONPATH=flows python benchmarks/batch_collect.py --images 20000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
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
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE
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


async def submit(args: argparse.Namespace, folder: Path) -> None:
    """Stage one: plan the synthetic catalog and submit it as one batch."""
    from catalog_imagegen.pipeline import prepare_run
    from catalog_imagegen.planning.templates import load_seasons, load_templates

    catalog = write_inputs(folder, args.images)
    templates = folder / "templates"
    prepared = prepare_run(
        str(catalog), load_templates(templates), load_seasons(templates), model="gpt-image-1"
    )
    client = BatchClient(base_url=args.base_url, api_key=Secret(KEY))
    sender = BatchSender(
        client, store_in(folder), SourceLoader(folder), "gpt-image-1", "bench", str(catalog)
    )
    started = time.perf_counter()
    [submission] = await sender.submit(prepared.jobs)
    print(f"submitted {len(submission.jobs)} jobs in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    assert submission.batch_id is not None
    await client.retrieve(submission.batch_id)  # the fake does the work when first asked
    print(f"the fake finished the batch in {time.perf_counter() - started:.1f} s")
    await client.aclose()


async def collect(args: argparse.Namespace, folder: Path) -> None:
    """Stage two, in a process of its own: collect every finished batch in the store."""
    store = store_in(folder)
    client = BatchClient(base_url=args.base_url, api_key=Secret(KEY))
    sources = SourceLoader(folder)
    rss_before = peak_rss_mb()
    maker = ImageMaker(
        ModelNamed(), store, sources, run_id="", concurrency=args.concurrency,
        control=RunControl(), review=None if args.no_qa else ReviewSettings(),
    )  # fmt: skip
    sender = BatchSender(client, store, sources, "gpt-image-1", "", "")
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
        f"peak RSS {peak_rss_mb():.0f} MB (after imports: {rss_before:.0f} MB); "
        f"CPU {1000 * cpu / max(made, 1):.1f} ms per image in this process, "
        f"so {2 * made / max(cpu, 1e-9):.0f} images/s if 2 cores were ours alone"
    )


def store_in(folder: Path) -> LocalDirectoryStore:
    return LocalDirectoryStore(folder / "out")


def stage(args: argparse.Namespace, name: str, folder: Path, base_url: str) -> None:
    command = [sys.executable, __file__, "--stage", name, "--folder", str(folder)]
    command += ["--base-url", base_url, "--images", str(args.images)]
    command += ["--concurrency", str(args.concurrency)] + (["--no-qa"] if args.no_qa else [])
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-qa", action="store_true", help="colour QA off")
    parser.add_argument("--stage", choices=("submit", "collect"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage is not None:
        asyncio.run((submit if args.stage == "submit" else collect)(args, args.folder))
        return
    with (
        tempfile.TemporaryDirectory(prefix="batch-collect-") as tmp,
        FakeImageApiProcess(api_key=KEY) as api,
    ):
        stage(args, "submit", Path(tmp), api.base_url)
        stage(args, "collect", Path(tmp), api.base_url)


if __name__ == "__main__":
    main()
