"""The check before any paid request: the plan against the model table (pure), and whole
``catalog-imagegen run`` commands that must stop before the fake API sees an image request."""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from catalog_imagegen.generation.preflight import RunRefused, check_before_spending, check_plan
from catalog_imagegen.generation.providers.base import ImageSettings
from catalog_imagegen.generation.providers.model_rules import load_model_table
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.pipeline import prepare_run
from catalog_imagegen.planning.jobs import Job
from catalog_imagegen.planning.templates import load_seasons, load_templates
from catalog_imagegen.testing.fake_image_api import FakeImageApi

from .test_runs_against_fake_api import KEY, REPO, SAMPLE_CATALOG, run_cli

TABLE = load_model_table()
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def sample_jobs() -> list[Job]:
    templates = REPO / "templates"
    prepared = prepare_run(
        str(SAMPLE_CATALOG), load_templates(templates), load_seasons(templates), model="gpt-image-2"
    )
    return prepared.jobs


def test_the_sample_plan_passes_with_one_notice_for_its_edits(sample_jobs: list[Job]) -> None:
    check = check_plan(sample_jobs, TABLE, TODAY)
    assert check.problems == []
    assert check.notices == [
        "gpt-image-2 always edits at high input fidelity, so input_fidelity is not sent"
    ]


@pytest.mark.parametrize(
    ("model", "size", "problem"),
    [
        (
            "gpt-image-2",
            "1000x1000",
            "template 'product_card': size 1000x1000 cannot be made by gpt-image-2: "
            "gpt-image-2: both sides must be multiples of 16",
        ),
        (
            "gpt-image-1.5",
            "2048x2048",
            "template 'product_card': size 2048x2048 cannot be made by gpt-image-1.5: "
            "gpt-image-1.5 takes only 1024x1024, 1536x1024, 1024x1536, auto",
        ),
        ("gpt-image-2", "2048x2048", None),
        ("gpt-image-2", "1664x2400", None),
    ],
)
def test_a_size_the_model_cannot_make_is_named_with_template_model_and_rule(
    sample_jobs: list[Job], model: str, size: str, problem: str | None
) -> None:
    jobs = [
        replace(job, model=model, settings=replace(job.settings, size=size))
        for job in sample_jobs
        if job.template == "product_card"
    ]
    check = check_plan(jobs, TABLE, TODAY)
    assert check.problems == ([problem] if problem else [])  # once, not once per job


def test_a_shut_down_model_stops_and_one_shutting_down_soon_is_a_notice(
    sample_jobs: list[Job],
) -> None:
    cards = [job for job in sample_jobs if job.template == "product_card"][:3]
    gone = check_plan([replace(job, model="gpt-image-1") for job in cards], TABLE, TODAY)
    assert gone.problems == [
        "the model gpt-image-1 was shut down on 2026-10-23 (model table); use gpt-image-2"
    ]
    soon = check_plan([replace(job, model="gpt-image-1.5") for job in cards], TABLE, TODAY)
    assert soon.problems == []
    assert soon.notices == ["the model gpt-image-1.5 shuts down on 2026-12-01"]


def test_an_unknown_model_gets_one_warning_and_no_refusal(sample_jobs: list[Job]) -> None:
    jobs = [
        replace(job, model="house-flux", settings=ImageSettings(size="1000x700"))
        for job in sample_jobs
    ]
    check = check_plan(jobs, TABLE, TODAY)
    assert check.problems == []
    assert len(check.notices) == 1 and "does not know 'house-flux'" in check.notices[0]


async def test_an_offline_preview_warns_instead_of_stopping(sample_jobs: list[Job]) -> None:
    jobs = [replace(job, settings=replace(job.settings, size="1000x1000")) for job in sample_jobs]
    notices = await check_before_spending(jobs, OfflinePreviewProvider(), TABLE, today=TODAY)
    assert any(n.startswith("the real run would stop: template ") for n in notices)


def write_templates(folder: Path, size: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "seasons.toml").write_text((REPO / "templates" / "seasons.toml").read_text())
    (folder / "shopify_square.j2").write_text(
        f'{{#-\nsize = "{size}"\nquality = "low"\noutput_format = "png"\n-#}}\n'
        "A {{ colour }} {{ title }} on white.\n"
    )
    return folder


def write_small_catalog(folder: Path) -> Path:
    path = folder / "catalog.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "category", "colours"])
        writer.writerow(["BAG-1", "Tote", "Bags", "Red|Navy"])
    return path


