"""The review app reads each manifest once, in the shape its pages need: what they show is all there
(the image, its prompt, flags, the earlier image and its run, the run's heading), a document two
requests want at once is parsed once, and a run not written yet is found once it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from catalog_imagegen.review.app.context import ReviewContext
from catalog_imagegen.review.app.document_shapes import WHOLE, DocumentShape
from catalog_imagegen.review.app.documents import DocumentCache
from catalog_imagegen.review.app.regenerating import InProcessRegenerator
from catalog_imagegen.review.app.server import ReviewAppThread
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import (
    JSON_TYPE,
    ManifestEntry,
    nest,
    publish,
    write_run_manifest,
)

RUN_ID = "20261130T050000Z-held01"
EARLIER_RUN = "20261101T050000Z-early1"
SLOT = ("JKT-001", "navy", "winter", "product_card")


def image(run_id: str, prompt: str, flags: tuple[dict[str, object], ...] = ()) -> ManifestEntry:
    key = f"{run_id[-6:]}-navy-winter"
    return ManifestEntry(
        sku=SLOT[0], colour="Navy", colour_key=SLOT[1], season=SLOT[2], template=SLOT[3],
        template_version="c2cfff0f5e64", template_label="product-card-v3", key=key,
        storage_key=f"images/JKT-001/product_card/winter/navy/{key}.png", url="", sha256="0" * 64,
        bytes=48123, width=1024, height=1024, format="png", model="gpt-image-2", prompt=prompt,
        created_at="2026-11-30T05:00:00+00:00", run_id=run_id, flags=flags,
    )  # fmt: skip


@pytest.fixture
def review_app(tmp_path: Path) -> Iterator[str]:
    """A held run whose one image replaces what the storefront shows (an earlier run's)."""
    store = LocalDirectoryStore(tmp_path / "out")
    publish(store, EARLIER_RUN, [image(EARLIER_RUN, "the old prompt")],
            generated_at="2026-11-01T05:00:00+00:00")  # fmt: skip
    held = image(RUN_ID, "a navy jacket on snow", ({"kind": "colour_mismatch", "delta_e": 31.0},))
    job = {"key": held.key, "sku": SLOT[0], "colour": SLOT[1], "season": SLOT[2],
           "template": SLOT[3], "template_version": held.template_version,
           "template_label": held.template_label, "status": "generated"}  # fmt: skip
    summary = {"run_id": RUN_ID, "planned": 1, "generated": 1, "awaiting_approval": True}
    document = {"run_id": RUN_ID, "catalog": "autumn.csv", "started_at": "2026-11-30T05:00:00Z",
                "summary": summary, "images": nest([held]), "jobs": [job]}  # fmt: skip
    write_run_manifest(store, RUN_ID, document)
    settings = Settings(output=str(store.root))
    context = ReviewContext(store, settings, InProcessRegenerator(store, settings))
    app = ReviewAppThread(context)
    url = app.start()
    yield url
    app.stop()


def test_the_pages_show_everything_the_manifests_say_of_an_image(review_app: str) -> None:
    with httpx.Client(base_url=review_app, timeout=60) as client:
        runs = client.get("/").text
        run = client.get(f"/runs/{RUN_ID}").text
        enlarged = client.get(f"/runs/{RUN_ID}/image?slot={quote('/'.join(SLOT))}").text
    assert RUN_ID in runs and "autumn.csv" in runs and "held for approval" in runs
    assert "/files/images/JKT-001/product_card/winter/navy/held01-navy-winter.png" in run
    assert "/files/images/JKT-001/product_card/winter/navy/early1-navy-winter.png" in run
    assert "colour_mismatch" in run and "c2cfff0f5e64" in run
    assert "a navy jacket on snow" in enlarged
    assert f"Earlier image (storefront now, run {EARLIER_RUN})" in enlarged
    assert "colour_mismatch delta_e=31.0" in enlarged


def test_two_requests_for_one_document_parse_it_once(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    store.put("manifests/runs/r.json", b'{"run_id": "r"}', content_type=JSON_TYPE)
    parsed: list[bytes] = []

    def slow_parse(data: bytes) -> object:
        parsed.append(data)
        time.sleep(0.2)  # the first is still parsing when the second asks
        return WHOLE.parse(data)

    cache, shape = DocumentCache(), DocumentShape("slow", slow_parse)
    found: list[object] = []

    def load() -> None:
        found.append(cache.load(store, "manifests/runs/r.json", shape))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [{"run_id": "r"}, {"run_id": "r"}]
    assert len(parsed) == 1


def test_a_run_asked_for_before_it_is_written_is_found_once_it_is(tmp_path: Path) -> None:
    store, cache = LocalDirectoryStore(tmp_path / "out"), DocumentCache()
    assert cache.load(store, "manifests/runs/r.json") is None
    store.put("manifests/runs/r.json", b'{"run_id": "r"}', content_type=JSON_TYPE)
    assert cache.load(store, "manifests/runs/r.json") == {"run_id": "r"}
