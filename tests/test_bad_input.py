"""Bad input from the command line: exit 2, one line naming the catalog, flag or row, and never
a traceback, before Prefect or a provider starts. Run as a user runs it: a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CATALOG

CATALOG = str(SAMPLE_CATALOG)
NO_SKU = "title,category,colours\nTee,Tops,Navy\n"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "missing.csv"], "missing.csv: no such catalog file"),
        (["run", "no-sku.csv"], "no-sku.csv: missing required column 'sku'"),
        (["backfill", "no-sku.csv"], "no-sku.csv: missing required column 'sku'"),
        (["run", CATALOG, "--concurrency", "0"], "--concurrency 0"),
        (["run", CATALOG, "--concurrency", "-1"], "--concurrency -1"),
        (["run", CATALOG, "--concurrency", "many"], "--concurrency: invalid int value"),
        (["run", CATALOG, "--rpm", "0"], "--rpm 0"),
        (["run", CATALOG, "--max-cost", "-5"], "--max-cost -5"),
        (["run", CATALOG, "--max-images", "-1"], "--max-images -1"),
        (["run", CATALOG, "--season", "nosuchseason"], "--season nosuchseason: no such season"),
        (["backfill", CATALOG, "--season", "nosuchseason"], "--season nosuchseason"),
        (["run", CATALOG, "--template", "nope"], "--template nope: no such template"),
        (["run", CATALOG, "--dry-run", "--template", "nope"], "--template nope"),
        (["prompts", CATALOG, "--template", "nope"], "--template nope"),
        (["backfill", CATALOG, "--sku", "@nofile.txt"], "--sku @nofile.txt"),
        (["approve", "../../x", "--output", "out"], "../../x"),
        (["watch", "no-such-inbox", "--once"], "no-such-inbox"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(args: list[str], names: str, tmp_path: Path) -> None:
    (tmp_path / "no-sku.csv").write_text(NO_SKU)
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert names in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "output").exists()  # nothing was started


def test_prompts_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    command = f"{sys.executable} -m catalog_imagegen.cli prompts {CATALOG} | head -n 1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.startswith("# ")
    assert "Traceback" not in result.stderr
    assert "BrokenPipe" not in result.stderr


def test_sigterm_stops_a_run_with_one_line_and_keeps_what_is_stored(tmp_path: Path) -> None:
    # As a user runs it: with the shared local Prefect server (its own home, stopped at the end).
    home = {"PREFECT_HOME": str(tmp_path / "prefect"), "CATALOG_IMAGEGEN_LOCAL_SERVER": "on"}
    env = os.environ | home | {"CATALOG_IMAGEGEN_PREVIEW_LATENCY": "0.5"}
    try:
        sigterm_mid_run(tmp_path, env)
    finally:
        subprocess.run(
            [sys.executable, "-m", "catalog_imagegen.cli", "server", "stop"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


def sigterm_mid_run(tmp_path: Path, env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "catalog_imagegen.cli", "run", CATALOG, "--no-progress"]
    process = subprocess.Popen(
        [*command, "--output", str(tmp_path / "out"), "--concurrency", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    images = tmp_path / "out" / "images"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not any(images.rglob("*.png")):
        time.sleep(0.2)
    assert any(images.rglob("*.png")), "no image was stored before the deadline"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-3000:]
    assert "Traceback" not in err + out
    assert "terminated: stored images are kept" in err
    assert any(images.rglob("*.png"))
