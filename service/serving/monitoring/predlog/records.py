"""Logged requests as Arrow tables: one row per request row, columns a drop file would have.

A tabular model's input becomes one column per feature name (so a log joined with
labels is a retraining drop); a text model's becomes a `text` column; any other
input a list column named like it (what `ferry score` reads). Outputs are
`output.<name>` columns. Every row carries `request_id`, `row` (its index in the
request), `time` (UTC), `model` and `version`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

Arrays = dict[str, np.ndarray]
Named = tuple[tuple[str, np.ndarray], ...]  # (name, array) pairs
REQUEST_ID, ROW, TIME, MODEL, VERSION = "request_id", "row", "time", "model", "version"
OUTPUT = "output."
UTC_MICROS = pa.timestamp("us", tz="UTC")


class Record(NamedTuple):
    """One request: who answered it, when, what came in and what went out.

    Made by the writer just before a table is built: records wait as the plain tuples
    `PredictionLog.offer` queued (tuples, strings, numbers and non-object arrays), which
    the garbage collector stops tracking at its first pass. It never untracks a
    NamedTuple, and thousands of tracked records waiting made every later collection
    of a busy server longer (measured +40 us a request with dicts)."""

    request_id: str
    time: float  # seconds since the epoch
    model: str
    version: str
    inputs: Named
    outputs: Named
    features: tuple[str, ...]  # the model's feature names, for a tabular input
    rows: int  # the request's rows


def raw_rows(raw: tuple[Any, ...]) -> int:
    """The rows of what `PredictionLog.offer` queued: its first output's length."""
    outputs = raw[5]
    return len(outputs[0][1]) if outputs else 0


def from_raw(raw: tuple[Any, ...]) -> Record:
    """A record from what `PredictionLog.offer` queued: (request_id, time, model, version,
    input pairs, output pairs, features)."""
    request_id, at, model, version, inputs, outputs, features = raw
    return Record(request_id, at, model, version, inputs, outputs, features, raw_rows(raw))


def make_record(
    request_id: str,
    time: float,
    model: str,
    version: str,
    inputs: Arrays,
    outputs: Arrays,
    features: tuple[str, ...] = (),
) -> Record:
    """A record of one request's named inputs and outputs."""
    pairs = tuple(outputs.items())
    rows = len(pairs[0][1]) if pairs else 0
    return Record(request_id, time, model, version, tuple(inputs.items()), pairs, features, rows)


def to_table(records: list[Record]) -> pa.Table:
    """The records (of one model version) as one table, rows in request order."""
    rows = [r.rows for r in records]
    first = records[0]
    ids = pa.array([r.request_id for r in records], pa.string())
    if max(rows) == 1:  # the usual request: one row
        row = np.zeros(len(records), dtype=np.int32)
    else:
        ids = ids.take(pa.array(np.repeat(np.arange(len(records)), rows)))
        row = np.concatenate([np.arange(n, dtype=np.int32) for n in rows])
    columns: dict[str, pa.Array] = {
        REQUEST_ID: ids,
        ROW: pa.array(row),
        TIME: _timestamps([r.time for r in records], rows),
        MODEL: pa.array([first.model] * sum(rows)),
        VERSION: pa.array([first.version] * sum(rows)),
    }
    for i, (name, _) in enumerate(first.inputs):
        values = np.concatenate([r.inputs[i][1] for r in records])
        columns.update(_input_columns(name, values, first.features, len(first.inputs)))
    for i, (name, _) in enumerate(first.outputs):
        values = np.concatenate([r.outputs[i][1] for r in records])
        columns[OUTPUT + name] = _column(values)
    return pa.table(columns)


def _timestamps(times: list[float], rows: list[int]) -> pa.Array:
    """UTC timestamps in microseconds, built from their buffer: Arrow's casts to a zoned
    timestamp import pandas (3 s, and not in the serving image's needs)."""
    micros = (np.repeat(times, rows) * 1e6).astype(np.int64)
    return pa.Array.from_buffers(UTC_MICROS, len(micros), [None, pa.py_buffer(micros)])


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
