"""Reviewers' decisions (compare-and-swap, idempotent, stale pages refused), the grid's filters and
pages, and the gate: what the app rejects stays out of what ``approve`` publishes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.review.app.grid import SKUS_PER_PAGE, GridFilter, grid_cells, page_of
from catalog_imagegen.review.app.runs_page import HELD, PARTLY, PUBLISHED, run_status
from catalog_imagegen.review.approval import approve_run, load_rejections
from catalog_imagegen.review.decisions import (
    APPROVED,
    REJECTED,
    Decisions,
    StaleDecision,
    decide,
    load_decisions,
)
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from tests.ops.run_building import make_run

NAVY_WINTER = ("JKT-001", "navy", "winter", "product_card")


def slots_of(count: int) -> list[tuple[str, str, str, str]]:
    return [(f"SKU-{n:03d}", "navy", "winter", "card") for n in range(count)]


def test_reviewers_deciding_at_once_all_land(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    slots = slots_of(16)

    def approve(slot: tuple[str, str, str, str]) -> None:
        decide(store, "r1", [slot], APPROVED, by=slot[0], seen_revision=0)

    threads = [threading.Thread(target=approve, args=(slot,)) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = load_decisions(store, "r1")
    assert {name: d.by for name, d in record.slots.items()} == {
        "/".join(slot): slot[0] for slot in slots
    }
    assert record.revision == 16


def test_same_decision_twice_changes_nothing_and_a_stale_page_is_refused(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    first = decide(store, "r1", [NAVY_WINTER], REJECTED, note="too dark", by="Ana", seen_revision=0)
    again = decide(store, "r1", [NAVY_WINTER], REJECTED, note="too dark", by="Ana", seen_revision=0)
    assert again.etag == first.etag and again.revision == 1
    with pytest.raises(StaleDecision, match=r"Ana rejected .* reload the page"):
        decide(store, "r1", [NAVY_WINTER], APPROVED, by="Ben", seen_revision=0)
    changed = decide(store, "r1", [NAVY_WINTER], APPROVED, by="Ben", seen_revision=1)
    decision = changed.of(NAVY_WINTER)
    assert decision is not None and (decision.decision, decision.by) == (APPROVED, "Ben")


def test_rejections_made_in_the_app_stay_out_of_what_approve_publishes(
    catalog_folder: Path, tmp_path: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    make_run(catalog_folder / "catalog.csv", store, "run-1", templates=["product_card"],
             approval_required=True)  # fmt: skip
    assert run_status(store, "run-1", {"awaiting_approval": True}) == HELD
    decide(store, "run-1", [NAVY_WINTER], REJECTED, note="zip missing", by="Ana", seen_revision=0)
    assert run_status(store, "run-1", {"awaiting_approval": True}) == PARTLY

    approval = approve_run(store, "run-1", by="Ana")  # what the CLI `approve` calls too
    assert approval.rejected == [NAVY_WINTER]
    assert NAVY_WINTER not in load_latest(store).entries
    assert load_rejections(store)["/".join(NAVY_WINTER)]["reason"] == "zip missing"
    assert run_status(store, "run-1", {"awaiting_approval": True}) == PUBLISHED


def run_document(skus: int) -> dict[str, Any]:
    jobs = []
    for n in range(skus):
        for colour in ("navy", "red"):
            status = "failed" if (n, colour) == (1, "red") else "generated"
            slot = {"sku": f"SKU-{n:03d}", "colour": colour, "season": "winter", "template": "card"}
            jobs.append({**slot, "template_version": "v1", "status": status})
    return {"jobs": jobs, "images": {}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, 2 * 45),
        ({"status": "failed"}, 1),
        ({"colour": "Red"}, 45),
        ({"q": "sku-00"}, 2 * 10),
        ({"template": "other"}, 0),
        ({"season": "winter", "colour": "navy"}, 45),
    ],
)
def test_grid_filters(query: dict[str, str], expected: int) -> None:
    cells = grid_cells(run_document(45), Decisions("r"), {})
    assert len(page_of(cells, GridFilter.from_query(query), 1).matching) == expected


def test_a_slot_the_storefront_shows_another_image_for_has_it_as_the_earlier_one() -> None:
    document = run_document(2)
    image = {"key": "new", "storage_key": "images/new.png", "colour": "Navy", "flags": []}
    document["images"] = {"SKU-000": {"navy": {"winter": {"card": image}}},
                          "SKU-001": {"navy": {"winter": {"card": image}}}}  # fmt: skip
    storefront = {"SKU-000": {"navy": {"winter": {"card": {"key": "old", "storage_key": "o"}}}},
                  "SKU-001": {"navy": {"winter": {"card": image}}}}  # fmt: skip
    cells = {c.slot[0]: c for c in grid_cells(document, Decisions("r"), storefront) if c.entry}
    assert cells["SKU-000"].earlier == {"key": "old", "storage_key": "o"}
    assert cells["SKU-001"].earlier is None  # the same image is not an earlier one


def test_grid_pages_hold_whole_skus() -> None:
    skus = 2 * SKUS_PER_PAGE + 5
    cells = grid_cells(run_document(skus), Decisions("r"), {})
    pages = [page_of(cells, GridFilter(), n) for n in (1, 2, 3, 99)]
    assert [p.pages for p in pages] == [3, 3, 3, 3]
    assert [len(p.rows) for p in pages] == [SKUS_PER_PAGE, SKUS_PER_PAGE, 5, 5]
    assert pages[2].rows[0].sku == f"SKU-{2 * SKUS_PER_PAGE:03d}"
    assert all(len(row.cells()) == 2 for p in pages for row in p.rows)


def test_run_artifacts_link_to_the_review_app_that_serve_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from catalog_imagegen.flows.refresh import review_markdown
    from catalog_imagegen.storage.publishing import RunSummary

    summary = RunSummary(run_id="20261130T0500Z-ab12", catalog="c.csv", output="", preview=True)
    assert "Review app" not in review_markdown(summary)
    monkeypatch.setenv("CATALOG_IMAGEGEN_REVIEW_URL", "http://127.0.0.1:8765")
    link = "(http://127.0.0.1:8765/runs/20261130T0500Z-ab12)"
    assert f"[Review app: approve, reject, regenerate]{link}" in review_markdown(summary)
