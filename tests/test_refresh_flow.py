"""The main job end to end, under a real Prefect engine (one session-scoped test server)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary
from tests.conftest import SAMPLE_CATALOG
from tests.plugins.ops import sample_head

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def run(catalog: Path, output: Path, **params: Any) -> tuple[str, RunSummary]:
    request = RunRequest(catalog=str(catalog), output=str(output), progress=False, **params)
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    assert isinstance(summary, RunSummary), state.message
    return state.type.value, summary


def stored_images(output: Path) -> list[Path]:
    return sorted(p for p in (output / "images").rglob("*") if p.is_file())


def sample_subset(folder: Path, products: int) -> Path:
    """The sample catalog's first ``products`` rows, beside a copy of its photos."""
    shutil.copytree(SAMPLE_CATALOG.parent / "photos", folder / "photos")
    catalog = folder / "catalog.csv"
    catalog.write_bytes(sample_head(products))
    return catalog


async def test_sample_catalog_to_images_and_manifest_then_rerun_skips(tmp_path: Path) -> None:
    output = tmp_path / "out"
    state, first = await run(SAMPLE_CATALOG, output)
    assert state == "COMPLETED"
    images = stored_images(output)
    assert first.generated == len(images) >= 12 * 3 * 2 * 2
    assert first.failed == first.rejected_rows == 0

    latest = load_latest(LocalDirectoryStore(output))
    assert len(latest.entries) == len(images)
    for entry in latest.entries.values():
        data = (output / entry.storage_key).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert entry.bytes == len(data) and entry.width > 0 and entry.prompt
    assert {e.season for e in latest.entries.values()} >= {"winter", "summer"}

    state, second = await run(SAMPLE_CATALOG, output)
    assert state == "COMPLETED"
    assert (second.generated, second.skipped) == (0, first.generated)
    assert len(load_latest(LocalDirectoryStore(output)).entries) == len(images)


async def test_changing_one_template_regenerates_exactly_its_images(
    tmp_path: Path, templates_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
    catalog = sample_subset(tmp_path, 3)  # every template, 72 images: the whole sample is above
    output = tmp_path / "out"
    _, first = await run(catalog, output)
    before = load_latest(LocalDirectoryStore(output)).entries
    banner = templates_copy / "seasonal_banner.j2"
    banner.write_text(banner.read_text().replace("Wide", "Panoramic"))

    _, second = await run(catalog, output)
    after = load_latest(LocalDirectoryStore(output)).entries
    changed = {slot for slot in after if after[slot].key != before[slot].key}
    per_template = Counter(slot[3] for slot in before)
    assert {slot[3] for slot in changed} == {"seasonal_banner"}
    assert second.generated == len(changed) == per_template["seasonal_banner"]
    assert second.skipped == first.generated - second.generated


BAD_CATALOG = """sku,title,category,colours,seasons,material
GOOD-1,Parka,Outerwear,Navy|Red,winter,wool
,No SKU,Outerwear,Navy,winter,wool
GOOD-1,Duplicate,Outerwear,Navy,winter,wool
NOCOL,No colours,Outerwear,,winter,wool
../../etc,Escape,Outerwear,Navy,winter,wool
NOMAT,Missing material,Outerwear,Black,winter,
GOOD-2,Tee,Tops,White,summer,cotton
"""


async def test_bad_rows_are_reported_and_good_rows_still_made(
    tmp_path: Path, templates_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = templates_copy / "product_card.j2"
    card.write_text(
        card.read_text().replace(
            "{% if product.material is defined %}Made of {{ product.material }}.{% endif %}",
            "Made of {{ product.material }}.",
        )
    )
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
    catalog = tmp_path / "bad.csv"
    catalog.write_text(BAD_CATALOG)
    output = tmp_path / "out"
    state, summary = await run(catalog, output, templates=["product_card"])
    assert state == "COMPLETED"
    assert {p.parts[-5] for p in stored_images(output)} == {"GOOD-1", "GOOD-2"}
    assert summary.generated == 3

    report = (output / "manifests" / "runs" / summary.run_id / "rejects.csv").read_text("utf-8-sig")
    rows = {(r["row"], r["column"]): r["reason"] for r in csv.DictReader(io.StringIO(report))}
    assert rows[("3", "sku")] == "missing SKU"
    assert "duplicate SKU 'GOOD-1'" in rows[("4", "sku")]
    assert rows[("5", "colours")] == "no colours"
    assert "path traversal" in rows[("6", "sku")]
    assert "has no attribute 'material'" in rows[("7", "template")]
    assert "SKU NOMAT" in rows[("7", "template")]
    run_manifest = json.loads(
        (output / "manifests" / "runs" / f"{summary.run_id}.json").read_text()
    )
    assert len(run_manifest["rejects"]) == 5
    assert not (tmp_path / "etc").exists()


def test_cli_missing_file_exits_non_zero_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "o"), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'missing.csv'}: no such catalog file"


def test_cli_missing_column_exits_non_zero_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text("sku,title,category\nA,B,C\n")
    code = main(["run", str(catalog), "--output", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: c.csv: missing required column 'colours'")
    assert "\n" not in err
