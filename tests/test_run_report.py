"""What a finished run tells a merchandiser: archived products skipped, where the Shopify import
points, and how to approve a held run; under a real Prefect engine, into a local folder."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from tests.catalog.test_archived import SHOPIFY_WITH_STATUS

pytestmark = pytest.mark.usefixtures("prefect_harness")
CDN = "https://cdn.example.com/shop"


def run(tmp_path: Path, *flags: str) -> tuple[int, str, Path]:
    tmp_path.mkdir(exist_ok=True)
    catalog = tmp_path / "products_export.csv"
    catalog.write_text(SHOPIFY_WITH_STATUS, encoding="utf-8")
    output = tmp_path / "out"
    argv = ["run", str(catalog), "--output", str(output), "--template", "product_card"]
    code = main([*argv, "--no-progress", *flags])
    return code, str(output), output


def import_urls(output: Path) -> list[str]:
    [path] = output.glob("manifests/runs/*/shopify-import.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return [row["Variant Image"] for row in rows if row["Variant Image"]]


def test_archived_products_are_counted_in_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 images planned" in out  # live-tee in two colours, draft-tee
    assert "1 archived product skipped (--include-archived makes them)" in out

    code, _, _ = run(tmp_path / "again", "--include-archived")
    out = capsys.readouterr().out
    assert "4 images planned" in out
    assert "archived product" not in out


def test_folder_output_uses_the_public_base_url_in_the_shopify_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, output = run(tmp_path, "--public-base-url", CDN)
    out = capsys.readouterr().out
    assert code == 0, out
    urls = import_urls(output)
    assert urls and all(url.startswith(f"{CDN}/images/") for url in urls)
    assert "file://" not in out.split("Output:")[0]


def test_file_urls_in_the_shopify_import_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, output = run(tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    assert all(url.startswith("file://") for url in import_urls(output))
    [warning] = [line for line in out.splitlines() if line.startswith("WARNING:")]
    assert "shopify-import.csv" in warning and "--public-base-url" in warning


def test_a_held_run_says_how_to_approve_it_and_names_no_unwritten_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output_flag, output = run(tmp_path, "--require-approval")
    out = capsys.readouterr().out
    assert code == 0, out
    assert not (output / "manifests" / "latest.json").exists()
    assert "latest.json" not in out
    [hint] = [line for line in out.splitlines() if "catalog-imagegen approve" in line]
    assert hint.endswith(f"--output {output_flag}")
