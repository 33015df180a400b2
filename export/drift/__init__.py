"""Drift: how far what a version serves has moved from what it was trained on.

Torch-free and numpy-only, so training (which publishes the reference), the
service (which watches served rows) and the command line share one definition:

- `stats`: PSI over reference bins, KS, Wasserstein-1 (textbook definitions)
- `views`, `plan`: which scalar features a model's inputs and outputs become
- `reference`: the statistics a manifest's `drift` block holds
- `report`: one comparison, per feature; `window`: a bounded sliding window
- `monitor`: a version's reference + window, fed batch by batch
"""

from __future__ import annotations

from export.drift.monitor import Monitor, drift_of, features_of, reference_of
from export.drift.reference import Reference, build_reference
from export.drift.report import THRESHOLD, DriftReport, FeatureDrift, compare
from export.drift.window import Window, WindowSettings

__all__ = [
    "THRESHOLD",
    "DriftReport",
    "FeatureDrift",
    "Monitor",
    "Reference",
    "Window",
    "WindowSettings",
    "build_reference",
    "compare",
    "drift_of",
    "features_of",
    "reference_of",
]
