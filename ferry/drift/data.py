"""Rows of a CSV/Parquet file through a model, as the features drift is measured on.

Columns are matched and checked exactly as `ferry score` does it (tabular features by
name, other inputs as list columns or `<input>_0`, `<input>_1`...); a text model reads
one column of texts. Rows that cannot be scored are counted and left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from export.drift import Reference, features_of
from service.runtime import ModelRuntime
from service.scoring.columns import plan_columns
from service.scoring.convert import prepare
from service.scoring.reader import Source

CHUNK_ROWS = 4096
TEXT_CHUNK = 64  # texts a model run: padded to the longest, so keep batches short


class DriftDataError(Exception):
    """A data file that cannot be compared with a model's reference."""


@dataclass
class Observed:
    """The features of every row scored, and what was left out."""

    features: np.ndarray
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)  # the first few, for the message

    @property
    def rows(self) -> int:
        return len(self.features)


def observe_file(
    runtime: ModelRuntime, reference: Reference, path: Path, text_col: str = "text"
) -> Observed:
    """Run the model over the file at `path` and compute the reference's features."""
    source = Source.open(path)
    chunks = _texts(runtime, source, text_col) if runtime.text else _tensors(runtime, source)
    parts: list[np.ndarray] = []
    skipped, reasons = 0, list[str]()
    for inputs, bad in chunks:
        skipped += len(bad)
        reasons += bad[: max(0, 3 - len(reasons))]
        if inputs:
            parts.append(features_of(reference, inputs, runtime.run(inputs)))
    width = len(reference.features)
    features = np.concatenate(parts) if parts else np.zeros((0, width))
    if not len(features):
        why = f" (e.g. {reasons[0]})" if reasons else ""
        raise DriftDataError(f"{path}: no row could be scored{why}")
    return Observed(features, skipped, reasons)


Chunk = tuple[dict[str, np.ndarray], list[str]]  # model inputs of the good rows, reasons


def _tensors(runtime: ModelRuntime, source: Source) -> Iterator[Chunk]:
    plan = plan_columns(runtime.manifest, source.schema(), keep=[])
    for batch in source.parts(plan.read, CHUNK_ROWS):
        prepared = prepare(batch, plan)
        yield prepared.inputs, list(prepared.reasons.values())


def _texts(runtime: ModelRuntime, source: Source, column: str) -> Iterator[Chunk]:
    schema = source.schema()
    if column not in schema.names:
        raise DriftDataError(
            f"{source.root}: no text column {column!r} (columns: {', '.join(schema.names)}); "
            "name it with --text-col"
        )
    read = pa.schema([pa.field(column, pa.string())])
    assert runtime.text is not None
    for batch in source.parts(read, TEXT_CHUNK):
        values = batch.column(0).to_pylist()
        texts = [text for text in values if isinstance(text, str)]
        missing = [f"column {column!r}: missing text"] * (len(values) - len(texts))
        yield (runtime.text.feeds(runtime.text.encode(texts)) if texts else {}), missing
