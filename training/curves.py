"""The curves a card draws, measured on the test split and kept small for the manifest.

ROC and precision-recall curves keep at most `MAX_POINTS` of their vertices, chosen
evenly along the curve's length, so a test split of a million rows still publishes a
few KB. The exact areas are stored beside each curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics

#: Most points a published curve keeps.
MAX_POINTS = 101
#: Equal-width probability bins of the calibration curve.
CALIBRATION_BINS = 10
DIGITS = 6


def roc(y_true: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """The ROC curve of a binary classifier's positive-class `score`, with its exact AUC."""
    fpr, tpr, _ = metrics.roc_curve(y_true, score, drop_intermediate=True)
    fpr, tpr = downsample(fpr, tpr, MAX_POINTS)
    return {
        "fpr": _list(fpr),
        "tpr": _list(tpr),
        "auc": float(metrics.roc_auc_score(y_true, score)),
    }


def precision_recall(y_true: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """The precision-recall curve (recall rising), its average precision and the prevalence
    of the positive class (a no-skill classifier's precision)."""
    precision, recall, _ = metrics.precision_recall_curve(y_true, score, drop_intermediate=True)
    recall, precision = downsample(recall[::-1], precision[::-1], MAX_POINTS)
    return {
        "recall": _list(recall),
        "precision": _list(precision),
        "average_precision": float(metrics.average_precision_score(y_true, score)),
        "prevalence": float(np.mean(np.asarray(y_true) == 1)),
    }


def calibration(
    y_true: np.ndarray, score: np.ndarray, bins: int = CALIBRATION_BINS
) -> dict[str, Any]:
    """Reliability diagram: per non-empty equal-width bin of `score`, the mean predicted
    probability, the observed fraction of positives and the number of rows."""
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(y_true) == 1
    # bin i holds (i/bins, (i+1)/bins], the first one also 0: scikit-learn's convention
    index = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], score)
    count = np.bincount(index, minlength=bins)
    filled = count > 0
    mean_predicted = np.bincount(index, weights=score, minlength=bins)[filled] / count[filled]
    fraction = np.bincount(index, weights=positive, minlength=bins)[filled] / count[filled]
    return {
        "bins": bins,
        "mean_predicted": _list(mean_predicted),
        "fraction_positive": _list(fraction),
        "count": [int(c) for c in count[filled]],
    }


def confusion_matrix(
    y_true: np.ndarray, predicted: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Counts of rows by true class (rows) and predicted class (columns), in `labels` order."""
    matrix = metrics.confusion_matrix(y_true, predicted, labels=np.arange(len(labels)))
    return {"labels": list(labels), "matrix": matrix.astype(int).tolist()}


def downsample(xs: np.ndarray, ys: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `limit` of the points, spread evenly along the polyline's length, both ends kept."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if len(xs) <= limit:
        return xs, ys
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
    targets = np.linspace(0.0, length[-1], limit)
    picked = np.unique(np.searchsorted(length, targets).clip(0, len(xs) - 1))
    picked = np.union1d(picked, [0, len(xs) - 1])
    return xs[picked], ys[picked]


def _list(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) for v in values]
