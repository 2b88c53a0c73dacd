"""Throughput benchmark: is the provider's limit the only bottleneck?

    .venv/bin/python benchmarks/throughput.py [--images 4000] [--quick]

Starts the fake OpenAI-compatible image API in its own process (fixed latency, optional RPM
limit), then in one run compares:

- the pipeline end to end (plan, generate, store, manifest: the real ``catalog_refresh`` flow)
  into a local folder and into SeaweedFS;
- a plain baseline an engineer would write instead: asyncio + httpx + a semaphore, writing files;
- the ideal: images / min(concurrency / latency, rpm / 60).

Prints throughput, efficiency (ideal time / actual time), ratio to the baseline, CPU seconds per
image spent in this process (the fake server runs elsewhere; Prefect's temporary API server is a
subprocess too), peak RSS and 429s. Speed is measured here, never in timed tests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from catalog_imagegen.testing.fake_image_api import FakeImageApiProcess

BENCH_KEY = "bench-key-not-secret"
COLOURS = ["Navy", "Black", "Red", "Olive", "Sand", "Charcoal", "White", "Burgundy"]


@dataclass
class Result:
    name: str
    images: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    count_429: int
    requests: int
    ideal_seconds: float

    @property
    def throughput(self) -> float:
        return self.images / self.seconds

    @property
    def efficiency(self) -> float:
        return self.ideal_seconds / self.seconds


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def synthetic_catalog(folder: Path, images: int, tag: str) -> Path:
    """A generic catalog of ``images`` jobs for the product_card template (4 colours a SKU)."""
    path = folder / f"catalog-{tag}.csv"
    lines = ["sku,title,category,colours,seasons"]
    per_sku = 4
    for n in range((images + per_sku - 1) // per_sku):
        left = min(per_sku, images - n * per_sku)
        lines.append(f"{tag}-{n:06d},Parka {n},Outerwear,{'|'.join(COLOURS[:left])},winter")
    path.write_text("\n".join(lines) + "\n")
    return path


def ideal_seconds(images: int, concurrency: int, latency: float, rpm: int | None) -> float:
    rate = concurrency / latency
    if rpm:
        rate = min(rate, rpm / 60)
    return images / rate


async def run_pipeline(
    catalog: Path, output: str, concurrency: int, rpm: int | None, **extra: Any
) -> Any:
    from catalog_imagegen.flows.refresh import catalog_refresh
    from catalog_imagegen.request import RunRequest

    request = RunRequest(
        catalog=str(catalog),
        output=output,
        templates=("product_card",),
        concurrency=concurrency,
        rpm=rpm,
        progress=False,
        **extra,
    )
    state = await catalog_refresh(request, return_state=True)  # type: ignore[arg-type]
    summary = await state.aresult(raise_on_failure=False)
    if not getattr(summary, "ok", False):
        raise SystemExit(f"pipeline run failed: {state.message}")
    return summary


async def run_baseline(base_url: str, images: int, concurrency: int, folder: Path) -> None:
    """What an engineer would write in an afternoon: a semaphore, httpx, files on disk."""
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=300, limits=limits, headers=headers
    ) as client:

        async def one(n: int) -> None:
            async with semaphore:
                response = await client.post(
                    "/images/generations",
                    json={
                        "model": "gpt-image-2",
                        "prompt": f"baseline photo {n} in navy",
                        "size": "1024x1024",
                        "quality": "medium",
                        "n": 1,
                    },
                )
                data = base64.b64decode(response.json()["data"][0]["b64_json"])
            (folder / f"{n}.png").write_bytes(data)

        await asyncio.gather(*(one(n) for n in range(images)))


def measured(
    name: str,
    images: int,
    ideal: float,
    api: FakeImageApiProcess,
    work: Callable[[], Coroutine[Any, Any, Any]],
) -> Result:
    api.reset()
    cpu_before, started = cpu_seconds(), time.perf_counter()
    asyncio.run(work())  # the baseline's folder is made by the caller, not inside the timing
    seconds = time.perf_counter() - started
    stats = api.stats()
    return Result(
        name,
        images,
        seconds,
        cpu_seconds() - cpu_before,
        rss_mb(),
        stats.count_429,
        stats.requests,
        ideal,
    )


def warm_up_prefect(folder: Path) -> None:
    """Start Prefect's temporary API server before timing: it is a once-per-process cost."""
    from prefect import flow

    @flow
    def warm_up() -> None:
        return None

    started = time.perf_counter()
    warm_up()
    print(f"(Prefect temporary server start, excluded: {time.perf_counter() - started:.1f} s)")


