"""How fast a big run's review page opens in the review app, over real HTTP.

    PYTHONPATH=flows python benchmarks/review_app.py --images 10000

Writes a synthetic held run of ``--images`` images (SKUs x 4 colours x 5 seasons x 2 templates,
with prompts and flags, plus a storefront manifest holding an earlier image for every slot and a
few thousand decisions) into a temporary folder and starts the app on loopback. Then, each the
median of ``--repeat`` tries:

- the first open: the run's first page when the app has not read the run yet (its manifest and
  the storefront's parsed, its grid built), each try with the app's document cache emptied;
- the first enlarged image after that, and the runs list when nothing is cached;
- the warm-up that `review` and `serve` do as they start, in the background;
- repeat opens: the first page, a filtered page, a late page, one enlarged image, the runs list.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from catalog_imagegen.review.app.context import ReviewContext
from catalog_imagegen.review.app.documents import HEADINGS_KEPT, DocumentCache
from catalog_imagegen.review.app.regenerating import InProcessRegenerator
from catalog_imagegen.review.app.run_page import warm
from catalog_imagegen.review.app.server import ReviewAppThread
from catalog_imagegen.review.decisions import APPROVED, decide
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import ManifestEntry, nest, publish, write_run_manifest

COLOURS = ("navy", "red", "sand", "black")
SEASONS = ("spring", "summer", "autumn", "winter", "holiday")
TEMPLATES = ("product_card", "seasonal_banner")
RUN_ID = "20261130T050000Z-bench1"


def entry(slot: tuple[str, str, str, str], run_id: str, n: int) -> ManifestEntry:
    sku, colour, season, template = slot
    key = f"{run_id[-6:]}{n:026d}"
    return ManifestEntry(
        sku=sku, colour=colour.title(), colour_key=colour, season=season, template=template,
        template_version="c2cfff0f5e64", key=key,
        storage_key=f"images/{sku}/{template}/{season}/{colour}/{key}.png", url="", sha256="0" * 64,
        bytes=48123, width=1024, height=1024, format="png", model="gpt-image-2",
        prompt=f"Professional e-commerce product photograph of a {colour} item {sku} " * 4,
        created_at="2026-11-30T05:00:00+00:00", run_id=run_id,
        flags=({"kind": "colour_mismatch", "delta_e": 31.0},) if n % 50 == 0 else (),
    )  # fmt: skip


def write_run(store: LocalDirectoryStore, images: int) -> None:
    per_sku = len(COLOURS) * len(SEASONS) * len(TEMPLATES)
    slots = [
        (f"SKU-{n:05d}", c, s, t)
        for n in range(images // per_sku)
        for t in TEMPLATES
        for c in COLOURS
        for s in SEASONS
    ]
    publish(store, "earlier", [entry(s, "earlier", n) for n, s in enumerate(slots)],
            generated_at="2026-11-01T05:00:00+00:00")  # fmt: skip
    entries = [entry(s, RUN_ID, n) for n, s in enumerate(slots)]
    jobs = [
        {"key": e.key, "sku": e.sku, "colour": e.colour_key, "season": e.season,
         "template": e.template, "template_version": e.template_version, "status": "generated"}
        for e in entries
    ]  # fmt: skip
    summary = {"run_id": RUN_ID, "planned": len(entries), "generated": len(entries),
               "awaiting_approval": True, "estimated_cost": 420.0}  # fmt: skip
    document = {"run_id": RUN_ID, "started_at": "2026-11-30T05:00:00+00:00", "catalog": "big.csv",
                "summary": summary, "images": nest(entries), "jobs": jobs}  # fmt: skip
    write_run_manifest(store, RUN_ID, document)
    decide(store, RUN_ID, slots[: len(slots) // 3], APPROVED, by="bench", seen_revision=0)


def seconds(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    client.get(path).raise_for_status()
    return time.perf_counter() - started


def forget(context: ReviewContext) -> None:
    """The app as just started, before its warm-up: nothing parsed yet."""
    context.documents = DocumentCache()
    context.headings = DocumentCache(HEADINGS_KEPT)


def first_opens(
    client: httpx.Client, context: ReviewContext, pages: dict[str, str], repeat: int
) -> None:
    opened, opened_cpu, enlarged, listed, warmed = [], [], [], [], []
    for _ in range(repeat):
        forget(context)
        cpu = time.process_time()  # the app's work, the client's is small: what load stretches
        opened.append(seconds(client, pages["first page"]))
        opened_cpu.append(time.process_time() - cpu)
        enlarged.append(seconds(client, pages["one image enlarged"]))
        forget(context)
        listed.append(seconds(client, pages["runs list"]))
        forget(context)
        started = time.perf_counter()
        warm(context)  # what `review` and `serve` do at start
        warmed.append(time.perf_counter() - started)
    for name, times in (
        ("first page, first open (manifests parsed, grid built)", opened),
        ("first page, first open, CPU time", opened_cpu),
        ("one image enlarged, first after that", enlarged),
        ("runs list, nothing cached", listed),
        ("warm-up at start", warmed),
    ):
        print(f"{name}: {statistics.median(times):.3f} s (median of {repeat}; "
              f"{min(times):.3f}-{max(times):.3f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = LocalDirectoryStore(Path(folder) / "out")
        write_run(store, args.images)
        settings = Settings(output=str(Path(folder) / "out"))
        context = ReviewContext(store, settings, InProcessRegenerator(store, settings))
        app = ReviewAppThread(context, warm_up=False)  # timed on its own below
        url = app.start()
        pages = {
            "first page": f"/runs/{RUN_ID}",
            "filtered (flagged, winter)": f"/runs/{RUN_ID}?flag=any&season=winter",
            "last page": f"/runs/{RUN_ID}?page=1000",
            "one image enlarged": f"/runs/{RUN_ID}/image?slot=SKU-00042/red/winter/product_card",
            "runs list": "/",
        }
        print(f"{args.images} images:")
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                first_opens(client, context, pages, args.repeat)
                for name, path in pages.items():
                    times = [seconds(client, path) for _ in range(args.repeat)]
                    print(f"{name}, repeat open: {statistics.median(times):.3f} s (median)")
        finally:
            app.stop()


if __name__ == "__main__":
    main()
