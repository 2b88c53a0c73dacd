"""Sharing one provider budget between workers: a static split against a Prefect global limit.

    .venv/bin/python benchmarks/shards.py [--shards 2] [--images 480] [--quick]

Starts ``prefect server start`` (SQLite, loopback) and the fake image API (fixed latency, RPM
limit answered with 429), then runs N worker processes that send a catalog's images, split by
``planning.shard_of`` exactly as ``run --shards N`` splits them, under the account's limits:

- ``static``: each worker holds its own share of the budget (``sharding.split_budget``) in the
  pipeline's ``RequestLimiter``; nothing is asked of anyone before a request.
- ``gcl``: every request holds a slot of a Prefect global concurrency limit of ``concurrency``
  slots, and takes a slot of a rate limit (slot decay) sized to ``rpm``; the server enforces both.

Prints per mode and case: efficiency (ideal time / time from the first request to the last
answer), requests in flight at most and images in any 60 s window (from the fake server), and
429s. Only the send phase is timed: Python start-up of each worker is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "flows"), str(REPO)]
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import httpx

from catalog_imagegen.generation.providers.rate_limit import RequestLimiter
from catalog_imagegen.planning.plan import shard_of
from catalog_imagegen.planning.sharding import split_budget

KEY = "bench-key-not-secret"
SLOTS, RATE = "bench-provider-slots", "bench-provider-rpm"
IMAGES_PER_SKU = 4


# ----------------------------------------------------------------------------- worker side
async def send_all(args: argparse.Namespace) -> dict[str, Any]:
    """One worker: send ``args.images`` generation requests under its limiter; report times."""
    local = RequestLimiter(
        concurrency=args.concurrency, rpm=args.rpm if args.mode == "static" else None
    )
    limits = httpx.Limits(max_connections=args.concurrency)
    count_429 = 0
    async with httpx.AsyncClient(base_url=args.base_url, timeout=300, limits=limits) as client:

        async def one(n: int) -> None:
            nonlocal count_429
            while True:
                async with local.slot(), global_slot(args):
                    response = await client.post(
                        "/images/generations",
                        headers={"Authorization": f"Bearer {KEY}"},
                        json={"model": "gpt-image-1", "prompt": f"{args.tag} {n}", "n": 1},
                    )
                if response.status_code != 429:
                    return
                count_429 += 1
                local.pause(float(response.headers.get("retry-after", "1")))

        started = time.time()
        await asyncio.gather(*(one(n) for n in range(args.images)))
    return {"started": started, "ended": time.time(), "count_429": count_429}


class global_slot:
    """In ``gcl`` mode: a rate-limit slot, then a slot of the global limit for the request."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.held: Any = None

    async def __aenter__(self) -> None:
        if self.args.mode != "gcl":
            return
        from prefect.concurrency.asyncio import concurrency, rate_limit

        if self.args.rpm:
            await rate_limit(RATE, strict=True)
        self.held = concurrency(SLOTS, occupy=1, strict=True)
        await self.held.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        if self.held is not None:
            await self.held.__aexit__(*exc)


# ----------------------------------------------------------------------------- coordinator side
def shares(images: int, shards: int) -> list[int]:
    """Images per shard when a catalog of 4-image SKUs is split by ``shard_of``."""
    counts = [0] * shards
    for n in range(images // IMAGES_PER_SKU):
        counts[shard_of(f"BENCH-{n:06d}", shards)] += IMAGES_PER_SKU
    return counts


async def create_limits(concurrency: int, rpm: int | None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        for name in (SLOTS, RATE):
            with contextlib.suppress(ObjectNotFound):  # absent before the first case
                await client.delete_global_concurrency_limit_by_name(name)
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=SLOTS, limit=concurrency)
        )
        if rpm:
            burst = max(1, rpm // 60)  # one second's worth, as the local limiter allows
            decay = (rpm - burst) / 60  # so no 60 s span holds more than ``rpm``
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=RATE, limit=burst, slot_decay_per_second=decay)
            )


def run_case(
    mode: str, case: dict[str, Any], api: Any, env: dict[str, str], shards: int
) -> dict[str, Any]:
    api.reset()
    if mode == "gcl":
        asyncio.run(create_limits(case["concurrency"], case["rpm"]))
    budgets = split_budget(case["concurrency"], case["rpm"], shards)
    workers = []
    for index, images in enumerate(shares(case["images"], shards)):
        concurrency = budgets[index].concurrency if mode == "static" else case["concurrency"]
        rpm = budgets[index].rpm if mode == "static" else case["rpm"]
        command = [sys.executable, __file__, "--worker", mode, "--base-url", api.base_url]
        command += ["--images", str(images), "--concurrency", str(concurrency)]
        command += ["--tag", f"{mode}-{case['name']}-{index}"]
        command += ["--rpm", str(rpm)] if rpm else []
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    reports = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    rate = case["concurrency"] / case["latency"]
    if case["rpm"]:
        rate = min(rate, case["rpm"] / 60)
    stats = api.stats()
    return {
        "mode": mode,
        "case": case["name"],
        "images": case["images"],
        "seconds": seconds,
        "efficiency": case["images"] / rate / seconds,
        "max_in_flight": stats.max_in_flight,
        "max_60s": stats.max_images_in_any_60s_window,
        "count_429": stats.count_429,
        "split": shares(case["images"], shards),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=("static", "gcl"), dest="mode")
    parser.add_argument("--base-url")
    parser.add_argument("--tag", default="bench")
    parser.add_argument("--images", type=int, default=480)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rpm", type=int)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="160 images a case")
    parser.add_argument("--case", choices=("both", "concurrency", "rpm"), default="both")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(asyncio.run(send_all(args))))
        return
    compare(args)


def compare(args: argparse.Namespace) -> None:
    from tests.plugins.ops import free_port, prefect_cli, stop_process, wait_for_health

    from catalog_imagegen.testing.fake_image_api import FakeImageApiProcess

    images = 160 if args.quick else args.images
    rpm = 600
    cases = [
        {"name": "concurrency-bound", "images": images, "concurrency": args.concurrency,
         "rpm": None, "latency": args.latency},
        {"name": f"rpm-bound ({rpm}/min)", "images": images, "concurrency": args.concurrency,
         "rpm": rpm, "latency": args.latency},
    ]  # fmt: skip
    cases = [c for c in cases if args.case == "both" or c["name"].startswith(args.case)]
    home = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false")
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{home / 'prefect.db'}"
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [*prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    env["PREFECT_API_URL"] = os.environ["PREFECT_API_URL"] = url
    try:
        wait_for_health(url, server, timeout=120)
        with FakeImageApiProcess(latency_s=args.latency, rpm_limit=rpm, api_key=KEY) as api:
            print(f"{args.shards} workers, concurrency {args.concurrency}, latency {args.latency}s")
            for case in cases:
                for mode in ("static", "gcl"):
                    print_row(run_case(mode, case, api, env, args.shards))
    finally:
        stop_process(server)


def print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['case']:<24} {row['mode']:<7} {row['images']} images {row['split']} "
        f"in {row['seconds']:6.1f} s  efficiency {row['efficiency']:.2f}  "
        f"in flight max {row['max_in_flight']}  60 s max {row['max_60s']}  "
        f"429s {row['count_429']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
