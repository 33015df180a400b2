"""Rotating Parquet files under `<folder>/<model>/<version>/`, each visible only when whole.

A file is written as `.<name>.tmp` and renamed to `<name>.parquet` when it is closed
(after `file_rows` rows or `file_s` seconds, or at shutdown), so a reader of the
folder (`ferry drift --log`, `ferry retrain --from-log`) never sees half a file.
The folder's `*.parquet` files may take `max_bytes`; past it, writing stops until
some are taken away.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SUFFIX = ".parquet"


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


class LogFiles:
    """One open file per model version; `write` appends a row group, rotating as needed.

    `write`, `rotate` and `close` return how many records they made whole (in a file
    renamed into place): a record counts as written only then."""

    def __init__(self, folder: Path, file_rows: int, file_s: float, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.file_rows = file_rows
        self.file_s = file_s
        self.max_bytes = max_bytes
        self._open: dict[tuple[str, str], _Open] = {}
        self._closed_bytes = folder_bytes(self.folder)
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
                    raise FolderFull(
                        f"{self.folder} holds {self._closed_bytes:,} bytes of log files "
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
        """Close the files open longer than `file_s`."""
        now = time.monotonic() if now is None else now
        old = [k for k, f in self._open.items() if now - f.opened >= self.file_s]
        return sum(self._close(key) for key in old)

    def close(self) -> int:
        return sum(self._close(key) for key in list(self._open))

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
        return current.records

    def _abandon(self, key: tuple[str, str]) -> None:
        current = self._open.pop(key)
        with contextlib.suppress(OSError, pa.ArrowException):
            current.writer.close()
        with contextlib.suppress(OSError):
            current.tmp.unlink(missing_ok=True)


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
