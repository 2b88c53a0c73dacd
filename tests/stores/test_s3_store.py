"""S3ObjectStore against a real S3 server (SeaweedFS), configured only through boto3's variables."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from catalog_imagegen.storage.base import PreconditionFailed, StoreAccessDenied, StoreError
from catalog_imagegen.storage.s3 import S3ObjectStore, new_s3_client, sha256_base64
from catalog_imagegen.testing.seaweedfs import SeaweedFS

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def counted_store(bucket: str, prefix: str = "") -> tuple[S3ObjectStore, list[str]]:
    """A store whose HTTP requests are counted: "at once" means no retries, not a stopwatch."""
    client = new_s3_client()
    sent: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.method))
    return S3ObjectStore(bucket, prefix, client=client), sent


@pytest.fixture
def store(s3_env: SeaweedFS, s3_bucket: str) -> S3ObjectStore:
    return S3ObjectStore(s3_bucket, "/catalog/")


def test_put_get_head_round_trip(store: S3ObjectStore) -> None:
    etag = store.put(
        "images/SKU-1/card.png",
        PNG,
        content_type="image/png",
        cache_control="public, max-age=31536000, immutable",
        metadata={"sku": "SKU-1", "template-version": "3f2a"},
    )

    stored = store.get("images/SKU-1/card.png")
    info = store.head("images/SKU-1/card.png")

    assert stored is not None
    assert stored.data == PNG
    assert stored.etag == etag
    assert info is not None
    assert info.key == "images/SKU-1/card.png"
    assert info.size == len(PNG)
    assert info.etag == etag
    assert '"' not in etag
    assert info.last_modified is not None
    assert info.content_type == "image/png"
    assert info.cache_control == "public, max-age=31536000, immutable"
    assert dict(info.metadata) == {"sku": "SKU-1", "template-version": "3f2a"}


def test_missing_key_reads_as_none(store: S3ObjectStore) -> None:
    assert store.get("images/nothing.png") is None
    assert store.head("images/nothing.png") is None


def test_keys_live_under_the_store_prefix(store: S3ObjectStore, s3_env: SeaweedFS) -> None:
    store.put("images/a.png", PNG, content_type="image/png")
    store.put("manifest.json", b"{}", content_type="application/json")

    listing = s3_env.client().list_objects_v2(Bucket=store.bucket)
    assert sorted(entry["Key"] for entry in listing["Contents"]) == [
        "catalog/images/a.png",
        "catalog/manifest.json",
    ]
    assert sorted(store.list_keys("")) == ["images/a.png", "manifest.json"]
    assert list(store.list_keys("images/")) == ["images/a.png"]
    assert list(store.list_keys("man")) == ["manifest.json"]
    assert store.url_for("images/a.png") == f"s3://{store.bucket}/catalog/images/a.png"


@pytest.mark.parametrize("calculation", ["when_supported", "when_required"])
def test_upload_carries_a_sha256_the_server_stores(
    s3_env: SeaweedFS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch, calculation: str
) -> None:
    # Even a boto3 told to add checksums only where required sends the store's own SHA-256.
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", calculation)
    store = S3ObjectStore(s3_bucket, "catalog")
    store.put("images/a.png", PNG, content_type="image/png")

    head = s3_env.client().head_object(
        Bucket=store.bucket, Key="catalog/images/a.png", ChecksumMode="ENABLED"
    )

    assert head["ChecksumSHA256"] == sha256_base64(PNG)


def test_upload_corrupted_after_signing_is_refused(store: S3ObjectStore) -> None:
    def flip_first_byte(request: Any, **kwargs: Any) -> None:
        body = request.body.getvalue()
        request.body = io.BytesIO(bytes([body[0] ^ 0xFF]) + body[1:])

    store._client.meta.events.register("before-send.s3.PutObject", flip_first_byte)

    with pytest.raises(StoreError, match="corrupted in transit"):
        store.put("images/a.png", PNG, content_type="image/png")
    assert store.head("images/a.png") is None


def test_create_only_write_loses_to_an_existing_object(store: S3ObjectStore) -> None:
    store.put("manifest.json", b"first", content_type="application/json", if_none_match=True)

    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"second", content_type="application/json", if_none_match=True)
    stored = store.get("manifest.json")
    assert stored is not None
    assert stored.data == b"first"


def test_if_match_is_a_compare_and_swap(store: S3ObjectStore) -> None:
    first = store.put("manifest.json", b"v1", content_type="application/json")
    second = store.put("manifest.json", b"v2", content_type="application/json", if_match=first)

    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"v3", content_type="application/json", if_match=first)
    stored = store.get("manifest.json")
    assert stored is not None
    assert (stored.data, stored.etag) == (b"v2", second)


def test_if_match_on_a_missing_key_fails(store: S3ObjectStore) -> None:
    with pytest.raises(PreconditionFailed):
        store.put("manifest.json", b"v1", content_type="application/json", if_match="0" * 32)


@pytest.mark.parametrize(
    ("landed", "expect_success"), [(b"v2", True), (b"someone else's v2", False)]
)
def test_a_retried_conditional_write_knows_its_own_landed_attempt(
    store: S3ObjectStore, s3_env: SeaweedFS, landed: bytes, expect_success: bool
) -> None:
    first = store.put("manifest.json", b"v1", content_type="application/json")
    other_writer = S3ObjectStore(store.bucket, store.prefix, client=s3_env.client())
    sends: list[str] = []

    def land_then_lose_the_answer(request: Any, **kwargs: Any) -> None:
        sends.append(request.url)
        if len(sends) == 1:
            other_writer.put("manifest.json", landed, content_type="application/json")
            raise ConnectionClosedError(endpoint_url=request.url)

    store._client.meta.events.register("before-send.s3.PutObject", land_then_lose_the_answer)

    if expect_success:
        etag = store.put("manifest.json", b"v2", content_type="application/json", if_match=first)
        info = store.head("manifest.json")
        assert info is not None
        assert etag == info.etag
    else:
        with pytest.raises(PreconditionFailed):
            store.put("manifest.json", b"v2", content_type="application/json", if_match=first)
    assert len(sends) == 2


def test_list_keys_follows_the_listing_pages(store: S3ObjectStore) -> None:
    keys = [f"images/{number:04d}.png" for number in range(250)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: store.put(key, b"x", content_type="image/png"), keys))
    store.put("reports/run.json", b"{}", content_type="application/json")
    listings: list[str] = []

    def count_listing(**kwargs: Any) -> None:
        listings.append(kwargs["event_name"])

    store._client.meta.events.register("after-call.s3.ListObjectsV2", count_listing)

    assert sorted(store.list_keys("images/", page_size=100)) == keys
    assert len(listings) == 3


def test_check_access_passes_with_the_right_credentials(store: S3ObjectStore) -> None:
    store.check_access()


def test_wrong_secret_is_refused_at_once_without_echoing_it(
    s3_env: SeaweedFS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_secret = "wrong-" + s3_env.secret_key
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    store, sent = counted_store(s3_bucket, "catalog")

    with pytest.raises(StoreAccessDenied) as refused:
        store.check_access()
    with pytest.raises(StoreAccessDenied):
        store.put("images/a.png", PNG, content_type="image/png")

    assert len(sent) == 2  # one request each: a refusal is never retried
    message = str(refused.value)
    assert f"bucket '{s3_bucket}'" in message
    assert s3_env.endpoint_url in message
    assert "SignatureDoesNotMatch" in message
    assert "AWS_SECRET_ACCESS_KEY" in message
    assert wrong_secret not in message
    assert s3_env.secret_key not in message
    assert wrong_secret not in repr(store)


def test_unknown_access_key_is_refused(
    s3_env: SeaweedFS, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")

    with pytest.raises(StoreAccessDenied, match="InvalidAccessKeyId"):
        S3ObjectStore(s3_bucket).check_access()


def test_missing_bucket_is_named(s3_env: SeaweedFS) -> None:
    store = S3ObjectStore("no-such-bucket-here")

    with pytest.raises(StoreError, match="no bucket 'no-such-bucket-here'") as missing:
        store.check_access()
    with pytest.raises(StoreError, match="no bucket 'no-such-bucket-here'"):
        store.put("a.png", PNG, content_type="image/png")
    with pytest.raises(StoreError, match="no bucket 'no-such-bucket-here'"):
        store.get("a.png")
    assert not isinstance(missing.value, StoreAccessDenied)


def test_stopped_server_is_a_store_error_after_bounded_retries(
    s3_env: SeaweedFS, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = SeaweedFS(tmp_path_factory.mktemp("short-lived"), "short-key", "short-secret")
    with server:
        server.create_bucket("short")
        endpoint = server.endpoint_url
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "short-key")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "short-secret")
        store, sent = counted_store("short")
        store.put("a.png", PNG, content_type="image/png")

    sent.clear()
    with pytest.raises(StoreError, match="cannot reach S3") as unreachable:
        store.put("b.png", PNG, content_type="image/png")

    assert len(sent) == 1 + 3  # the request and boto3's max_attempts=3 retries, then the error
    assert not isinstance(unreachable.value, StoreAccessDenied)
    assert endpoint in str(unreachable.value)
