"""A shadow report as one PNG: the confusion of labels (classifiers) and the cosines.

matplotlib comes with the `report` extra (`pip install 'ferry[report]'`; `dev` has it);
it is imported only here, when a picture is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from export.shadow import COSINE_EDGES, ShadowReport


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_png(report: ShadowReport, path: Path) -> Path:
    """The picture of `report` at `path` (its folder is created)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    labelled = bool(report.summary.labels)
    figure, axes = plt.subplots(1, 2 if labelled else 1, figsize=(12 if labelled else 7, 4.5))
    panels = list(np.atleast_1d(axes))
    if labelled:
        _confusion(panels.pop(0), report)
    _cosines(panels[0], report)
    figure.suptitle(
        f"{report.model}@{report.alias}: shadow {report.shadow} against {report.primary}, "
        f"{report.summary.requests:,} requests"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _confusion(axes: Any, report: ShadowReport) -> None:
    summary = report.summary
    counts = summary.confusion
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(summary.labels))
    axes.set_xticks(ticks, summary.labels, rotation=30, ha="right")
    axes.set_yticks(ticks, summary.labels)
    axes.set_xlabel(f"shadow ({report.shadow})")
    axes.set_ylabel(f"primary ({report.primary})")
    for i, j in np.ndindex(counts.shape):
        colour = "white" if shares[i, j] > 0.5 else "black"
        axes.text(j, i, f"{int(counts[i, j]):,}", ha="center", va="center", color=colour)
    agreement = summary.label_agreement
    axes.set_title(f"labels: agreement {agreement:.4f}" if agreement is not None else "labels")


def _cosines(axes: Any, report: ShadowReport) -> None:
    """Rows per cosine bucket, on a scale of 1 - cosine (where variants differ)."""
    counts = report.summary.cosine_counts
    names = [*(f"≤ {e:.7g}" for e in COSINE_EDGES), "> 1"]  # each bucket's upper bound
    shown = [i for i, n in enumerate(counts) if n] or [len(names) - 2]
    low, high = min(shown), max(shown)
    x = np.arange(low, high + 1)
    axes.bar(x, counts[low : high + 1])
    axes.set_xticks(x, [names[i] for i in x], rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("rows")
    axes.set_xlabel("cosine between primary and shadow outputs")
    mean = report.summary.cosine_mean
    axes.set_title(f"cosines: mean {mean:.6f}" if mean is not None else "cosines")
