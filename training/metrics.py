"""Classification metrics from predicted probabilities."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics

ROC_AUC = "roc_auc"
ACCURACY = "accuracy"


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, ROC AUC (binary on the positive class, one-vs-rest otherwise) and log loss."""
    proba = _normalised(proba)
    labels = np.arange(proba.shape[1])
    if proba.shape[1] == 2:
        auc = metrics.roc_auc_score(y_true, proba[:, 1])
    else:
        auc = metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, proba.argmax(axis=1))),
        "roc_auc": float(auc),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=labels)),
    }


def primary_metric(n_classes: int) -> str:
    """The figure a classifier is judged by: ROC AUC for two classes, accuracy for more."""
    return ROC_AUC if n_classes == 2 else ACCURACY


def metric_value(name: str, y_true: np.ndarray, proba: np.ndarray) -> float | None:
    """`primary_metric`'s figure on one split, or None where it is undefined (one class).

    Plain numpy, as the loop measures it every epoch: scikit-learn's argument checks
    cost ~20 ms a call on a busy machine, more than a small model's epoch."""
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    if name == ACCURACY:
        return float(np.mean(proba.argmax(axis=1) == y_true))
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Mann-Whitney U: the chance a random positive outscores a random negative, ties half
    ranks = rankdata(proba[:, 1] / proba.sum(axis=1))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _normalised(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    # float32 softmax rows sum to 1 only within ~1e-7; sklearn warns about that, so renormalise
    return proba / proba.sum(axis=1, keepdims=True)
