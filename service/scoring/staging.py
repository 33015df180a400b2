"""Finished units of a distributed job, in its work folder: what makes it resumable.

Unit `k` leaves `output/part-k<suffix>` (its scored rows, in the output's format),
`rejects-k.arrow` (rejected rows numbered from the unit's first row) and, written
last, `done-k.json` with its counts. Each appears under its name only once
complete, so a unit is finished exactly when its `done` record exists: a job
killed at any moment redoes only the units that have none.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from service.scoring.writer import TableSink, output_format

OUTPUT = "output"


@dataclass(frozen=True)
class UnitDone:
    """What a finished unit holds: rows scored, rows rejected, lines the reader skipped."""

    scored: int
    rejected: int
    unread: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Input rows of the unit (scored or rejected; skipped lines are not rows)."""
        return self.scored + self.rejected


class UnitStore:
    """The work folder of a job that runs in units, possibly on many machines at once."""

    def __init__(self, folder: Path, output: Path) -> None:
        self.folder = folder
        self.suffix = output.suffix
        self.format = output_format(output)
        self.output = folder / OUTPUT

    def done(self) -> dict[int, UnitDone]:
        """The finished units, by index (a unit whose files went missing is not finished)."""
        found = {}
        for path in self.folder.glob("done-*.json"):
            index = int(path.stem.removeprefix("done-"))
            if self.rejects_path(index).is_file() and self.part_path(index).is_file():
                found[index] = UnitDone(**json.loads(path.read_text()))
        return found

    @contextmanager
    def writing(self, index: int, scored: pa.Schema, rejects: pa.Schema) -> Iterator[UnitSinks]:
        """Sinks for one unit's rows; they take their names only if the block ends cleanly."""
        self.output.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]  # a straggler from a killed run never shares our files
        out = self.output / f".part-{index:06d}.{tag}.tmp"
        bad = self.folder / f".rejects-{index:06d}.{tag}.tmp"
        with (
            TableSink(out, scored, self.format) as sink,
            pa.OSFile(str(bad), "wb") as raw,
            pa.ipc.new_file(raw, rejects) as rejected,
        ):
            yield UnitSinks(sink, rejected)
        os.replace(bad, self.rejects_path(index))
        os.replace(out, self.part_path(index))

    def finish(self, index: int, done: UnitDone) -> None:
        """Record a unit as finished, after its files are in place."""
        tmp = self.folder / f".done-{index:06d}.{uuid.uuid4().hex[:12]}.tmp"
        tmp.write_text(json.dumps(asdict(done)) + "\n")
        os.replace(tmp, self.folder / f"done-{index:06d}.json")

    def drop_unfinished(self) -> None:
        """Delete files that units being scored when a job was killed left half-written."""
        for path in [*self.folder.glob(".*.tmp"), *self.output.glob(".*.tmp")]:
            path.unlink(missing_ok=True)

    def rejects(self, index: int) -> pa.Table:
        """The rejected rows of a finished unit, numbered from the unit's first row."""
        with pa.memory_map(str(self.rejects_path(index))) as source:
            return pa.ipc.open_file(source).read_all()

    def rejects_path(self, index: int) -> Path:
        return self.folder / f"rejects-{index:06d}.arrow"

    def part_path(self, index: int) -> Path:
        return self.output / f"part-{index:06d}{self.suffix}"


@dataclass
class UnitSinks:
    """Where a unit's scored and rejected rows go while it is being scored."""

    scored: TableSink
    rejected: pa.ipc.RecordBatchFileWriter
