"""A sharded run on a real ``prefect server`` with two process workers, against the fake image API.

``catalog-imagegen run CATALOG --shards 2 --pool P`` registers the shard deployment, starts one
deployment run per shard, and each of two ``prefect worker start --pool P --type process`` picks
one up. Each worker has the API key and base URL in its own environment (never in parameters).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog_imagegen.catalog.reading import read_catalog
from catalog_imagegen.planning.plan import shard_of
from catalog_imagegen.testing.fake_image_api import FakeImageApi, RecordedRequest
from tests.plugins.ops import REPO, prefect_cli, stop_process
from tests.providers.test_runs_against_fake_api import write_catalog

KEY = "sk-test-SHARDED-RUN-0123456789"
POOL = "catalog-test-pool"
CONCURRENCY, RPM, LATENCY_S = 4, 120, 1.5
SKUS = 12  # x 2 colours x 2 seasons x product_card = 48 images


@pytest.fixture
def fake_api() -> Iterator[FakeImageApi]:
    # The fake enforces the whole account's limit: any excess would be answered 429.
    with FakeImageApi(latency_s=LATENCY_S, rpm_limit=RPM, record_file_bytes=False) as api:
        yield api


@pytest.fixture
def workers(
    prefect_server: dict[str, str], fake_api: FakeImageApi, tmp_path: Path
) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """Two process workers on the pool, each taking one flow run at a time."""
    env = worker_env(prefect_server, fake_api.base_url, tmp_path)
    subprocess.run(
        [*prefect_cli(), "work-pool", "create", POOL, "--type", "process", "--overwrite"],
        env=env | {"PREFECT_HOME": str(tmp_path / "prefect-cli")},
        check=True,
        capture_output=True,
        timeout=60,
    )
    logs = [tmp_path / f"worker-{number}.log" for number in (1, 2)]
    processes = []
    try:
        for number, log in enumerate(logs, start=1):
            command = [*prefect_cli(), "worker", "start", "--pool", POOL, "--type", "process"]
            command += ["--limit", "1", "--name", f"worker-{number}"]
            with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
                processes.append(
                    subprocess.Popen(
                        command,
                        env=env | {"PREFECT_HOME": str(tmp_path / f"prefect-worker-{number}")},
                        cwd=tmp_path,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield env, logs
    finally:
        for process in processes:
            stop_process(process)


def worker_env(server: dict[str, str], base_url: str, folder: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder / "home"),
        "PYTHONPATH": str(REPO / "flows") + os.pathsep + str(REPO),
        "PREFECT_API_URL": server["PREFECT_API_URL"],
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": base_url,
    }


def most_in_window(requests: list[RecordedRequest], seconds: float) -> int:
    starts = sorted(r.started_at for r in requests if r.admitted)
    return max(sum(1 for s in starts if start <= s < start + seconds) for start in starts)


@pytest.mark.slow
def test_two_workers_run_the_shards_within_the_accounts_limits_into_one_manifest(
    workers: tuple[dict[str, str], list[Path]], fake_api: FakeImageApi, tmp_path: Path
) -> None:
    env, logs = workers
    catalog = write_catalog(tmp_path, SKUS)
    skus = [p.sku for p in read_catalog(str(catalog)).products]
    assert {shard_of(sku, 2) for sku in skus} == {0, 1}  # both shards have work
    shared = tmp_path / "shared-output"  # one folder every worker reaches
    command = [sys.executable, "-m", "catalog_imagegen.cli", "run", str(catalog)]
    command += ["--shards", "2", "--pool", POOL, "--output", str(shared)]
    command += ["--template", "product_card", "--concurrency", str(CONCURRENCY)]
    command += ["--rpm", str(RPM)]
    started = time.monotonic()
    done = subprocess.run(
        command,
        env=env | {"PREFECT_HOME": str(tmp_path / "prefect-cli"), "OPENAI_API_KEY": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, (
        done.stdout + done.stderr + "".join(log.read_text() for log in logs)
    )
    assert "2 shards: 48 images planned, 48 generated, 0 skipped" in done.stdout

    counts = fake_api.prompt_counts()
    assert len(counts) == 48 and set(counts.values()) == {1}  # every job done, exactly once
    pointer = json.loads((shared / "manifests" / "latest.json").read_text())
    images = json.loads((shared / pointer["manifest"]).read_text())["images"]
    assert pointer["entries"] == 48
    assert sorted(images) == sorted(skus)
    assert len(list((shared / "manifests" / "runs").glob("*.json"))) == 2  # one per shard

    stats = fake_api.stats()
    assert stats.max_in_flight <= CONCURRENCY
    assert stats.max_images_in_any_60s_window <= RPM and stats.rate_limited == 0
    # 120/min is 20 per 10 s for the whole account; each shard may run one second ahead of its
    # even pace. Both shards at the full rate would send about 40.
    assert most_in_window(fake_api.requests, 10.0) <= 20 + 2
    for log in logs:  # each worker (one flow run at a time) ran one of the shards
        assert "submitted to infrastructure" in log.read_text(), log.read_text()
    print(f"sharded run took {time.monotonic() - started:.1f} s")
