"""Archived Shopify products are no longer sold: skipped unless asked for; drafts stay in."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen import pipeline
from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import settings_from_env
from catalog_imagegen.storage.local import LocalDirectoryStore

HEADER = "Handle,Title,Body (HTML),Vendor,Type,Tags,Option1 Name,Option1 Value,Variant SKU,Status"
SHOPIFY_WITH_STATUS = f"""{HEADER}
live-tee,Live Tee,,Acme,Shirts,,Color,Navy,LIVE-N,active
live-tee,,,,,,,Red,LIVE-R,
old-tee,Old Tee,,Acme,Shirts,,Color,Navy,OLD-N,Archived
draft-tee,Draft Tee,,Acme,Shirts,,Color,Navy,DRAFT-N,draft
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "products_export.csv"
    path.write_text(SHOPIFY_WITH_STATUS, encoding="utf-8")
    return path


def test_archived_products_are_skipped_and_counted_drafts_stay(catalog: Path) -> None:
    read = read_catalog(catalog)
    assert [p.sku for p in read.products] == ["live-tee", "draft-tee"]
    assert read.archived == ["old-tee"]
    assert read.rejects == []  # not a bad row: a product no longer sold


def test_include_archived_makes_them_too(catalog: Path) -> None:
    read = read_catalog(catalog, include_archived=True)
    assert [p.sku for p in read.products] == ["live-tee", "old-tee", "draft-tee"]
    assert read.archived == []


def test_a_run_plans_no_image_of_an_archived_product_unless_asked(
    catalog: Path, tmp_path: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    settings = settings_from_env()

    def planned_skus(**fields: object) -> set[str]:
        request = RunRequest(catalog=str(catalog), templates=("product_card",), **fields)  # type: ignore[arg-type]
        return {job.sku for job in pipeline.prepare(request, settings, store).jobs}

    assert planned_skus() == {"live-tee", "draft-tee"}
    assert planned_skus(include_archived=True) == {"live-tee", "old-tee", "draft-tee"}
