"""A registry on object storage through fsspec: S3 (and S3-compatible stores) tested,
other fsspec schemes (`gs://`, `az://`, ...) best effort.

S3 (`s3://bucket/prefix`, s3fs): the endpoint, region and credentials come from the
standard AWS settings (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_PROFILE`, `AWS_DEFAULT_REGION`), so MinIO, Ceph and R2 work as AWS does. Tags are
ETags; `create` sends `If-None-Match: *`, `replace` and conditional deletes
`If-Match: <etag>` (S3 has enforced both since 2024; moto and MinIO do too), so a
compare-and-swap is decided by the store, not by the client.

Other schemes: their conditional writes are emulated by read, compare, write, which is
not atomic against a concurrent writer. They are untested; use them with one writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from export.errors import StorageError
from export.registry.storage.base import Changed, Entry, Exists, Listing, Storage, Tagged

log = logging.getLogger("ferry.registry")
T = TypeVar("T")
CONCURRENCY = 16
# fail within seconds when the endpoint is down, instead of s3fs's and botocore's nested
# retries (a minute and more): botocore's standard mode, 3 attempts unless AWS_MAX_ATTEMPTS
S3_CONFIG = {"connect_timeout": 5, "read_timeout": 30, "retries": {"mode": "standard"}}
S3_RETRIES = 2
#: The settings that choose an S3 client; a client is made once per process and settings.
S3_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_MAX_ATTEMPTS",
)
_clients: dict[tuple[object, ...], Any] = {}
_clients_lock = threading.Lock()


def s3_filesystem() -> Any:
    """An s3fs file system for the current AWS settings, shared within the process:
    making one loads botocore's service models (about a second of CPU)."""
    import s3fs

    key = (os.getpid(), *(os.environ.get(name) for name in S3_ENV))
    with _clients_lock:
        fs = _clients.get(key)
        if fs is None:
            # no listing cache: aliases and versions must be read fresh on every call
            fs = s3fs.S3FileSystem(
                use_listings_cache=False, skip_instance_cache=True, config_kwargs=dict(S3_CONFIG)
            )
            fs.retries = S3_RETRIES
            _clients[key] = fs
        return fs


