"""How long a rerun of a completed 10,000-job catalog takes, and proof it requests nothing.

    PYTHONPATH=flows python benchmarks/rerun.py [--skus 2500] [--workdir DIR]

Builds a synthetic catalog (SKUs x 2 colours x 2 seasons x 1 tiny 64x64 template), runs it once
with ``catalog-imagegen run`` (offline previews), then times three reruns:

- ``rerun, in process``: the plain steps a run takes (read + plan, one listing of images/, skip,
  publish) with a provider that counts requests, so Prefect's start-up is not in the figure;
- ``rerun --dry-run``: the CLI's dry run (no Prefect, no provider);
- ``rerun, CLI``: ``catalog-imagegen run`` in a fresh process, Prefect ephemeral server included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1] / "flows"
sys.path.insert(0, str(FLOWS))
sys.path.insert(0, str(FLOWS.parent))

from tests.plugins.catalog_runs import write_catalog, write_tiny_templates

from catalog_imagegen import pipeline
from catalog_imagegen.definitions import Resources
from catalog_imagegen.generation.progress import SilentProgress
from catalog_imagegen.generation.providers.base import ImageRequest, ProviderResult
from catalog_imagegen.generation.providers.offline import OfflinePreviewProvider
from catalog_imagegen.request import RunRequest
from catalog_imagegen.settings import Settings
from catalog_imagegen.storage.local import LocalDirectoryStore


class CountingProvider(OfflinePreviewProvider):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def create_images(self, request: ImageRequest) -> ProviderResult:
        self.requests += 1
        return await super().create_images(request)


def cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


NOOP_FLOW = "from prefect import flow\nflow(name='noop')(lambda: None)()\n"


def prefect_startup(env: dict[str, str]) -> float:
    """A fresh process running a no-op flow: the start-up every CLI run pays."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", NOOP_FLOW], env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def rerun_in_process(catalog: Path, templates: Path, output: Path) -> dict[str, float]:
    """The pipeline's own steps, timed one by one, with a provider that counts requests."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    request = RunRequest(catalog=str(catalog), output=str(output), progress=False)
    settings = request.settings_for(Settings(templates_dir=templates))
    provider = CountingProvider()
    resources = Resources(provider, LocalDirectoryStore(output), SilentProgress())
    prepared = pipeline.prepare(request, settings, resources.store)
    timings["read_and_plan_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    sliced = pipeline.select(prepared, request, resources.store, "bench")
    timings["find_done_s"] = time.perf_counter() - mark
    maker = pipeline.image_maker(resources, settings, request, "bench", prepared.templates)
    made, _ = asyncio.run(pipeline.make(sliced.todo, maker, chunk_size=500))
    maker.close()
    mark = time.perf_counter()
    summary = pipeline.new_summary(request, resources, f"bench-{time.time_ns()}")
    pipeline.publish(resources, summary, sliced.skipped + made, prepared, started_at="")
    timings["publish_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    timings["jobs"] = len(prepared.jobs)
    timings["skipped"] = len(sliced.skipped)
    timings["provider_requests"] = provider.requests
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2500, help="jobs = 4 x SKUs (default 10,000)")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rerun-bench-"))
    templates = write_tiny_templates(work / "templates")
    skus = [f"SKU-{n:05d}" for n in range(args.skus)]
    catalog = write_catalog(work / "catalog.csv", skus, ["Navy", "Red"], ["winter", "summer"])
    output = work / "out"
    env = os.environ | {
        "PYTHONPATH": str(FLOWS),
        "PREFECT_HOME": str(work / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "CATALOG_IMAGEGEN_TEMPLATES_DIR": str(templates),
    }
    env.pop("OPENAI_API_KEY", None)
    run = ["run", str(catalog), "--output", str(output), "--no-progress"]
    first_s, first_out = cli(run, env)
    dry_s, dry_out = cli([*run, "--dry-run"], env)
    rerun_s, rerun_out = cli(run, env)
    in_process = rerun_in_process(catalog, templates, output)
    noop_s = prefect_startup(env)
    results = {
        "jobs": len(skus) * 4,
        "first_run_cli_s": round(first_s, 2),
        "first_run_summary": first_out.strip().splitlines()[0],
        "rerun_dry_run_cli_s": round(dry_s, 2),
        "rerun_dry_run": dry_out.strip().splitlines()[:2],
        "rerun_cli_s_with_prefect_startup": round(rerun_s, 2),
        "noop_flow_fresh_process_s": round(noop_s, 2),
        "rerun_cli_s_minus_noop_flow": round(rerun_s - noop_s, 2),
        "rerun_cli_summary": rerun_out.strip().splitlines()[0],
        "rerun_in_process": {k: round(v, 3) for k, v in in_process.items()},
    }
    print(json.dumps(results, indent=2))
    if in_process["provider_requests"] or " 0 generated" not in rerun_out:
        raise SystemExit("a rerun requested images: it must request none")


if __name__ == "__main__":
    main()
