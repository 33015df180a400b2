"""Logged requests as Arrow tables: one row per request row, columns a drop file would have.

A tabular model's input becomes one column per feature name (so a log joined with
labels is a retraining drop); a text model's becomes a `text` column; any other
input a list column named like it (what `ferry score` reads). Outputs are
`output.<name>` columns. Every row carries `request_id`, `row` (its index in the
request), `time` (UTC), `model` and `version`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

Arrays = dict[str, np.ndarray]
REQUEST_ID, ROW, TIME, MODEL, VERSION = "request_id", "row", "time", "model", "version"
OUTPUT = "output."


@dataclass(frozen=True)
class Record:
    """One request: who answered it, when, what came in and what went out."""

    request_id: str
    time: float  # seconds since the epoch
    model: str
    version: str
    inputs: Arrays
    outputs: Arrays
    features: tuple[str, ...] = ()  # the model's feature names, for a tabular input

    @property
    def rows(self) -> int:
        return len(next(iter(self.outputs.values())))


def to_table(records: list[Record]) -> pa.Table:
    """The records (of one model version) as one table, rows in request order."""
    rows = [r.rows for r in records]
    first = records[0]
    columns: dict[str, pa.Array] = {
        REQUEST_ID: pa.array(np.repeat([r.request_id for r in records], rows)),
        ROW: pa.array(np.concatenate([np.arange(n, dtype=np.int32) for n in rows])),
        TIME: pa.array(_microseconds([r.time for r in records], rows)).cast(
            pa.timestamp("us", tz="UTC")
        ),
        MODEL: pa.array([first.model] * sum(rows)),
        VERSION: pa.array([first.version] * sum(rows)),
    }
    for name in first.inputs:
        values = np.concatenate([r.inputs[name] for r in records])
        columns.update(_input_columns(name, values, first.features, len(first.inputs)))
    for name in first.outputs:
        values = np.concatenate([r.outputs[name] for r in records])
        columns[OUTPUT + name] = _column(values)
    return pa.table(columns)


def _microseconds(times: list[float], rows: list[int]) -> np.ndarray:
    return (np.repeat(times, rows) * 1e6).astype(np.int64)


def _input_columns(
    name: str, values: np.ndarray, features: tuple[str, ...], inputs: int
) -> dict[str, pa.Array]:
    if inputs == 1 and values.ndim == 2 and features and values.shape[1] == len(features):
        return {feature: pa.array(values[:, i]) for i, feature in enumerate(features)}
    return {name: _column(values)}


def _column(values: np.ndarray) -> pa.Array:
    """Scalars (or strings) as they are; wider rows as fixed-size lists of their values."""
    if values.ndim == 1:
        return pa.array(values.tolist() if values.dtype == object else values)
    width = int(np.prod(values.shape[1:]))
    flat = np.ascontiguousarray(values).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat), width)
