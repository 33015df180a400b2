from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data import fingerprint, load_breast_cancer, load_table
from training.errors import DataError
from training.split import stratified_split


def test_breast_cancer_is_bundled_569_by_30() -> None:
    table = load_breast_cancer()
    assert table.X.shape == (569, 30) and table.X.dtype == np.float32
    assert table.y.shape == (569,) and table.y.dtype == np.int64
    assert table.labels == ["malignant", "benign"]
    assert len(table.feature_names) == 30 and table.feature_names[0] == "mean radius"


def test_fingerprint_is_stable_and_sees_every_value() -> None:
    table = load_breast_cancer()
    first = fingerprint(table)
    assert first == fingerprint(load_breast_cancer())
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    table.X[100, 3] += 1
    assert fingerprint(table) != first


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_user_files_load(tmp_path: Path, breast_cancer_frame: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"cells{suffix}"
    if suffix == ".csv":
        breast_cancer_frame.to_csv(path, index=False)
    else:
        breast_cancer_frame.to_parquet(path)
    table = load_table(path, "diagnosis")
    reference = load_breast_cancer()
    assert table.labels == ["benign", "malignant"]  # sorted class values
    np.testing.assert_array_equal(table.y, 1 - reference.y)
    np.testing.assert_allclose(table.X, reference.X, rtol=1e-6)
    assert table.feature_names == reference.feature_names
    assert table.source == str(path)


def test_target_values_become_sorted_class_indices(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("x,label\n1,9\n2,3\n3,9\n4,5\n")
    table = load_table(path, "label")
    assert table.labels == ["3", "5", "9"]
    assert table.y.tolist() == [2, 0, 2, 1]


def test_missing_target_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("height,weight\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"no target column 'label' \(columns: height, weight\)"):
        load_table(path, "label")


def test_non_numeric_feature_is_named_with_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("size,colour,label\n1,2,a\n2,red,b\n3,4,a\n")
    with pytest.raises(DataError) as info:
        load_table(path, "label")
    message = str(info.value)
    assert "non-numeric" in message and "'colour'" in message and "'red'" in message
    assert "size" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "the file is empty"), ("a,label\n", "no data rows")],
    ids=["zero-bytes", "header-only"],
)
def test_empty_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=expected) as info:
        load_table(path, "label")
    assert str(path) in str(info.value)


def test_nan_feature_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,x\n3,,y\n5,6,x\n")
    with pytest.raises(DataError, match=r"column 'b' holds nan in data row 2"):
        load_table(path, "label")


def test_inf_feature_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.0, np.inf], "label": [0, 1]}).to_parquet(path)
    with pytest.raises(DataError, match=r"column 'a' holds inf in data row 2"):
        load_table(path, "label")


def test_one_class_is_not_enough(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,label\n1,x\n2,x\n")
    with pytest.raises(DataError, match=r"only 1 class \(x\); need at least 2"):
        load_table(path, "label")


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'"):
        load_table(tmp_path / "t.xlsx", "label")
    with pytest.raises(DataError, match="no such file"):
        load_table(tmp_path / "absent.csv", "label")


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


def test_stratified_split_keeps_class_balance() -> None:
    table = load_breast_cancer()
    splits = stratified_split(table, seed=0)
    rows = splits.rows()
    assert sum(rows.values()) == 569
    assert rows == {"train": 341, "val": 114, "test": 114}
    overall = table.y.mean()
    for y in (splits.y_train, splits.y_val, splits.y_test):
        assert abs(y.mean() - overall) < 0.02
    again = stratified_split(table, seed=0)
    np.testing.assert_array_equal(again.X_test, splits.X_test)
