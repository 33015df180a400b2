"""Stream CSV or Parquet input (one file or a folder of parts) in parts of exactly N rows.

Parts have a fixed size so that part `k` always holds the same rows: a resumed job
skips the parts it finished and continues with exactly the rows that follow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from service.scoring.errors import InputError
from service.scoring.readahead import Readahead

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
InvalidLine = Callable[[str, str], None]  # (file name, reason) of a line the parser skipped


@dataclass(frozen=True)
class Source:
    """The input files of a job, in the order their rows are read."""

    root: Path
    files: tuple[Path, ...]
    format: str

    @classmethod
    def open(cls, path: Path) -> Source:
        """A file, or every CSV/Parquet file directly inside a folder (sorted by name)."""
        if path.is_dir():
            files = tuple(sorted(p for p in path.iterdir() if _is_data_file(p)))
            if not files:
                raise InputError(f"{path}: no .csv or .parquet files in this folder")
        elif path.is_file():
            files = (path,)
        else:
            raise InputError(f"{path}: no such file or folder")
        formats = {FORMATS.get(p.suffix.lower()) for p in files}
        if None in formats or len(formats) != 1:
            raise InputError(f"{path}: expected .csv or .parquet files of one kind, got {formats}")
        return cls(path, files, str(formats.pop()))

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """Name, size and modification time of every file: a changed input is a new job."""
        return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in self.files]

    def schema(self) -> pa.Schema:
        """Column names and types (CSV types are inferred from the first file's first block)."""
        try:
            if self.format == "parquet":
                return _plain(pq.read_schema(self.files[0]))
            # Malformed lines are reported while reading; here they only must not stop us.
            parse = pacsv.ParseOptions(invalid_row_handler=lambda row: "skip")
            with pacsv.open_csv(self.files[0], parse_options=parse) as reader:
                return _plain(reader.schema)
        except (pa.ArrowException, OSError) as err:
            raise InputError(f"{self.files[0]}: cannot read as {self.format}: {err}") from err

    def total_rows(self) -> int | None:
        """Rows in all files when the format records it (Parquet), else None."""
        if self.format != "parquet":
            return None
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.files)

    def parts(
        self,
        schema: pa.Schema,
        rows: int,
        skip: int = 0,
        on_invalid: InvalidLine | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Batches of exactly `rows` rows (the last may be shorter) after the first `skip` rows.

        Only the columns of `schema` are read, with its types. CSV lines with the wrong
        number of fields go to `on_invalid`, never lost.
        """
        if self.format == "parquet":
            batches = _parquet(self.files, schema, rows, skip)
        else:
            batches = _skip(_csv(self.files, schema, on_invalid), skip)
        return rechunk(batches, rows)


def rechunk(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Regroup batches of any size into batches of exactly `rows` (the last may be shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield _concat(pending)
                pending, count = [], 0
    if count:
        yield _concat(pending)


def _parquet(
    files: Iterable[Path], schema: pa.Schema, rows: int, skip: int
) -> Iterator[pa.RecordBatch]:
    for path in files:
        # pre_buffer would fetch every selected row group up front, and without a buffer
        # size whole column chunks are read at once: memory would grow with the file.
        handle = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        total, done = handle.metadata.num_rows, 0
        groups: list[int] = []
        for i in range(handle.metadata.num_row_groups):
            size = handle.metadata.row_group(i).num_rows
            if not groups and skip >= size:  # leading row groups are skipped unread
                skip, done = skip - size, done + size
            else:
                groups.append(i)
        try:
            # The job reads in a thread of its own beside the model; Arrow's thread pool
            # would only take CPU from the model (measured: 25% more CPU for the same rows).
            batches = handle.iter_batches(rows, groups, columns=schema.names, use_threads=False)
            with Readahead(path) as ahead:
                ahead.reached(done / max(total, 1))
                for batch in batches:
                    done += batch.num_rows
                    ahead.reached(done / max(total, 1))
                    if skip:
                        batch, skip = (
                            batch.slice(min(skip, batch.num_rows)),
                            max(0, skip - batch.num_rows),
                        )
                    yield _conform(batch, schema, path)
        except pa.ArrowException as err:
            raise InputError(f"{path}: cannot read: {err}") from err


def csv_convert_options(schema: pa.Schema) -> pacsv.ConvertOptions:
    """Read exactly the columns of `schema` with its types; only an empty field is missing."""
    return pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        include_columns=schema.names,
        strings_can_be_null=True,
        null_values=[""],
    )


def _csv(
    files: Iterable[Path], schema: pa.Schema, on_invalid: InvalidLine | None
) -> Iterator[pa.RecordBatch]:
    convert = csv_convert_options(schema)
    for path in files:
        parse = pacsv.ParseOptions(invalid_row_handler=_invalid_handler(path, on_invalid))
        try:
            with pacsv.open_csv(path, parse_options=parse, convert_options=convert) as reader:
                for batch in reader:
                    yield _conform(batch, schema, path)
        except pa.ArrowException as err:
            raise InputError(f"{path}: cannot read as CSV: {err}") from err


def _invalid_handler(path: Path, on_invalid: InvalidLine | None) -> Callable[[object], str]:
    def handle(row: object) -> str:
        if on_invalid is None:
            return "error"
        expected, actual, text = (
            getattr(row, k) for k in ("expected_columns", "actual_columns", "text")
        )
        on_invalid(path.name, f"line with {actual} fields, expected {expected}: {text[:200]!r}")
        return "skip"

    return handle


def _skip(batches: Iterable[pa.RecordBatch], skip: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        yield batch.slice(skip)
        skip = 0


def _conform(batch: pa.RecordBatch, schema: pa.Schema, path: Path) -> pa.RecordBatch:
    batch = batch.select(schema.names)
    if batch.schema.equals(schema):
        return batch
    try:
        return batch.cast(schema)
    except (pa.ArrowException, ValueError) as err:
        raise InputError(f"{path}: columns differ from the first file's: {err}") from err


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


def _plain(schema: pa.Schema) -> pa.Schema:
    return schema.remove_metadata()


def _is_data_file(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in FORMATS and not path.name.startswith((".", "_"))
    )
