"""Metrics of a text classifier on its test split."""

from __future__ import annotations

import numpy as np
from sklearn import metrics

from training.metrics import classification_metrics


def text_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 (every class counts the same, however rare), log loss and ROC AUC."""
    scores = classification_metrics(y_true, proba)
    predicted = np.asarray(proba).argmax(axis=1)
    labels = np.arange(np.shape(proba)[1])
    scores["macro_f1"] = float(
        metrics.f1_score(y_true, predicted, labels=labels, average="macro", zero_division=0)
    )
    return scores
