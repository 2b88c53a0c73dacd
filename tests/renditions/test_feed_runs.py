"""The Merchant Center supplemental feed and the Shopify import of a run into a real S3 server
(SeaweedFS on loopback) behind a public base URL, under a real Prefect engine."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.renditions.feeds import NO_VARIANT_SKU
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.renditions.test_channel_runs import serve_channels

pytestmark = pytest.mark.usefixtures("prefect_harness")
CDN = "https://media.shop.test"  # not the host of the exports' own photos
SHARED_EXPORTS = Path("/work/shared/catalogs")
FIXTURES = Path(__file__).resolve().parents[1] / "catalog" / "fixtures"


async def run_into(bucket: str, catalog: Path) -> RunSummary:
    request = RunRequest(
        catalog=str(catalog),
        bucket=bucket,
        prefix="shop",
        public_base_url=CDN,
        templates=("product_card",),
        progress=False,
    )
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    assert isinstance(summary, RunSummary), state.message
    return summary


def report(seaweedfs: SeaweedFS, bucket: str, url: str) -> tuple[str, dict[str, Any]]:
    answer = seaweedfs.client().get_object(Bucket=bucket, Key=url.removeprefix(f"{CDN}/"))
    return answer["Body"].read().decode(), answer


def variant_skus(export: Path) -> set[str]:
    with export.open(newline="") as handle:
        return {row["Variant SKU"] for row in csv.DictReader(handle) if row.get("Variant SKU")}


@pytest.mark.parametrize(
    "export",
    [
        FIXTURES / "shopify-color-size.csv",
        SHARED_EXPORTS / "shopify-apparel.csv",
        SHARED_EXPORTS / "shopify-home-and-garden.csv",
    ],
    ids=lambda path: path.stem,
)
async def test_the_feed_has_one_row_per_variant_sku_and_only_public_urls(
    export: Path,
    s3_env: SeaweedFS,
    s3_bucket: str,
    templates_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve_channels(templates_copy, ["google_shopping", "shopify"])
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
    summary = await run_into(s3_bucket, export)
    assert summary.ok, summary.failures
    text, answer = report(s3_env, s3_bucket, summary.merchant_feed)
    assert answer["ContentType"].startswith("text/tab-separated-values")
    lines = text.splitlines()
    assert lines[0] == "id\timage_link\tadditional_image_link"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 3 for row in rows)
    skus = variant_skus(export)
    assert sorted(row[0] for row in rows) == sorted(skus)  # one row per variant SKU
    for _, image_link, additional in rows:
        links = [image_link, *filter(None, additional.split(","))]
        assert all(link.startswith(f"{CDN}/shop/images/") for link in links)
        assert all(link.endswith("/google_shopping.jpg") for link in links)
    left_out = sum(summary.feed_left_out.values())
    assert summary.feed_rows == len(rows)
    if not skus:  # the shared exports list no Variant SKU: nothing Merchant Center could match
        assert summary.feed_left_out == {NO_VARIANT_SKU: summary.generated}
    else:
        assert left_out == 0

    shopify_csv, _ = report(s3_env, s3_bucket, summary.shopify_import)
    added = [row for row in csv.DictReader(io.StringIO(shopify_csv)) if row["Image Src"]]
    ours = [row["Image Src"] for row in added if row["Image Src"].startswith(CDN)]
    assert len(ours) == summary.generated
    assert all(src.endswith("/shopify.jpg") for src in ours)  # the 2048x2048 rendition
