"""Output files: Parquet or CSV by suffix, written under a temporary name and renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from service.scoring.closing import ClosedOnExit
from service.scoring.errors import InputError

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def output_format(path: Path) -> str:
    """`parquet` or `csv`, from the file name's suffix."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(
            f"{path}: cannot tell the format; name the file .parquet or .csv"
        ) from None


class TableSink(ClosedOnExit):
    """Appends batches to one Parquet or CSV file; `publish` renames it into place."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path = path
        self.schema = schema
        self._file = pa.OSFile(str(path), "wb")
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            self._plain = schema
            # Dictionary encoding pays for labels and names; tried on every float output it
            # costs more than half of the write time and saves nothing.
            coded = [f.name for f in schema if not _is_numeric(f.type)]
            # Min/max of labels and names help no reader skip anything, and computing
            # them over dictionary columns took a third of the write time.
            numeric = [f.name for f in schema if _is_numeric(f.type)]
            self._writer = pq.ParquetWriter(
                self._file, schema, use_dictionary=coded, write_statistics=numeric
            )
        else:  # CSV holds text: dictionary-encoded columns are written as their values
            self._plain = pa.schema([_decoded(f) for f in schema])
            self._writer = pacsv.CSVWriter(self._file, self._plain)

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        """Append rows (an empty batch writes nothing)."""
        if data.num_rows:
            table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
            if table.schema != self._plain:  # CSV: labels decoded (a cast imports compute)
                table = table.cast(self._plain)
            self._writer.write_table(table)
            if hasattr(os, "posix_fadvise"):
                # Start writing what is written so far to disk now, so that the fsync at
                # the end waits for the last rows only (Linux: DONTNEED starts writeback).
                os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        """Finish the file and flush it to disk."""
        self._writer.close()
        os.fsync(self._file.fileno())
        self._file.close()


def publish(tmp: Path, final: Path) -> None:
    """Move a finished file into place atomically (readers see no file or the whole file)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


def _decoded(field: pa.Field) -> pa.Field:
    kind = field.type
    return field.with_type(kind.value_type) if pa.types.is_dictionary(kind) else field


def _is_numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
