"""A store that cannot be used, met by every command that reads or writes one: one line on stderr
naming the bucket and endpoint, exit 3 (as a run stops on it), no traceback and no secret. Run as
a merchandiser runs it, a real process, against a real S3 server (SeaweedFS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.plugins.ops import free_port

WRONG_SECRET = "wrong-secret-value-0123456789"
API_KEY = "sk-test-key-never-printed-0123"

# Each command with the store flags it takes (`BUCKET` stands for the bucket under test).
COMMANDS = {
    "approve": ["approve", "run-1", "--bucket", "BUCKET"],
    "collect": ["collect", "--bucket", "BUCKET"],
    "cancel": ["cancel", "run-1", "--bucket", "BUCKET"],
    "review": ["review", "--bucket", "BUCKET", "--port", "PORT"],
    "watch": ["watch", "INBOX", "--once", "--bucket", "BUCKET"],
    "status": ["status", "--bucket", "BUCKET"],
    "lab choose": ["lab", "choose", "lab-1", "current", "--bucket", "BUCKET"],
}
FAILURES = ("credentials refused", "no such bucket", "endpoint unreachable")


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_store_that_cannot_be_used_is_one_line_naming_it(
    command: str, failure: str, s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path
) -> None:
    bucket = "no-such-bucket-here" if failure == "no such bucket" else s3_bucket
    endpoint = f"http://127.0.0.1:{free_port()}" if failure == "endpoint unreachable" else None
    (tmp_path / "inbox").mkdir()
    names = {"BUCKET": bucket, "PORT": str(free_port()), "INBOX": str(tmp_path / "inbox")}
    env = os.environ | {
        "CATALOG_IMAGEGEN_LOCAL_SERVER": "off",
        "OPENAI_API_KEY": API_KEY,  # batch commands need a key before they open the store
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # never reached
    }
    if failure == "credentials refused":
        env["AWS_SECRET_ACCESS_KEY"] = WRONG_SECRET
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint

    argv = [names.get(word, word) for word in COMMANDS[command]]
    done = subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    said = done.stdout + done.stderr
    assert done.returncode == 3, said
    assert "Traceback" not in said
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and f"'{bucket}'" in lines[0]
    assert (endpoint or s3_env.endpoint_url) in lines[0]
    for secret in (WRONG_SECRET, s3_env.secret_key, API_KEY):
        assert secret not in said
