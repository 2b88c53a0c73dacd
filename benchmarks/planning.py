"""Planning benchmark: time and peak memory to plan a synthetic 1,000,000-job catalog.

    .venv/bin/python benchmarks/planning.py [--skus 62500] [--colours 4] [--seasons 4]

Builds products in memory (62,500 SKUs x 4 colours x 4 seasons x 1 template = 1,000,000 jobs by
default), plans them with the shipped templates, and prints jobs/s and peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from catalog_imagegen.catalog.colours import colour_key, palette_rgb
from catalog_imagegen.catalog.model import Colour, Product
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.templates import load_seasons, load_templates

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
COLOURS = ["Navy", "Black", "Red", "Olive", "Sand", "Charcoal", "White", "Burgundy"]
SEASONS = ["spring", "summer", "autumn", "winter"]


def synthetic_products(skus: int, colours: int) -> list[Product]:
    palette = [Colour(c, colour_key(c), palette_rgb(c)) for c in COLOURS[:colours]]
    return [
        Product(
            sku=f"SKU-{n:06d}",
            title=f"Product {n}",
            category="Outerwear",
            colours=tuple(palette),
            row=n + 2,
            fields={"material": "recycled nylon"},
        )
        for n in range(skus)
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=62_500)
    parser.add_argument("--colours", type=int, default=4)
    parser.add_argument("--seasons", type=int, default=4)
    parser.add_argument("--template", default="product_card")
    args = parser.parse_args()
    templates = load_templates(TEMPLATES)
    seasons = load_seasons(TEMPLATES)
    products = synthetic_products(args.skus, args.colours)
    options = PlanOptions(
        model="gpt-image-2", seasons=SEASONS[: args.seasons], templates=(args.template,)
    )
    before = peak_rss_mb()
    started = time.perf_counter()
    plan = plan_jobs(products, templates, seasons, options)
    elapsed = time.perf_counter() - started
    jobs = len(plan.jobs)
    print(f"planned jobs:        {jobs:,}")
    print(
        f"planning time:       {elapsed:.1f} s ({jobs / elapsed:,.0f} jobs/s, "
        f"{elapsed / jobs * 1e6:.1f} us/job)"
    )
    print(f"peak RSS:            {peak_rss_mb():,.0f} MB (before planning: {before:,.0f} MB)")
    print(f"rejects:             {len(plan.rejects)}")


if __name__ == "__main__":
    main()
