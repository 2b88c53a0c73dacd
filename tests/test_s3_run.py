"""The main job into a real S3 server (SeaweedFS on loopback), under a real Prefect engine."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from catalog_imagegen.flows.refresh import catalog_refresh
from catalog_imagegen.generation.provenance import source_type_of
from catalog_imagegen.request import RunRequest
from catalog_imagegen.storage.manifest import POINTER_KEY, load_latest
from catalog_imagegen.storage.publishing import RunSummary
from catalog_imagegen.storage.s3 import S3ObjectStore
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.conftest import SAMPLE_CATALOG

pytestmark = pytest.mark.usefixtures("prefect_harness")

HEADER = "sku,title,category,colours,seasons\n"


async def run(**params: Any) -> RunSummary:
    params.setdefault("progress", False)
    state = await catalog_refresh(RunRequest(**params), return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    assert isinstance(summary, RunSummary), state.message
    return summary


def catalog_of(tmp_path: Path, name: str, skus: list[str]) -> Path:
    path = tmp_path / name
    rows = "".join(f"{sku},Tee {sku},Tops,Navy|Red,summer\n" for sku in skus)
    path.write_text(HEADER + rows)
    return path


def stop_once_stored(
    server: SeaweedFS, bucket: str, images: int, stopped: threading.Event, run_over: threading.Event
) -> None:
    """Stop ``server`` once the run has stored ``images`` new images (a clock would race the
    run's start-up on a busy machine); 200 images at 0.1 s and 4 at a time need 5 s more."""
    client = server.client(max_attempts=1, read_timeout=5)
    while not run_over.is_set():
        listed = client.list_objects_v2(Bucket=bucket, Prefix="images/M-")
        if listed.get("KeyCount", 0) >= images:
            server.stop()
            stopped.set()
            return
        run_over.wait(0.05)


def read_json(client: Any, bucket: str, key: str) -> Any:
    return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


async def test_sample_catalog_into_a_bucket(s3_env: SeaweedFS, s3_bucket: str) -> None:
    summary = await run(
        catalog=str(SAMPLE_CATALOG),
        bucket=s3_bucket,
        prefix="shop",
    )
    assert summary.ok
    assert summary.generated == 12 * 3 * 2 * 4  # every template, colour and season
    client = s3_env.client()
    pointer = read_json(client, s3_bucket, f"shop/{POINTER_KEY}")
    manifest = read_json(client, s3_bucket, f"shop/{pointer['manifest']}")
    entries = [
        t
        for s in manifest["images"].values()
        for c in s.values()
        for e in c.values()
        for t in e.values()
    ]
    assert len(entries) == pointer["entries"] == summary.generated
    pointer_head = client.head_object(Bucket=s3_bucket, Key=f"shop/{POINTER_KEY}")
    assert pointer_head["CacheControl"] == "public, max-age=30"
    for entry in entries:
        key = f"shop/{entry['storage_key']}"
        head = client.head_object(Bucket=s3_bucket, Key=key, ChecksumMode="ENABLED")
        types = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
        assert head["ContentType"] == types[entry["format"]]
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
        assert head["ContentLength"] == entry["bytes"]
        assert head.get("ChecksumSHA256")
        meta = head["Metadata"]
        assert meta["job-key"] == entry["key"]
        assert {
            "sku",
            "colour",
            "season",
            "template",
            "template-version",
            "model",
            "prompt-sha256",
        } <= meta.keys()
        body = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
        assert source_type_of(body) == "algorithmicMedia"  # previews; real models: trained...


async def test_two_runs_over_different_skus_at_once_both_land(
    tmp_path: Path, s3_env: SeaweedFS, s3_bucket: str
) -> None:
    first = catalog_of(tmp_path, "a.csv", [f"A-{n}" for n in range(6)])
    second = catalog_of(tmp_path, "b.csv", [f"B-{n}" for n in range(6)])
    results = await asyncio.gather(
        run(catalog=str(first), bucket=s3_bucket, templates=["product_card"]),
        run(catalog=str(second), bucket=s3_bucket, templates=["product_card"]),
    )
    assert all(r.ok for r in results)
    skus = {slot[0] for slot in load_latest(S3ObjectStore(s3_bucket)).entries}
    assert skus == {f"A-{n}" for n in range(6)} | {f"B-{n}" for n in range(6)}


async def test_a_rerun_after_a_partial_run_keeps_every_entry(
    tmp_path: Path, s3_env: SeaweedFS, s3_bucket: str
) -> None:
    catalog = catalog_of(tmp_path, "c.csv", [f"C-{n}" for n in range(10)])
    partial = await run(
        catalog=str(catalog), bucket=s3_bucket, templates=["product_card"], max_images=7
    )
    assert (partial.generated, partial.not_dispatched) == (7, 13)
    first_entries = load_latest(S3ObjectStore(s3_bucket)).entries
    assert len(first_entries) == 7
    rest = await run(catalog=str(catalog), bucket=s3_bucket, templates=["product_card"])
    latest = load_latest(S3ObjectStore(s3_bucket)).entries
    assert (rest.generated, rest.skipped, len(latest)) == (13, 7, 20)
    assert all(latest[slot] == entry for slot, entry in first_entries.items())


async def test_a_flow_run_with_a_wrong_secret_stops_with_its_summary_naming_the_store(
    s3_env: SeaweedFS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduled or served run (no CLI before it) checks the store itself; the CLI's one-line
    check before Prefect starts is in tests/ops/test_cli_failures.py."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    summary = await run(catalog=str(SAMPLE_CATALOG), bucket=s3_bucket)
    assert not summary.ok and summary.stop_reason
    assert s3_bucket in summary.stop_reason and s3_env.endpoint_url in summary.stop_reason
    assert "wrong-secret-value" not in json.dumps(summary.as_dict())


async def test_s3_stopping_mid_run_fails_jobs_and_keeps_latest_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "weed"
    server = SeaweedFS(data, access_key="mid-run", secret_key="mid-run-secret-key")
    stored_enough, run_over = threading.Event(), threading.Event()
    watcher = threading.Thread(
        target=stop_once_stored, args=(server, "midrun", 10, stored_enough, run_over)
    )
    server.start()
    try:
        server.create_bucket("midrun")
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.endpoint_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("CATALOG_IMAGEGEN_PREVIEW_LATENCY", "0.1")
        small = catalog_of(tmp_path, "small.csv", ["S-1"])
        assert (await run(catalog=str(small), bucket="midrun", templates=["product_card"])).ok
        before = load_latest(S3ObjectStore("midrun")).entries

        big = catalog_of(tmp_path, "big.csv", [f"M-{n}" for n in range(100)])
        watcher.start()
        summary = await run(
            catalog=str(big), bucket="midrun", templates=["product_card"], concurrency=4
        )
    finally:
        run_over.set()
        if watcher.is_alive():
            watcher.join()
        server.stop()
    assert stored_enough.is_set()  # the server died mid-run, not before or after it
    assert summary.failed > 0
    assert all(f["reason"] for f in summary.failures)
    assert summary.stop_reason and "latest.json unchanged" in summary.stop_reason

    restarted = SeaweedFS(data, access_key="mid-run", secret_key="mid-run-secret-key")
    with restarted:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", restarted.endpoint_url)
        latest = load_latest(S3ObjectStore("midrun"))
        assert latest.entries == before


async def test_merchandiser_csv_neutralizes_formula_cells(
    tmp_path: Path, s3_env: SeaweedFS, s3_bucket: str
) -> None:
    catalog = tmp_path / "f.csv"
    catalog.write_text(HEADER + '"=HYPERLINK(""http://x"")",Tee,Tops,Navy,summer\n')
    summary = await run(catalog=str(catalog), bucket=s3_bucket, templates=["product_card"])
    assert summary.generated == 1
    body = (
        s3_env.client()
        .get_object(Bucket=s3_bucket, Key=f"manifests/runs/{summary.run_id}/images.csv")["Body"]
        .read()
        .decode("utf-8-sig")
    )
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["sku"] == '\'=HYPERLINK("http://x")'
