"""Classification metrics from predicted probabilities."""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, ROC AUC (binary on the positive class, one-vs-rest otherwise) and log loss."""
    proba = np.asarray(proba, dtype=np.float64)
    # float32 softmax rows sum to 1 only within ~1e-7; sklearn warns about that, so renormalise
    proba = proba / proba.sum(axis=1, keepdims=True)
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
