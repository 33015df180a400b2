"""PNG histograms of drifted features: the reference's shares of each bin beside the rows'.

matplotlib comes with the `report` extra (`pip install 'ferry[report]'`; `dev` has it);
it is imported only here, when plots are asked for.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np

from export.drift import DriftReport, Reference
from export.drift.reference import FeatureReference
from export.drift.report import FeatureDrift


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_plots(reference: Reference, report: DriftReport, folder: Path, label: str) -> list[Path]:
    """One PNG per drifted feature in `folder` (created); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    by_name = {f.name: f for f in reference.features}
    written = []
    for drift in (f for f in report.features if f.drifted):
        figure = _figure(plt, by_name[drift.name], drift, label)
        path = folder / f"{_file_name(drift.name)}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


def _figure(plt: Any, feature: FeatureReference, drift: FeatureDrift, label: str) -> Any:
    ticks = _bin_labels(feature)
    x = np.arange(len(ticks))
    figure, axes = plt.subplots(figsize=(max(6.0, 0.7 * len(ticks)), 4))
    axes.bar(x - 0.2, feature.proportions, 0.4, label="reference (training)")
    axes.bar(x + 0.2, drift.current, 0.4, label=label)
    axes.set_xticks(x, ticks, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("share of rows")
    extra = f", KS {drift.ks:.3f}" if drift.ks is not None else ""
    axes.set_title(f"{drift.name}: PSI {drift.psi:.3f}{extra}")
    axes.legend()
    figure.tight_layout()
    return figure


def _bin_labels(feature: FeatureReference) -> list[str]:
    if feature.spec.categories:
        return list(feature.spec.categories)
    edges = [f"{e:.4g}" for e in feature.edges]
    if not edges:
        return ["all"]
    inner = [f"({low}, {high}]" for low, high in itertools.pairwise(edges)]
    return [f"≤ {edges[0]}", *inner, f"> {edges[-1]}"]


def _file_name(feature: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", feature).strip("_") or "feature"
