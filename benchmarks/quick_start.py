"""How quickly the command answers: bad input, a first run, and a rerun with nothing to do.

    .venv/bin/python benchmarks/quick_start.py [--reruns 3]

Each figure is the wall time of a fresh ``catalog-imagegen`` process, as a user waits for it, on
the bundled sample catalog (288 offline previews), in a temporary folder with a Prefect home of
its own. The first run starts the shared local Prefect server; the reruns reuse it. The server is
stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOG = str(REPO / "catalog_samples" / "catalog.csv")
BAD_INPUTS = {
    "missing catalog": ["run", "missing.csv"],
    "missing column": ["run", "no-sku.csv"],
    "--concurrency 0": ["run", CATALOG, "--concurrency", "0"],
    "--season nosuchseason": ["run", CATALOG, "--season", "nosuchseason"],
}


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, result.returncode, result.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="quick-start-"))
    (work / "no-sku.csv").write_text("title,category,colours\nTee,Tops,Navy\n")
    env = os.environ | {
        "PREFECT_HOME": str(work / "prefect"),
        "CATALOG_IMAGEGEN_LOCAL_SERVER": "on",
    }
    env.pop("PREFECT_API_URL", None)
    figures: dict[str, object] = {}
    for name, command in BAD_INPUTS.items():
        seconds, code, message = timed(command, work, env)
        figures[f"bad input: {name}"] = {"s": round(seconds, 2), "exit": code, "says": message}
    run = ["run", CATALOG, "--output", str(work / "out"), "--no-progress"]
    try:
        seconds, code, _ = timed(run, work, env)
        figures["first run (starts the server), 288 images"] = {
            "s": round(seconds, 2),
            "exit": code,
        }
        reruns = [timed(run, work, env) for _ in range(args.reruns)]
        figures["done rerun"] = {
            "median_s": round(statistics.median(s for s, _, _ in reruns), 2),
            "runs_s": [round(s, 2) for s, _, _ in reruns],
            "exits": [c for _, c, _ in reruns],
        }
    finally:
        timed(["server", "stop"], work, env)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
