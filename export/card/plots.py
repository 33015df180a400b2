"""The evaluation charts of one version, or of several overlaid (`compare`).

Each chart reads one key of `manifest.evaluation`; a run without that key is left
out of the chart, and a chart no run has data for is not drawn (the card says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from export.card.charts import Axes, Mark, Series, line_chart
from export.card.heatmap import heatmap
from export.card.html import fmt
from export.card.svg import PALETTE, esc

CHANCE = "#999999"


@dataclass(frozen=True)
class Run:
    """One version's evaluation, tagged for legends ("" on a single card) with its colour."""

    tag: str
    evaluation: dict[str, Any]
    color: str = PALETTE[0]

    def name(self, what: str) -> str:
        return f"{self.tag} {what}".strip()


def figure(svg: str, caption: str, kind: str) -> str:
    """A chart with its caption, as the card lays them out."""
    return (
        f'<figure class="chart" data-chart="{esc(kind)}">{svg}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def loss_chart(runs: list[Run]) -> str | None:
    """Training and validation loss per epoch, the best epoch marked."""
    return _learning(runs, "loss", "Loss per epoch", "cross-entropy loss", "upper right")


def metric_chart(runs: list[Run]) -> str | None:
    """The primary metric per epoch on the training and validation splits."""
    curves = [r.evaluation.get("learning_curve") for r in runs]
    metric = next((c.get("metric") for c in curves if c and c.get("metric")), "metric")
    title = f"{metric} per epoch"
    return _learning(runs, "metric", title, str(metric), "lower right")


def roc_chart(runs: list[Run]) -> str | None:
    """ROC curves with their AUC, against the chance diagonal."""
    have = [(r, r.evaluation["roc"]) for r in runs if r.evaluation.get("roc")]
    if not have:
        return None
    series = [
        Series(r.name(f"AUC {roc['auc']:.4f}"), roc["fpr"], roc["tpr"], r.color) for r, roc in have
    ]
    series.append(Series("chance", [0, 1], [0, 1], CHANCE, dashed=True))
    axes = Axes("false positive rate", "true positive rate", (0, 1), (0, 1), legend="lower right")
    positive = runs[0].evaluation.get("positive_label", "the positive class")
    svg = line_chart("roc", "ROC curve (test split)", series, axes)
    return figure(svg, f"Positive class: {positive}. {_rows(runs)}", "roc")


def pr_chart(runs: list[Run]) -> str | None:
    """Precision against recall, with the no-skill line at the positive class's share."""
    have = [
        (r, r.evaluation["precision_recall"]) for r in runs if r.evaluation.get("precision_recall")
    ]
    if not have:
        return None
    series = [
        Series(
            r.name(f"AP {pr['average_precision']:.4f}"),
            pr["recall"],
            pr["precision"],
            r.color,
            steps=True,
        )
        for r, pr in have
    ]
    prevalence = float(have[0][1].get("prevalence", 0.0))
    series.append(
        Series(
            f"no skill ({prevalence:.2f})", [0, 1], [prevalence, prevalence], CHANCE, dashed=True
        )
    )
    axes = Axes("recall", "precision", (0, 1), (0, 1), legend="lower left")
    svg = line_chart("precision_recall", "Precision-recall curve (test split)", series, axes)
    return figure(svg, f"AP: average precision. {_rows(runs)}", "precision_recall")


def calibration_chart(runs: list[Run]) -> str | None:
    """Observed share of positives against the mean predicted probability, per bin."""
    have = [(r, r.evaluation["calibration"]) for r in runs if r.evaluation.get("calibration")]
    if not have:
        return None
    series = [
        Series(r.name("model"), c["mean_predicted"], c["fraction_positive"], r.color, markers=True)
        for r, c in have
    ]
    series.append(Series("perfectly calibrated", [0, 1], [0, 1], CHANCE, dashed=True))
    axes = Axes(
        "mean predicted probability", "fraction of positives", (0, 1), (0, 1), legend="lower right"
    )
    svg = line_chart("calibration", "Calibration (test split)", series, axes)
    counts = "; ".join(f"{r.tag or 'rows'} per bin: {fmt(c['count'])}" for r, c in have)
    bins = have[0][1].get("bins", "?")
    return figure(svg, f"{bins} equal-width bins, empty bins left out. {counts}", "calibration")


def confusion_chart(run: Run) -> str | None:
    """The confusion matrix of one run (true classes down, predicted across)."""
    found = run.evaluation.get("confusion_matrix")
    if not found:
        return None
    title = run.name("Confusion matrix (test split)")
    svg = heatmap("confusion_matrix", title, found["matrix"], found.get("labels", []))
    total = sum(sum(row) for row in found["matrix"])
    right = sum(found["matrix"][i][i] for i in range(len(found["matrix"])))
    caption = f"{right} of {total} rows on the diagonal; shade: share of the true class's rows."
    return figure(svg, caption, "confusion_matrix")


def parity_chart(runs: list[Run]) -> str | None:
    """How far the exported encoder is from sentence-transformers, text by text."""
    have = [(r, r.evaluation["parity_cosines"]) for r in runs if r.evaluation.get("parity_cosines")]
    if not have:
        return None
    series = [
        Series(
            r.name("1 - cosine"),
            list(range(1, len(p["cosines"]) + 1)),
            [1.0 - float(c) for c in p["cosines"]],
            r.color,
            markers=True,
        )
        for r, p in have
    ]
    axes = Axes("reference text", "1 - cosine", y_floor=0.0)
    svg = line_chart("parity_cosines", "Encoder vs its reference, per text", series, axes)
    first = have[0][1]
    caption = (
        f"Cosine between {first.get('reference', 'the reference')} and this encoder on "
        f"{first.get('texts', len(first['cosines']))} texts: min {first['min']:.9f}, "
        f"mean {first['mean']:.9f}."
    )
    return figure(svg, caption, "parity_cosines")


def _learning(runs: list[Run], what: str, title: str, y_label: str, legend: str) -> str | None:
    have = [(r, r.evaluation["learning_curve"]) for r in runs if r.evaluation.get("learning_curve")]
    series: list[Series] = []
    for run, curve in have:
        for split, dashed in (("train", True), ("val", False)):
            ys = curve.get(f"{split}_{what}") or []
            if any(y is not None for y in ys):
                shown = "train" if split == "train" else "validation"
                series.append(Series(run.name(shown), curve["epochs"], ys, run.color, dashed))
    if not series:
        return None
    marks = [
        Mark(float(c["best_epoch"]), f"{run.tag} best {c['best_epoch']}".strip(), run.color)
        for run, c in have
        if c.get("best_epoch")
    ]
    svg = line_chart(
        f"learning_{what}", title, series, Axes("epoch", y_label, legend=legend), marks
    )
    return figure(svg, _stopping(have), f"learning_{what}")


def _stopping(have: list[tuple[Run, dict[str, Any]]]) -> str:
    parts = []
    for run, curve in have:
        best, stopped = curve.get("best_epoch"), curve.get("stopped_epoch")
        patience = curve.get("patience")
        after = f" (patience {patience})" if patience else ""
        parts.append(
            f"{run.tag + ': ' if run.tag else ''}best validation loss at epoch {best}, "
            f"stopped after epoch {stopped}{after}"
        )
    return "; ".join(parts) + ". Dashed: training split, solid: validation split."


def _rows(runs: list[Run]) -> str:
    rows = [f"{r.tag + ' ' if r.tag else ''}{r.evaluation.get('rows', '?')} rows" for r in runs]
    return "Test split: " + ", ".join(rows) + "."
