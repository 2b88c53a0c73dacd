"""pytest fixtures for a real S3 server: one SeaweedFS for the session, a fresh bucket per test.

Enable with ``pytest_plugins = ["tests.plugins.s3_server"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from catalog_imagegen.testing.seaweedfs import REGION, SeaweedFS

# Variables that would point boto3 somewhere else than the test server.
FOREIGN_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS server for the whole session, with random admin credentials."""
    server = SeaweedFS(
        tmp_path_factory.mktemp("seaweedfs"),
        access_key=f"test-{secrets.token_hex(4)}",
        secret_key=secrets.token_urlsafe(24),
    )
    with server:
        yield server


@pytest.fixture
def s3_bucket(seaweedfs: SeaweedFS) -> Iterator[str]:
    """A new, empty bucket, deleted afterwards: SeaweedFS gives each bucket a volume of its own
    and has a bounded number of them, so a long session must give them back."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    seaweedfs.create_bucket(name)
    yield name
    with suppress(ClientError, BotoCoreError):
        seaweedfs.delete_bucket(name)


@pytest.fixture
def s3_env(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SeaweedFS:
    """Point boto3's own conventions (endpoint, credentials, region) at the test server."""
    for name in FOREIGN_AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # No profile or config file from the developer's home can leak in.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-absent"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", seaweedfs.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return seaweedfs
