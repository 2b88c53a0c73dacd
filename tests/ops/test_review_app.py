"""The review app in a real Chromium, against a held run made over HTTP with the fake images API.

A merchandiser's morning: say who they are, approve a SKU, reject one image with a note, publish
the run, then regenerate the rejected image and see the new one. Two reviewers at once; a token
and a cross-site form that are refused.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.review.app.context import ReviewContext
from catalog_imagegen.review.app.regenerating import InProcessRegenerator
from catalog_imagegen.review.app.server import ReviewAppThread
from catalog_imagegen.review.decisions import load_decisions
from catalog_imagegen.review.regeneration import make_slots
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from tests.plugins.ops import free_port, stop_process

KEY = "sk-proj-REVIEWAPP-0a1b2c3d4e5f-DISTINCTIVE"
REPO = Path(__file__).resolve().parents[2]
# The README's screenshot; a test run writes it only when asked to (so the tests leave the
# checkout as they found it): CATALOG_IMAGEGEN_UPDATE_SCREENSHOTS=1 scripts/test -k review_app
SCREENSHOT = REPO / "docs" / "review-app.png"
REJECTED = "SKU-0001 navy winter product_card"
pytestmark = pytest.mark.slow


@dataclass
class HeldRun:
    run_id: str
    store: LocalDirectoryStore
    api: FakeImageApi
    url: str  # the review app
    regenerator: InProcessRegenerator


@pytest.fixture
def held_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRun]:
    """Three SKUs x Navy|Red x spring|winter, one template: twelve images held for approval."""
    catalog = tmp_path / "catalog.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours", "seasons"])
        for number in range(3):
            writer.writerow([f"SKU-{number:04d}", f"Trail Jacket {number}", "Outerwear",
                             "Navy|Red", "spring|winter"])  # fmt: skip
    with FakeImageApi(api_key=KEY) as api:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        settings = load_settings_with(
            output=str(tmp_path / "out"), approval_required=True, progress=False
        )
        made = asyncio.run(make_slots(settings, str(catalog), None, ["product_card"]))
        assert made.summary.generated == 12 and made.summary.awaiting_approval
        store = LocalDirectoryStore(tmp_path / "out")
        regenerator = InProcessRegenerator(store, settings)
        app = ReviewAppThread(ReviewContext(store, settings, regenerator))
        url = app.start()
        try:
            yield HeldRun(made.summary.run_id, store, api, url, regenerator)
        finally:
            regenerator.wait(120)
            app.stop()


def open_as(browser: Any, url: str, name: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Save name").click()
    return page


def test_approve_reject_publish_then_regenerate_with_the_note(
    held_run: HeldRun, browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    run = held_run
    page = open_as(browser, f"{run.url}/runs/{run.run_id}", "Ana")
    page.get_by_role("button", name="Approve all of SKU-0000").click()
    expect(page.get_by_role("status")).to_contain_text("Approved: 4 image(s)")
    page.get_by_label(f"Note for {REJECTED}").fill("too dark, show the zip")
    page.get_by_role("button", name=f"Reject {REJECTED}").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected: 1 image(s)")
    page.get_by_role("button", name="Approve SKU-0002 red spring product_card").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Approved: 1 image(s)")
    page.get_by_label("SKU", exact=True).fill("SKU-0001")
    page.get_by_label("SKU", exact=True).press("Enter")  # the filter form, from the keyboard
    expect(page.get_by_role("group", name=REJECTED)).to_contain_text("too dark, show the zip")
    shot = page.screenshot(path=str(tmp_path / "review-app.png"))
    assert len(shot) > 10_000  # a page with images, not a blank one
    if os.environ.get("CATALOG_IMAGEGEN_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(shot)

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Published 11 image(s)")
    latest = load_latest(run.store).entries
    assert ("SKU-0000", "navy", "winter", "product_card") in latest
    assert ("SKU-0002", "red", "spring", "product_card") in latest
    assert ("SKU-0001", "navy", "winter", "product_card") not in latest
    assert page.get_by_role("button", name="Publish", exact=True).count() == 0

    before = len(run.api.requests)
    page.get_by_role("button", name=f"Regenerate {REJECTED}").click()
    cell = page.get_by_role("group", name=REJECTED)
    expect(cell.get_by_role("img", name=f"new image for {REJECTED}")).to_be_visible(timeout=120_000)
    assert cell.get_by_role("img", name=f"new image for {REJECTED}").evaluate(
        "img => img.complete && img.naturalWidth > 0"
    )
    (remade,) = run.api.requests[before:]
    assert "too dark, show the zip" in (remade.prompt or "")
    cell.get_by_role("link", name=f"Enlarge {REJECTED}").click()
    expect(page.get_by_text("New prompt")).to_be_visible()
    assert "too dark, show the zip" in page.locator(".prompt").last.inner_text()

    page.get_by_role("link", name="Runs", exact=True).click()
    statuses = page.locator("tbody tr td:last-child").all_inner_texts()
    regeneration_run = load_decisions(run.store, run.run_id).regenerations
    assert statuses == ["held for approval", "published"], regeneration_run


def test_two_reviewers_deciding_at_once_both_land_and_a_stale_page_is_told_to_reload(
    held_run: HeldRun, browser: Any
) -> None:
    from playwright.sync_api import expect

    run = held_run
    ana = open_as(browser, f"{run.url}/runs/{run.run_id}", "Ana")
    ben = open_as(browser, f"{run.url}/runs/{run.run_id}", "Ben 佐藤")  # both pages are now open
    ana.get_by_role("button", name="Approve SKU-0000 navy spring product_card").click()
    ben.get_by_role("button", name="Approve SKU-0001 red winter product_card").click()
    expect(ben.get_by_role("status")).to_contain_text("Approved: 1 image(s)")
    decisions = load_decisions(run.store, run.run_id).slots
    assert decisions["SKU-0000/navy/spring/product_card"].by == "Ana"
    assert decisions["SKU-0001/red/winter/product_card"].by == "Ben 佐藤"

    ana.get_by_role("button", name="Reject SKU-0002 red spring product_card").click()
    expect(ana.get_by_role("status")).to_contain_text("Rejected: 1 image(s)")
    ben.get_by_role("button", name="Approve SKU-0002 red spring product_card").click()
    expect(ben.get_by_role("alert")).to_contain_text("reload the page")
    assert (
        load_decisions(run.store, run.run_id).slots["SKU-0002/red/spring/product_card"].decision
        == "rejected"
    )

    ana.get_by_label("Colour").select_option("Navy")
    ana.get_by_label("Not yet reviewed").check()
    ana.get_by_role("button", name="Filter").click()
    ana.get_by_role("button", name="Approve all shown (5)").click()  # 6 navy, 1 decided already
    expect(ana.get_by_role("status")).to_contain_text("Approved: 5 image(s)")
    decided = load_decisions(run.store, run.run_id).slots
    assert sorted(n for n, d in decided.items() if d.by == "Ana" and "navy" in n) == [
        f"SKU-000{n}/navy/{season}/product_card"
        for n in range(3)
        for season in ("spring", "winter")
    ]


def test_a_form_posted_from_another_site_is_refused(held_run: HeldRun, browser: Any) -> None:
    run = held_run
    page = open_as(browser, f"{run.url}/runs/{run.run_id}", "Ana")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    hostile = (
        f"<form method=post action='{run.url}/runs/{run.run_id}/publish'>"
        f"<input name=csrf value='{csrf}'></form><script>document.forms[0].submit()</script>"
    )
    page.route("http://shop-offers.test/", lambda route: route.fulfill(
        status=200, content_type="text/html", body=hostile))  # fmt: skip
    page.goto("http://shop-offers.test/")
    page.wait_for_url(re.compile(r"/publish$"))
    assert "another site" in page.content()
    assert run.store.get(f"manifests/runs/{run.run_id}/approval.json") is None


def test_token_is_needed_on_every_request_and_posts_need_the_form_token(
    held_run: HeldRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = held_run
    settings = load_settings_with(output=str(tmp_path / "out"), progress=False)
    guarded = ReviewAppThread(
        ReviewContext(run.store, settings, run.regenerator, token="s3cret-review-token")
    )
    url = guarded.start()
    try:
        assert httpx.get(f"{url}/").status_code == 401
        assert httpx.get(f"{url}/files/manifests/latest.json").status_code == 401
        opened = httpx.get(f"{url}/runs/{run.run_id}?token=s3cret-review-token")
        assert opened.status_code == 303 and "token" not in opened.headers["location"]
        with httpx.Client(base_url=url, cookies=opened.cookies) as client:
            assert client.get(f"/runs/{run.run_id}").status_code == 200
            refused = client.post(f"/runs/{run.run_id}/publish", data={"csrf": "guess"})
            assert refused.status_code == 403
        bearer = {"Authorization": "Bearer s3cret-review-token"}
        assert httpx.get(f"{url}/", headers=bearer).status_code == 200
    finally:
        guarded.stop()
    rebound = httpx.get(f"{run.url}/", headers={"Host": "attacker.example"})
    assert rebound.status_code == 403  # without a token: loopback names only
    cross = httpx.post(f"{run.url}/runs/{run.run_id}/publish", headers={"Origin": "http://x.test"})
    assert cross.status_code == 403
    assert run.store.get(f"manifests/runs/{run.run_id}/approval.json") is None


def test_review_beyond_loopback_without_a_token_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["review", "--host", "0.0.0.0", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "CATALOG_IMAGEGEN_REVIEW_TOKEN" in err


def test_review_command_serves_an_output_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "flows"),
               os.environ.get("PYTHONPATH", "")]))  # fmt: skip
    command = [sys.executable, "-m", "catalog_imagegen.cli", "review", "--output",
               str(tmp_path / "out"), "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        assert answer.status_code == 200
        assert "No run has finished in this output yet." in answer.text
    finally:
        stop_process(process)
