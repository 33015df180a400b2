"""Labelled text for text-classify: the bundled tickets and a user's CSV, with clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from export.texts import HELD_OUT_TEXTS
from training.errors import DataError
from training.text.data import BUNDLED, MIN_PER_CLASS, fingerprint, load_support_tickets, load_texts


def test_bundled_tickets_are_a_few_hundred_varied_rows_in_five_topics() -> None:
    table = load_support_tickets()
    assert table.labels == ["account", "billing", "feedback", "shipping", "technical"]
    assert 250 <= table.rows <= 400
    assert np.bincount(table.y).min() >= 50
    texts = [str(t) for t in table.X]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & set(HELD_OUT_TEXTS)  # the held-out texts stay held out
    assert min(map(len, texts)) < 40 < 80 < max(map(len, texts))
    assert table.source == "ferry:support_tickets" and fingerprint(table).startswith("sha256:")
    assert BUNDLED.is_file()


def test_a_users_csv_with_its_own_column_names(tickets_csv: Path) -> None:
    table = load_texts(tickets_csv, "body", "topic")
    assert table.labels == ["login", "money", "parcel"] and table.rows == 24
    assert fingerprint(table) == fingerprint(load_texts(tickets_csv, "body", "topic"))


@pytest.mark.parametrize(
    ("text_col", "label_col", "message"),
    [
        ("text", "topic", r"no text column 'text' \(columns: body, topic\)"),
        ("body", "label", r"no label column 'label' \(columns: body, topic\)"),
        ("body", "body", "the text and label columns are both 'body'"),
    ],
)
def test_missing_columns_are_named(
    tickets_csv: Path, text_col: str, label_col: str, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_texts(tickets_csv, text_col, label_col)


def test_empty_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load_texts(empty, "text", "label")
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    with pytest.raises(DataError, match="no data rows"):
        load_texts(header, "text", "label")


def test_a_class_with_too_few_rows_is_named(tickets_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(tickets_csv)
    frame = pd.concat([frame, pd.DataFrame({"body": ["odd one", "odd two"], "topic": "rare"})])
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=rf"class\(es\) 'rare' \(2\).*at least {MIN_PER_CLASS}"):
        load_texts(path, "body", "topic")


def test_empty_cells_and_a_single_class_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"text": ["a", None, "c"], "label": ["x", "y", "x"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="column 'text' is empty in data row 2"):
        load_texts(path, "text", "label")
    pd.DataFrame({"text": list("abcdef"), "label": "x"}).to_csv(path, index=False)
    with pytest.raises(DataError, match="has only one class"):
        load_texts(path, "text", "label")
