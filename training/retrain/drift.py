"""`--when-drift`: retrain only when the fresh rows have drifted from what the champion
was trained on, measured against the reference statistics in the champion's manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from export.drift import DriftReport, drift_of, reference_of
from export.errors import NoDriftReference
from export.registry import Artifact
from training.data import Table
from training.errors import RetrainError
from training.retrain.evaluate import run_graph


@dataclass(frozen=True)
class DriftCheck:
    """What the drift check saw: where, against which version, and which features moved."""

    source: str  # "drops", or the URL of a service's drift endpoint
    version: str
    rows: int
    threshold: float
    drifted: dict[str, float] = field(default_factory=dict)  # feature -> PSI, at or over
    worst: str = ""
    worst_psi: float = 0.0

    @property
    def observed(self) -> bool:
        return bool(self.drifted)

    def reason(self) -> str:
        """One line: why the run goes on, or why it stops."""
        if self.observed:
            listed = ", ".join(f"{name} {value:.3f}" for name, value in self.drifted.items())
            return f"drift in {self.source} against v{self.version}: PSI {listed}"
        return (
            f"no drift in {self.source} ({self.rows} rows) against v{self.version}: highest "
            f"PSI {self.worst_psi:.3f} ({self.worst}) < {self.threshold:g}; "
            "nothing to retrain for (drop --when-drift to retrain anyway)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "observed": self.observed, "reason": self.reason()}


def check_report(report: DriftReport, threshold: float, source: str, version: str) -> DriftCheck:
    """A check from a report: every feature whose PSI is `threshold` or more."""
    drifted = {f.name: round(f.psi, 4) for f in report.features if f.psi >= threshold}
    worst = report.worst()
    return DriftCheck(
        source,
        version,
        report.rows,
        threshold,
        drifted,
        worst.name if worst else "",
        round(worst.psi, 4) if worst else 0.0,
    )


def drift_in_rows(champion: Artifact, fresh: Table, threshold: float) -> DriftCheck:
    """Drift of `fresh` (the drops' rows the champion has not seen) and of the champion's
    predictions on them, against the champion's reference."""
    manifest = champion.manifest
    try:
        reference = reference_of(manifest)
    except NoDriftReference as err:
        raise RetrainError(
            f"{err}; --when-drift needs it: retrain once without --when-drift"
        ) from err
    inputs, outputs = run_graph(champion, np.asarray(fresh.X))
    report = drift_of(reference, inputs, outputs, threshold)
    return check_report(report, threshold, "the drops", manifest.version)
