"""Units of a distributed job: pieces of the input that workers score and commit on their own.

A Parquet input splits into units of `batch_rows` rows, exactly the local engine's
parts: unit `k` holds input rows `[k * batch_rows, (k + 1) * batch_rows)`, found
from the files' footers without reading any data. A CSV file cannot be entered
in the middle without parsing what comes before, so each CSV file is one unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from service.scoring.reader import InvalidLine, Source


@dataclass(frozen=True)
class Unit:
    """Rows `skip` onwards of `files`: `rows` of them, or all when None (a CSV file)."""

    index: int
    files: tuple[Path, ...]
    skip: int = 0
    rows: int | None = None

    def parts(
        self, source: Source, schema: pa.Schema, batch_rows: int, on_invalid: InvalidLine
    ) -> Iterator[pa.RecordBatch]:
        """The unit's rows in parts of `batch_rows`, read like the local engine reads them."""
        within = Source(source.root, self.files, source.format)
        left = self.rows
        for part in within.parts(schema, batch_rows, self.skip, on_invalid):
            if left is not None:
                part = part.slice(0, left)
                left -= part.num_rows
            yield part
            if left == 0:
                return


def plan_units(source: Source, batch_rows: int) -> list[Unit]:
    """Every unit of the input, in input order."""
    if source.format != "parquet":
        return [Unit(i, (path,)) for i, path in enumerate(source.files)]
    sizes = [pq.ParquetFile(path).metadata.num_rows for path in source.files]
    units, total = [], sum(sizes)
    for index, start in enumerate(range(0, total, batch_rows)):
        rows = min(batch_rows, total - start)
        units.append(Unit(index, *_span(source.files, sizes, start, rows), rows=rows))
    return units


def _span(
    files: tuple[Path, ...], sizes: list[int], start: int, rows: int
) -> tuple[tuple[Path, ...], int]:
    """The files holding rows `[start, start + rows)` and the rows to skip in the first."""
    first, offset = 0, 0
    while offset + sizes[first] <= start:
        offset += sizes[first]
        first += 1
    last, end = first, offset + sizes[first]
    while end < start + rows:
        last += 1
        end += sizes[last]
    return files[first : last + 1], start - offset
