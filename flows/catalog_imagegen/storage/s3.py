"""The S3 store: any S3-compatible bucket (AWS S3, SeaweedFS, MinIO, R2...), through boto3.

boto3 finds credentials, profile, region and endpoint by its own conventions (``AWS_PROFILE``,
``AWS_ACCESS_KEY_ID``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``...); the one variable added
here is ``AWS_REGION``, which boto3 alone ignores.

Every upload carries its SHA-256, which the server checks before storing the object: a transfer
corrupted on the way fails instead of publishing a broken image. Objects stay private unless the
store is built with ``acl_public=True``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from catalog_imagegen.storage.base import ObjectInfo, PreconditionFailed, StoredObject, StoreError
from catalog_imagegen.storage.s3_errors import (
    is_missing_key,
    is_not_found,
    is_precondition_failure,
    store_error,
    was_retried,
)

if TYPE_CHECKING:
    # From boto3-stubs[s3]; without it the client is simply untyped.
    from mypy_boto3_s3 import S3Client  # type: ignore[import-not-found, unused-ignore]

# Enough connections for 64 uploads in flight; more threads than this would queue for a socket.
DEFAULT_MAX_POOL_CONNECTIONS = 64
LIST_PAGE_SIZE = 1000
S3_ERRORS = (ClientError, BotoCoreError)


def s3_client_config(max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS) -> Config:
    """Bounded timeouts and retries: a dead endpoint or a wrong secret fails within seconds."""
    return Config(
        connect_timeout=5,
        read_timeout=60,
        # botocore reads a config's "max_attempts" as retries (3 meant 4 calls): say the total.
        retries={"mode": "standard", "total_max_attempts": 4},
        max_pool_connections=max_pool_connections,
        user_agent_extra="catalog-imagegen",
    )


def new_s3_client(max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS) -> S3Client:
    """An S3 client configured the way boto3 users expect: environment, profile, config file."""
    # boto3 reads AWS_DEFAULT_REGION but not AWS_REGION, which the other AWS SDKs and most S3
    # guides use; honour it too, below AWS_DEFAULT_REGION.
    region = None if os.environ.get("AWS_DEFAULT_REGION") else os.environ.get("AWS_REGION")
    session = boto3.session.Session(region_name=region or None)
    return session.client("s3", config=s3_client_config(max_pool_connections))


def sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class S3ObjectStore:
    """Keys live under ``prefix`` in ``bucket``; ``public_base_url`` is where the bucket's root
    is served to shoppers (a CDN), so ``url_for`` returns ``public_base_url/prefix/key``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        public_base_url: str | None = None,
        client: S3Client | None = None,
        acl_public: bool = False,
        max_pool_connections: int = DEFAULT_MAX_POOL_CONNECTIONS,
    ) -> None:
        if not bucket or "/" in bucket:
            raise ValueError(f"not an S3 bucket name: {bucket!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.acl_public = acl_public
        self._client = client if client is not None else new_s3_client(max_pool_connections)
        self.endpoint_url = str(self._client.meta.endpoint_url)

    @classmethod
    def from_uri(cls, uri: str, **options: Any) -> S3ObjectStore:
        """``s3://bucket/prefix`` -> a store; ``options`` are the constructor's keywords."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
        return cls(parts.netloc, parts.path, **options)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.describe()!r})"

    def describe(self) -> str:
        location = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return f"s3://{location} at {self.endpoint_url}"

    def url_for(self, key: str) -> str:
        object_key = self._object_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(object_key, safe='/~')}"
        return f"s3://{self.bucket}/{object_key}"

    def check_access(self) -> None:
        """One cheap listing, so wrong credentials or a missing bucket stop a run at its start."""
        try:
            self._client.list_objects_v2(
                Bucket=self.bucket, Prefix=self._list_prefix(""), MaxKeys=1
            )
        except S3_ERRORS as error:
            raise self._error(error, "list") from None

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        checksum = sha256_base64(data)
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._object_key(key),
            "Body": data,
            "ContentType": content_type,
            "ChecksumSHA256": checksum,
            "Metadata": dict(metadata or {}),
        }
        if cache_control:
            request["CacheControl"] = cache_control
        if if_match is not None:
            bare_etag = if_match.strip('"')
            request["IfMatch"] = f'"{bare_etag}"'
        if if_none_match:
            request["IfNoneMatch"] = "*"
        if self.acl_public:
            request["ACL"] = "public-read"
        try:
            response = self._client.put_object(**request)
        except ClientError as error:
            conditional = if_match is not None or if_none_match
            if conditional and is_precondition_failure(error) and was_retried(error):
                landed = self._etag_if_holding(key, checksum)
                if landed is not None:
                    return landed
            if if_match is not None and is_missing_key(error):
                # AWS answers If-Match on a missing key with 404, SeaweedFS with 412.
                raise PreconditionFailed(f"{key!r} no longer exists in {self.describe()}") from None
            raise self._error(error, "write", key) from None
        except BotoCoreError as error:
            raise self._error(error, "write", key) from None
        return str(response["ETag"]).strip('"')

    def get(self, key: str) -> StoredObject | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            data = response["Body"].read()
        except ClientError as error:
            if is_missing_key(error):
                return None
            raise self._error(error, "read", key) from None
        except BotoCoreError as error:
            raise self._error(error, "read", key) from None
        return StoredObject(data=bytes(data), etag=str(response["ETag"]).strip('"'))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as error:
            # A HEAD answer has no body, so a missing bucket looks like a missing key here.
            if is_not_found(error):
                return None
            raise self._error(error, "read", key) from None
        except BotoCoreError as error:
            raise self._error(error, "read", key) from None
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            etag=str(response["ETag"]).strip('"'),
            last_modified=response.get("LastModified"),
            content_type=response.get("ContentType"),
            cache_control=response.get("CacheControl"),
            metadata=dict(response.get("Metadata", {})),
        )

    def delete(self, key: str) -> None:
        """Remove an object; a missing key is not an error (S3 answers 204 either way)."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        except S3_ERRORS as error:
            raise self._error(error, "delete", key) from None

    def list_keys(self, prefix: str = "", *, page_size: int = LIST_PAGE_SIZE) -> Iterator[str]:
        """Keys starting with ``prefix``, relative to the store's prefix, one listing per page."""
        skip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self._list_prefix(prefix),
            PaginationConfig={"PageSize": page_size},
        )
        try:
            for page in pages:
                for entry in page.get("Contents", []):
                    yield str(entry["Key"])[skip:]
        except S3_ERRORS as error:
            raise self._error(error, "list") from None

    def _etag_if_holding(self, key: str, checksum: str) -> str | None:
        """The ETag of ``key`` if it holds exactly the bytes with this SHA-256.

        When a conditional write's answer is lost (a timeout, a dropped connection) botocore
        sends it again, and if the first attempt had landed the retry fails its own condition.
        Finding our bytes in place tells that apart from a write that really lost the race.
        """
        try:
            response = self._client.head_object(
                Bucket=self.bucket, Key=self._object_key(key), ChecksumMode="ENABLED"
            )
        except S3_ERRORS:
            return None
        if response.get("ChecksumSHA256") != checksum:
            return None
        return str(response["ETag"]).strip('"')

    def _object_key(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise StoreError(f"key {key!r} is not a relative object key in {self.describe()}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _list_prefix(self, prefix: str) -> str:
        return f"{self.prefix}/{prefix.lstrip('/')}" if self.prefix else prefix.lstrip("/")

    def _error(self, error: Exception, action: str, key: str | None = None) -> StoreError:
        return store_error(
            error, bucket=self.bucket, endpoint=self.endpoint_url, action=action, key=key
        )
