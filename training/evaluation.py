"""What training records about a classifier on its test split, for `manifest.evaluation`."""

from __future__ import annotations

from typing import Any

import numpy as np

from training import curves


def split_figures(y_true: np.ndarray, proba: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """The confusion matrix of every classifier; for two classes also the ROC,
    precision-recall and calibration curves of the positive class (`labels[1]`)."""
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    found: dict[str, Any] = {
        "split": "test",
        "rows": len(y_true),
        "confusion_matrix": curves.confusion_matrix(y_true, proba.argmax(axis=1), labels),
    }
    if proba.shape[1] == 2 and len(np.unique(y_true)) == 2:
        score = proba[:, 1] / proba.sum(axis=1)
        found["positive_label"] = labels[1]
        found["roc"] = curves.roc(y_true, score)
        found["precision_recall"] = curves.precision_recall(y_true, score)
        found["calibration"] = curves.calibration(y_true, score)
    return found


def evaluation(
    learning_curve: dict[str, Any], y_true: np.ndarray, proba: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """`manifest.evaluation` of a classifier: its learning curve and its test-split figures."""
    found = split_figures(y_true, proba, labels)
    if learning_curve:
        found["learning_curve"] = learning_curve
    return found
