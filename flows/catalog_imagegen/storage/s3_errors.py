"""Turning boto3's exceptions into the store's three errors, with one clear, secret-free message.

Messages name the bucket and endpoint (and the key, where there is one), never a credential, and
say what to do. Nothing here
retries: botocore's bounded retry has already run, and it never retries a refused signature.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from catalog_imagegen.storage.base import PreconditionFailed, StoreAccessDenied, StoreError

CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
        "InvalidClientTokenId",
    }
)
PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
INTEGRITY_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
CREDENTIAL_HINT = "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_not_found(error: ClientError) -> bool:
    return error_code(error) in {"NoSuchKey", "NotFound", "404"} or http_status(error) == 404


def is_missing_key(error: ClientError) -> bool:
    return is_not_found(error) and error_code(error) != "NoSuchBucket"


def is_precondition_failure(error: ClientError) -> bool:
    return error_code(error) in PRECONDITION_CODES or http_status(error) == 412


def was_retried(error: ClientError) -> bool:
    return int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0


def store_error(
    error: Exception, *, bucket: str, endpoint: str, action: str, key: str | None = None
) -> StoreError:
    """The store error for a failed ``action`` ("write", "read", "list"...) on ``bucket``."""
    where = f"bucket {bucket!r} at {endpoint}"
    if isinstance(error, ClientError):
        return _from_client_error(error, where=where, action=action, key=key)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return StoreAccessDenied(f"no usable AWS credentials for {where}: {CREDENTIAL_HINT}")
    if isinstance(error, ConnectionError | HTTPClientError):
        return StoreError(
            f"cannot reach S3 at {endpoint} for bucket {bucket!r} ({type(error).__name__}): "
            "check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the server is up"
        )
    if isinstance(error, BotoCoreError):
        return StoreError(f"S3 {action} failed for {where}: {error}")
    return StoreError(f"S3 {action} failed for {where}: {type(error).__name__}: {error}")


def _from_client_error(
    error: ClientError, *, where: str, action: str, key: str | None
) -> StoreError:
    code = error_code(error)
    status = http_status(error)
    message = str(error.response.get("Error", {}).get("Message", "")) or code
    subject = f"{key!r} in {where}" if key else where
    if code in CREDENTIAL_CODES:
        return StoreAccessDenied(
            f"S3 rejected the credentials for {where} ({code}): {CREDENTIAL_HINT}"
        )
    if code == "AccessDenied" or status == 403:
        return StoreAccessDenied(
            f"S3 denied {action} on {where} ({code or status}): {CREDENTIAL_HINT}, "
            "and that they may list, read and write this bucket"
        )
    if code == "NoSuchBucket":
        return StoreError(f"S3 has no {where}: create the bucket or fix its name")
    if is_precondition_failure(error):
        return PreconditionFailed(f"{subject} changed since it was read ({code or status})")
    if code in INTEGRITY_CODES:
        return StoreError(f"S3 refused {subject}: the upload was corrupted in transit ({code})")
    return StoreError(f"S3 {action} failed for {subject}: {code or status} {message}")
