"""Fixtures for the operations tests (review page, approval, file drop, served deployments).

Load with ``pytest_plugins = ["tests.plugins.ops"]`` in ``tests/conftest.py`` (or ``-p
tests.plugins.ops``). Real processes (``prefect server``, chromium) bind loopback only, use free
ports and temporary homes, and are stopped in teardown.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

# Before Prefect is imported anywhere: its settings are read once (conftest.py does the same).
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="catalog-imagegen-ops-"))
os.environ.setdefault("PREFECT_HOME", str(_SESSION_HOME / "prefect"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "catalog_samples"
SAMPLE_CATALOG = SAMPLES / "catalog.csv"
TEMPLATES = REPO / "templates"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"


@pytest.fixture
def catalog_folder(tmp_path: Path) -> Path:
    """A folder holding a copy of the sample catalog and its photos (relative source images)."""
    folder = tmp_path / "catalogs"
    folder.mkdir()
    shutil.copy(SAMPLE_CATALOG, folder / "catalog.csv")
    shutil.copytree(SAMPLES / "photos", folder / "photos")
    return folder


def sample_head(products: int) -> bytes:
    """The sample catalog's header and first ``products`` rows (photos as the whole sample's):
    for tests whose point is not the sample's size."""
    lines = SAMPLE_CATALOG.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: products + 1])


# Headless Chromium as the tests run it: no sandbox (containers), nothing fetched in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; install with ``apt-get install -y chromium``."""
    return find_chromium(CHROMIUM_PATHS, os.environ)


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    """A launched headless Chromium (Playwright's sync API), closed after the test."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def find_chromium(paths: tuple[str, ...], environ: Mapping[str, str]) -> str:
    """The first chromium in ``paths``. Missing, a test skips locally but fails in CI, where
    skipping would let the review page ship untested."""
    for path in paths:
        if Path(path).exists():
            return path
    missing_in_ci(environ, f"chromium is not installed ({INSTALL_CHROMIUM})")


def missing_in_ci(environ: Mapping[str, str], reason: str) -> NoReturn:
    """Fail when ``CI`` is set (a real CI run must not skip), else skip."""
    if environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so this fails instead of skipping")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_cli() -> list[str]:
    return [sys.executable, "-m", "prefect"]


def wait_for_health(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"prefect server at {url} not healthy after {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Stop a process started with ``start_new_session=True`` and all of its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[dict[str, str]]:
    """A real ``prefect server start`` (SQLite) on a free loopback port; its client environment."""
    home = Path(tempfile.mkdtemp(prefix="prefect-server-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_UI_ENABLED="false",
    )
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    command = [*prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for_health(url, process, timeout=120)
        yield {"PREFECT_API_URL": url, "PREFECT_HOME": str(home / "client")}
    finally:
        stop_process(process)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def prefect_api(prefect_server: dict[str, str]) -> str:
    """The session server's API URL, for commands that would otherwise each start Prefect's
    temporary server (10 to 20 s apiece on a busy 2-core machine)."""
    return prefect_server["PREFECT_API_URL"]
