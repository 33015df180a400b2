"""A registry on S3 or an S3-compatible store (`s3://bucket/prefix`, through s3fs).

The endpoint, region and credentials come from the standard AWS settings
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`,
`AWS_DEFAULT_REGION`, `AWS_MAX_ATTEMPTS`), so MinIO, Ceph and R2 work as AWS does. Tags
are ETags; `create` sends `If-None-Match: *`, `replace` and conditional deletes
`If-Match: <etag>` (S3 has enforced both since 2024; moto and MinIO do too), so every
compare-and-swap is decided by the store, not by the client. Reads of many objects run
concurrently on s3fs's event loop; errors become one `StorageError` (`s3_errors`).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from export.registry.storage.base import NOT_MODIFIED, Changed, Entry, Exists, Listing, Tagged
from export.registry.storage.fsspec import FsspecStorage
from export.registry.storage.s3_errors import Missing, NotModified, PreconditionFailed, translate

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
        try:
            return self._run(key, self._get(key, {"IfNoneMatch": tag}))
        except NotModified:
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
        except PreconditionFailed:
            raise Exists(key) from None

    def replace(self, key: str, data: bytes, tag: str) -> str:
        try:
            return self._run(key, self._put(key, data, {"IfMatch": tag}))
        except (PreconditionFailed, Missing):
            raise Changed(key) from None

    def delete(self, key: str, tag: str | None = None) -> None:
        extra = {"IfMatch": tag} if tag is not None else {}
        try:
            self._run(key, self._call("delete_object", Key=self.key_of(key), **extra))
        except (PreconditionFailed, Missing):
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
                    except Missing:
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
            raise translate(err, self, self._relative(str(kwargs.get("Key", "")))) from err

    def _relative(self, full_key: str) -> str:
        head = f"{self.prefix}/" if self.prefix else ""
        return full_key[len(head) :] if full_key.startswith(head) else full_key

    async def _get(self, key: str, extra: dict[str, str]) -> Tagged | None:
        try:
            response = await self._call("get_object", Key=self.key_of(key), **extra)
        except Missing:
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
                raise translate(err, self, key) from err

        result: T = sync(self.fs.loop, translated)
        return result

    def _guard(self, key: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as err:
            translated = translate(err, self, key)
            if isinstance(translated, Missing):
                raise FileNotFoundError(self.describe(key)) from err
            raise translated from err
