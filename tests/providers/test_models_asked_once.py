"""``GET /models/{model}`` is asked once per run: by the command line before Prefect starts (a
wrong key is told in a second), and by the flow only when no command line asked for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_imagegen.generation.providers.answered_checks import (
    ANSWER_KEPT_SECONDS,
    record_passed_check,
    take_passed_check,
)
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.testing.fake_image_api import FakeImageApi

from .test_runs_against_fake_api import KEY, run_cli, write_catalog

BASE_URL = "https://api.example.test/v1"


def test_a_cli_run_asks_the_models_endpoint_once(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, 1)
    with FakeImageApi(api_key=KEY) as api:
        run = run_cli(tmp_path, catalog, api.base_url, "--template", "product_card")
        lookups = api.model_lookups
        images = api.requests
    assert run.code == 0, run.stdout + run.stderr
    assert lookups == ["gpt-image-2"]
    assert len(images) == 4  # the run itself went on: 1 SKU x 2 colours x 2 seasons


@pytest.mark.usefixtures("prefect_harness")
async def test_a_flow_run_started_without_the_cli_still_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog_imagegen.flows.refresh import catalog_refresh

    catalog = write_catalog(tmp_path, 1)
    with FakeImageApi(api_key=KEY) as api:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        request = RunRequest(
            catalog=str(catalog),
            output=str(tmp_path / "out"),
            templates=("product_card",),
            progress=False,
        )
        state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
        summary = await state.aresult(raise_on_failure=False)
        lookups = api.model_lookups
    assert isinstance(summary, RunSummary), state.message
    assert summary.generated == 4
    assert lookups == ["gpt-image-2"]


def test_a_recorded_answer_is_taken_once_for_its_url_and_model_while_fresh() -> None:
    record_passed_check(BASE_URL, "gpt-image-2", now=100.0)
    assert not take_passed_check(BASE_URL, "gpt-image-1", now=101.0)
    assert not take_passed_check("https://other.test/v1", "gpt-image-2", now=101.0)
    assert take_passed_check(BASE_URL, "gpt-image-2", now=101.0)
    assert not take_passed_check(BASE_URL, "gpt-image-2", now=102.0)  # the next run asks

    record_passed_check(BASE_URL, "gpt-image-2", now=100.0)
    assert not take_passed_check(BASE_URL, "gpt-image-2", now=100.0 + ANSWER_KEPT_SECONDS + 1)
