"""Field sizes are bounded: a pasted 10 MB cell rejects its row instead of becoming a 10 MB
prompt, manifest and review page; a rendered prompt longer than the model takes rejects its row."""

from __future__ import annotations

from pathlib import Path

from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.planning.plan import PlanOptions, plan_jobs
from catalog_imagegen.planning.prompt_limits import prompt_limit
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.settings import default_templates_dir

HEADER = "sku,title,category,colours,material\n"


def test_a_huge_cell_rejects_its_row_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    huge = "x" * 10_000_000
    path.write_text(HEADER + f"A,Tee,Tops,Navy,{huge}\nB,{huge},Tops,Navy,\nC,Tee,Tops,Navy,\n")
    read = read_catalog(path)
    assert [p.sku for p in read.products] == ["C"]
    reasons = {(r.row, r.column): r.reason for r in read.rejects}
    assert reasons == {
        (2, "material"): "10,000,000 characters (at most 32,000)",
        (3, "title"): "10,000,000 characters (at most 500)",
    }
    assert all(len(r.describe()) < 200 for r in read.rejects)  # no 10 MB message either


def test_a_prompt_longer_than_the_model_allows_rejects_the_row(tmp_path: Path) -> None:
    limit = prompt_limit("gpt-image-2")
    assert limit == 32_000
    path = tmp_path / "catalog.csv"
    long = "y" * (limit - 100)  # fits a cell, not a prompt with the template's words around it
    path.write_text(HEADER + f"A,Tee,Tops,Navy,{long}\nB,Tee,Tops,Navy,wool\n")
    folder = default_templates_dir()
    plan = plan_jobs(
        read_catalog(path).products,
        load_templates(folder),
        load_seasons(folder),
        PlanOptions(model="gpt-image-2", templates=("product_card",)),
    )
    assert {job.sku for job in plan.jobs} == {"B"}
    [reject] = plan.rejects
    assert (reject.row, reject.column, reject.sku) == (2, "prompt", "A")
    assert "template 'product_card'" in reject.reason
    assert "gpt-image-2 takes at most 32,000" in reject.reason
