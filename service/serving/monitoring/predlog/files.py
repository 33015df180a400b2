"""Rotating Parquet files under `<location>/<model>/<version>/`, each visible only when whole.

A file is written as `.<name>.tmp` and renamed to `<name>.parquet` when it is closed
(after `file_rows` rows or `file_s` seconds, or at shutdown), so a reader of the
folder (`ferry drift --log`, `ferry retrain --from-log`) never sees half a file.
The folder's `*.parquet` files may take `max_bytes`; past it, writing stops until
some are taken away.

On an object store (`s3://...`) the files are made the same way in a local staging
folder under the cache (`FERRY_CACHE_DIR`), and each closed file is stored with one PUT
and then removed. A file the store refuses stays staged and is sent again after the
next poll (a later process with the same log sends what an earlier one left), so an
unreachable store loses nothing until the staged files reach `max_bytes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from export.errors import ExportError
from export.logfiles import SUFFIX, file_key, is_log_file
from export.registry.cache import default_cache_dir
from export.registry.storage import Storage, open_storage


class FolderFull(Exception):
    """The log folder holds `max_bytes` of files already."""


class LostRecords(OSError):
    """A file could not be written or closed; `lost` records already in it are gone too."""

    def __init__(self, message: str, lost: int) -> None:
        super().__init__(message)
        self.lost = lost


@dataclass
class _Open:
    writer: pq.ParquetWriter
    tmp: Path
    final: Path
    schema: pa.Schema
    rows: int
    opened: float
    records: int = 0  # requests in the file so far


@dataclass
class _Staged:
    path: Path
    key: str
    records: int


class LogFiles:
    """One open file per model version; `write` appends a row group, rotating as needed.

    `write`, `rotate` and `close` return how many records they made whole (in a file
    renamed into place, or stored on the object store): a record counts as written only
    then. `unsent` says why staged files wait for the store, "" when none do."""

    def __init__(self, location: str | Path, file_rows: int, file_s: float, max_bytes: int) -> None:
        storage = open_storage(location)
        self.store: Storage | None = None if storage.local_root is not None else storage
        self.folder = storage.local_root or staging_folder(storage.url)
        self.file_rows = file_rows
        self.file_s = file_s
        self.max_bytes = max_bytes
        self.unsent = ""
        self._open: dict[tuple[str, str], _Open] = {}
        self._closed_bytes = folder_bytes(self.folder)
        self._staged: list[_Staged] = self._left_over() if self.store is not None else []
        self._seq = 0

    def write(self, model: str, version: str, table: pa.Table, records: int) -> int:
        """Append `table` (holding `records` requests); `FolderFull`, or `LostRecords` if it
        cannot be written (nothing of it kept)."""
        key = (model, version)
        whole = 0
        current = self._open.get(key)
        if current is not None and current.schema != table.schema:
            whole += self._close(key)  # a new schema starts a new file
            current = None
        if current is None:
            if self._closed_bytes >= self.max_bytes:
                self._closed_bytes = folder_bytes(self.folder)  # files may have been taken
                if self._closed_bytes >= self.max_bytes:
                    waiting = f" waiting for {self.store.url}" if self.store else ""
                    raise FolderFull(
                        f"{self.folder} holds {self._closed_bytes:,} bytes of log files{waiting} "
                        f"(FERRY_PREDICTION_LOG_MAX_BYTES={self.max_bytes:,})"
                    )
            try:
                current = self._start(model, version, table.schema)
            except (OSError, pa.ArrowException) as err:
                raise LostRecords(f"{self.folder / model / version}: {err}", 0) from err
            self._open[key] = current
        try:
            current.writer.write_table(table)
        except (OSError, pa.ArrowException) as err:
            self._abandon(key)
            raise LostRecords(f"{current.tmp}: {err}", current.records) from err
        current.rows += table.num_rows
        current.records += records
        if current.rows >= self.file_rows:
            whole += self._close(key)
        return whole

    def open_records(self) -> int:
        """Records in files not yet closed."""
        return sum(f.records for f in self._open.values())

    def room(self, model: str, version: str) -> int:
        """Rows the version's current file takes before it is closed."""
        current = self._open.get((model, version))
        return self.file_rows - (current.rows if current else 0)

    def rotate(self, now: float | None = None) -> int:
        """Close the files open longer than `file_s` (and send what waits for the store)."""
        now = time.monotonic() if now is None else now
        old = [k for k, f in self._open.items() if now - f.opened >= self.file_s]
        return sum(self._close(key) for key in old) + self._send()

    def close(self) -> int:
        return sum(self._close(key) for key in list(self._open)) + self._send()

    def _start(self, model: str, version: str, schema: pa.Schema) -> _Open:
        folder = self.folder / model / version
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = folder / f"{stamp}-{os.getpid()}-{self._seq}{SUFFIX}"
        tmp = folder / f".{final.name}.tmp"
        writer = pq.ParquetWriter(tmp, schema)
        return _Open(writer, tmp, final, schema, 0, time.monotonic())

    def _close(self, key: tuple[str, str]) -> int:
        current = self._open.pop(key)
        try:
            current.writer.close()
            os.replace(current.tmp, current.final)
            self._closed_bytes += current.final.stat().st_size
        except (OSError, pa.ArrowException) as err:
            with contextlib.suppress(OSError):
                current.tmp.unlink(missing_ok=True)
            raise LostRecords(f"{current.final}: {err}", current.records) from err
        if self.store is None:
            return current.records
        # sent by `rotate` or `close`, once for all the files they close
        self._staged.append(_Staged(current.final, _key(current.final), current.records))
        return 0

    def _send(self) -> int:
        """Store the staged files in order; the records of those stored. The first one the
        store refuses, and those after it, wait for the next call."""
        sent = 0
        while self._staged and self.store is not None:
            staged = self._staged[0]
            try:
                size = staged.path.stat().st_size
                self.store.put_file(staged.key, staged.path)
            except (OSError, ExportError) as err:
                if staged.path.exists():
                    waiting = f"{len(self._staged)} file(s) wait for {self.store.url}"
                    self.unsent = f"{waiting}: {err}"
                    return sent
                size = 0  # another process of this log sent it meanwhile
            with contextlib.suppress(OSError):
                staged.path.unlink()
            self._staged.pop(0)
            self._closed_bytes -= size
            sent += staged.records
        self.unsent = ""
        return sent

    def _left_over(self) -> list[_Staged]:
        """Whole files an earlier process staged but could not store before it stopped
        (how many records they hold is not kept: sending them counts none)."""
        found = []
        for path in sorted(self.folder.glob(f"*/*/*{SUFFIX}")):
            if is_log_file(path.name):
                found.append(_Staged(path, _key(path), 0))
        return found

    def _abandon(self, key: tuple[str, str]) -> None:
        current = self._open.pop(key)
        with contextlib.suppress(OSError, pa.ArrowException):
            current.writer.close()
        with contextlib.suppress(OSError):
            current.tmp.unlink(missing_ok=True)


def _key(path: Path) -> str:
    """The store key of a staged file `<staging>/<model>/<version>/<name>`."""
    model, version, name = path.parts[-3:]
    return file_key(model, version, name)


def staging_folder(url: str) -> Path:
    """The local folder where files of the log at `url` wait to be stored."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return default_cache_dir() / "prediction-log" / digest


def folder_bytes(folder: Path) -> int:
    """Bytes of the log files under `folder` (0 if there is none yet)."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if name.endswith(SUFFIX):
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except OSError:
                    continue
    return total
