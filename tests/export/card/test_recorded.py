"""What training recorded in a real published manifest, checked against the published graph
and against scikit-learn."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.metrics import roc_auc_score

from export.registry import Artifact, Registry
from training.data import load_breast_cancer
from training.split import stratified_split


def _test_split_proba(artifact: Artifact) -> tuple[np.ndarray, np.ndarray]:
    """The recipe's own test split (seed 0) scored by the published ONNX graph."""
    splits = stratified_split(load_breast_cancer(), seed=0)
    session = ort.InferenceSession(str(artifact.model_path), providers=["CPUExecutionProvider"])
    features = np.asarray(splits.X_test, dtype=np.float32)
    return splits.y_test, session.run(None, {"features": features})[0]


def test_roc_curve_area_is_the_manifests_auc(tabular_registry: tuple[Registry, Artifact]) -> None:
    m = tabular_registry[1].manifest
    roc = m.evaluation["roc"]
    fpr, tpr = np.asarray(roc["fpr"]), np.asarray(roc["tpr"])
    trapezoid = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert trapezoid == pytest.approx(m.metrics["roc_auc"], abs=1e-5)
    y, proba = _test_split_proba(tabular_registry[1])
    assert trapezoid == pytest.approx(roc_auc_score(y, proba[:, 1]), abs=1e-4)
    assert m.evaluation["positive_label"] == m.labels[1] and m.evaluation["rows"] == len(y)


def test_confusion_matrix_is_the_graphs_on_the_test_split(
    tabular_registry: tuple[Registry, Artifact],
) -> None:
    m = tabular_registry[1].manifest
    y, proba = _test_split_proba(tabular_registry[1])
    expected = np.zeros((2, 2), dtype=int)
    np.add.at(expected, (y, proba.argmax(axis=1)), 1)
    found = m.evaluation["confusion_matrix"]
    assert found == {"labels": m.labels, "matrix": expected.tolist()}
    assert np.trace(expected) / len(y) == pytest.approx(m.metrics["accuracy"])


def test_calibration_and_precision_recall_cover_the_test_split(
    tabular_registry: tuple[Registry, Artifact],
) -> None:
    ev = tabular_registry[1].manifest.evaluation
    assert sum(ev["calibration"]["count"]) == ev["rows"]
    y, _ = _test_split_proba(tabular_registry[1])
    assert ev["precision_recall"]["prevalence"] == pytest.approx(np.mean(y == 1))
    assert ev["precision_recall"]["recall"][-1] == 1.0


def test_learning_curve_marks_the_early_stopping_point(
    tabular_registry: tuple[Registry, Artifact],
) -> None:
    m = tabular_registry[1].manifest
    curve = m.evaluation["learning_curve"]
    assert curve["metric"] == "roc_auc" and curve["patience"] == m.training["patience"]
    assert curve["epochs"] == list(range(1, m.training["epochs_run"] + 1))
    assert curve["best_epoch"] == m.training["best_epoch"]
    assert curve["stopped_epoch"] == m.training["epochs_run"]
    val = curve["val_loss"]
    assert val[curve["best_epoch"] - 1] == pytest.approx(min(val))
    assert val[curve["best_epoch"] - 1] == pytest.approx(m.training["best_val_loss"], abs=1e-6)
    for series in ("train_loss", "train_metric", "val_metric"):
        assert len(curve[series]) == len(curve["epochs"]) and None not in curve[series]
