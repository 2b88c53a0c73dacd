"""Promoting a draft: the template is replaced, the old one kept, the dry run counts exactly that
template's images as changed, and promoting the kept file back restores the count to zero."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from catalog_imagegen.cli.main import main
from catalog_imagegen.lab.experiment import LabSample
from catalog_imagegen.lab.runner import LabRequest, run_lab
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from tests.lab.lab_setup import production_run, write_drafts, write_lab_catalog

DRY_RUN = re.compile(r"Dry run: (\d+) jobs selected \((\d+) new, (\d+) done, (\d+) changed")


def dry_run(catalog: Path, output: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    capsys.readouterr()
    assert main(["run", str(catalog), "--dry-run", "--output", str(output)]) == 0
    match = DRY_RUN.search(capsys.readouterr().out)
    assert match, "no dry-run line"
    selected, new, done, changed = map(int, match.groups())
    return {"selected": selected, "new": new, "done": done, "changed": changed}


def promote(draft: Path, catalog: Path, output: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    code = main(["lab", "promote", str(draft), "--as", "product_card",
                 "--catalog", str(catalog), "--output", str(output)])  # fmt: skip
    assert code == 0
    return capsys.readouterr().out


def test_promote_replaces_the_template_keeps_history_and_restoring_it_changes_nothing(
    tmp_path: Path,
    templates_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
    catalog, output = write_lab_catalog(tmp_path), tmp_path / "output"
    template = templates_copy / "product_card.j2"
    original = template.read_bytes()
    outcomes = production_run(catalog, templates_copy, output, "20261101T000000Z-aaaaaa")
    cards = sum(o.job.template == "product_card" for o in outcomes)
    assert cards == 3 and len(outcomes) > cards  # other templates' images are there too
    assert dry_run(catalog, output, capsys) == {
        "selected": len(outcomes), "new": 0, "done": len(outcomes), "changed": 0
    }  # fmt: skip

    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    settings = Settings(output=str(output), templates_dir=templates_copy, progress=False)
    lab = run_lab(
        LabRequest(str(catalog), (drafts.warm, drafts.tight), sample=LabSample()), settings
    )
    assert main(["lab", "choose", lab.lab_id, "product_card.warm", "--note", "warmer light",
                 "--by", "alice", "--output", str(output)]) == 0  # fmt: skip

    printed = promote(drafts.warm, catalog, output, capsys)
    assert template.read_bytes() == drafts.warm.read_bytes()
    (kept,) = (templates_copy / ".history" / "product_card").glob("*.j2")
    assert kept.read_bytes() == original
    assert f"kept as {kept}" in printed
    assert "-> product-card-warm (" in printed
    assert "chosen by alice" in printed and "warmer light" in printed
    assert "Dry run: " in printed and "would generate 3," in printed
    assert dry_run(catalog, output, capsys) == {
        "selected": len(outcomes), "new": 0, "done": len(outcomes) - cards, "changed": cards
    }  # fmt: skip

    printed = promote(kept, catalog, output, capsys)  # restore
    assert template.read_bytes() == original
    assert (templates_copy / ".history" / "product_card" / "product-card-warm.j2").is_file()
    assert "no reviewer chose this version" in printed
    assert dry_run(catalog, output, capsys)["changed"] == 0
    assert dry_run(catalog, output, capsys)["done"] == len(outcomes)


def test_a_label_goes_into_the_manifest_the_review_page_and_status(
    tmp_path: Path,
    templates_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CATALOG_IMAGEGEN_TEMPLATES_DIR", str(templates_copy))
    catalog, output = write_lab_catalog(tmp_path), tmp_path / "output"
    drafts = write_drafts(tmp_path / "drafts", templates_copy)
    promote(drafts.warm, catalog, output, capsys)
    production_run(catalog, templates_copy, output, "20261102T000000Z-bbbbbb")

    entries = load_latest(LocalDirectoryStore(output)).entries.values()
    labels = {e.template: e.template_label for e in entries}
    assert labels["product_card"] == "product-card-warm"
    assert labels["seasonal_banner"] == ""  # unlabelled templates carry no label
    pointer = json.loads((output / "manifests" / "latest.json").read_text())
    document = json.loads((output / pointer["manifest"]).read_text())
    card = document["images"]["JKT-001"]["navy"]["evergreen"]["product_card"]
    assert card["template_label"] == "product-card-warm"
    assert "template_label" not in document["images"]["JKT-001"]["navy"]["evergreen"][
        "seasonal_banner"]  # fmt: skip
    review = output / "manifests" / "runs" / "20261102T000000Z-bbbbbb" / "review.html"
    assert "template product-card-warm (" in review.read_text()

    capsys.readouterr()
    assert main(["status", "--output", str(output)]) == 0
    assert "product_card: product-card-warm (" in capsys.readouterr().out
