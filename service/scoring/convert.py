"""Turn one part of the input into model inputs, and every row that cannot be scored into a reason.

Good rows go through `service.validation.conform`, the check HTTP requests pass,
so a row that batch scoring accepts is one the service would accept too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from service.runtime.errors import InvalidInput
from service.runtime.text.inputs import check_length, max_chars
from service.runtime.validation import conform
from service.scoring.arrays import as_numpy
from service.scoring.columns import ColumnPlan, InputColumns

Reasons = dict[int, str]  # row offset within the part -> why it was rejected


def _pc() -> Any:
    """`pyarrow.compute`, imported on first use: 0.1-0.2 s of start-up that clean numeric
    parts (one `to_tensor` pass) never need."""
    import pyarrow.compute

    return pyarrow.compute


@dataclass
class Prepared:
    """A part ready to score: its kept columns, which rows are good, and the model inputs."""

    index: int
    first_row: int
    batch: pa.RecordBatch
    reasons: Reasons
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    # Kept columns read as text, as the float64 numbers that were scored.
    parsed: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def good(self) -> np.ndarray | None:
        """Mask of the rows that are scored; None when every row is."""
        if not self.reasons:
            return None
        mask = np.ones(self.batch.num_rows, dtype=bool)
        mask[list(self.reasons)] = False
        return mask


def prepare(
    batch: pa.RecordBatch, plan: ColumnPlan, index: int = 0, first_row: int = 0
) -> Prepared:
    """Build every model input from its columns; rows with bad values get a reason instead."""
    prepared = Prepared(index, first_row, batch, {})
    matrices = {}
    for found in plan.inputs:
        if found.text:
            matrix, why = texts(batch.column(found.columns[0]), found.columns[0])
        else:
            matrix, why = _matrix(batch, found, plan.parsed, prepared.parsed)
        matrices[found.spec.name] = matrix
        for row, reason in sorted(why.items()):
            prepared.reasons.setdefault(row, reason)
    good = prepared.good
    if good is None or good.any():
        for found in plan.inputs:
            rows = matrices[found.spec.name]
            rows = rows if good is None else rows[good]
            if found.text:
                prepared.inputs[found.spec.name] = rows
                continue
            shaped = rows.reshape((rows.shape[0], *found.spec.shape[1:]))
            prepared.inputs[found.spec.name] = conform(shaped, found.spec, found.spec.name)
    # Only the kept columns are needed from here on: the part waits in the pipeline's
    # queues without the input columns the model now holds as a matrix.
    prepared.batch = batch.select(list(plan.keep))
    return prepared


def _matrix(
    batch: pa.RecordBatch,
    found: InputColumns,
    keep_parsed: frozenset[str],
    parsed: dict[str, np.ndarray],
) -> tuple[np.ndarray, Reasons]:
    target = np.dtype(found.spec.dtype)
    work = target if target.kind == "f" else np.dtype(np.float64)
    if found.listed:
        matrix, reasons = _listed(batch.column(found.columns[0]), found, work)
    else:
        matrix, reasons = _scalars(batch, found, work, keep_parsed, parsed)
    # One pass over the whole matrix settles the usual case (every value finite);
    # finding the bad rows needs a per-row reduction that costs several times more.
    if target.kind in "iu" or not np.isfinite(matrix).all():
        bad = ~np.isfinite(matrix).all(axis=1)
        if target.kind in "iu":
            bad |= (matrix != np.trunc(matrix)).any(axis=1)
        for row in np.flatnonzero(bad).tolist():
            if row not in reasons:
                reasons[row] = _explain(batch, found, matrix, row, target)
    if target.kind in "iu":
        matrix = np.where(np.isfinite(matrix), matrix, 0).astype(target)
    return matrix, reasons


def _scalars(
    batch: pa.RecordBatch,
    found: InputColumns,
    work: np.dtype,
    keep_parsed: frozenset[str],
    parsed: dict[str, np.ndarray],
) -> tuple[np.ndarray, Reasons]:
    columns = [batch.column(name) for name in found.columns]
    plain = all(c.type == pa.from_numpy_dtype(work) and not c.null_count for c in columns)
    if plain and batch.num_rows and not keep_parsed & set(found.columns):
        # Arrow lays the columns out row by row in one C++ pass: a fifth faster than
        # filling the matrix a column at a time, which strides over all of it per column.
        return np.asarray(batch.select(list(found.columns)).to_tensor(row_major=True)), {}
    matrix = np.empty((batch.num_rows, len(found.columns)), dtype=work)
    reasons: Reasons = {}
    for j, name in enumerate(found.columns):
        values, why = numbers(batch.column(name), name)
        if name in keep_parsed:
            parsed[name] = values
        with np.errstate(over="ignore", invalid="ignore"):
            matrix[:, j] = values
        for row, reason in why.items():
            reasons.setdefault(row, reason)
    return matrix, reasons


def _listed(column: pa.Array, found: InputColumns, work: np.dtype) -> tuple[np.ndarray, Reasons]:
    name, width, n = found.columns[0], found.width, len(column)
    parents = np.arange(n)
    values: pa.Array = column
    while pa.types.is_nested(values.type):
        parents = parents[as_numpy(_pc().list_parent_indices(values))]
        values = _pc().list_flatten(values)
    counts = np.bincount(parents, minlength=n)
    flat, why = numbers(values, name)
    reasons = {int(parents[i]): reason for i, reason in sorted(why.items(), reverse=True)}
    for row in np.flatnonzero(counts != width):
        got = "a missing value" if column[int(row)].as_py() is None else f"{counts[row]} values"
        reasons[int(row)] = f"column {name!r}: {got}, expected a list of {width} numbers"
    matrix = np.full((n, width), np.nan, dtype=work)
    fits = counts == width
    with np.errstate(over="ignore", invalid="ignore"):
        matrix[fits] = flat[fits[parents]].reshape(-1, width)
    return matrix, reasons


def texts(column: pa.Array, name: str) -> tuple[np.ndarray, Reasons]:
    """A text column as an object array of strings, with a reason for each missing or
    over-long text (the limits HTTP requests have: `FERRY_TEXT_MAX_CHARS`)."""
    values = np.array(column.to_pylist(), dtype=object)
    reasons: Reasons = {}
    if column.null_count:
        for row in as_numpy(_pc().indices_nonzero(column.is_null())).tolist():
            reasons[row] = f"column {name!r}: missing value"
            values[row] = ""
    if len(column) and not pa.types.is_null(column.type):
        chars = as_numpy(_pc().fill_null(_pc().utf8_length(column), 0))
        for row in np.flatnonzero(chars > max_chars()).tolist():
            try:
                check_length(values[row], f"column {name!r}")
            except InvalidInput as err:
                reasons[row] = str(err)
    return values, reasons


def numbers(column: pa.Array, name: str) -> tuple[np.ndarray, Reasons]:
    """One column as float64 (NaN where a value is missing or not a number), with reasons."""
    n = len(column)
    if pa.types.is_null(column.type):
        return np.full(n, np.nan), dict.fromkeys(range(n), f"column {name!r}: missing value")
    reasons: Reasons = {}
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = _pc().cast(column, pa.float64())
        except pa.ArrowInvalid:
            return _parse_text(column, name)
    elif not pa.types.is_floating(column.type) or column.type == pa.float16():
        column = _pc().cast(column, pa.float64())
    values = as_numpy(column)
    if column.null_count:
        missing = as_numpy(_pc().indices_nonzero(column.is_null()))
        reasons = dict.fromkeys(missing.tolist(), f"column {name!r}: missing value")
        values = values.copy()
        values[missing] = np.nan
    return values, reasons


def _parse_text(column: pa.Array, name: str) -> tuple[np.ndarray, Reasons]:
    # Only parts holding a value Arrow cannot parse take this slow, per-value path.
    values = np.full(len(column), np.nan)
    reasons: Reasons = {}
    for i, text in enumerate(column.to_pylist()):
        if text is None:
            reasons[i] = f"column {name!r}: missing value"
            continue
        try:
            values[i] = float(text)
        except ValueError:
            reasons[i] = f"column {name!r}: {text!r} is not a number"
    return values, reasons


def _explain(
    batch: pa.RecordBatch, found: InputColumns, matrix: np.ndarray, row: int, target: np.dtype
) -> str:
    values = matrix[row]
    bad = ~np.isfinite(values)
    if target.kind in "iu":
        bad |= values != np.trunc(values)
    j = int(np.flatnonzero(bad)[0])
    value = values[j]
    name = found.columns[0] if found.listed else found.columns[j]
    where = f"[{j}]" if found.listed else ""
    original = batch.column(name)[row].as_py()
    original = _flatten(original)[j] if found.listed else original
    if np.isfinite(value):
        return f"column {name!r}{where}: {original!r} is not an integer ({target})"
    if np.isfinite(_as_float(original)):
        return f"column {name!r}{where}: {original!r} overflows {target}"
    return f"column {name!r}{where}: {original!r} is not a finite number"


def _flatten(value: object) -> list[object]:
    if not isinstance(value, list):
        return [value]
    return [leaf for item in value for leaf in _flatten(item)]


def _as_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
