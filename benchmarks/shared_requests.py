"""What sharing identical requests saves: requests and estimated cost, with and without it.

    .venv/bin/python benchmarks/shared_requests.py [CATALOG] [--model gpt-image-2]

Plans the catalog (default: the bundled sample) with the shipped templates, as a run would, and
counts jobs against distinct requests (``Job.request_identity``), per template and in total, with
the model table's prices. No provider, no store.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE
from catalog_imagegen.planning.templates import load_seasons, load_templates

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", nargs="?", default=str(REPO / "catalog_samples" / "catalog.csv"))
    parser.add_argument("--model", default="gpt-image-2")
    args = parser.parse_args()
    templates = REPO / "templates"
    jobs = prepare_run(
        args.catalog, load_templates(templates), load_seasons(templates), model=args.model
    ).jobs
    by_template: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    seen: set[str] = set()
    cost_all = cost_shared = 0.0
    for job in jobs:
        price = DEFAULT_PRICE_TABLE.estimate(job) or 0.0
        by_template[job.template][0] += 1
        cost_all += price
        if job.depends_on is not None or job.request_identity not in seen:
            seen.add(job.request_identity)
            by_template[job.template][1] += 1
            cost_shared += price
    print(f"{'template':<18}{'jobs':>8}{'requests':>10}")
    for name, (count, requests) in sorted(by_template.items()):
        print(f"{name:<18}{count:>8}{requests:>10}")
    total = sum(requests for _, requests in by_template.values())
    saved = len(jobs) - total
    print(
        f"{'total':<18}{len(jobs):>8}{total:>10}  ({saved} fewer, {saved / max(len(jobs), 1):.1%});"
        f" estimated ${cost_all:.2f} -> ${cost_shared:.2f}"
    )


if __name__ == "__main__":
    main()
