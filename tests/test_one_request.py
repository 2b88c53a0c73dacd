"""One request, one pipeline: a dry run of ``run``, a dry run of ``backfill`` and the real run
plan the same jobs for the same request, whatever the catalog's format, and with a reviewer's
rejection pending."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.request import RequestError, RunRequest
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from tests.conftest import SAMPLE_CATALOG
from tests.plugins.ops import sample_head

SHOPIFY = Path(__file__).parent / "catalog" / "fixtures" / "shopify-apparel.csv"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def dry_run(capsys: pytest.CaptureFixture[str], command: str, *args: str) -> dict[str, Any]:
    capsys.readouterr()  # what came before
    assert main([command, *args, "--dry-run", "--json"]) == 0
    forecast: dict[str, Any] = json.loads(capsys.readouterr().out)
    return forecast


def made_keys(output: Path) -> set[str]:
    """The job keys the last run's ledger says it generated."""
    runs = sorted((output / "manifests" / "runs").glob("*.json"))
    ledger = json.loads(runs[-1].read_text())["jobs"]
    return {row["key"] for row in ledger if row["status"] == "generated"}


def excel_copy(tmp_path: Path) -> Path:
    frame = pd.read_csv(SAMPLE_CATALOG, dtype=str, keep_default_na=False)
    path = tmp_path / "catalog.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Products", index=False)
    return path


@pytest.mark.parametrize("kind", ["generic", "shopify", "excel"])
def test_dry_runs_and_the_run_plan_the_same_jobs(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = {"generic": SAMPLE_CATALOG, "shopify": SHOPIFY, "excel": None}[kind]
    catalog = catalog or excel_copy(tmp_path)
    output = tmp_path / "out"
    request = [str(catalog), "--output", str(output), "--season", "winter", "--no-progress"]
    request += ["--template", "product_card", "--template", "seasonal_banner"]
    if kind == "excel":
        request += ["--format", "excel", "--sheet", "Products"]

    as_run = dry_run(capsys, "run", *request)
    as_backfill = dry_run(capsys, "backfill", *request)
    assert as_run["to_make"] == as_backfill["to_make"]
    assert len(as_run["to_make"]) > 0
    assert main(["run", *request]) == 0
    assert made_keys(output) == set(as_run["to_make"])

    again = dry_run(capsys, "run", *request)
    assert again["to_make"] == []
    assert sorted(again["to_skip"]) == sorted(as_run["to_make"])


def test_a_pending_rejection_is_planned_alike_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    request = [str(SAMPLE_CATALOG), "--output", str(output), "--template", "product_card"]
    assert main(["run", *request, "--require-approval"]) == 0
    run_id = next((output / "manifests" / "runs").glob("*.json")).stem
    capsys.readouterr()
    reject = ["--reject", "JKT-001/navy/winter/product_card", "--reason", "too dark"]
    assert main(["approve", run_id, "--output", str(output), *reject]) == 0

    as_run = dry_run(capsys, "run", *request)
    as_backfill = dry_run(capsys, "backfill", *request)
    assert len(as_run["to_make"]) == 1  # the rejected slot, with the note in its prompt
    assert as_run["to_make"] == as_backfill["to_make"]
    assert main(["run", *request]) == 0
    assert made_keys(output) == set(as_run["to_make"])
    entry = load_latest(LocalDirectoryStore(output)).entries[
        ("JKT-001", "navy", "winter", "product_card")
    ]
    assert "too dark" in entry.prompt


def test_a_request_is_json_for_deployments_and_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-never-in-a-request")
    request = RunRequest(catalog="c.csv", seasons=("winter",), concurrency=4)
    text = request.model_dump_json()
    assert "sk-secret" not in text
    assert RunRequest.model_validate_json(text) == request
    assert "api_key" not in RunRequest.model_fields


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"concurrency": 0}, "--concurrency 0: Input should be greater than or equal to 1"),
        ({"rpm": 0}, "--rpm 0: Input should be greater than or equal to 1"),
        ({"max_cost": -5}, "--max-cost -5: Input should be greater than or equal to 0"),
        ({"catalog_format": "pdf"}, "--format pdf: "),
        ({"only_flagged": ("blurry",)}, "--only-flagged"),
    ],
)
def test_a_bad_field_names_its_flag(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError) as raised:
        RunRequest.checked(catalog="c.csv", **fields)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_seasonal_refresh_and_file_drop_build_the_same_request_model(tmp_path: Path) -> None:
    """The served flows pass a RunRequest too: part of the sample catalog dropped into an inbox
    (three products and their photos: the whole sample adds time, not coverage) is run."""
    from catalog_imagegen.flows.file_drop import watch_inbox

    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_CATALOG.parent / "photos", inbox / "photos")
    (inbox / "catalog.csv").write_bytes(sample_head(3))
    assert watch_inbox(str(inbox), output=str(tmp_path / "out"), once=True, poll=0, settle=0) == 0
    assert len(load_latest(LocalDirectoryStore(tmp_path / "out")).entries) == 3 * 3 * 2 * 4
