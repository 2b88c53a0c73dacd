"""Estimated and actual costs from the price table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from catalog_imagegen.generation.outcomes import JobOutcome, RunControl
from catalog_imagegen.generation.providers.base import ImageSettings
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.ledger import cost_totals, job_cost
from catalog_imagegen.planning.pricing import DEFAULT_PRICE_TABLE, load_price_table
from catalog_imagegen.planning.templates import load_seasons, load_templates
from tests.plugins.catalog_runs import REPO


@pytest.fixture
def job() -> Job:
    templates = REPO / "templates"
    prepared = prepare_run(
        str(REPO / "catalog_samples" / "catalog.csv"),
        load_templates(templates),
        load_seasons(templates),
        model="gpt-image-1",
        template_names=["product_card"],
    )
    return prepared.jobs[0]


@pytest.mark.parametrize(
    ("model", "quality", "size", "price"),
    [
        ("gpt-image-1", "low", "1024x1024", 0.011),
        ("gpt-image-1", "medium", "1024x1536", 0.063),
        ("gpt-image-1", "high", "1536x1024", 0.25),
        ("gpt-image-1-mini", "medium", "1024x1024", 0.011),
        ("gpt-image-2", "high", "1024x1024", 0.211),
        ("gpt-image-2", "medium", "1024x1024", 0.053),
        ("gpt-image-2", "medium", "1536x1024", 0.041),  # its non-square images cost less
        ("gpt-image-2-2026-04-21", "medium", "1024x1024", 0.053),  # a snapshot: its family
        ("gpt-image-2", "medium", "2048x2048", 0.212),  # a free size: the square x 4 pixels
        ("gpt-image-2", "medium", "1664x2400", 0.104102),  # 1:1.44: the 2:3 price by pixels
        ("gpt-image-1.5", "medium", "1024x1024", 0.034),
        ("gpt-image-1", "auto", "1024x1024", 0.167),  # auto: the dearest it could be
        ("offline-preview", "high", "1024x1024", 0.0),
        ("gpt-image-1", "ultra", "1024x1024", None),  # not in the table
        ("someone-elses-model", "low", "1024x1024", None),
    ],
)
def test_estimate_per_image(
    job: Job, model: str, quality: str, size: str, price: float | None
) -> None:
    priced = replace(job, model=model, settings=ImageSettings(size=size, quality=quality))
    assert DEFAULT_PRICE_TABLE.estimate(priced) == price


def test_estimate_counts_every_image_asked_for(job: Job) -> None:
    three = replace(job, settings=ImageSettings(quality="low", n=3))
    assert DEFAULT_PRICE_TABLE.estimate(three) == pytest.approx(0.033)


def test_actual_cost_from_usage_tokens() -> None:
    usage = {"input_tokens": 1000, "input_image_tokens": 200, "output_tokens": 4160}
    # 800 text x $5/M + 200 image x $10/M + 4160 output x $40/M
    assert DEFAULT_PRICE_TABLE.actual("gpt-image-1", usage) == pytest.approx(0.1724)
    assert DEFAULT_PRICE_TABLE.actual("gpt-image-1", {}) is None


def test_actual_cost_reads_the_input_token_details_openai_sends() -> None:
    usage = {
        "input_tokens": 423,
        "input_tokens_details.text_tokens": 100,
        "input_tokens_details.image_tokens": 323,
        "output_tokens": 1767,
    }
    # 100 text x $5/M + 323 image x $8/M + 1767 output x $30/M
    assert DEFAULT_PRICE_TABLE.actual("gpt-image-2", usage) == pytest.approx(0.056094)


def test_a_price_file_adds_models(tmp_path: Path, job: Job) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"house": {"per_image": {"low/64x64": 0.5}}}}))
    table = load_price_table(prices)
    assert (
        table.estimate(replace(job, model="house", settings=ImageSettings("64x64", "low"))) == 0.5
    )
    assert table.estimate(replace(job, settings=ImageSettings(quality="low"))) == 0.011
    with pytest.raises(ValueError, match="price table"):
        load_price_table(tmp_path / "missing.json")


def test_ledger_costs_only_what_was_requested(job: Job) -> None:
    rows = [
        {"cost": job_cost(JobOutcome(job, "generated", attempts=1), DEFAULT_PRICE_TABLE, "m")},
        {"cost": job_cost(JobOutcome(job, "skipped"), DEFAULT_PRICE_TABLE, "m")},
        {"cost": job_cost(JobOutcome(job, "not_dispatched"), DEFAULT_PRICE_TABLE, "m")},
    ]
    assert [row["cost"]["estimated"] for row in rows] == [0.042, 0.0, 0.0]
    assert cost_totals(rows) == {"estimated": 0.042, "actual": None}


def test_max_cost_refuses_once_the_estimate_would_pass_it(job: Job) -> None:
    control = RunControl(max_cost=0.1, cost_of=DEFAULT_PRICE_TABLE.estimate)
    assert [control.claim(job) for _ in range(3)][:2] == [None, None]
    assert "--max-cost 0.1 reached" in (control.claim(job) or "")


def test_max_cost_refuses_jobs_it_cannot_price(job: Job) -> None:
    control = RunControl(max_cost=5.0, cost_of=DEFAULT_PRICE_TABLE.estimate)
    assert "no price" in (control.claim(replace(job, model="unknown")) or "")
