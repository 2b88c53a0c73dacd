"""Peak memory and time of reading a large synthetic catalog.

    PYTHONPATH=flows python benchmarks/catalog_read.py --rows 200000 [--shape shopify]

Writes the catalog to a temporary folder, reads it with ``read_catalog`` (CSV in chunks), and
prints the resident memory before and at peak (VmHWM), so the cost of the products held can be
compared with the file's size.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from catalog_imagegen.catalog.reading import read_catalog

SHOPIFY_HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags"]
SHOPIFY_HEADER += ["Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value"]
SHOPIFY_HEADER += ["Variant SKU", "Variant Price", "Variant Barcode", "Image Src"]
COLOURS = ("Navy", "Black", "Sand")
SIZES = ("S", "M", "L", "XL")


def write_generic(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["sku", "title", "category", "colours", "material", "barcode"])
        for n in range(rows):
            writer.writerow(
                [f"SKU-{n:07d}", f"Product {n}", "Tops", "Navy|Black|Sand", "cotton", f"{n:013d}"]
            )


def write_shopify(path: Path, rows: int) -> None:
    per_product = len(COLOURS) * len(SIZES)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(SHOPIFY_HEADER)
        for n in range(rows):
            product, variant = divmod(n, per_product)
            colour, size = COLOURS[variant // len(SIZES)], SIZES[variant % len(SIZES)]
            first = variant == 0
            writer.writerow(
                [f"product-{product}", f"Product {product}" if first else "",
                 "<p>Soft cotton</p>" if first else "", "Loomwell" if first else "",
                 "Tees" if first else "", "cotton" if first else "",
                 "Color" if first else "", colour, "Size" if first else "", size,
                 f"P{product}-{colour}-{size}", "20.00", f"{n:013d}",
                 f"https://cdn.example.com/{product}.jpg" if first else ""]
            )  # fmt: skip


def memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--shape", choices=("generic", "shopify"), default="generic")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{args.shape}.csv"
        (write_shopify if args.shape == "shopify" else write_generic)(path, args.rows)
        size_mib = path.stat().st_size / 2**20
        before = memory_kib("VmRSS")
        started = time.perf_counter()
        catalog = read_catalog(path)
        seconds = time.perf_counter() - started
        after, peak = memory_kib("VmRSS"), memory_kib("VmHWM")
    colours = sum(len(p.colours) for p in catalog.products)
    print(
        f"{args.shape}: {args.rows:,} rows ({size_mib:.1f} MiB) -> {len(catalog.products):,} "
        f"products, {colours:,} colours, {len(catalog.rejects)} rejects in {seconds:.1f} s\n"
        f"RSS before read {before / 1024:.0f} MiB, after {after / 1024:.0f} MiB "
        f"(products held: {(after - before) / 1024:.0f} MiB), peak {peak / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
