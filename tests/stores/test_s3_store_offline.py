"""S3ObjectStore without a server: naming, configuration, and error answers SeaweedFS never gives.

Rare S3 answers come from botocore's own ``Stubber``; ACLs from moto, which models them.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from catalog_imagegen.storage.base import PreconditionFailed, StoreAccessDenied, StoreError
from catalog_imagegen.storage.s3 import S3ObjectStore, new_s3_client, s3_client_config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # type: ignore[import-not-found, unused-ignore]

ENDPOINT = "http://127.0.0.1:9"
SECRET = "offline-secret-do-not-print"


def offline_client(endpoint: str = ENDPOINT, config: Config | None = None) -> S3Client:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="offline-key",
        aws_secret_access_key=SECRET,
        config=config,
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[S3ObjectStore, Stubber]]:
    client = offline_client()
    store = S3ObjectStore("shop-images", "catalog", client=client)
    with Stubber(client) as stubber:
        yield store, stubber


def test_describe_and_urls_name_bucket_prefix_and_endpoint() -> None:
    store = S3ObjectStore("shop-images", "/catalog/v1/", client=offline_client())

    assert store.describe() == f"s3://shop-images/catalog/v1 at {ENDPOINT}"
    assert store.url_for("images/a b.png") == "s3://shop-images/catalog/v1/images/a b.png"
    assert SECRET not in repr(store)
    assert SECRET not in store.describe()


def test_public_base_url_serves_the_bucket_root() -> None:
    store = S3ObjectStore(
        "shop-images",
        "catalog",
        public_base_url="https://cdn.example.com/",
        client=offline_client(),
    )

    assert store.url_for("images/a b.png") == "https://cdn.example.com/catalog/images/a%20b.png"


def test_from_uri_splits_bucket_and_prefix() -> None:
    store = S3ObjectStore.from_uri("s3://shop-images/catalog/v1", client=offline_client())

    assert (store.bucket, store.prefix) == ("shop-images", "catalog/v1")
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        S3ObjectStore.from_uri("https://shop-images/catalog")


def test_empty_or_absolute_keys_are_refused(stubbed: tuple[S3ObjectStore, Stubber]) -> None:
    store, _ = stubbed

    for key in ("", "/images/a.png"):
        with pytest.raises(StoreError, match="not a relative object key"):
            store.put(key, b"x", content_type="image/png")


def test_client_config_bounds_retries_timeouts_and_pool() -> None:
    options = vars(s3_client_config(max_pool_connections=80))  # botocore sets them as attributes

    assert options["retries"] == {"mode": "standard", "total_max_attempts": 4}
    assert options["max_pool_connections"] == 80
    assert options["connect_timeout"] == 5
    assert options["read_timeout"] == 60


def test_region_comes_from_aws_region_when_boto3_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")

    assert new_s3_client().meta.region_name == "eu-west-3"

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert new_s3_client().meta.region_name == "eu-central-1"


def test_permission_denied_is_access_denied(stubbed: tuple[S3ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", "AccessDenied", "Access Denied", 403)

    with pytest.raises(StoreAccessDenied, match="denied write on bucket 'shop-images'"):
        store.put("images/a.png", b"x", content_type="image/png")


def test_conditional_request_conflict_is_a_lost_race(
    stubbed: tuple[S3ObjectStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", "ConditionalRequestConflict", "Conflict", 409)

    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"{}", content_type="application/json", if_match="abc")


def test_if_match_on_a_key_aws_reports_missing_is_a_lost_race(
    stubbed: tuple[S3ObjectStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", "NoSuchKey", "The specified key does not exist.", 404)
    stubber.add_client_error("put_object", "NoSuchBucket", "No such bucket", 404)

    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"{}", content_type="application/json", if_match="abc")
    with pytest.raises(StoreError, match="no bucket 'shop-images'") as missing_bucket:
        store.put("manifest.json", b"{}", content_type="application/json", if_match="abc")
    assert not isinstance(missing_bucket.value, PreconditionFailed)


def test_server_errors_keep_their_code(stubbed: tuple[S3ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_object", "InternalError", "We encountered an internal error", 500)

    with pytest.raises(StoreError, match="InternalError") as failed:
        store.get("images/a.png")
    assert "'images/a.png'" in str(failed.value)


def test_missing_credentials_are_access_denied(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", ENDPOINT)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    with pytest.raises(StoreAccessDenied, match="no usable AWS credentials"):
        S3ObjectStore("shop-images").check_access()


def test_a_server_that_never_answers_is_a_store_error() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = Config(read_timeout=0.3, retries={"mode": "standard", "max_attempts": 1})
        client = offline_client(endpoint, config)
        sent: list[str] = []
        client.meta.events.register("before-send", lambda request, **_: sent.append("sent"))
        store = S3ObjectStore("shop-images", client=client)

        with pytest.raises(StoreError, match="cannot reach S3") as unreachable:
            store.get("images/a.png")

    assert sent == ["sent", "sent"]  # the request and max_attempts=1 retry, each timed out
    assert "ReadTimeoutError" in str(unreachable.value)
    assert endpoint in str(unreachable.value)


@mock_aws
def test_objects_are_private_unless_the_store_is_public() -> None:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    client.create_bucket(Bucket="shop-images")
    S3ObjectStore("shop-images", client=client).put("private.png", b"x", content_type="image/png")
    public = S3ObjectStore("shop-images", client=client, acl_public=True)
    public.put("public.png", b"x", content_type="image/png")

    def readers(key: str) -> set[str]:
        grants = client.get_object_acl(Bucket="shop-images", Key=key)["Grants"]
        return {str(grant["Grantee"].get("URI", "")) for grant in grants}

    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"
    assert all_users not in readers("private.png")
    assert all_users in readers("public.png")


def test_an_upload_is_tried_as_many_times_as_the_readme_says() -> None:
    tried: list[str] = []

    class Unavailable(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            tried.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        store = S3ObjectStore("shop-images", client=offline_client(endpoint, s3_client_config()))
        with pytest.raises(StoreError):
            store.put("images/a.png", b"png", content_type="image/png")
    finally:
        server.shutdown()
        server.server_close()

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"failed uploads are retried \(boto3 standard mode, (\d+) attempts", readme)
    assert stated is not None
    assert len(tried) == int(stated.group(1))
    assert set(tried) == {"/shop-images/images/a.png"}
