"""The review app over a bucket (SeaweedFS): pages, images, concurrent decisions and publishing,
with the store's credentials nowhere in what it serves."""

from __future__ import annotations

import asyncio
import csv
import re
import threading
from pathlib import Path

import httpx
import pytest

from catalog_imagegen.definitions import build_store
from catalog_imagegen.review.app.context import ReviewContext
from catalog_imagegen.review.app.regenerating import InProcessRegenerator
from catalog_imagegen.review.app.server import ReviewAppThread
from catalog_imagegen.review.decisions import load_decisions
from catalog_imagegen.review.regeneration import make_slots
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.testing.seaweedfs import SeaweedFS

pytestmark = pytest.mark.slow


def test_review_app_over_a_bucket(s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    with catalog.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours", "seasons"])
        for number in range(4):
            writer.writerow([f"SKU-{number}", f"Fleece {number}", "Tops", "Navy|Sand", "winter"])
    settings = load_settings_with(
        bucket=s3_bucket, prefix="shop", approval_required=True, progress=False
    )
    made = asyncio.run(make_slots(settings, str(catalog), None, ["product_card"]))
    run_id, store = made.summary.run_id, build_store(settings)
    app = ReviewAppThread(ReviewContext(store, settings, InProcessRegenerator(store, settings)))
    url = app.start()
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            page = client.get(f"/runs/{run_id}").text
            images = re.findall(r'<img src="(/files/images/[^"]+)"', page)
            assert len(images) == 8
            answer = client.get(images[0])
            assert answer.headers["content-type"] == "image/png"
            assert answer.content.startswith(b"\x89PNG")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            client.post("/reviewer", data={"csrf": csrf, "name": "Ana"})

            def decide(slot: str, decision: str) -> None:
                form = {"csrf": csrf, "scope": "slot", "slot": slot, "seen": "0",
                        "decision": decision, "note": "pilling", "back": "/"}  # fmt: skip
                assert client.post(f"/runs/{run_id}/decide", data=form).status_code == 303

            slots = [f"SKU-{n}/sand/winter/product_card" for n in range(4)]
            threads = [threading.Thread(target=decide, args=(slot, "approve")) for slot in slots]
            threads.append(threading.Thread(target=decide, args=("SKU-0/navy/winter/product_card",
                                                                  "reject")))  # fmt: skip
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(load_decisions(store, run_id).slots) == 5  # every decision landed
            client.post(f"/runs/{run_id}/publish", data={"csrf": csrf, "back": "/"})
            served = client.get(f"/runs/{run_id}").text + client.get("/").text
        latest = load_latest(store).entries
        assert len(latest) == 7 and ("SKU-0", "navy", "winter", "product_card") not in latest
        assert s3_env.secret_key not in served and s3_env.access_key not in served
    finally:
        app.stop()
