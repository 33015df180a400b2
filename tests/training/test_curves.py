"""The curves training records for cards, checked against scikit-learn and plain numpy."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from training import curves
from training.evaluation import split_figures
from training.history import MAX_EPOCHS, History
from training.metrics import metric_value


def _scores(rows: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Labels and positive-class scores of a decent but imperfect classifier."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    score = 1 / (1 + np.exp(-(1.6 * (2 * y - 1) + rng.normal(0, 1.5, rows))))
    return y, np.round(score, 2) if ties else score


def _trapezoid(xs: list[float], ys: list[float]) -> float:
    x, y = np.asarray(xs), np.asarray(ys)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


@pytest.mark.parametrize(("rows", "tolerance"), [(114, 1e-5), (300, 1e-5), (20_000, 2e-3)])
def test_roc_area_by_trapezoids_is_sklearns_auc(rows: int, tolerance: float) -> None:
    y, score = _scores(rows, seed=rows, ties=True)
    roc = curves.roc(y, score)
    assert len(roc["fpr"]) == len(roc["tpr"]) <= curves.MAX_POINTS
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    assert _trapezoid(roc["fpr"], roc["tpr"]) == pytest.approx(
        roc_auc_score(y, score), abs=tolerance
    )
    assert roc["auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_precision_recall_steps_give_sklearns_average_precision() -> None:
    y, score = _scores(90, seed=3)  # under 101 points: nothing dropped
    pr = curves.precision_recall(y, score)
    recall, precision = np.asarray(pr["recall"]), np.asarray(pr["precision"])
    assert recall[0] == 0 and recall[-1] == 1 and np.all(np.diff(recall) >= 0)
    # AP = sum over recall steps of the precision reached at the step's end
    stepped = float(np.sum(np.diff(recall) * precision[1:]))
    assert stepped == pytest.approx(average_precision_score(y, score), abs=1e-5)
    assert pr["average_precision"] == pytest.approx(average_precision_score(y, score))
    assert pr["prevalence"] == pytest.approx(y.mean())


def test_a_large_split_keeps_at_most_101_points_of_each_curve() -> None:
    y, score = _scores(50_000, seed=7)
    found = split_figures(y, np.stack([1 - score, score], axis=1), ["no", "yes"])
    for key, series in (("roc", "fpr"), ("precision_recall", "recall")):
        assert 50 < len(found[key][series]) <= curves.MAX_POINTS
    pr = found["precision_recall"]
    stepped = float(np.sum(np.diff(pr["recall"]) * np.asarray(pr["precision"])[1:]))
    assert stepped == pytest.approx(average_precision_score(y, score), abs=5e-3)


@pytest.mark.parametrize("ties", [False, True])
def test_calibration_matches_sklearns_curve(ties: bool) -> None:
    y, score = _scores(500, seed=11, ties=ties)
    found = curves.calibration(y, score)
    fraction, predicted = calibration_curve(y, score, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(found["fraction_positive"], fraction, atol=1e-6)
    np.testing.assert_allclose(found["mean_predicted"], predicted, atol=1e-6)
    assert sum(found["count"]) == 500 and found["bins"] == 10


def test_confusion_matrix_counts_every_row_once() -> None:
    rng = np.random.default_rng(5)
    y, predicted = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    expected = np.zeros((4, 4), dtype=int)
    np.add.at(expected, (y, predicted), 1)
    found = curves.confusion_matrix(y, predicted, ["a", "b", "c", "d"])
    assert found == {"labels": ["a", "b", "c", "d"], "matrix": expected.tolist()}


def test_multiclass_records_a_confusion_matrix_but_no_binary_curves() -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet(np.ones(3), size=60)
    found = split_figures(rng.integers(0, 3, 60), proba, ["x", "y", "z"])
    assert set(found) == {"split", "rows", "confusion_matrix"} and found["rows"] == 60


def test_epoch_metric_is_sklearns_with_ties() -> None:
    y, score = _scores(200, seed=9, ties=True)
    proba = np.stack([1 - score, score], axis=1)
    assert metric_value("roc_auc", y, proba) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert metric_value("roc_auc", np.ones(5, dtype=int), proba[:5]) is None
    three = np.random.default_rng(1).dirichlet(np.ones(3), size=50)
    labels = np.random.default_rng(2).integers(0, 3, 50)
    assert metric_value("accuracy", labels, three) == accuracy_score(labels, three.argmax(axis=1))


def test_a_long_learning_curve_keeps_its_best_and_last_epochs() -> None:
    history = History("roc_auc")
    for epoch in range(1, 301):
        history.add(epoch, train_loss=1 / epoch, val_loss=float("nan") if epoch == 5 else 1.0)
    curve = history.to_dict(best_epoch=137, patience=20)
    assert len(curve["epochs"]) <= MAX_EPOCHS and 137 in curve["epochs"]
    assert curve["epochs"][0] == 1 and curve["epochs"][-1] == curve["stopped_epoch"] == 300
    assert history.val_loss[4] is None  # a NaN epoch: JSON has no NaN
    assert curve["best_epoch"] == 137 and curve["patience"] == 20
