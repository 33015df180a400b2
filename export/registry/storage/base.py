"""What the registry needs from a store: whole objects, conditional writes, listings.

Keys are relative, `/`-separated (`tabular/3/model.onnx`). Every object is written
whole: a reader sees the old bytes or the new ones, never a part. Each object read
comes with a *tag* (an S3 ETag, a content hash on a local folder): `replace` and a
conditional `delete` succeed only while the object still has the tag the writer read,
`create` only while the key is free. These three are the registry's only
synchronisation; everything else it builds on them.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Precondition(Exception):
    """A conditional write lost; the registry turns it into `Conflict` or retries."""


class Exists(Precondition):
    """`create` found the key taken."""


class Changed(Precondition):
    """`replace` or a conditional `delete` found another tag (or no object)."""


@dataclass(frozen=True)
class Tagged:
    """An object's bytes and the tag they were read with."""

    data: bytes
    tag: str


@dataclass(frozen=True)
class Listing:
    """One level below a prefix: sub-prefixes (`dirs`) and objects (`files`), names only."""

    dirs: list[str]
    files: list[str]


@dataclass(frozen=True)
class Entry:
    """An object as a listing shows it: size, a version tag (ETag; size and mtime on a
    folder) and its modification time (epoch seconds)."""

    size: int
    tag: str
    modified: float


#: What `read_if_changed` returns when the object still has the tag given.
NOT_MODIFIED = Tagged(b"", "")


class Storage(ABC):
    """A registry's store. `url` names it in every message; `local_root` is the folder of a
    local store (versions are opened in place there), None for a remote one."""

    url: str
    local_root: Path | None = None

    def describe(self, key: str) -> str:
        """The URL of `key`, for messages."""
        return f"{self.url.rstrip('/')}/{key}" if key else self.url

    # --- objects -------------------------------------------------------------
    @abstractmethod
    def read(self, key: str) -> Tagged | None:
        """The object at `key` with its tag, or None when there is none."""

    def read_if_changed(self, key: str, tag: str) -> Tagged | None:
        """Like `read`, but `NOT_MODIFIED` while the object still has `tag`."""
        current = self.read(key)
        return NOT_MODIFIED if current is not None and current.tag == tag else current

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The objects that exist among `keys` (missing ones are left out)."""
        found = {}
        for key in keys:
            current = self.read(key)
            if current is not None:
                found[key] = current.data
        return found

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Write `key` whole, whatever it held (for objects that only one writer makes)."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> str:
        """Write `key` only if it does not exist, else raise `Exists`; return the new tag."""

    @abstractmethod
    def replace(self, key: str, data: bytes, tag: str) -> str:
        """Write `key` only if it still has `tag`, else raise `Changed`; return the new tag."""

    @abstractmethod
    def delete(self, key: str, tag: str | None = None) -> None:
        """Remove `key` (gone already is fine); with `tag`, only if it still has it."""

    @abstractmethod
    def put_file(self, key: str, source: Path, move: bool = False) -> None:
        """Store a local file at `key`; `move` allows consuming `source` (a rename)."""

    @abstractmethod
    def get_file(self, key: str, target: Path) -> None:
        """Copy `key` into the local file `target`."""

    # --- prefixes ------------------------------------------------------------
    @abstractmethod
    def listing(self, prefix: str) -> Listing:
        """Sub-prefixes and objects one level below `prefix` ("" is the root)."""

    @abstractmethod
    def entries(self, prefix: str) -> dict[str, Entry]:
        """The objects directly under `prefix`, by name, with their sizes and tags."""

    @abstractmethod
    def exists_many(self, keys: Iterable[str]) -> set[str]:
        """The keys among `keys` that hold an object."""

    @abstractmethod
    def newest(self, prefix: str) -> float | None:
        """The latest modification time (epoch seconds) of anything under `prefix`."""

    @abstractmethod
    def delete_tree(self, prefix: str) -> None:
        """Remove everything under `prefix`."""

    # --- local helpers -------------------------------------------------------
    @abstractmethod
    def scratch(self, prefix: str) -> Path:
        """A new empty local folder to build files in before they go under `prefix`.

        A local store makes it next to `prefix`, so storing its files is a rename."""

    def stale_scratch(self, prefix: str) -> list[str]:
        """Scratch folders of `prefix` kept in the store (local stores), as keys."""
        return []

    @contextlib.contextmanager
    def hold(self, key: str, holder: dict[str, Any], ttl: float) -> Iterator[None]:
        """Hold the long-job lock `key` for the block, or raise `Locked` at once.

        The default is a lease object (see `export.registry.lease`); a local store uses
        a kernel lock instead, which the kernel drops however the holder exits."""
        from export.registry.lease import Lease

        with Lease(self, key, holder, ttl).held():
            yield

    def holder(self, key: str) -> dict[str, Any] | None:
        """Who holds the lock `key` now, or None."""
        from export.registry.lease import Lease

        return Lease(self, key, {}, 0).current()
