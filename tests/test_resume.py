"""Crash-safe resume: a run SIGKILLed halfway, then started again, pays for no image twice.

The run is a real ``catalog-imagegen run`` subprocess against the fake OpenAI-compatible image
API (real HTTP on loopback, 40 ms per image), and requests are counted from the fake's own log.
A request in flight at the moment of the kill may have been answered (and billed) without its
image being stored; no API offers idempotent image generation. The engine gives a request slot
back once its image has a place in the store queue (``max(4, concurrency)`` places), so at the
kill at most ``CONCURRENCY`` requests are in flight and that many more answered images wait to be
written: only those prompts can be requested a second time. Every image stored before the kill
is never requested again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import catalog_imagegen
from catalog_imagegen.generation.image_files import inspect_image
from catalog_imagegen.planning.jobs import IMAGES_PREFIX, key_from_storage_key
from catalog_imagegen.storage.local import LocalDirectoryStore
from catalog_imagegen.storage.manifest import load_latest
from catalog_imagegen.storage.run_history import load_run
from catalog_imagegen.testing.fake_image_api import FakeImageApi
from catalog_imagegen.testing.fake_image_api.config import OPENAI_IMAGE_MODELS
from tests.plugins.catalog_runs import write_catalog, write_tiny_templates

pytestmark = pytest.mark.slow  # two `catalog-imagegen run` processes

JOBS = 300
CONCURRENCY = 4
KEY = "sk-resume-test-key"


TINY_MODEL = "gateway-tiny-image"


@pytest.fixture
def fake_api() -> Iterator[FakeImageApi]:
    # 64x64 images keep the test fast; no OpenAI model makes them, so the fake serves a gateway's
    # own model, which the model table does not know (and lets through).
    models = (*OPENAI_IMAGE_MODELS, TINY_MODEL)
    with FakeImageApi(latency_s=0.04, api_key=KEY, record_file_bytes=False, models=models) as api:
        yield api


@pytest.fixture
def slow_provider_env(tmp_path: Path, fake_api: FakeImageApi, prefect_api: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_IMAGEGEN_")}
    env["OPENAI_API_KEY"] = KEY
    env["OPENAI_BASE_URL"] = fake_api.base_url
    env["CATALOG_IMAGEGEN_MODEL"] = TINY_MODEL
    env["CATALOG_IMAGEGEN_LOCAL_SERVER"] = "off"  # no shared server outliving the test
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    # Both runs report to the session's server, as a user's runs share one local server (a
    # temporary server inside each command costs 10 to 20 s); the kill leaves the server up.
    env["PREFECT_API_URL"] = prefect_api
    env["PYTHONPATH"] = str(Path(catalog_imagegen.__file__).resolve().parents[1])
    return env


def run_command(catalog: Path, output: Path) -> list[str]:
    return [
        sys.executable, "-m", "catalog_imagegen.cli", "run", str(catalog), "--output", str(output),
        "--concurrency", str(CONCURRENCY), "--no-progress",
    ]  # fmt: skip


def stored_images(store: LocalDirectoryStore) -> set[str]:
    return set(store.list_keys(IMAGES_PREFIX))


def kill_when_half_stored(process: subprocess.Popen[bytes], store: LocalDirectoryStore) -> None:
    deadline = time.monotonic() + 240
    while len(stored_images(store)) < JOBS // 2:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run did not get halfway in time"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the run, mid-flight
    process.wait(timeout=30)


def test_a_killed_run_resumes_without_paying_twice(
    tmp_path: Path, slow_provider_env: dict[str, str], fake_api: FakeImageApi
) -> None:
    templates = write_tiny_templates(tmp_path / "templates")
    slow_provider_env["CATALOG_IMAGEGEN_TEMPLATES_DIR"] = str(templates)
    skus = [f"SKU-{n:03d}" for n in range(JOBS // 4)]
    catalog = write_catalog(tmp_path / "catalog.csv", skus, ["Navy", "Red"], ["winter", "summer"])
    output = tmp_path / "out"
    store = LocalDirectoryStore(output)

    first = subprocess.Popen(
        run_command(catalog, output),
        env=slow_provider_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when_half_stored(first, store)

    before = stored_images(store)
    assert JOBS // 2 <= len(before) < JOBS
    for key in before:  # no half-written image is ever visible
        assert not key.rsplit("/", 1)[-1].startswith(".")
        assert inspect_image((output / key).read_bytes())[0] == "png"
    assert store.get("manifests/latest.json") is None  # the killed run published nothing
    # A kill mid-write leaves a hidden ``.name.xxxx.part`` temp file: never listed, never served.
    partial = [p.name for p in output.rglob("*.part")]
    assert all(name.startswith(".") for name in partial)

    second = subprocess.run(
        run_command(catalog, output), env=slow_provider_env, capture_output=True, timeout=300
    )
    assert second.returncode == 0, second.stderr.decode()[-2000:]

    latest = load_latest(store)
    assert len(latest.entries) == JOBS
    assert {entry.storage_key for entry in latest.entries.values()} == stored_images(store)
    ledger = load_run(store, "last").document["jobs"]
    generated = {row["key"] for row in ledger if row["status"] == "generated"}
    skipped = {row["key"] for row in ledger if row["status"] == "skipped"}
    before_keys = {key_from_storage_key(key) for key in before}
    assert skipped == before_keys  # every image stored before the kill: not requested again
    assert not generated & before_keys
    assert len(generated) + len(skipped) == JOBS  # and the rest made exactly once

    # What the API itself saw: every job's prompt, each generated once, but for the few that were
    # in flight at the kill (answered, never stored).
    counts = fake_api.prompt_counts()
    prompts = {entry.prompt for entry in latest.entries.values()}
    assert set(counts) == prompts
    twice = [prompt for prompt, n in counts.items() if n > 1]
    assert len(twice) <= CONCURRENCY + max(4, CONCURRENCY)  # in flight + answered, not yet stored
    assert all(counts[prompt] == 2 for prompt in twice)
    stored_prompts = {e.prompt for e in latest.entries.values() if e.storage_key in before}
    assert not set(twice) & stored_prompts
    figures = {
        "stored_before_kill": len(before),
        "generated_after": len(generated),
        "api_requests_ok": sum(counts.values()),
        "prompts_requested_twice": len(twice),
    }
    print(json.dumps(figures | {"partial_files_left": len(partial)}))
