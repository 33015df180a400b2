"""The scored table: kept input columns, one column per output element, the label, who scored.

Column names come from the signature: an output `probabilities` of shape [-1, 2]
becomes `probabilities_0` and `probabilities_1`; a labelled classifier adds
`prediction`; every row names `model_name` and `model_version`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from export.manifest import Manifest
from service.runtime import ModelRuntime
from service.scoring.arrays import from_numpy, strings
from service.scoring.columns import ColumnPlan
from service.scoring.convert import Prepared
from service.scoring.errors import InputError

PREDICTION = "prediction"
MODEL_NAME = "model_name"
MODEL_VERSION = "model_version"
ROW = "input_row"
REASON = "reject_reason"
# Labels and model names repeat on every row: dictionary-encoded, they cost an index per
# row instead of a string, in memory and in Parquet (CSV writes them as plain text).
LABEL = pa.dictionary(pa.int32(), pa.string())


def output_columns(manifest: Manifest) -> list[tuple[str, str, int]]:
    """(column, output name, flat index) for every element of every output."""
    columns = []
    for spec in manifest.signature.outputs:
        if any(d < 0 for d in spec.shape[1:]):
            raise InputError(
                f"output {spec.name!r} has shape {list(spec.shape)}: batch scoring needs "
                "every dimension but the first fixed"
            )
        width = math.prod(spec.shape[1:])
        if len(spec.shape) == 1:
            columns.append((spec.name, spec.name, 0))
        else:
            columns += [(f"{spec.name}_{i}", spec.name, i) for i in range(width)]
    return columns


def has_prediction(manifest: Manifest) -> bool:
    """Whether rows get a `prediction` label: the rule `ModelRuntime.label_indices` applies."""
    first = manifest.signature.outputs[0].shape
    return bool(manifest.labels) and len(first) == 2 and first[1] == len(manifest.labels)


def reserved_names(manifest: Manifest) -> list[str]:
    """Columns the job writes itself; kept input columns may not have these names."""
    names = [c for c, _, _ in output_columns(manifest)]
    return [*names, PREDICTION, MODEL_NAME, MODEL_VERSION, ROW, REASON]


def output_schema(plan: ColumnPlan, manifest: Manifest) -> pa.Schema:
    """Kept input columns, then the model's outputs, the label and the model's name and version."""
    fields = [
        pa.field(name, pa.float64()) if name in plan.parsed else plan.read.field(name)
        for name in plan.keep
    ]
    dtypes = {
        spec.name: pa.from_numpy_dtype(np.dtype(spec.dtype)) for spec in manifest.signature.outputs
    }
    # Columns the job fills itself are never null: as required Parquet columns they
    # carry no definition levels, which saved a fifth of the write time.
    made = [(column, dtypes[name]) for column, name, _ in output_columns(manifest)]
    if has_prediction(manifest):
        made.append((PREDICTION, LABEL))
    made += [(MODEL_NAME, LABEL), (MODEL_VERSION, LABEL)]
    return pa.schema(fields + [pa.field(name, kind, nullable=False) for name, kind in made])


def rejects_schema(plan: ColumnPlan) -> pa.Schema:
    """The input row number, the kept input columns and the reason."""
    fields = [plan.read.field(name) for name in plan.keep]
    return pa.schema([pa.field(ROW, pa.int64()), *fields, pa.field(REASON, pa.string())])


def scored_table(
    prepared: Prepared,
    results: dict[str, np.ndarray] | None,
    runtime: ModelRuntime,
    schema: pa.Schema,
    keep: Sequence[str],
) -> pa.RecordBatch:
    """The good rows of a part with their outputs, in input order."""
    if results is None:
        return _empty(schema)
    good = prepared.good
    rows = None if good is None else from_numpy(np.flatnonzero(good))
    arrays: list[pa.Array] = []
    for name in keep:
        if name in prepared.parsed:
            values = prepared.parsed[name]
            arrays.append(from_numpy(values if good is None else values[good]))
        else:
            column = prepared.batch.column(name)
            arrays.append(column if rows is None else column.take(rows))
    n = len(next(iter(results.values())))
    flat = {name: value.reshape(n, -1) for name, value in results.items()}
    arrays += [from_numpy(flat[name][:, i]) for _, name, i in output_columns(runtime.manifest)]
    indices = runtime.label_indices(results)
    if indices is not None:
        arrays.append(_repeat(runtime.manifest.labels, indices))
    zeros = np.zeros(n, dtype=np.int32)
    arrays += [_repeat([runtime.name], zeros), _repeat([runtime.version], zeros)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def rejects_table(prepared: Prepared, schema: pa.Schema, keep: Sequence[str]) -> pa.RecordBatch:
    """The rejected rows of a part: row number, kept columns, reason."""
    if not prepared.reasons:  # the usual part: `take` would import pyarrow.compute for nothing
        return _empty(schema)
    rows = sorted(prepared.reasons)
    offsets = np.array(rows, dtype=np.int64)
    kept = prepared.batch.select(list(keep)).take(from_numpy(offsets))
    arrays = [from_numpy(prepared.first_row + offsets), *kept.columns]
    arrays.append(strings([prepared.reasons[r] for r in rows]))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def unread_rejects(reasons: list[str], schema: pa.Schema) -> pa.RecordBatch:
    """Rejects for lines the reader could not parse: no row number, no values, the reason."""
    arrays = [pa.nulls(len(reasons), f.type) for f in schema][:-1]
    arrays.append(strings(reasons))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _repeat(labels: list[str], indices: np.ndarray) -> pa.Array:
    codes = from_numpy(np.asarray(indices, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(codes, strings(labels))


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)
