"""The approval gate: the storefront's latest.json moves only after ``approve``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.definitions import build_store
from catalog_imagegen.request import RunRequest
from catalog_imagegen.review.approval import (
    REJECTIONS_KEY,
    ApprovalError,
    RejectSelector,
    approve_run,
)
from catalog_imagegen.review.regeneration import make_slots
from catalog_imagegen.settings_file import load_settings_with
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import POINTER_KEY, load_latest, publish
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.ops.run_building import make_run


def test_held_run_publishes_only_on_approve_and_rejected_images_are_made_again(
    catalog_folder: Path, tmp_path: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    catalog = catalog_folder / "catalog.csv"
    make_run(catalog, store, "run-0", templates=["product_card"])  # published straight away
    before = store.head(POINTER_KEY)
    assert before is not None
    with pytest.raises(ApprovalError, match="not held for approval"):
        approve_run(store, "run-0")

    held, _ = make_run(
        catalog, store, "run-1", templates=["product_card", "mobile_story"], approval_required=True
    )
    assert held.awaiting_approval
    assert store.head(POINTER_KEY) == before  # untouched by the held run

    approval = approve_run(
        store, "run-1", [RejectSelector.parse("JKT-001/NAVY/winter")], reason="too dark"
    )
    after = load_latest(store)
    assert store.head(POINTER_KEY) != before
    assert approval.rejected == [
        ("JKT-001", "navy", "winter", "mobile_story"),
        ("JKT-001", "navy", "winter", "product_card"),
    ]
    assert ("JKT-001", "navy", "winter", "mobile_story") not in after.entries
    assert ("JKT-001", "navy", "autumn", "mobile_story") in after.entries
    with pytest.raises(ApprovalError, match="approved already"):
        approve_run(store, "run-1")

    # The next run reads the rejections from the store and asks for those slots again.
    again, outcomes = make_run(catalog, store, "run-2", templates=["product_card", "mobile_story"])
    remade = {o.job.template: o for o in outcomes if o.status == "generated"}
    assert again.generated == 2  # exactly the two rejected slots, nothing else
    assert all("too dark" in o.job.prompt for o in remade.values())
    assert all(o.job.sku == "JKT-001" and o.job.colour.key == "navy" for o in remade.values())


def test_reject_that_matches_nothing_is_refused_before_anything_is_published(
    catalog_folder: Path, tmp_path: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    make_run(catalog_folder / "catalog.csv", store, "r", templates=["product_card"],
             approval_required=True)  # fmt: skip
    with pytest.raises(ApprovalError, match="no such image"):
        approve_run(store, "r", [RejectSelector.parse("NOPE-1/navy/winter")])
    assert store.head(POINTER_KEY) is None
    assert store.head(REJECTIONS_KEY) is None
    with pytest.raises(ApprovalError, match="expected SKU/colour/season"):
        RejectSelector.parse("JKT-001/navy")


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_gate_on_in_the_flow_then_approve_on_the_command_line(
    catalog_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from catalog_imagegen.flows.refresh import catalog_refresh

    monkeypatch.setenv("CATALOG_IMAGEGEN_APPROVAL", "required")
    out = tmp_path / "out"
    state = asyncio.run(
        catalog_refresh(  # type: ignore[arg-type]
            RunRequest(
                catalog=str(catalog_folder / "catalog.csv"),
                output=str(out),
                templates=("product_card",),
                progress=False,
            ),
            return_state=True,
        )
    )
    summary = state.result()
    assert summary.awaiting_approval
    assert (out / "manifests" / "runs" / summary.run_id / "review.html").exists()
    assert not (out / POINTER_KEY).exists()
    markdown = asyncio.run(latest_artifact("catalog-refresh-review"))
    assert f"[Review page]({summary.review_page})" in markdown
    assert summary.review_page.endswith(f"{summary.run_id}/review.html")
    assert "Awaiting approval" in markdown

    code = main(
        ["approve", summary.run_id, "--output", str(out), "--reject", "TEE-001/white/summer"]
    )
    assert code == 0
    assert f": {summary.generated - 1} images published" in capsys.readouterr().out
    latest = json.loads((out / POINTER_KEY).read_text())
    assert latest["run_id"] == summary.run_id
    assert latest["entries"] == summary.generated - 1


async def latest_artifact(key: str) -> str:
    """The newest artifact with ``key`` (plain REST: this server rejects the client's nulls)."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        response = await client._client.post(
            "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1},
        )
    response.raise_for_status()
    return str(response.json()[0]["data"])


def test_a_late_approve_does_not_put_back_an_image_redone_since(
    catalog_folder: Path, tmp_path: Path
) -> None:
    store = LocalDirectoryStore(tmp_path / "out")
    catalog = catalog_folder / "catalog.csv"
    held, outcomes = make_run(
        catalog, store, "held", templates=["product_card"], approval_required=True
    )
    slot = ("JKT-001", "navy", "winter", "product_card")
    [original] = [o.entry for o in outcomes if o.entry and o.entry.slot == slot]
    later = (datetime.fromisoformat(original.created_at) + timedelta(minutes=5)).isoformat()
    redo = replace(original, storage_key=original.storage_key + ".redo.png", created_at=later)
    publish(store, "force", [redo], generated_at=later)  # a backfill --force, before the approve
    approve_run(store, "held")
    after = load_latest(store)
    assert after.entries[original.slot].storage_key == redo.storage_key
    assert len(after.entries) == held.generated  # every other image of the held run landed


@pytest.mark.slow
def test_a_run_held_in_a_bucket_is_approved_with_the_store_flags_of_run(
    s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,title,category,colours,seasons\nFLC-1,Fleece,Tops,Navy|Sand,winter\n")
    settings = load_settings_with(
        bucket=s3_bucket, prefix="shop", approval_required=True, progress=False
    )
    held = asyncio.run(make_slots(settings, str(catalog), None, ["product_card"])).summary
    store = build_store(settings)
    assert held.awaiting_approval
    assert store.head(POINTER_KEY) is None

    flags = ["--bucket", s3_bucket, "--prefix", "shop", "--public-base-url", "https://cdn.test"]
    assert main(["approve", held.run_id, *flags, "--reject", "FLC-1/sand/winter"]) == 0
    assert f"Run {held.run_id}: 1 images published" in capsys.readouterr().out
    latest = load_latest(store)
    assert list(latest.entries) == [("FLC-1", "navy", "winter", "product_card")]
