"""The --format and --sheet flags of ``catalog-imagegen prompts`` (no Prefect involved)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.cli.summary import EXIT_BAD_INPUT, EXIT_OK
from tests.catalog.catalog_files import COLOR_SIZE


def prompts(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, str]]]:
    code = main(["prompts", *args, "--json", "--template", "product_card"])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_shopify_export_prompts_list_one_job_per_product_colour(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, jobs = prompts(capsys, str(COLOR_SIZE), "--format", "shopify")
    assert code == EXIT_OK
    assert [(j["sku"], j["colour"]) for j in jobs][:2] == [
        ("everyday-crew-tee", "Navy Blue"),
        ("everyday-crew-tee", "black"),
    ]
    assert len(jobs) == 7


def test_sheet_flag_reads_that_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "range.xlsx"
    frame = pd.DataFrame(
        {"sku": ["0001"], "title": ["Mug"], "category": ["Kitchen"], "colours": ["Teal"]}
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="Cover", index=False)
        frame.to_excel(writer, sheet_name="SS25", index=False)
    code, jobs = prompts(capsys, str(path), "--sheet", "SS25")
    assert code == EXIT_OK
    assert [(j["sku"], j["colour"]) for j in jobs] == [("0001", "Teal")]
    code, _ = prompts(capsys, str(path), "--sheet", "AW25")
    assert code == EXIT_BAD_INPUT
