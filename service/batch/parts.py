"""Finished parts on disk (Arrow IPC files in the work folder), written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa


class PartStore:
    """Part `i` is `scored-i.arrow` plus `rejects-i.arrow`; a part is whole or absent."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, index: int, scored: pa.RecordBatch, rejects: pa.RecordBatch) -> None:
        """Write both files of a part; each appears under its name only once complete."""
        _write(self._path("rejects", index), rejects)
        _write(self._path("scored", index), scored)

    def whole(self, count: int) -> int:
        """How many of the first `count` parts are complete and readable."""
        for index in range(count):
            try:
                self.scored(index)
                self.rejects(index)
            except (OSError, pa.ArrowException):
                return index
        return count

    def scored(self, index: int) -> pa.Table:
        """The scored rows of a finished part (memory-mapped, not copied)."""
        return _read(self._path("scored", index))

    def rejects(self, index: int) -> pa.Table:
        """The rejected rows of a finished part."""
        return _read(self._path("rejects", index))

    def _path(self, kind: str, index: int) -> Path:
        return self.folder / f"{kind}-{index:06d}.arrow"


def _write(path: Path, batch: pa.RecordBatch) -> None:
    # No fsync: a killed process loses nothing the kernel holds, and after a power
    # failure `whole` finds a torn part when the job resumes.
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    os.replace(tmp, path)


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()
