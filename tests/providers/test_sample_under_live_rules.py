"""The sample catalog with the default model (gpt-image-2) against the fake API enforcing the live
rules: every image made, edits included; no request carries a parameter its model refuses;
identical requests go out once; the dry run's estimate matches the actual cost; and a run whose
model table is wrong stops sending what the provider refused."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from catalog_imagegen.testing.fake_image_api import FakeImageApi

from .test_runs_against_fake_api import KEY, REPO, SAMPLE_CATALOG, run_cli


def dry_run(folder: Path) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder / "home"),
        "PYTHONPATH": str(REPO / "flows"),
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called by a dry run
    }
    command = [sys.executable, "-m", "catalog_imagegen.cli", "run", str(SAMPLE_CATALOG)]
    done = subprocess.run(
        [*command, "--output", str(folder / "output"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return done.stdout


def test_the_sample_is_made_whole_once_per_distinct_request_at_the_estimated_cost(
    tmp_path: Path, prefect_api: str
) -> None:
    forecast = dry_run(tmp_path)
    assert "would generate 288" in forecast
    assert "requests: 252 (36 images copied from an identical request)" in forecast
    assert "gpt-image-2 medium/1024x1024 $0.053" in forecast  # the table's prices, shown
    estimate = float(re.search(r"estimated cost \$([\d.]+)", forecast).group(1))  # type: ignore[union-attr]

    with FakeImageApi(api_key=KEY) as api:
        run = run_cli(tmp_path, SAMPLE_CATALOG, api.base_url, prefect_api=prefect_api)
        requests = api.requests
        manifest = run.run_manifest
        again = run_cli(tmp_path, SAMPLE_CATALOG, api.base_url, prefect_api=prefect_api)
        rerun_requests = len(api.requests) - len(requests)

    assert run.code == 0, run.stdout + run.stderr
    jobs = manifest["jobs"]
    assert Counter(job["status"] for job in jobs) == {"generated": 288}
    assert {r.status for r in requests} == {200}
    edits = [r for r in requests if r.path.endswith("/images/edits")]
    assert edits and all("input_fidelity" not in r.fields for r in edits)
    # colour_edit does not name the season: one request per product x colour, not per season.
    colour_edits = [job for job in jobs if job["template"] == "colour_edit"]
    assert len(edits) == len({(job["sku"], job["colour"]) for job in colour_edits}) == 36
    assert len(colour_edits) == 72
    assert len(requests) == 252
    shared = [job for job in jobs if job.get("shared_from")]
    assert len(shared) == 36 and all(job["cost"]["estimated"] == 0.0 for job in shared)
    latest = tmp_path / "output" / "manifests" / "latest.json"
    assert latest.exists()
    # Every slot has its own stored image, and shared slots hold the same bytes.
    images = list((tmp_path / "output" / "images").rglob("*.png"))
    assert len([p for p in images if "/colour_edit/" in str(p)]) == 72

    summary = manifest["summary"]
    assert round(summary["estimated_cost"], 2) == estimate
    assert abs(summary["actual_cost"] - estimate) <= 0.10 * estimate
    print(f"dry-run estimate ${estimate:.2f}, actual ${summary['actual_cost']:.2f}")

    assert again.code == 0 and rerun_requests == 0


def test_a_refused_parameter_stops_that_templates_same_settings_jobs(
    tmp_path: Path, prefect_api: str
) -> None:
    stale = tmp_path / "models.toml"  # a table that has not learnt gpt-image-2's refusal yet
    stale.write_text('[models."gpt-image-2"]\nrefuses = []\n')
    env = {"CATALOG_IMAGEGEN_MODELS_FILE": str(stale)}
    with FakeImageApi(api_key=KEY) as api:
        run = run_cli(
            tmp_path,
            SAMPLE_CATALOG,
            api.base_url,
            "--season",
            "winter",
            "--concurrency",
            "1",
            extra_env=env,
            prefect_api=prefect_api,
        )
        requests = api.requests
    assert run.code == 1
    jobs = run.run_manifest["jobs"]
    edits = [job for job in jobs if job["template"] == "colour_edit"]
    failed = [job for job in edits if job["status"] == "failed"]
    not_sent = [job for job in edits if job["status"] == "not_dispatched"]
    assert len(failed) == 1 and len(not_sent) == len(edits) - 1
    message = "The model 'gpt-image-2' does not support the 'input_fidelity' parameter."
    assert all(message in job["reason"] and "not dispatched" in job["reason"] for job in not_sent)
    assert [r.status for r in requests if r.path.endswith("/edits")] == [400]
    others = [job for job in jobs if job["template"] != "colour_edit"]
    assert others and {job["status"] for job in others} == {"generated"}
