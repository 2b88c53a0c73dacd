"""The review app's Lab page in a real Chromium, over lab runs made with offline previews.

A merchandiser opens the app, goes to Lab, opens the newest lab run, compares every version of
every slot, and chooses one with a note: the lab manifest records it as ``lab choose`` does.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.lab.experiment import LabSample
from catalog_imagegen.lab.record import load_lab_document
from catalog_imagegen.lab.runner import LabRequest, LabResult, run_lab
from catalog_imagegen.lab.store import LabStore
from catalog_imagegen.review.app.context import ReviewContext
from catalog_imagegen.review.app.regenerating import InProcessRegenerator
from catalog_imagegen.review.app.server import ReviewAppThread
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from tests.lab.lab_setup import PRODUCTS, write_drafts, write_lab_catalog

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
VERSIONS = ["current", "product_card.warm", "product_card.tight"]
pytestmark = pytest.mark.slow


@dataclass
class LabApp:
    url: str  # the review app
    older: LabResult  # the current template and the warm draft, on one product
    lab: LabResult  # the newest: the current template and both drafts, on three products
    store: LabStore
    output: Path


@pytest.fixture
def lab_app(tmp_path: Path, templates_copy: Path) -> Iterator[LabApp]:
    products = [*PRODUCTS[:2], ("BAG-001", f"Tote {HOSTILE}", "Bags", "Olive=#6b7a3a")]
    catalog = write_lab_catalog(tmp_path, products)
    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    output = tmp_path / "out"
    settings = Settings(output=str(output), templates_dir=templates_copy, progress=False)
    one = LabSample(skus=("JKT-001",))
    older = run_lab(LabRequest(str(catalog), (drafts.warm,), sample=one), settings)
    _next_second(older.lab_id)  # lab ids start with their start time, to the second
    lab = run_lab(
        LabRequest(str(catalog), (drafts.warm, drafts.tight), sample=LabSample()), settings
    )
    store = LocalDirectoryStore(output)
    app = ReviewAppThread(ReviewContext(store, settings, InProcessRegenerator(store, settings)))
    url = app.start()
    try:
        yield LabApp(url, older, lab, LabStore(store), output)
    finally:
        app.stop()


def _next_second(lab_id: str) -> None:
    while datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") <= lab_id.split("-")[0]:
        time.sleep(0.05)


def test_compare_every_version_and_choose_one_with_a_note(
    lab_app: LabApp, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(lab_app.url)
    page.get_by_label("Your name").fill("Ana")
    page.get_by_role("button", name="Save name").click()
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Lab").click()
    listed = page.locator("table.lab-runs tbody tr td:first-child").all_inner_texts()
    assert listed == [lab_app.lab.lab_id, lab_app.older.lab_id]  # newest first

    page.get_by_role("link", name=lab_app.lab.lab_id).click()
    widths = page.evaluate(WAIT_FOR_IMAGES)
    slots = page.locator("th.slot").all_inner_texts()
    cells = page.locator("table.lab tr:has(th.slot) td.version")
    assert len(slots) == 3 and any(HOSTILE in slot for slot in slots)  # text, never markup
    assert page.title() != "pwned" and page.locator("img[src=x]").count() == 0
    assert [cells.nth(i).get_attribute("data-version") for i in range(9)] == VERSIONS * 3
    assert len(widths) == 9 and all(width > 0 for width in widths)  # served by the app
    warm = page.locator("td[data-version='product_card.warm']").first
    assert warm.locator("p.diff ins").all_inner_texts() == ["Warm lifestyle"]
    expect(page.locator("ul.choices, p.choices")).to_have_text("No version chosen yet.")

    page.get_by_role("radio", name="product_card.warm").check()
    page.get_by_label("Note").fill("warmer light, «the tote» reads better")
    page.get_by_role("button", name="Choose", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("product_card.warm: chosen by Ana")
    expect(page.locator("ul.choices")).to_contain_text("warmer light, «the tote» reads better")
    heading = page.locator("table.lab tr:first-child th").nth(2)
    expect(heading.locator(".chosen")).to_have_text("chosen")
    assert page.locator("table.lab .chosen").count() == 1

    monkeypatch.setenv("CATALOG_IMAGEGEN_OUTPUT", str(lab_app.output))
    assert main(["lab", "choose", lab_app.lab.lab_id, "product_card.tight", "--note", "tighter",
                 "--by", "bob"]) == 0  # fmt: skip
    in_app, by_command = load_lab_document(lab_app.store, lab_app.lab.lab_id)["choices"]
    assert in_app.keys() == by_command.keys()  # the same record, whichever way it was chosen
    versions = {v["name"]: v for v in lab_app.lab.document["versions"]}
    assert in_app | {"at": ""} == {
        "lab_id": lab_app.lab.lab_id,
        "version": "product_card.warm",
        "template_version": versions["product_card.warm"]["template_version"],
        "template_label": "product-card-warm",
        "note": "warmer light, «the tote» reads better",
        "by": "Ana",
        "at": "",
    }
    static = lab_app.output / "lab" / "runs" / lab_app.lab.lab_id / "index.html"
    assert "chosen by Ana" in static.read_text()


def test_choosing_needs_a_name_a_known_version_and_the_app_s_own_form(lab_app: LabApp) -> None:
    lab_id = lab_app.lab.lab_id
    with httpx.Client(base_url=lab_app.url) as client:
        page = client.get(f"/lab/{lab_id}")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        form = {"csrf": csrf, "version": "product_card.warm", "note": "n", "back": "/lab"}
        nameless = client.post(f"/lab/{lab_id}/choose", data=form)
        forged = client.post(f"/lab/{lab_id}/choose", data=form | {"csrf": "guess"},
                             cookies={"catalog_imagegen_reviewer": "Eve"})  # fmt: skip
        unknown = client.post(f"/lab/{lab_id}/choose", data=form | {"version": "v9"},
                              cookies={"catalog_imagegen_reviewer": "Ana"})  # fmt: skip
        missing = client.get("/lab/20990101T000000Z-000000")
    assert nameless.status_code == 400 and "Type your name first" in nameless.text
    assert forged.status_code == 403
    assert unknown.status_code == 400 and "has no version 'v9'" in html.unescape(unknown.text)
    assert missing.status_code == 404
    assert load_lab_document(lab_app.store, lab_id)["choices"] == []


WAIT_FOR_IMAGES = """
async () => {
  const images = Array.from(document.querySelectorAll('table.lab img'));
  for (const img of images) {
    const deadline = Date.now() + 5000;
    while (!(img.complete && img.naturalWidth > 0) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 20));
    }
  }
  return images.map(img => img.naturalWidth);
}
"""