def print_results(results: list[Result], baseline: Result | None) -> None:
    print(
        f"\n{'scenario':<34}{'images':>7}{'secs':>8}{'img/s':>8}{'effic.':>8}{'vs base':>8}"
        f"{'cpu ms/img':>11}{'peakRSS MB':>11}{'429s':>6}"
    )
    for r in results:
        ratio = f"{r.throughput / baseline.throughput:.3f}" if baseline else "-"
        print(
            f"{r.name:<34}{r.images:>7}{r.seconds:>8.1f}{r.throughput:>8.1f}"
            f"{r.efficiency:>8.3f}{ratio:>8}{1000 * r.cpu_seconds / r.images:>11.2f}"
            f"{r.peak_rss_mb:>11.0f}{r.count_429:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--rpm-images", type=int, default=600)
    parser.add_argument("--big-images", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--colour-qa",
        action="store_true",
        help="keep colour QA on (it decodes every image: ~10 ms CPU each, see the README)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="skip a scenario: local, s3, baseline, rpm, memory",
    )
    args = parser.parse_args()
    if args.quick:
        args.images, args.rpm_images, args.big_images = 400, 120, 300
    work = Path(tempfile.mkdtemp(prefix="catalog-imagegen-bench-"))
    os.environ["CATALOG_IMAGEGEN_COLOUR_QA"] = "true" if args.colour_qa else "false"
    print(f"colour QA: {'on' if args.colour_qa else 'off'}")
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ["OPENAI_API_KEY"] = BENCH_KEY
    results: list[Result] = []
    baseline: Result | None = None
    try:
        warm_up_prefect(work)
        c, lat = args.concurrency, args.latency
        ideal = ideal_seconds(args.images, c, lat, None)
        with FakeImageApiProcess(latency_s=lat, api_key=BENCH_KEY, record_file_bytes=False) as api:
            os.environ["OPENAI_BASE_URL"] = api.base_url
            if "baseline" not in args.skip:
                (work / "baseline").mkdir()
                baseline = measured(
                    "baseline (asyncio+httpx+semaphore)",
                    args.images,
                    ideal,
                    api,
                    lambda: run_baseline(api.base_url, args.images, c, work / "baseline"),
                )
                results.append(baseline)
            if "local" not in args.skip:
                catalog = synthetic_catalog(work, args.images, "LOC")
                results.append(
                    measured(
                        "pipeline -> local folder",
                        args.images,
                        ideal,
                        api,
                        lambda: run_pipeline(catalog, str(work / "out"), c, None),
                    )
                )
            if "s3" not in args.skip:
                results.append(run_s3(work, args.images, c, ideal, api))
            if "rpm" not in args.skip:
                api.configure(rpm_limit=args.rpm)
                rpm_ideal = ideal_seconds(args.rpm_images, c, lat, args.rpm)
                catalog = synthetic_catalog(work, args.rpm_images, "RPM")
                rpm_result = measured(
                    f"pipeline, --rpm {args.rpm} (server limit)",
                    args.rpm_images,
                    rpm_ideal,
                    api,
                    lambda: run_pipeline(catalog, str(work / "rpm"), c, args.rpm),
                )
                results.append(rpm_result)
                api.configure(rpm_limit=None)
        if "memory" not in args.skip:
            results.append(run_memory(work, args.big_images, c, lat))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_results(results, baseline)
    for r in results:
        if "--rpm" in r.name:
            achieved = r.images / r.seconds * 60
            print(
                f"\nrpm: achieved {achieved:.0f} images/min of {args.rpm} "
                f"({achieved / args.rpm:.3f} of the limit); {r.count_429} of {r.requests} "
                f"requests answered 429 ({100 * r.count_429 / max(r.requests, 1):.2f}%)"
            )


def run_s3(
    work: Path, images: int, concurrency: int, ideal: float, api: FakeImageApiProcess
) -> Result:
    from catalog_imagegen.testing.seaweedfs import SeaweedFS

    with SeaweedFS(work / "weed", access_key="bench", secret_key="bench-secret-key") as s3:
        s3.create_bucket("bench")
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_S3": s3.endpoint_url,
                "AWS_ACCESS_KEY_ID": s3.access_key,
                "AWS_SECRET_ACCESS_KEY": s3.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        catalog = synthetic_catalog(work, images, "S3")
        return measured(
            "pipeline -> SeaweedFS (S3)",
            images,
            ideal,
            api,
            lambda: run_pipeline(catalog, "s3://bench/run", concurrency, None),
        )


def run_memory(work: Path, images: int, concurrency: int, latency: float) -> Result:
    """Big images must stream through: peak RSS stays flat whatever the run's size."""
    ideal = ideal_seconds(images, concurrency, latency, None)
    with FakeImageApiProcess(
        latency_s=latency, api_key=BENCH_KEY, image_bytes=1_500_000, record_file_bytes=False
    ) as api:
        os.environ["OPENAI_BASE_URL"] = api.base_url
        catalog = synthetic_catalog(work, images, "MEM")
        output = work / "memory"
        try:
            return measured(
                "pipeline, 1.5 MB images -> local",
                images,
                ideal,
                api,
                lambda: run_pipeline(catalog, str(output), concurrency, None),
            )
        finally:
            shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
