"""The shared local Prefect server: the first command starts it, later ones reuse it, a kill -9 of
a run leaves nothing behind but it, and ``server stop`` stops it."""

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

from tests.conftest import SAMPLE_CATALOG

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A Prefect home of the test's own; whatever server it started is stopped at the end."""
    home = tmp_path / "prefect-home"
    yield home
    cli(home, "server", "stop", cwd=tmp_path)
    for pid in processes_of(home):
        os.kill(pid, signal.SIGKILL)


def environment(home: Path) -> dict[str, str]:
    env = os.environ | {"PREFECT_HOME": str(home), "CATALOG_IMAGEGEN_LOCAL_SERVER": "on"}
    env.pop("PREFECT_API_URL", None)
    return env


def cli(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *args],
        cwd=cwd,
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def processes_of(home: Path) -> list[int]:
    """Every process whose environment names this Prefect home: what the commands started."""
    marker = f"PREFECT_HOME={home}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def server_state(home: Path) -> dict[str, object]:
    state: dict[str, object] = json.loads(
        (home / "catalog-imagegen-server" / "state.json").read_text()
    )
    return state


def test_runs_share_one_server_and_a_killed_run_orphans_nothing(home: Path, tmp_path: Path) -> None:
    run = ["run", str(SAMPLE_CATALOG), "--template", "product_card", "--no-progress"]
    first = cli(home, *run, "--season", "winter", "--output", "out", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    state = server_state(home)
    again = cli(home, *run, "--season", "winter", "--output", "out", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 generated, 24 skipped" in again.stdout or " 0 generated" in again.stdout
    assert server_state(home) == state  # the same server answered both
    status = cli(home, "server", "status", cwd=tmp_path)
    assert f"pid {state['pid']}" in status.stdout

    slow = environment(home) | {"CATALOG_IMAGEGEN_PREVIEW_LATENCY": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "catalog_imagegen.cli", *run, "--output", "slow"],
        cwd=tmp_path,
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any((tmp_path / "slow").rglob("*.png")):
        time.sleep(0.2)
    process.kill()  # kill -9
    process.wait(timeout=60)
    time.sleep(1)
    left = processes_of(home)
    server_group = int(str(state["pid"]))
    assert left, "the shared server itself stays up"
    assert all(os.getpgid(pid) == server_group for pid in left), left

    stopped = cli(home, "server", "stop", cwd=tmp_path)
    assert "stopped" in stopped.stdout
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and processes_of(home):
        time.sleep(0.2)
    assert processes_of(home) == []
