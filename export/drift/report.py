"""Compare served rows with a reference: PSI, KS and normalised Wasserstein per feature."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from export.drift.reference import FeatureReference, Reference
from export.drift.stats import ks_statistic, normalised_wasserstein, proportions, psi, shares
from export.drift.views import CATEGORICAL

#: PSI at or above which a feature counts as drifted (the usual "significant shift").
THRESHOLD = 0.2


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's distance from its reference over the rows compared."""

    name: str
    source: str
    kind: str
    psi: float
    ks: float | None  # numeric features only
    wasserstein: float | None  # in reference standard deviations; numeric only
    drifted: bool
    current: list[float] = field(default_factory=list)  # the rows' shares of each bin

    def to_dict(self) -> dict[str, Any]:
        return {key: _finite(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    """Every feature's drift, and whether there were rows enough to judge it."""

    rows: int
    min_rows: int
    threshold: float
    features: list[FeatureDrift]
    age_s: float = 0.0  # how long ago the oldest row compared arrived

    @property
    def enough(self) -> bool:
        """Whether the rows are enough to judge: fewer leave every feature not drifted."""
        return self.rows >= self.min_rows

    @property
    def drifted(self) -> bool:
        return any(f.drifted for f in self.features)

    def worst(self) -> FeatureDrift | None:
        """The feature with the highest PSI."""
        return max(self.features, key=lambda f: f.psi, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "min_rows": self.min_rows,
            "enough_rows": self.enough,
            "age_s": round(self.age_s, 3),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "drifted_features": [f.name for f in self.features if f.drifted],
            "features": [f.to_dict() for f in self.features],
        }


def compare(
    reference: Reference,
    values: np.ndarray,
    *,
    threshold: float = THRESHOLD,
    min_rows: int = 1,
    age_s: float = 0.0,
) -> DriftReport:
    """Drift of `values` ([rows, features], from the reference's views) per feature."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(reference.features))
    rows = len(values)
    enough = rows >= max(min_rows, 1)
    found = [
        feature_drift(feature, values[:, index], threshold, enough)
        for index, feature in enumerate(reference.features)
    ]
    return DriftReport(rows, min_rows, threshold, found, age_s)


def feature_drift(
    reference: FeatureReference, values: np.ndarray, threshold: float, judge: bool = True
) -> FeatureDrift:
    """PSI over the reference's bins; for numeric features KS and Wasserstein-1 (over the
    reference's standard deviation) against its quantile points."""
    spec = reference.spec
    expected = np.asarray(reference.proportions, dtype=np.float64)
    values = values[np.isfinite(values)]
    if spec.kind == CATEGORICAL:
        current = shares(values.astype(np.int64), len(spec.categories))
        ks = distance = None
    else:
        current = proportions(values, np.asarray(reference.edges, dtype=np.float64))
        points = np.asarray(reference.points, dtype=np.float64)
        ks = ks_statistic(values, points)
        distance = normalised_wasserstein(values, points, reference.std)
    score = psi(expected, current) if values.size else math.nan
    drifted = judge and values.size > 0 and score >= threshold
    shown = [round(float(p), 6) for p in current]
    return FeatureDrift(spec.name, spec.source, spec.kind, score, ks, distance, drifted, shown)


def _finite(value: Any) -> Any:
    """JSON has no NaN: a statistic of no rows is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