@pytest.mark.parametrize(
    ("model", "size", "rule"),
    [
        ("gpt-image-2", "1000x1000", "both sides must be multiples of 16"),
        ("gpt-image-1.5", "2048x2048", "takes only 1024x1024, 1536x1024, 1024x1536, auto"),
    ],
)
def test_a_run_with_a_size_the_model_cannot_make_exits_2_before_any_request(
    tmp_path: Path, prefect_api: str, model: str, size: str, rule: str
) -> None:
    templates = write_templates(tmp_path / "templates", size)
    env = {"CATALOG_IMAGEGEN_TEMPLATES_DIR": str(templates)}
    with FakeImageApi(api_key=KEY) as api:
        catalog = write_small_catalog(tmp_path)
        run = run_cli(
            tmp_path,
            catalog,
            api.base_url,
            "--model",
            model,
            extra_env=env,
            prefect_api=prefect_api,
        )
        requests = api.requests
    assert run.code == 2, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert f"template 'shopify_square': size {size} cannot be made by {model}" in errors[0]
    assert rule in errors[0]
    assert requests == []


def test_a_free_size_for_gpt_image_2_is_made(tmp_path: Path, prefect_api: str) -> None:
    templates = write_templates(tmp_path / "templates", "2048x2048")
    env = {"CATALOG_IMAGEGEN_TEMPLATES_DIR": str(templates)}
    with FakeImageApi(api_key=KEY) as api:
        catalog = write_small_catalog(tmp_path)
        run = run_cli(tmp_path, catalog, api.base_url, extra_env=env, prefect_api=prefect_api)
        requests = api.requests
    assert run.code == 0, run.stdout + run.stderr
    assert [r.fields["size"] for r in requests] == ["2048x2048", "2048x2048"]
    assert {(j["status"], j["cost"]["estimated"]) for j in run.run_manifest["jobs"]} == {
        ("generated", 0.024)  # low 1024x1024 at $0.006, x 4 pixels
    }


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("not-a-url", "the image API base URL 'not-a-url' is not an http(s):// URL"),
        ("http://127.0.0.1:9/v1", "the image API at http://127.0.0.1:9/v1 cannot be reached"),
    ],
)
def test_a_bad_or_unreachable_base_url_stops_with_one_line_naming_it(
    tmp_path: Path, base_url: str, words: str
) -> None:
    started = time.monotonic()
    run = run_cli(tmp_path, SAMPLE_CATALOG, base_url)
    print(f"{base_url}: stopped after {time.monotonic() - started:.1f} s")  # for the record
    assert run.code in (2, 3)
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"error: {words}")
    assert not (tmp_path / "output").exists()


def test_a_model_the_provider_does_not_serve_stops_with_one_line(tmp_path: Path) -> None:
    with FakeImageApi(api_key=KEY) as api:
        run = run_cli(tmp_path, SAMPLE_CATALOG, api.base_url, "--model", "gpt-image-9")
        requests = api.requests
    assert run.code == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith(f"error: {api.base_url} does not serve the model 'gpt-image-9'")
    assert requests == []


def test_refusing_the_plan_raises_before_the_provider_is_asked(sample_jobs: list[Job]) -> None:
    class Unreachable(OfflinePreviewProvider):
        is_preview = False

        async def check_access(self) -> None:
            raise AssertionError("the live check must not run for a plan the model cannot do")

    jobs = [replace(job, settings=replace(job.settings, size="1000x1000")) for job in sample_jobs]
    provider = Unreachable()
    provider.model = "gpt-image-2"
    with pytest.raises(RunRefused, match=r"size 1000x1000 .* \(and \d+ more\)"):
        asyncio.run(check_before_spending(jobs, provider, TABLE, today=TODAY))


async def test_the_model_the_provider_sends_is_the_one_checked(sample_jobs: list[Job]) -> None:
    class GatewayProvider(OfflinePreviewProvider):
        is_preview = False

    provider = GatewayProvider()
    provider.model = "house-flux"  # the planned jobs say gpt-image-2; the provider sends this
    jobs = [replace(job, settings=replace(job.settings, size="1000x1000")) for job in sample_jobs]
    notices = await check_before_spending(jobs, provider, TABLE, today=TODAY)
    assert len(notices) == 1 and "does not know 'house-flux'" in notices[0]