class FsspecStorage(Storage):
    """Objects under `root` of an fsspec file system (conditional writes emulated)."""

    def __init__(self, url: str, fs: Any, root: str) -> None:
        self.url, self.fs, self.root = url.rstrip("/"), fs, root.strip("/")
        self._warned = False

    def full(self, key: str) -> str:
        return f"{self.root}/{key}".rstrip("/") if key else self.root

    def read(self, key: str) -> Tagged | None:
        try:
            data = bytes(self._guard(key, lambda: self.fs.cat_file(self.full(key))))
        except FileNotFoundError:
            return None
        return Tagged(data, hashlib.sha256(data).hexdigest())

    def write(self, key: str, data: bytes) -> None:
        self._guard(key, lambda: self.fs.pipe_file(self.full(key), data))

    def create(self, key: str, data: bytes) -> str:
        self._not_atomic()
        if self.read(key) is not None:
            raise Exists(key)
        self.write(key, data)
        return hashlib.sha256(data).hexdigest()

    def replace(self, key: str, data: bytes, tag: str) -> str:
        self._not_atomic()
        current = self.read(key)
        if current is None or current.tag != tag:
            raise Changed(key)
        self.write(key, data)
        return hashlib.sha256(data).hexdigest()

    def delete(self, key: str, tag: str | None = None) -> None:
        if tag is not None:
            current = self.read(key)
            if current is None or current.tag != tag:
                raise Changed(key)
        with contextlib.suppress(FileNotFoundError):
            self._guard(key, lambda: self.fs.rm_file(self.full(key)))

    def put_file(self, key: str, source: Path, move: bool = False) -> None:
        self._guard(key, lambda: self.fs.put_file(str(source), self.full(key)))

    def get_file(self, key: str, target: Path) -> None:
        self._guard(key, lambda: self.fs.get_file(self.full(key), str(target)))

    def listing(self, prefix: str) -> Listing:
        try:
            entries = self._guard(prefix, lambda: self.fs.ls(self.full(prefix), detail=True))
        except FileNotFoundError:
            return Listing([], [])
        dirs: list[str] = []
        files: list[str] = []
        for entry in entries:
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            (dirs if entry.get("type") == "directory" else files).append(name)
        return Listing(sorted(dirs), sorted(files))

    def entries(self, prefix: str) -> dict[str, Entry]:
        try:
            found = self._guard(prefix, lambda: self.fs.ls(self.full(prefix), detail=True))
        except FileNotFoundError:
            return {}
        entries = {}
        for info in found:
            if info.get("type") == "directory":
                continue
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            size = int(info.get("size") or 0)
            modified = _mtime(info) or 0.0
            tag = str(info.get("ETag") or info.get("etag") or f"{size}-{modified}")
            entries[name] = Entry(size, tag, modified)
        return entries

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if self._isfile(k)}

    def _isfile(self, key: str) -> bool:
        return bool(self._guard(key, lambda: self.fs.isfile(self.full(key))))

    def newest(self, prefix: str) -> float | None:
        try:
            found = self._guard(prefix, lambda: self.fs.find(self.full(prefix), detail=True))
        except FileNotFoundError:
            return None
        times = [_mtime(info) for info in found.values()]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def delete_tree(self, prefix: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._guard(prefix, lambda: self.fs.rm(self.full(prefix), recursive=True))

    def scratch(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix="ferry-draft-"))

    def _guard(self, key: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except FileNotFoundError:
            raise
        except Exception as err:
            raise StorageError(f"{self.describe(key)}: {err}") from err

    def _not_atomic(self) -> None:
        if not self._warned:
            log.warning("%s: conditional writes are emulated (not atomic) on this scheme", self.url)
            self._warned = True


class S3Storage(FsspecStorage):
    """Objects under `s3://bucket/prefix`, with the store's own conditional writes."""

    def __init__(self, url: str, fs: Any, root: str) -> None:
        super().__init__(url, fs, root)
        self.bucket, _, self.prefix = self.root.partition("/")

    def key_of(self, key: str) -> str:
        return f"{self.prefix}/{key}".strip("/") if self.prefix else key.strip("/")

    # --- objects -------------------------------------------------------------
    def read(self, key: str) -> Tagged | None:
        return self._run(key, self._get(key, {}))

    def read_if_changed(self, key: str, tag: str) -> Tagged | None:
        from export.registry.storage.base import NOT_MODIFIED

        try:
            return self._run(key, self._get(key, {"IfNoneMatch": tag}))
        except _NotModified:
            return NOT_MODIFIED

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)

        async def all_of() -> list[Tagged | None]:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(key: str) -> Tagged | None:
                async with gate:
                    return await self._get(key, {})

            return list(await asyncio.gather(*(one(k) for k in wanted)))

        found = self._run(self.prefix, all_of())
        return {k: t.data for k, t in zip(wanted, found, strict=True) if t is not None}

    def write(self, key: str, data: bytes) -> None:
        self._run(key, self._put(key, data, {}))

    def create(self, key: str, data: bytes) -> str:
        try:
            return self._run(key, self._put(key, data, {"IfNoneMatch": "*"}))
        except _Precondition:
            raise Exists(key) from None

    def replace(self, key: str, data: bytes, tag: str) -> str:
        try:
            return self._run(key, self._put(key, data, {"IfMatch": tag}))
        except (_Precondition, _Missing):
            raise Changed(key) from None

    def delete(self, key: str, tag: str | None = None) -> None:
        extra = {"IfMatch": tag} if tag is not None else {}
        try:
            self._run(key, self._call("delete_object", Key=self.key_of(key), **extra))
        except (_Precondition, _Missing):
            if tag is not None:
                raise Changed(key) from None

    # --- prefixes ------------------------------------------------------------
    def listing(self, prefix: str) -> Listing:
        pages = self._run(prefix, self._pages(prefix, delimiter=True))
        dirs, files = set(), set()
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                dirs.add(common["Prefix"].rstrip("/").rsplit("/", 1)[-1])
            for item in page.get("Contents", []):
                files.add(item["Key"].rsplit("/", 1)[-1])
        return Listing(sorted(dirs), sorted(files))

    def entries(self, prefix: str) -> dict[str, Entry]:
        pages = self._run(prefix, self._pages(prefix, delimiter=True))
        return {
            item["Key"].rsplit("/", 1)[-1]: Entry(
                int(item["Size"]), str(item["ETag"]), item["LastModified"].timestamp()
            )
            for page in pages
            for item in page.get("Contents", [])
        }

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        wanted = list(keys)

        async def all_of() -> list[bool]:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(key: str) -> bool:
                async with gate:
                    try:
                        await self._call("head_object", Key=self.key_of(key))
                    except _Missing:
                        return False
                    return True

            return list(await asyncio.gather(*(one(k) for k in wanted)))

        found = self._run(self.prefix, all_of())
        return {k for k, there in zip(wanted, found, strict=True) if there}

    def newest(self, prefix: str) -> float | None:
        pages = self._run(prefix, self._pages(prefix, delimiter=False))
        times = [item["LastModified"].timestamp() for p in pages for item in p.get("Contents", [])]
        return max(times) if times else None

    def delete_tree(self, prefix: str) -> None:
        pages = self._run(prefix, self._pages(prefix, delimiter=False))
        keys = [{"Key": item["Key"]} for p in pages for item in p.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            batch = {"Objects": keys[start : start + 1000], "Quiet": True}
            self._run(prefix, self._call("delete_objects", Delete=batch))

    # --- the wire --------------------------------------------------------------
    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            await self.fs.set_session()
            return await getattr(self.fs.s3, method)(Bucket=self.bucket, **kwargs)
        except Exception as err:
            raise _translate(err, self, self._relative(str(kwargs.get("Key", "")))) from err

    def _relative(self, full_key: str) -> str:
        head = f"{self.prefix}/" if self.prefix else ""
        return full_key[len(head) :] if full_key.startswith(head) else full_key

    async def _get(self, key: str, extra: dict[str, str]) -> Tagged | None:
        try:
            response = await self._call("get_object", Key=self.key_of(key), **extra)
        except _Missing:
            return None
        try:
            data = await response["Body"].read()
        finally:
            response["Body"].close()
        return Tagged(data, str(response["ETag"]))

    async def _put(self, key: str, data: bytes, extra: dict[str, str]) -> str:
        response = await self._call("put_object", Key=self.key_of(key), Body=data, **extra)
        return str(response["ETag"])

    async def _pages(self, prefix: str, delimiter: bool) -> list[dict[str, Any]]:
        args: dict[str, Any] = {
            "Prefix": self.key_of(prefix) + "/" if prefix or self.prefix else ""
        }
        if delimiter:
            args["Delimiter"] = "/"
        pages = []
        while True:
            page = await self._call("list_objects_v2", **args)
            pages.append(page)
            if not page.get("IsTruncated"):
                return pages
            args["ContinuationToken"] = page["NextContinuationToken"]

    def _run(self, key: str, work: Awaitable[T]) -> T:
        from fsspec.asyn import sync

        async def translated() -> T:
            try:
                return await work
            except Exception as err:
                raise _translate(err, self, key) from err

        result: T = sync(self.fs.loop, translated)
        return result

    def _guard(self, key: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as err:
            translated = _translate(err, self, key)
            if isinstance(translated, _Missing):
                raise FileNotFoundError(self.describe(key)) from err
            raise translated from err


class _Precondition(Exception):
    """The store refused a conditional write (412)."""


class _Missing(Exception):
    """No such key (404)."""


class _NotModified(Exception):
    """A conditional read of an unchanged object (304)."""


def _translate(err: BaseException, store: S3Storage, key: str) -> Exception:
    """One clear error naming the URL and what to set, for anything the store says."""
    if isinstance(err, _Precondition | _Missing | _NotModified | StorageError):
        return err
    cause = err.__cause__ if err.__cause__ is not None else err  # s3fs wraps botocore's errors
    name = type(cause).__name__
    response = getattr(cause, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    where = store.describe(key)
    endpoint = _endpoint(store)
    if code in ("PreconditionFailed", "412") or status == 412:
        return _Precondition(where)
    if code in ("304", "NotModified") or status == 304:
        return _NotModified(where)
    if code in ("NoSuchKey", "404", "NotFound") and code != "NoSuchBucket":
        return _Missing(where)
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


def _mtime(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(field)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None
