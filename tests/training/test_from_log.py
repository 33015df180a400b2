"""The prediction log joined with labels by request id: the drop `retrain --from-log` trains on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from service.serving.monitoring import PredictionLogSettings
from service.serving.monitoring.predlog.log import PredictionLog
from training.errors import DataError
from training.retrain.fromlog import drop_from_log

FEATURES = ["a", "b"]


@pytest.fixture(params=["folder", "s3"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """The same log in a folder and on an object store (a real S3 endpoint)."""
    folder: str | Path = tmp_path / "log"
    if request.param == "s3":
        folder = request.getfixturevalue("s3_server").url()
    writer = PredictionLog(PredictionLogSettings(prediction_log_dir=folder))
    for i in range(4):  # requests of one row, then one of three rows
        x = np.array([[i, 10 * i]], dtype=np.float32)
        writer.offer(f"one-{i}", "m", "1", {"x": x}, {"p": np.array([[0.5, 0.5]])}, ("a", "b"))
    x = np.arange(6, dtype=np.float32).reshape(3, 2) + 100
    writer.offer("three", "m", "2", {"x": x}, {"p": np.full((3, 2), 0.5)}, ("a", "b"))
    writer.close()
    return folder


def test_labelled_rows_become_a_drop_in_request_order(log: str | Path, tmp_path: Path) -> None:
    labels = pd.DataFrame({"request_id": ["one-2", "one-0", "nobody"], "target": ["x", "y", "z"]})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    path, summary = drop_from_log(log, "m", tmp_path / "labels.csv", "target", FEATURES, tmp_path)
    drop = pd.read_csv(path)
    assert drop.to_dict("list") == {"a": [0.0, 2.0], "b": [0.0, 20.0], "target": ["y", "x"]}
    assert (
        summary
        == "2 logged rows with labels (5 logged rows unlabelled, 1 labels without a logged row)"
    )
    again, _ = drop_from_log(log, "m", tmp_path / "labels.csv", "target", FEATURES, tmp_path)
    assert again == path  # the same join, the same bytes: an unchanged drop


def test_requests_of_several_rows_need_a_row_column(log: str | Path, tmp_path: Path) -> None:
    pd.DataFrame({"request_id": ["three"], "target": ["x"]}).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match="request 'three' has 3 rows; add a 'row' column"):
        drop_from_log(log, "m", tmp_path / "l.csv", "target", FEATURES, tmp_path)
    labels = pd.DataFrame({"request_id": ["three"] * 3, "row": [2, 0, 1], "target": list("xyz")})
    labels.to_csv(tmp_path / "l.csv", index=False)
    path, _ = drop_from_log(log, "m", tmp_path / "l.csv", "target", FEATURES, tmp_path)
    assert pd.read_csv(path).to_dict("list") == {
        "a": [100.0, 102.0, 104.0], "b": [101.0, 103.0, 105.0], "target": ["y", "z", "x"],
    }  # fmt: skip


def test_missing_columns_and_logs_are_named(log: str | Path, tmp_path: Path) -> None:
    pd.DataFrame({"id": ["one-0"], "target": ["x"]}).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match="no column 'request_id'"):
        drop_from_log(log, "m", tmp_path / "l.csv", "target", FEATURES, tmp_path)
    with pytest.raises(DataError, match="no prediction log files"):
        drop_from_log(log, "other", tmp_path / "l.csv", "target", FEATURES, tmp_path)
    with pytest.raises(DataError, match="the log has no column"):
        drop_from_log(log, "m", tmp_path / "l.csv", "target", ["a", "zzz"], tmp_path)
