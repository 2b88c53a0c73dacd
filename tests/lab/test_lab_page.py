"""The lab's side-by-side page, opened in headless Chromium as a reviewer sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.lab.experiment import LabSample
from catalog_imagegen.lab.runner import LabRequest, LabResult, run_lab
from catalog_imagegen.settings import Settings
from tests.lab.lab_setup import (
    PRODUCTS,
    WARM_WORDS,
    medium_square_price,
    write_drafts,
    write_lab_catalog,
)
from tests.plugins.ops import CHROMIUM_ARGS

HOSTILE = "<script>document.title='pwned'</script>"

PRICE = medium_square_price()  # per image, from the shipped model table


@pytest.fixture
def lab_run(tmp_path: Path, templates_copy: Path) -> LabResult:
    products = [*PRODUCTS[:2], ("BAG-001", f"Tote {HOSTILE}", "Bags", "Olive=#6b7a3a")]
    catalog = write_lab_catalog(tmp_path, products)
    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    settings = Settings(output=str(tmp_path / "out"), templates_dir=templates_copy, progress=False)
    request = LabRequest(str(catalog), (drafts.warm, drafts.tight), sample=LabSample())
    return run_lab(request, settings)


@pytest.mark.slow
def test_the_page_shows_every_version_side_by_side_with_its_prompt_diff(
    lab_run: LabResult, chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("CATALOG_IMAGEGEN_OUTPUT", str(tmp_path / "out"))
    code = main(["lab", "choose", lab_run.lab_id, "product_card.warm", "--note", "warmer light",
                 "--by", "alice"])  # fmt: skip
    assert code == 0
    page_path = tmp_path / "out" / "lab" / "runs" / lab_run.lab_id / "index.html"

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_path.as_uri())
            widths = page.evaluate(WAIT_FOR_IMAGES)
            headings = page.locator("table.lab tr:first-child th").all_inner_texts()
            slots = page.locator("th.slot").all_inner_texts()
            rows = page.locator("table.lab tr:has(th.slot)")
            cells = [
                {
                    "version": cell.get_attribute("data-version"),
                    "images": cell.locator("img").count(),
                    "caption": cell.locator("figcaption").inner_text(),
                    "added": cell.locator("p.diff ins").all_inner_texts(),
                    "removed": cell.locator("p.diff del").all_inner_texts(),
                    "prompt": cell.locator("p.prompt").inner_text(),
                }
                for row in rows.all()
                for cell in row.locator("td.version").all()
            ]
            choices = page.locator("ul.choices").inner_text()
            title = page.title()
        finally:
            browser.close()

    assert len(slots) == 3
    assert any(HOSTILE in slot for slot in slots)  # shown as text, never run
    assert title.startswith("Lab: product_card")
    assert len(widths) == 9 and all(width > 0 for width in widths)
    assert "product-card-warm" in headings[2]
    assert all(f"${3 * PRICE:.3f} estimated" in heading for heading in headings[1:])
    assert [c["version"] for c in cells] == ["current", "product_card.warm",
                                            "product_card.tight"] * 3  # fmt: skip
    assert all(c["images"] == 1 and f"${PRICE:.3f}" in c["caption"] for c in cells)
    for cell in cells:
        if cell["version"] == "current":
            assert cell["added"] == [] and cell["removed"] == []
        elif cell["version"] == "product_card.warm":
            assert cell["added"] == ["Warm lifestyle"]  # "photograph" stays: a word diff
            assert cell["removed"] == ["Professional e-commerce product"]
            assert WARM_WORDS in cell["prompt"]
        else:
            assert cell["added"] == ["whole"] and cell["removed"] == ["most of"]
        assert "cotton" in cell["prompt"]
    assert "product_card.warm chosen by alice" in choices and "warmer light" in choices


WAIT_FOR_IMAGES = """
async () => {
  const images = Array.from(document.querySelectorAll('img'));
  for (const img of images) {
    const deadline = Date.now() + 5000;
    while (!(img.complete && img.naturalWidth > 0) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 20));
    }
  }
  return images.map(img => img.naturalWidth);
}
"""


def test_offline_previews_in_the_lab_carry_no_colour_qa_flags(lab_run: LabResult) -> None:
    """Placeholders have no product to measure, as in production runs: a flag on one would
    send a merchandiser after a problem the draft does not have."""
    entries = [
        image["entry"]
        for slot in lab_run.document["slots"]
        for image in slot["images"].values()
        if image.get("entry")
    ]
    assert entries and lab_run.document["preview"]
    colour_kinds = {"colour_mismatch", "near_blank", "near_duplicate"}
    assert not [f for e in entries for f in e["flags"] if f["kind"] in colour_kinds]
