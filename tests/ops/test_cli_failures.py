"""What a merchandiser meets when a command cannot go on, run as they run it (a real process):
one line on stderr naming what failed, the documented exit code, no traceback, no secret.

A store that cannot be used (a real S3 server, SeaweedFS: refused credentials, no such bucket, an
endpoint that does not answer), met by every command that reads or writes one, exits 3 as a run
that stops on it; so does a Prefect server that does not answer. A bad flag exits 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from catalog_imagegen.settings import default_templates_dir
from catalog_imagegen.testing.seaweedfs import SeaweedFS
from tests.conftest import SAMPLE_CATALOG
from tests.plugins.ops import free_port

WRONG_SECRET = "wrong-secret-value-0123456789"
API_KEY = "sk-test-key-never-printed-0123"

# Each command with the store flags it takes (`BUCKET` stands for the bucket under test;
# `serve` takes its store from the settings, CATALOG_IMAGEGEN_BUCKET).
COMMANDS = {
    "run": ["run", "CATALOG", "--bucket", "BUCKET", "--no-progress"],
    "backfill": ["backfill", "CATALOG", "--bucket", "BUCKET", "--no-progress"],
    "serve": ["serve", "--review-port", "PORT"],
    "lab promote": ["lab", "promote", "DRAFT", "--as", "product_card", "--bucket", "BUCKET"],
    "approve": ["approve", "run-1", "--bucket", "BUCKET"],
    "collect": ["collect", "--bucket", "BUCKET"],
    "cancel": ["cancel", "run-1", "--bucket", "BUCKET"],
    "review": ["review", "--bucket", "BUCKET", "--port", "PORT"],
    "watch": ["watch", "INBOX", "--once", "--bucket", "BUCKET"],
    "status": ["status", "--bucket", "BUCKET"],
    "lab choose": ["lab", "choose", "lab-1", "current", "--bucket", "BUCKET"],
}
FAILURES = ("credentials refused", "no such bucket", "endpoint unreachable")


def command_line(
    argv: list[str], env: dict[str, str], folder: Path
) -> subprocess.CompletedProcess[str]:
    """``catalog-imagegen ARGV`` as a user runs it: its own process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "catalog_imagegen.cli", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_store_that_cannot_be_used_is_one_line_naming_it(
    command: str, failure: str, s3_env: SeaweedFS, s3_bucket: str, tmp_path: Path
) -> None:
    bucket = "no-such-bucket-here" if failure == "no such bucket" else s3_bucket
    endpoint = f"http://127.0.0.1:{free_port()}" if failure == "endpoint unreachable" else None
    (tmp_path / "inbox").mkdir()
    templates = shutil.copytree(default_templates_dir(), tmp_path / "templates")
    before = {path: path.read_bytes() for path in templates.rglob("*") if path.is_file()}
    (tmp_path / "draft.j2").write_text("A {{ title }} in {{ colour }}.")
    names = {
        "BUCKET": bucket,
        "PORT": str(free_port()),
        "INBOX": str(tmp_path / "inbox"),
        "CATALOG": str(SAMPLE_CATALOG),
        "DRAFT": str(tmp_path / "draft.j2"),
    }
    env = os.environ | {
        "CATALOG_IMAGEGEN_LOCAL_SERVER": "off",
        "CATALOG_IMAGEGEN_TEMPLATES_DIR": str(templates),
        "CATALOG_IMAGEGEN_BUCKET": bucket,  # flags name it too, except for `serve`
        "OPENAI_API_KEY": API_KEY,  # batch commands need a key before they open the store
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # never reached
    }
    if command in ("run", "backfill"):
        # Offline previews: these check the image API before the store, and this one is down.
        env = {k: v for k, v in env.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    if failure == "credentials refused":
        env["AWS_SECRET_ACCESS_KEY"] = WRONG_SECRET
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint

    done = command_line([names.get(word, word) for word in COMMANDS[command]], env, tmp_path)

    said = done.stdout + done.stderr
    assert done.returncode == 3, said
    assert "Traceback" not in said
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and f"'{bucket}'" in lines[0]
    assert (endpoint or s3_env.endpoint_url) in lines[0]
    for secret in (WRONG_SECRET, s3_env.secret_key, API_KEY):
        assert secret not in said
    after = {path: path.read_bytes() for path in templates.rglob("*") if path.is_file()}
    assert after == before  # `lab promote` promoted nothing, kept no history entry


@pytest.mark.parametrize(
    ("argv", "code", "named"),
    [
        (["lab", "DRAFT", "--slots", "many"], 2, "--slots"),
        (["lab", "choose", "lab-1"], 2, "version"),
        (["lab", "promote", "DRAFT"], 2, "--as"),
        (["deploy", "--pool", "shards"], 3, "PREFECT"),
        (["run", "CATALOG", "--shards", "2", "--pool", "shards"], 3, "PREFECT"),
        (["lab", "DRAFT", "--catalog", "CATALOG", "--base-url", "API"], 3, "image API"),
    ],
)
def test_a_bad_flag_or_an_unreachable_server_is_one_line_naming_it(
    argv: list[str], code: int, named: str, tmp_path: Path
) -> None:
    server = f"http://127.0.0.1:{free_port()}/api"
    api = f"http://127.0.0.1:{free_port()}/v1"
    names = {"DRAFT": str(tmp_path / "product_card.j2"), "CATALOG": str(SAMPLE_CATALOG), "API": api}
    (tmp_path / "product_card.j2").write_text("A {{ title }} in {{ colour }}.")
    env = os.environ | {"CATALOG_IMAGEGEN_LOCAL_SERVER": "off", "PREFECT_API_URL": server}
    if "API" in argv:  # a key, so the command goes as far as the image API
        env |= {"OPENAI_API_KEY": API_KEY, "CATALOG_IMAGEGEN_API_KEY_ENV": "OPENAI_API_KEY"}
    done = command_line([names.get(a, a) for a in argv], env, tmp_path)

    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], done.stderr
    if code == 3:  # the server or image API that does not answer, by its URL
        assert (api if "API" in argv else server) in lines[0]
    assert API_KEY not in done.stdout + done.stderr
