"""Fresh rows for the bundled data sets, to try the retraining job without a data feed.

New rows are drawn per class from a multivariate normal fitted to the base data (in
log1p space for columns that are never negative, then clipped to each column's range),
so they resemble the data without copying any row. `shuffle_labels` permutes the
targets: a drop from a broken labelling pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data import Table
from training.errors import DataError


def simulate(table: Table, rows: int, seed: int = 0, shuffle_labels: bool = False) -> Table:
    """`rows` new rows like `table`'s, classes in the same proportions."""
    if rows < 1:
        raise DataError(f"rows must be at least 1 (got {rows})")
    rng = np.random.default_rng(seed)
    X = np.asarray(table.X, dtype=np.float64)
    positive = X.min(axis=0) >= 0
    Z = np.where(positive, np.log1p(np.where(positive, X, 0.0)), X)
    counts = np.bincount(rng.choice(table.y, size=rows), minlength=len(table.labels))
    parts, ys = [], []
    for label, count in enumerate(counts):
        members = Z[table.y == label]
        if count == 0:
            continue
        if len(members) < 2:
            raise DataError(f"{table.source}: class {table.labels[label]!r} has too few rows")
        cov = np.cov(members, rowvar=False) + 1e-6 * np.eye(Z.shape[1])
        parts.append(rng.multivariate_normal(members.mean(axis=0), cov, size=int(count)))
        ys.append(np.full(int(count), label, dtype=np.int64))
    Zs, y = np.concatenate(parts), np.concatenate(ys)
    Xs = np.clip(np.where(positive, np.expm1(Zs), Zs), X.min(axis=0), X.max(axis=0))
    order = rng.permutation(rows)
    Xs, y = Xs[order], y[order]
    if shuffle_labels:
        y = rng.permutation(y)
    return Table(Xs.astype(np.float32), y, table.feature_names, table.labels, "simulated")


def to_frame(table: Table, target: str) -> pd.DataFrame:
    """The rows as a drop file holds them: feature columns plus the class names in `target`."""
    frame = pd.DataFrame(table.X, columns=table.feature_names)
    frame[target] = np.asarray(table.labels, dtype=object)[table.y]
    return frame
