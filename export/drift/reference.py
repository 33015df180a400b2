"""Reference statistics: what a version's features looked like when it was published.

Stored as the manifest's `drift` block: the views (how to compute the features),
and per feature its quantile bin edges and shares of the training rows, a few
quantiles standing for the whole sample (for KS and Wasserstein) and its standard
deviation; the prediction's features come from the held-out rows. Bounded: at most
`bins` bins and `points` quantiles a feature, whatever the size of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from export.drift.plan import views_for
from export.drift.stats import bin_edges, proportions, quantile_points, shares
from export.drift.views import CATEGORICAL, Arrays, FeatureSpec, View, view_from_dict
from export.errors import ManifestError
from export.signature import Signature

FORMAT = 1
BINS = 10
POINTS = 20
#: Rows a reference is computed from at most (a seeded sample of larger data sets).
MAX_ROWS = 20_000
#: Reference rows per bin at least: a few held-out rows (114 predictions of the breast
#: cancer model) get fewer, wider bins, whose shares are known well enough that a window
#: drawn from the same distribution stays far below the threshold.
ROWS_PER_BIN = 25


@dataclass(frozen=True)
class FeatureReference:
    """One feature at publish: bins and their shares, or the shares of each class."""

    spec: FeatureSpec
    proportions: tuple[float, ...]
    edges: tuple[float, ...] = ()  # inner, right-closed bin edges (numeric features)
    points: tuple[float, ...] = ()  # quantiles at (i + 0.5) / len(points) (numeric)
    std: float = 0.0

    @property
    def name(self) -> str:
        return self.spec.name

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.spec.name,
            "source": self.spec.source,
            "kind": self.spec.kind,
            "proportions": list(self.proportions),
        }
        if self.spec.kind == CATEGORICAL:
            data["categories"] = list(self.spec.categories)
        else:
            data.update(edges=list(self.edges), points=list(self.points), std=self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReference:
        spec = FeatureSpec(
            str(data["name"]),
            data["source"],
            str(data["kind"]),
            tuple(str(c) for c in data.get("categories", ())),
        )
        return cls(
            spec,
            tuple(float(p) for p in data["proportions"]),
            tuple(float(e) for e in data.get("edges", ())),
            tuple(float(p) for p in data.get("points", ())),
            float(data.get("std", 0.0)),
        )


@dataclass(frozen=True)
class Reference:
    """Every feature's reference, in the order the views produce them."""

    views: tuple[View, ...]
    features: tuple[FeatureReference, ...]
    rows: dict[str, int] = field(default_factory=dict)  # rows behind inputs and outputs
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": dict(self.rows),
            "views": [view.to_dict() for view in self.views],
            "features": [feature.to_dict() for feature in self.features],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        """Parse a manifest's drift block; `ManifestError` naming what is wrong."""
        try:
            if int(data.get("format", 0)) != FORMAT:
                raise ValueError(f"format {data.get('format')!r} is not {FORMAT}")
            reference = cls(
                tuple(view_from_dict(v) for v in data["views"]),
                tuple(FeatureReference.from_dict(f) for f in data["features"]),
                {str(k): int(v) for k, v in data.get("rows", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ManifestError(f"invalid drift reference in the manifest: {err}") from err
        expected = [spec.name for view in reference.views for spec in view.specs()]
        if [f.name for f in reference.features] != expected:
            raise ManifestError(
                "invalid drift reference in the manifest: its features do not match its views"
            )
        return reference

    def names(self) -> list[str]:
        return [feature.name for feature in self.features]


def build_reference(
    signature: Signature,
    inputs: Arrays,
    outputs: Arrays,
    *,
    features: Sequence[str] = (),
    labels: Sequence[str] = (),
    preprocessing: dict[str, Any] | None = None,
    bins: int = BINS,
    points: int = POINTS,
    seed: int = 0,
) -> Reference:
    """Reference statistics of `inputs` (training rows) and `outputs` (the model's outputs
    on held-out rows), for the views `views_for` picks for this model."""
    views = views_for(signature, features, labels, preprocessing)
    inputs, outputs = _sample(inputs, seed), _sample(outputs, seed)
    found = []
    for view in views:
        columns = view.values(inputs if view.source == "input" else outputs)
        for index, spec in enumerate(view.specs()):
            found.append(feature_reference(spec, columns[:, index], bins, points))
    rows = {"inputs": _count(inputs), "outputs": _count(outputs)}
    return Reference(tuple(views), tuple(found), rows)


def feature_reference(
    spec: FeatureSpec, values: np.ndarray, bins: int = BINS, points: int = POINTS
) -> FeatureReference:
    """One feature's reference from its values in the reference rows."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if spec.kind == CATEGORICAL:
        found = shares(values.astype(np.int64), len(spec.categories))
        return FeatureReference(spec, tuple(_share(p) for p in found))
    # Shares are computed with the edges as stored (rounded), so a value equal to an edge
    # falls in the same bin here as in what is served later.
    bins = max(2, min(bins, values.size // ROWS_PER_BIN))
    edges = np.array([_compact(e) for e in bin_edges(values, bins)], dtype=np.float64)
    return FeatureReference(
        spec,
        tuple(_share(p) for p in proportions(values, edges)),
        tuple(float(e) for e in edges),
        tuple(_compact(p) for p in quantile_points(values, points)),
        _compact(float(values.std())) if values.size else 0.0,
    )


def _sample(arrays: Arrays, seed: int) -> Arrays:
    rows = _count(arrays)
    if rows <= MAX_ROWS:
        return arrays
    keep = np.sort(np.random.default_rng(seed).choice(rows, MAX_ROWS, replace=False))
    return {name: np.asarray(array)[keep] for name, array in arrays.items()}


def _count(arrays: Arrays) -> int:
    return len(next(iter(arrays.values()))) if arrays else 0


def _compact(value: float) -> float:
    """The shortest decimal of the nearest float32 (`10.49`, not `10.4899997711`): short
    JSON, and as precise as the float32 tensors the features mostly come from."""
    return float(str(np.float32(value)))


def _share(value: float) -> float:
    return round(float(value), 6)
