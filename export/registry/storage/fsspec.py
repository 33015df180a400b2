"""A registry under another fsspec URL (`gs://`, `az://`, `memory://`, ...): best effort.

These schemes' conditional writes are emulated by read, compare, write, which is not
atomic against a concurrent writer: they are untested, for one writer at a time. S3 has
its own module (`s3`), where the store itself decides every compare-and-swap.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from export.errors import StorageError
from export.registry.storage.base import Changed, Entry, Exists, Listing, Storage, Tagged

log = logging.getLogger("ferry.registry")
T = TypeVar("T")


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
