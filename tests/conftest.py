"""Hermetic tests: a temporary home, a temporary Prefect home, no API key, loopback only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before Prefect is imported anywhere: its settings are read once.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="catalog-imagegen-tests-"))
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.pop("PREFECT_API_URL", None)
for _name in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
):
    os.environ.pop(_name, None)
for _name in [n for n in os.environ if n.startswith("CATALOG_IMAGEGEN_")]:
    os.environ.pop(_name)
# Commands in tests use Prefect's temporary server (or the session's harness), not the shared
# local one a user's commands start; tests of the shared server turn it back on.
os.environ["CATALOG_IMAGEGEN_LOCAL_SERVER"] = "off"

pytest_plugins = ["tests.plugins.s3_server", "tests.plugins.catalog_runs", "tests.plugins.ops"]

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CATALOG = REPO / "catalog_samples" / "catalog.csv"
TEMPLATES = REPO / "templates"


@pytest.fixture(autouse=True)
def temporary_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (it takes ~10 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped templates that a test may edit."""
    import shutil

    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target
