"""What the lab tests share: a small catalog, drafts of ``product_card``, a production run made
without Prefect (the pipeline's own steps), and the command run in a subprocess."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from catalog_imagegen.catalog.sources import SourceLoader
from catalog_imagegen.generation.maker import ImageMaker
from catalog_imagegen.generation.outcomes import JobOutcome, RunControl, now_iso
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.publishing import RunSummary, finish_run
from catalog_imagegen.storage.resume import split_done

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = [
    ("JKT-001", "Alpine Down Jacket", "Outerwear", "Navy=#1f2a44"),
    ("TEE-001", "Everyday Crew Tee", "T-Shirts", "Red=#b22222"),
    ("BAG-001", "Canvas Tote", "Bags", "Olive=#6b7a3a"),
]
CURRENT_WORDS = "Professional e-commerce product photograph"
WARM_WORDS = "Warm lifestyle photograph"


def write_lab_catalog(folder: Path, products: list[tuple[str, str, str, str]] = PRODUCTS) -> Path:
    """Three products of three categories, one colour each, in the evergreen season."""
    path = folder / "catalog.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours", "material"])
        for sku, title, category, colour in products:
            writer.writerow([sku, title, category, colour, "cotton"])
    return path


@dataclass(frozen=True)
class Drafts:
    warm: Path  # labelled "product-card-warm": different opening words
    tight: Path  # unlabelled: "fills the whole frame"


def write_drafts(folder: Path, templates: Path) -> Drafts:
    current = (templates / "product_card.j2").read_text()
    warm = current.replace(CURRENT_WORDS, WARM_WORDS).replace(
        "description =", 'label = "product-card-warm"\ndescription =', 1
    )
    tight = current.replace("fills most of the frame", "fills the whole frame")
    assert warm != current and tight != current
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "product_card.warm.j2").write_text(warm)
    (folder / "product_card.tight.j2").write_text(tight)
    return Drafts(folder / "product_card.warm.j2", folder / "product_card.tight.j2")


def production_run(catalog: Path, templates: Path, output: Path, run_id: str) -> list[JobOutcome]:
    """A whole production run with offline previews: plan, skip the stored, make, publish."""
    return asyncio.run(_production_run(catalog, templates, LocalDirectoryStore(output), run_id))


async def _production_run(
    catalog: Path, templates: Path, store: LocalDirectoryStore, run_id: str
) -> list[JobOutcome]:
    prepared = prepare_run(
        str(catalog), load_templates(templates), load_seasons(templates), model="gpt-image-2"
    )
    split = split_done(prepared.jobs, store, load_latest(store))
    maker = ImageMaker(
        OfflinePreviewProvider(),
        store,
        SourceLoader(catalog.parent),
        run_id=run_id,
        concurrency=4,
        control=RunControl(),
    )
    made = await maker.make(split.todo)
    maker.close()
    skipped = [JobOutcome(j, "skipped", entry=split.known.get(j.key)) for j in split.done]
    summary = RunSummary(run_id=run_id, catalog=str(catalog), output="", preview=True)
    outcomes = skipped + made
    finish_run(
        store,
        summary,
        outcomes,
        prepared.rejects,
        started_at=now_iso(),
        provider="offline",
        model="gpt-image-2",
    )
    return outcomes


@dataclass
class Command:
    code: int
    stdout: str
    stderr: str


def run_command(folder: Path, templates: Path, *args: str, **env: str) -> Command:
    """``catalog-imagegen ARGS`` in a subprocess with a clean environment, in ``folder``."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PREFECT_HOME": str(folder / "prefect"),
        "PYTHONPATH": str(REPO / "flows"),
        "CATALOG_IMAGEGEN_TEMPLATES_DIR": str(templates),
        "CATALOG_IMAGEGEN_LOCAL_SERVER": "off",  # no shared server outliving the test
        "USER": "tester",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Command(done.returncode, done.stdout, done.stderr)


def medium_square_price(model: str = "gpt-image-2") -> float:
    """What the shipped model table charges for one medium 1024x1024 image of ``model``."""
    from catalog_imagegen.planning.pricing import load_price_table

    prices = load_price_table(None).prices_for(model)
    assert prices is not None
    return prices.per_image["medium/1024x1024"]
