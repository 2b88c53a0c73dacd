"""The review page, opened from the output folder in headless Chromium, as a reviewer sees it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from catalog_imagegen.catalog.model import Reject
from catalog_imagegen.review.page import render_review_page, review_page_key
from catalog_imagegen.storage.local import LocalDirectoryStore
from tests.ops.run_building import FailingPreviewProvider, make_run
from tests.plugins.ops import CHROMIUM_ARGS, find_chromium, missing_in_ci

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
BAD_ROW = "BAD-1,Broken Row,Outerwear,Navy,monsoon,,wool,unisex,Northwind\n"


@pytest.fixture
def reviewed_run(catalog_folder: Path, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    catalog = catalog_folder / "catalog.csv"
    with catalog.open("a", encoding="utf-8") as handle:
        handle.write(BAD_ROW)  # an unknown season: one rejected row
    store = LocalDirectoryStore(tmp_path / "out")
    provider = FailingPreviewProvider(
        lambda r: r.label.startswith("TEE-001") and r.colour == "Black",
        reason=f"moderation_blocked: {HOSTILE}",
    )
    summary, outcomes = make_run(
        catalog, store, "run-1", provider=provider, templates=["product_card", "colour_edit"]
    )
    page = store.path_for(review_page_key("run-1"))
    return page, {"summary": summary, "outcomes": outcomes}


@pytest.mark.slow
def test_review_page_in_chromium_shows_every_image_and_every_failure(
    reviewed_run: tuple[Path, dict[str, object]], chromium: str, tmp_path: Path
) -> None:
    try:
        import playwright.sync_api as playwright
    except ImportError:
        missing_in_ci(os.environ, "playwright is not installed")
    from PIL import Image, ImageStat

    page_path, run = reviewed_run
    summary = run["summary"]
    generated = summary.generated  # type: ignore[attr-defined]
    failures = summary.failures  # type: ignore[attr-defined]
    outcomes = run["outcomes"]
    assert generated > 100
    assert len(failures) == 4

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=CHROMIUM_ARGS,
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_path.as_uri())
            shot = page.screenshot()
            # Lazy images load as they scroll into view, as they do for a person scrolling.
            widths = page.evaluate(SCROLL_AND_MEASURE)
            failed_texts = page.locator("td.failed").all_inner_texts()
            rejects_text = page.locator("table.rejects").inner_text()
            captions = page.locator("td.cell figcaption").all_inner_texts()
            prompts = page.locator("td.cell details p").all_text_contents()
            title = page.title()
        finally:
            browser.close()

    assert len(widths) == generated
    assert all(width > 0 for width in widths), f"{widths.count(0)} images did not load"
    assert len(captions) == generated
    assert all(" · template " in caption for caption in captions)
    assert sorted(prompts) == sorted(o.job.prompt for o in outcomes)  # type: ignore[attr-defined]
    assert len(failed_texts) == len(failures)
    assert all("moderation_blocked" in text and HOSTILE in text for text in failed_texts)
    assert "BAD-1" in rejects_text
    assert "monsoon" in rejects_text
    assert title.startswith("Review: run run-1")  # the hostile text did not run as a script

    image = Image.open(io.BytesIO(shot)).convert("L")
    stats = ImageStat.Stat(image)
    assert stats.stddev[0] > 20, "the screenshot is (nearly) blank"


SCROLL_AND_MEASURE = """
async () => {
  const images = Array.from(document.querySelectorAll('img'));
  for (const img of images) {
    img.scrollIntoView();
    const deadline = Date.now() + 5000;
    while (!(img.complete && img.naturalWidth > 0) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 20));
    }
  }
  return images.map(img => img.naturalWidth);
}
"""


def test_review_page_escapes_untrusted_text_and_links_relatively(
    reviewed_run: tuple[Path, dict[str, object]],
) -> None:
    page_path, _ = reviewed_run
    html = page_path.read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert "<script" not in html.lower()
    assert "http://" not in html
    assert "https://" not in html
    assert "file:" not in html.split("Content-Security-Policy", 1)[1].split(">", 1)[1]
    assert "src='../../../images/" in html
    assert "loading='lazy'" in html


def test_review_page_shows_cost_only_when_the_summary_has_it() -> None:
    reject = Reject("c.csv", 3, "sku", "missing SKU")
    without = render_review_page({"run_id": "r", "planned": 0}, [], [reject])
    with_cost = render_review_page({"run_id": "r", "estimated_cost_usd": 1.25}, [], [])
    assert "cost" not in without
    assert "1.25" in with_cost
    assert "estimated cost usd" in with_cost
    assert "missing SKU" in without


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere(ci: str) -> None:
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="chromium is not installed"):
        find_chromium(("/nonexistent/chromium",), {"CI": ci} if ci else {})
