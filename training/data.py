"""Tabular datasets: the bundled breast-cancer table and user CSV/Parquet files."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

from training.errors import DataError

_READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


@dataclass(frozen=True)
class Table:
    """Features `X` (float32, [n, f]), class indices `y` (int64, [n]) and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    labels: list[str]
    source: str

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.X.shape[0])


def load_breast_cancer() -> Table:
    """The Wisconsin breast-cancer table bundled with scikit-learn (569 x 30, 2 classes)."""
    data = datasets.load_breast_cancer()
    return Table(
        X=np.ascontiguousarray(data.data, dtype=np.float32),
        y=np.ascontiguousarray(data.target, dtype=np.int64),
        feature_names=[str(n) for n in data.feature_names],
        labels=[str(n) for n in data.target_names],
        source="sklearn:breast_cancer",
    )


def load_table(path: Path, target: str) -> Table:
    """Read a CSV or Parquet file; every column but `target` must be a numeric feature."""
    path = Path(path)
    return table_from_frame(read_frame(path), target, str(path))


def read_frame(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file with at least one data row, or raise `DataError`."""
    return _read(Path(path))


def table_from_frame(
    frame: pd.DataFrame,
    target: str,
    source: str,
    *,
    features: list[str] | None = None,
    labels: list[str] | None = None,
) -> Table:
    """Validate and encode a frame. `features` picks and orders the feature columns
    (default: every column but `target`); `labels` fixes the classes and their order
    (default: the sorted distinct target values, at least two)."""
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"{source}: no target column {target!r} (columns: {columns})")
    if features is None:
        chosen = frame.drop(columns=[target])
    else:
        missing = [f for f in features if f not in frame.columns]
        if missing:
            raise DataError(f"{source}: missing feature column(s) {', '.join(map(repr, missing))}")
        chosen = frame[features]
    if chosen.shape[1] == 0:
        raise DataError(f"{source}: no feature columns besides the target {target!r}")
    X = _features(source, chosen)
    if labels is None:
        y, labels = _encode_target(source, frame[target])
    else:
        y = _encode_known(source, frame[target], labels)
    return Table(X, y, [str(c) for c in chosen.columns], list(labels), source)


def fingerprint(table: Table) -> str:
    """A content hash of the feature names, features and targets: `sha256:<hex>`."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(table.feature_names).encode())
    digest.update(np.ascontiguousarray(table.X, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(table.y, dtype=np.int64).tobytes())
    return f"sha256:{digest.hexdigest()}"


#: Data sets that ship with the code, by the `source` their tables carry (the retraining
#: job reloads a champion's base data through this).
BUNDLED: dict[str, Callable[[], Table]] = {"sklearn:breast_cancer": load_breast_cancer}


def _read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in _READERS and not path.is_file():
        raise DataError(f"{path}: no such file")
    return parse_frame(path, path.read_bytes() if path.suffix.lower() in _READERS else b"")


def parse_frame(path: Path, content: bytes) -> pd.DataFrame:
    """The rows of a CSV or Parquet file's `content` (named by `path`), or `DataError` saying
    why not: unsupported type, empty file, unreadable, or no data rows."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use {', '.join(_READERS)}")
    if not content:
        raise DataError(f"{path}: the file is empty")
    try:
        frame = reader(io.BytesIO(content))
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path}: the file is empty") from err
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: cannot read: {err}") from err
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows (columns: {', '.join(map(str, frame.columns))})")
    return frame


def _features(path: Path | str, features: pd.DataFrame) -> np.ndarray:
    bad = [c for c in features.columns if not _is_numeric(features[c])]
    if bad:
        column = features[bad[0]]
        value = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()].iloc[0]
        names = ", ".join(repr(str(c)) for c in bad)
        raise DataError(
            f"{path}: non-numeric feature column(s) {names}; "
            f"e.g. column {str(bad[0])!r} holds {value!r}"
        )
    X = features.to_numpy(dtype=np.float64)
    finite = np.isfinite(X)
    if not finite.all():
        row, col = (int(i[0]) for i in np.nonzero(~finite))
        raise DataError(
            f"{path}: feature column {str(features.columns[col])!r} holds {X[row, col]} "
            f"in data row {row + 1}; features must be finite numbers"
        )
    return np.ascontiguousarray(X, dtype=np.float32)


def _is_numeric(column: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(column))


def _encode_known(source: str, target: pd.Series, labels: list[str]) -> np.ndarray:
    """Class indices of `target` in `labels`, matched as text; plain integers in range are
    taken as indices when no label is itself an integer (e.g. sklearn's 0/1 targets)."""
    if target.isna().any():
        row = int(np.flatnonzero(target.isna().to_numpy())[0])
        raise DataError(f"{source}: target column {target.name!r} is empty in data row {row + 1}")
    index = {label: i for i, label in enumerate(labels)}
    text = target.astype(str)
    known = text.isin(index)
    if not known.all() and pd.api.types.is_integer_dtype(target):
        values = target.to_numpy()
        numeric_labels = any(label.lstrip("-").isdigit() for label in labels)
        if not numeric_labels and values.min() >= 0 and values.max() < len(labels):
            return np.ascontiguousarray(values, dtype=np.int64)
    if not known.all():
        row = int(np.flatnonzero(~known.to_numpy())[0])
        raise DataError(
            f"{source}: target column {target.name!r} holds {target.iloc[row]!r} in data row "
            f"{row + 1}; the model's classes are {', '.join(map(repr, labels))}"
        )
    return np.ascontiguousarray(text.map(index).to_numpy(), dtype=np.int64)


def _encode_target(path: Path | str, target: pd.Series) -> tuple[np.ndarray, list[str]]:
    if target.isna().any():
        row = int(np.flatnonzero(target.isna().to_numpy())[0])
        raise DataError(f"{path}: target column {target.name!r} is empty in data row {row + 1}")
    values = target.to_numpy()
    try:
        classes, y = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types (e.g. 1 and "yes") do not sort; compare them as text
        classes, y = np.unique(values.astype(str), return_inverse=True)
    if len(classes) < 2:
        only = ", ".join(map(str, classes))
        raise DataError(
            f"{path}: target column {target.name!r} has only {len(classes)} class ({only}); "
            "need at least 2"
        )
    return np.ascontiguousarray(y, dtype=np.int64), [str(c) for c in classes]
