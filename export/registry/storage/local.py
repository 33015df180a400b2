"""A registry in a local folder (or a shared volume mounted as one).

Objects are files written to a temporary name and renamed into place, so readers see
whole files. `create` links a finished temporary file to its key (atomic, fails if the
key exists); `replace` compares the file's content hash with the caller's tag and
renames under an `fcntl` lock on the folder's `.lock`. Tags are sha256 of the content.
Folders are made 0755 and files 0644 whatever the umask, so a service running as
another user can read what a training job published.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from export.errors import Locked, StorageError
from export.registry.storage.base import Changed, Entry, Exists, Listing, Storage, Tagged

DIR_MODE = 0o755
FILE_MODE = 0o644
LOCK = ".lock"
SCRATCH_PREFIX = ".draft-"


class LocalStorage(Storage):
    """Objects as files under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.folder = Path(root).expanduser().absolute()
        self.local_root = self.folder
        self.url = str(self.folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise StorageError(f"registry {self.url} is a file, not a folder")

    def path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise StorageError(f"invalid key {key!r} in registry {self.url}")
        return self.folder.joinpath(*parts)

    # --- objects -------------------------------------------------------------
    def read(self, key: str) -> Tagged | None:
        try:
            data = self.path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as err:
            raise StorageError(f"cannot read {self.describe(key)}: {err}") from err
        return Tagged(data, _tag(data))

    def write(self, key: str, data: bytes) -> None:
        target = self.path(key)
        os.replace(self._staged(target, data), target)

    def create(self, key: str, data: bytes) -> str:
        target = self.path(key)
        staged = self._staged(target, data)
        try:
            os.link(staged, target)  # atomic, and refuses an existing name
        except FileExistsError:
            raise Exists(key) from None
        finally:
            staged.unlink(missing_ok=True)
        return _tag(data)

    def replace(self, key: str, data: bytes, tag: str) -> str:
        target = self.path(key)
        with self._locked(target.parent):
            current = self.read(key)
            if current is None or current.tag != tag:
                raise Changed(key)
            os.replace(self._staged(target, data), target)
        return _tag(data)

    def delete(self, key: str, tag: str | None = None) -> None:
        target = self.path(key)
        if tag is None:
            target.unlink(missing_ok=True)
            return
        with self._locked(target.parent):
            current = self.read(key)
            if current is None or current.tag != tag:
                raise Changed(key)
            target.unlink()

    def put_file(self, key: str, source: Path, move: bool = False) -> None:
        target = self.path(key)
        _make_dirs(target.parent)
        if move:
            os.chmod(source, FILE_MODE)
            try:
                os.replace(source, target)
                return
            except OSError as err:
                if err.errno != errno.EXDEV:
                    raise
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        shutil.copyfile(source, tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)

    def get_file(self, key: str, target: Path) -> None:
        shutil.copyfile(self.path(key), target)

    # --- prefixes ------------------------------------------------------------
    def listing(self, prefix: str) -> Listing:
        folder = self.path(prefix)
        dirs: list[str] = []
        files: list[str] = []
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return Listing([], [])
        except OSError as err:
            raise StorageError(f"cannot list {self.describe(prefix)}: {err}") from err
        for entry in entries:
            with contextlib.suppress(OSError):  # vanished, or unreadable: not ours
                (dirs if entry.is_dir() else files).append(entry.name)
        return Listing(sorted(dirs), sorted(files))

    def entries(self, prefix: str) -> dict[str, Entry]:
        found = {}
        for name in self.listing(prefix).files:
            with contextlib.suppress(OSError):
                info = self.path(f"{prefix}/{name}").stat()
                tag = f"{info.st_size}-{info.st_mtime_ns}"
                found[name] = Entry(info.st_size, tag, info.st_mtime)
        return found

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if self.path(key).is_file()}

    def newest(self, prefix: str) -> float | None:
        top = self.path(prefix)
        if not top.exists():
            return None
        latest = top.stat().st_mtime
        for folder, _, names in os.walk(top):
            for name in names:
                with contextlib.suppress(OSError):
                    latest = max(latest, os.stat(os.path.join(folder, name)).st_mtime)
        return latest

    def delete_tree(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    def scratch(self, prefix: str) -> Path:
        folder = self.path(prefix)
        _make_dirs(folder)
        return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=folder))

    def stale_scratch(self, prefix: str) -> list[str]:
        listing = self.listing(prefix)
        return [f"{prefix}/{d}" for d in listing.dirs if d.startswith(SCRATCH_PREFIX)]

    # --- the long-job lock: a kernel lock, dropped whenever the holder exits -------
    @contextlib.contextmanager
    def hold(self, key: str, holder: dict[str, Any], ttl: float) -> Iterator[None]:
        path = self.path(key)
        _make_dirs(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _locked(self.describe(key), self.holder(key) or {}) from None
            record = {**holder, "pid": os.getpid(), "host": socket.gethostname()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self, key: str) -> dict[str, Any] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _parse_holder(path.read_bytes())
            fcntl.flock(handle, fcntl.LOCK_UN)
        return None

    # --- internals -----------------------------------------------------------
    def _staged(self, target: Path, data: bytes) -> Path:
        """`data` in a finished temporary file beside `target` (mode 0644, fsynced)."""
        _make_dirs(target.parent)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    @contextlib.contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        _make_dirs(folder)
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the lock


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_dirs(folder: Path) -> None:
    """Create `folder` and its parents as 0755 (mkdir alone would apply the umask)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir()
            os.chmod(path, DIR_MODE)


def _parse_holder(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        text = data.decode(errors="replace").strip()
        return {"pid": int(text)} if text.isdigit() else {}  # written by an older ferry
    return parsed if isinstance(parsed, dict) else {}


def _locked(where: str, holder: dict[str, Any]) -> Locked:
    from export.registry.lease import locked_error

    return locked_error(where, holder)
