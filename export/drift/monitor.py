"""Drift of one model version: turn what it serves into features, window them, report.

Framework-free: the service feeds it from a background thread, tests and the
command line feed it directly.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from export.drift.reference import Reference
from export.drift.report import THRESHOLD, DriftReport, compare
from export.drift.views import Arrays
from export.drift.window import Clock, Window, WindowSettings
from export.errors import NoDriftReference
from export.manifest import Manifest


class Monitor:
    """A reference, its views and a bounded window of the features of served rows."""

    def __init__(
        self,
        reference: Reference,
        settings: WindowSettings | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.reference = reference
        self.window = Window(len(reference.features), settings or WindowSettings(), clock)

    @classmethod
    def for_manifest(
        cls,
        manifest: Manifest,
        settings: WindowSettings | None = None,
        clock: Clock = time.monotonic,
    ) -> Monitor:
        """A monitor of `manifest`'s version; `NoDriftReference` if it was published without
        reference statistics."""
        return cls(reference_of(manifest), settings, clock)

    def observe(self, inputs: Arrays, outputs: Arrays, now: float | None = None) -> int:
        """Add a batch's rows (inputs and outputs by name, as the graph takes and returns
        them); returns the rows added."""
        rows = features_of(self.reference, inputs, outputs)
        self.window.add(rows, now)
        return len(rows)

    def report(self, threshold: float = THRESHOLD, now: float | None = None) -> DriftReport:
        values, age = self.window.snapshot(now)
        settings = self.window.settings
        return compare(
            self.reference, values, threshold=threshold, min_rows=settings.min_rows, age_s=age
        )

    def describe(self) -> dict[str, Any]:
        settings = self.window.settings
        return {
            "max_rows": settings.max_rows,
            "max_age_s": settings.max_age_s,
            "min_rows": settings.min_rows,
        }


def reference_of(manifest: Manifest) -> Reference:
    """The reference statistics in `manifest`, or `NoDriftReference` saying why there are none."""
    if not manifest.drift:
        raise NoDriftReference(
            f"{manifest.name}:{manifest.version} has no reference statistics (it was published "
            "before ferry recorded them); publish a new version to measure its drift"
        )
    return Reference.from_dict(manifest.drift)


def features_of(reference: Reference, inputs: Arrays, outputs: Arrays) -> np.ndarray:
    """[rows, features]: the reference's features of a batch of inputs and outputs."""
    columns = [
        view.values(inputs if view.source == "input" else outputs) for view in reference.views
    ]
    rows = {len(c) for c in columns}
    if len(rows) > 1:
        raise ValueError(f"inputs and outputs hold different numbers of rows: {sorted(rows)}")
    return np.column_stack(columns) if columns else np.zeros((0, 0))


def drift_of(
    reference: Reference, inputs: Arrays, outputs: Arrays, threshold: float = THRESHOLD
) -> DriftReport:
    """Every row of a data set against the reference at once (no window): the offline report."""
    return compare(reference, features_of(reference, inputs, outputs), threshold=threshold)
