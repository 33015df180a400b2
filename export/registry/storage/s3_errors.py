"""What S3 says, as one clear error naming the registry's URL and what to set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from export.errors import StorageError

if TYPE_CHECKING:
    from export.registry.storage.s3 import S3Storage


class PreconditionFailed(Exception):
    """The store refused a conditional write (412)."""


class Missing(Exception):
    """No such key (404)."""


class NotModified(Exception):
    """A conditional read of an unchanged object (304)."""


def translate(err: BaseException, store: S3Storage, key: str) -> Exception:
    """One clear error naming the URL and what to set, for anything the store says."""
    if isinstance(err, PreconditionFailed | Missing | NotModified | StorageError):
        return err
    cause = err.__cause__ if err.__cause__ is not None else err  # s3fs wraps botocore's errors
    name = type(cause).__name__
    response = getattr(cause, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    where = store.describe(key)
    endpoint = _endpoint(store)
    if code in ("PreconditionFailed", "412") or status == 412:
        return PreconditionFailed(where)
    if code in ("304", "NotModified") or status == 304:
        return NotModified(where)
    if code in ("NoSuchKey", "404", "NotFound") and code != "NoSuchBucket":
        return Missing(where)
    if code == "NoSuchBucket":
        return StorageError(
            f"registry {store.url}: bucket {store.bucket!r} does not exist at {endpoint}; "
            "create it or fix the URL (and AWS_ENDPOINT_URL)"
        )
    if name == "NoCredentialsError" or name == "PartialCredentialsError":
        return StorageError(
            f"registry {store.url}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        )
    if code in _DENIED or status == 403 or isinstance(err, PermissionError):
        return StorageError(
            f"registry {store.url}: access denied by {endpoint} ({code or status}); check "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket policy"
        )
    if name in _UNREACHABLE or isinstance(cause, ConnectionError | TimeoutError):
        return StorageError(
            f"registry {store.url}: cannot reach the S3 endpoint {endpoint} ({name}); "
            "check AWS_ENDPOINT_URL and the network"
        )
    detail = f"{code}: " if code else f"{name}: "
    message = response.get("Error", {}).get("Message") or str(cause)
    return StorageError(f"registry {store.url}: {where}: {detail}{message}")


_DENIED = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "403"}
)
_UNREACHABLE = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ClientConnectorError",
        "ServerDisconnectedError",
    }
)


def _endpoint(store: S3Storage) -> str:
    try:
        return str(store.fs.s3.meta.endpoint_url)
    except Exception:
        return str(store.fs.endpoint_url or "the default AWS endpoint")
