"""Labelled text: the bundled support-ticket set, or a user's CSV with text and label columns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from training.data import read_frame
from training.errors import DataError

#: Hand-written support tickets in five topics, shipped with the code.
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "support_tickets.csv"
BUNDLED_SOURCE = "ferry:support_tickets"
TEXT_COL = "text"
LABEL_COL = "label"
#: A class needs a row in each of train, validation and test, and more than one to learn
#: from: with fewer the stratified 60/20/20 split fails or leaves a class untested.
MIN_PER_CLASS = 5


@dataclass(frozen=True)
class TextTable:
    """Texts `X` (object array of str), class indices `y` (int64) and the class names."""

    X: np.ndarray
    y: np.ndarray
    labels: list[str]
    source: str

    @property
    def rows(self) -> int:
        """Number of texts."""
        return len(self.y)


def load_support_tickets() -> TextTable:
    """The bundled support-ticket set (text, label)."""
    return texts_from_frame(read_frame(BUNDLED), TEXT_COL, LABEL_COL, BUNDLED_SOURCE)


def load_texts(path: Path, text_col: str, label_col: str) -> TextTable:
    """A CSV or Parquet file with a text column and a label column."""
    return texts_from_frame(read_frame(Path(path)), text_col, label_col, str(path))


def texts_from_frame(frame: pd.DataFrame, text_col: str, label_col: str, source: str) -> TextTable:
    """Validate and encode; every error names the file, the column and the bad value."""
    for role, column in (("text", text_col), ("label", label_col)):
        if column not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise DataError(f"{source}: no {role} column {column!r} (columns: {columns})")
    if text_col == label_col:
        raise DataError(f"{source}: the text and label columns are both {text_col!r}")
    for column in (text_col, label_col):
        empty = frame[column].isna().to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0]) + 1
            raise DataError(f"{source}: column {column!r} is empty in data row {row}")
    texts = frame[text_col].astype(str).to_numpy(dtype=object)
    classes, y = np.unique(frame[label_col].astype(str).to_numpy(), return_inverse=True)
    labels = [str(c) for c in classes]
    _check_classes(source, label_col, labels, np.bincount(y))
    return TextTable(texts, np.ascontiguousarray(y, dtype=np.int64), labels, source)


def _check_classes(source: str, label_col: str, classes: list[str], counts: np.ndarray) -> None:
    if len(classes) < 2:
        raise DataError(
            f"{source}: label column {label_col!r} has only one class ({classes[0]}); need 2"
        )
    small = {c: int(n) for c, n in zip(classes, counts, strict=True) if n < MIN_PER_CLASS}
    if small:
        listed = ", ".join(f"{c!r} ({n})" for c, n in small.items())
        raise DataError(
            f"{source}: too few rows for class(es) {listed} in column {label_col!r}; "
            f"each class needs at least {MIN_PER_CLASS} rows to train, validate and test on"
        )


def fingerprint(table: TextTable) -> str:
    """A content hash of the texts, labels and class names: `sha256:<hex>`."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(table.labels).encode())
    for text in table.X:
        digest.update(str(text).encode())
        digest.update(b"\x1e")
    digest.update(np.ascontiguousarray(table.y, dtype=np.int64).tobytes())
    return f"sha256:{digest.hexdigest()}"
