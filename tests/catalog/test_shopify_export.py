"""Writing the generated images back as a Shopify product CSV that re-reads with every product."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.catalog.shopify_export import shopify_import_csv
from catalog_imagegen.generation.outcomes import JobOutcome, entry_for
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import ManifestEntry
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from tests.catalog.catalog_files import APPAREL, COLOR_SIZE, HOME_AND_GARDEN, plan

CDN = "https://images.example.com/"
SIZES = {"product_card": (1024, 1024), "seasonal_banner": (1536, 1024), "colour_edit": (1024, 1024)}


def entry(job: Job) -> ManifestEntry:
    width, height = SIZES.get(job.template, (1024, 1536))
    return entry_for(
        job,
        storage_key=job.storage_key,
        url=CDN + job.storage_key,
        sha256="0" * 64,
        size=5,
        width=width,
        height=height,
        created_at="2025-01-01T00:00:00+00:00",
        run_id="run-1",
        model=job.model,
    )


def run_entries(path: Path, *templates: str) -> list[ManifestEntry]:
    return [entry(job) for job in plan(read_catalog(path), *templates).jobs]


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("path", [APPAREL, HOME_AND_GARDEN, COLOR_SIZE], ids=lambda p: p.stem)
def test_written_csv_rereads_with_every_product_and_the_new_image_urls(
    tmp_path: Path, path: Path
) -> None:
    original = read_catalog(path)
    entries = run_entries(path, "seasonal_banner", "product_card", "mobile_story")
    written = tmp_path / "shopify-import.csv"
    written.write_bytes(shopify_import_csv(path, entries))

    again = read_catalog(written)
    assert again.format == "shopify"
    assert [(p.sku, p.title) for p in again.products] == [
        (p.sku, p.title) for p in original.products
    ]
    cards = {(e.sku, e.colour_key): e.url for e in entries if e.template == "product_card"}
    for before, after in zip(original.products, again.products, strict=True):
        assert after.source_image == before.source_image  # the featured photo stays first
        assert [c.key for c in after.colours] == [c.key for c in before.colours]
        for colour in after.colours:
            assert colour.source_image == cards[after.sku, colour.key]
        assert [c.variant_skus for c in after.colours] == [c.variant_skus for c in before.colours]


def test_one_image_row_per_colour_after_the_products_own_photos() -> None:
    data = shopify_import_csv(COLOR_SIZE, run_entries(COLOR_SIZE, "product_card", "colour_edit"))
    tee = [row for row in rows_of(data) if row["Handle"] == "everyday-crew-tee"]
    original = [
        row for row in rows_of(COLOR_SIZE.read_bytes()) if row["Handle"] == tee[0]["Handle"]
    ]
    added = tee[len(original) :]
    assert [(r["Image Position"], r["Image Alt Text"]) for r in added] == [
        ("4", "Everyday Crew Tee - Navy Blue"),
        ("5", "Everyday Crew Tee - black"),
    ]
    assert all("/product_card/evergreen/" in r["Image Src"] for r in added)
    assert [r["Variant Image"] for r in tee[:6]] == [added[0]["Image Src"]] * 3 + [
        added[1]["Image Src"]
    ] * 3
    for before, after in zip(original, tee, strict=False):  # other cells: only trimmed
        assert {k: v for k, v in after.items() if k != "Variant Image"} == {
            k: v.strip() for k, v in before.items() if k != "Variant Image"
        }


def test_cells_that_a_spreadsheet_would_run_are_neutralized(tmp_path: Path) -> None:
    path = tmp_path / "products_export.csv"
    path.write_text(
        "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Image Src\n"
        'tee,Red Tee,"=HYPERLINK(""http://evil"")",Color,Red,+SKU-1,https://x/1.jpg\n',
        encoding="utf-8",
    )
    data = shopify_import_csv(path, run_entries(path, "product_card"))
    first = rows_of(data)[0]
    assert first["Body (HTML)"] == '\'=HYPERLINK("http://evil")'
    assert first["Variant SKU"] == "'+SKU-1"


def test_finish_run_stores_the_import_file_for_shopify_catalogs(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    catalog = read_catalog(COLOR_SIZE)
    jobs = plan(catalog, "product_card").jobs
    outcomes = [JobOutcome(job, "generated", attempts=1, entry=entry(job)) for job in jobs]
    summary = RunSummary(run_id="run-1", catalog=str(COLOR_SIZE), output="", preview=True)
    finish_run(
        store,
        summary,
        outcomes,
        catalog.rejects,
        started_at="",
        provider="x",
        model="m",
        catalog=catalog,
    )
    key = "manifests/runs/run-1/shopify-import.csv"
    assert summary.shopify_import == store.url_for(key)
    stored = store.get(key)
    assert stored is not None
    rows = rows_of(stored.data)
    assert sum(1 for r in rows if r["Image Src"].startswith(CDN)) == len(jobs)

    generic = RunSummary(run_id="run-2", catalog="x.csv", output="", preview=True)
    plain = catalog.__class__(path="x.csv", format="generic", products=[], rejects=[])
    finish_run(store, generic, [], [], started_at="", provider="x", model="m", catalog=plain)
    assert generic.shopify_import == ""
