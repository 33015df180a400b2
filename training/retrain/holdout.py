"""The challenger's training table and a holdout that neither model has trained on.

The holdout comes from the rows of drops the champion has not seen (`--holdout FILE`
replaces it with a trusted set), minus any row equal to one in the champion's data.
The challenger trains on the base data and every drop, minus any row equal to one in
the holdout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from training.data import Table, table_from_frame
from training.errors import RetrainError
from training.retrain.drops import Drop
from training.retrain.schema import Schema, load_base

MIN_HOLDOUT_ROWS = 10


@dataclass(frozen=True)
class Prepared:
    """The challenger's training data, the shared holdout and how they were made."""

    train: Table
    holdout: Table
    holdout_source: str
    rows: dict[str, int]


def prepare(
    schema: Schema, drops: list[Drop], trusted: list[Drop], seed: int, fraction: float
) -> Prepared:
    """Split fresh rows into a holdout (stratified, seeded) and training rows."""
    base = load_base(schema)
    tables = [encode(drop, schema) for drop in drops]
    pairs = list(zip(tables, drops, strict=True))
    fresh = [t for t, d in pairs if d.sha256 not in schema.seen]
    seen = [t for t, d in pairs if d.sha256 in schema.seen]
    known = _keys(concat([base, *seen], schema))  # rows the champion may have trained on
    if trusted:
        candidates = concat([encode(d, schema) for d in trusted], schema)
        source = ", ".join(str(d.path) for d in trusted)
    else:
        if not fresh:
            raise RetrainError("no fresh rows: the champion was trained on every drop given")
        candidates, source = concat(fresh, schema), "drops"
    unseen = subset(candidates, ~_member(candidates, known))
    if unseen.rows < MIN_HOLDOUT_ROWS:
        raise RetrainError(
            f"only {unseen.rows} of the {candidates.rows} fresh rows are new (the others equal "
            f"rows the champion trained on); a holdout needs at least {MIN_HOLDOUT_ROWS}"
        )
    holdout = unseen if trusted else _split(unseen, fraction, seed)
    _check(holdout, candidates.rows)
    everything = concat([base, *tables], schema)
    train = subset(everything, ~_member(everything, _keys(holdout)))
    rows = {
        "base": base.rows,
        "drops": sum(t.rows for t in tables),
        "fresh": sum(t.rows for t in fresh),
        "holdout": holdout.rows,
        "train": train.rows,
    }
    return Prepared(train, holdout, source, rows)


def encode(drop: Drop, schema: Schema) -> Table:
    """A drop's rows with the schema's feature columns (by name) and class order."""
    return table_from_frame(
        drop.frame, schema.target, str(drop.path), features=schema.features, labels=schema.labels
    )


def concat(tables: list[Table], schema: Schema) -> Table:
    if not tables:
        empty = np.zeros((0, len(schema.features)), dtype=np.float32)
        return Table(empty, np.zeros(0, dtype=np.int64), schema.features, schema.labels, "")
    return Table(
        np.concatenate([t.X for t in tables]),
        np.concatenate([t.y for t in tables]),
        schema.features,
        schema.labels,
        schema.source,
    )


def subset(table: Table, mask: np.ndarray) -> Table:
    return Table(table.X[mask], table.y[mask], table.feature_names, table.labels, table.source)


def _split(table: Table, fraction: float, seed: int) -> Table:
    try:
        _, held = train_test_split(
            np.arange(table.rows), test_size=fraction, random_state=seed, stratify=table.y
        )
    except ValueError as err:
        raise RetrainError(
            f"cannot split a stratified holdout from {table.rows} fresh rows "
            f"(rows per class: {_counts(table)}): {err}"
        ) from err
    return subset(table, np.sort(held))


def _check(holdout: Table, candidates: int) -> None:
    missing = [label for i, label in enumerate(holdout.labels) if not (holdout.y == i).any()]
    if holdout.rows < MIN_HOLDOUT_ROWS or missing:
        raise RetrainError(
            f"the holdout has {holdout.rows} rows (of {candidates} candidate rows not seen by "
            f"the champion; rows per class: {_counts(holdout)}); it needs at least "
            f"{MIN_HOLDOUT_ROWS} rows and every class: send more fresh data"
        )


def _counts(table: Table) -> str:
    counts = np.bincount(table.y, minlength=len(table.labels))
    return ", ".join(f"{label}: {int(n)}" for label, n in zip(table.labels, counts, strict=True))


def _keys(table: Table) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(table.X, dtype=np.float32)}


def _member(table: Table, keys: set[bytes]) -> np.ndarray:
    rows = np.ascontiguousarray(table.X, dtype=np.float32)
    return np.fromiter((row.tobytes() in keys for row in rows), dtype=bool, count=table.rows)
