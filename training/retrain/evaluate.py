"""Score published artifacts on a holdout with ONNX Runtime: the graph that is served."""

from __future__ import annotations

import numpy as np

from export.registry import Artifact
from training.data import Table
from training.errors import RetrainError
from training.metrics import classification_metrics

METRICS = ("roc_auc", "accuracy", "log_loss")
LOWER_IS_BETTER = frozenset({"log_loss"})
OUTPUT = "probabilities"


def primary_metric_for(labels: list[str], wanted: str | None = None) -> str:
    """`wanted`, else ROC AUC for two classes and accuracy for more."""
    metric = wanted or ("roc_auc" if len(labels) == 2 else "accuracy")
    if metric not in METRICS:
        raise RetrainError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return metric


def evaluate(artifact: Artifact, holdout: Table) -> dict[str, float]:
    """Accuracy, ROC AUC and log loss of `artifact` (sha256 already verified) on `holdout`."""
    proba = predict(artifact, holdout.X)
    if proba.shape != (holdout.rows, len(holdout.labels)):
        raise RetrainError(
            f"{artifact.manifest.name}:{artifact.manifest.version} returns shape {proba.shape} "
            f"for {holdout.rows} rows; expected one probability per class ({holdout.labels})"
        )
    return classification_metrics(holdout.y, proba)


def predict(artifact: Artifact, X: np.ndarray) -> np.ndarray:
    """Class probabilities from the artifact's graph on the CPU provider."""
    _, outputs = run_graph(artifact, X)
    output = OUTPUT if OUTPUT in outputs else next(iter(outputs))
    return np.asarray(outputs[output], dtype=np.float64)


def run_graph(
    artifact: Artifact, X: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The graph's input built from the table rows `X`, and every output, by name."""
    from export.session import open_session

    signature = artifact.manifest.signature
    if len(signature.inputs) != 1:
        names = [spec.name for spec in signature.inputs]
        raise RetrainError(f"can only evaluate single-input models; this one takes {names}")
    spec = signature.inputs[0]
    feed = np.asarray(X, dtype=spec.dtype)
    if all(d > 0 for d in spec.shape[1:]):
        feed = feed.reshape((-1, *spec.shape[1:]))  # e.g. flat pixel columns -> images
    names = [out.name for out in signature.outputs]
    results = open_session(artifact.model_path).run(names, {spec.name: feed})
    return {spec.name: feed}, dict(zip(names, results, strict=True))


def better_or_close(metric: str, challenger: float, champion: float, tolerance: float) -> bool:
    """Challenger no worse than the champion by more than `tolerance`."""
    slack = 1e-12  # float noise must not decide a tie
    if metric in LOWER_IS_BETTER:
        return challenger <= champion + tolerance + slack
    return challenger >= champion - tolerance - slack
