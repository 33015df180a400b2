"""How a shadow version's answers compare with the primary's: a summary that merges.

Every figure is kept as counts, sums, minima and maxima, so the summaries of several
replicas (or of one replica over time) add up to the summary of all their traffic,
exactly: label agreement and the confusion of labels (classifiers), mean and max
|Δ| over the first output's elements, and the cosine of each row's outputs (min,
mean, and a histogram for quantiles, fine near 1 where variants differ).

The cosine is the one `ferry export` reports for variants (`export.quality`): rows as
flat float64 vectors, NaN the worst case, two equal zero rows 1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Upper bounds of the cosine histogram's buckets (the last one, +inf, is implicit):
#: four a decade in 1 - cosine from 1 down to 1e-7, so a quantile near 1 is read to
#: within a factor of 1.8 of its distance from 1.
COSINE_EDGES: tuple[float, ...] = (-0.5, 0.0, *(1.0 - 10 ** (-k / 4) for k in range(1, 29)), 1.0)
QUANTILES = (0.01, 0.05, 0.5)
LABELS, COSINE = "labels", "cosine"


@dataclass
class AgreementSummary:
    """The comparison of a shadow's answers with the primary's over some requests."""

    requests: int = 0  # mirrored requests compared
    rows: int = 0
    failed: int = 0  # mirrored requests the shadow could not answer
    dropped: int = 0  # requests not mirrored: the shadow queue was full
    labels: list[str] = field(default_factory=list)
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    abs_diff_sum: float = 0.0
    abs_diff_count: int = 0
    abs_diff_max: float = 0.0
    cosine_sum: float = 0.0
    cosine_min: float = math.inf
    cosine_max: float = -math.inf
    cosine_counts: np.ndarray = field(
        default_factory=lambda: np.zeros(len(COSINE_EDGES) + 1, dtype=np.int64)
    )

    # --- adding ------------------------------------------------------------------
    def add(
        self,
        primary: np.ndarray,
        shadow: np.ndarray,
        requests: int,
        label_pairs: tuple[list[str], np.ndarray, list[str], np.ndarray] | None = None,
    ) -> None:
        """Compare one batch: the first output of each version, row for row; with
        `label_pairs` (primary labels, their indices, shadow labels, their indices)
        the predicted labels too."""
        want = np.asarray(primary, dtype=np.float64).reshape(len(primary), -1)
        got = np.asarray(shadow, dtype=np.float64).reshape(len(shadow), -1)
        if want.shape != got.shape:
            raise ValueError(f"outputs have shapes {want.shape} and {got.shape}")
        cosine = row_cosines(want, got)
        diff = np.nan_to_num(np.abs(want - got), nan=np.inf)
        self.requests += requests
        self.rows += len(want)
        self.abs_diff_sum += float(diff.sum())
        self.abs_diff_count += int(diff.size)
        self.abs_diff_max = max(self.abs_diff_max, float(diff.max(initial=0.0)))
        self.cosine_sum += float(cosine.sum())
        self.cosine_min = min(self.cosine_min, float(cosine.min(initial=math.inf)))
        self.cosine_max = max(self.cosine_max, float(cosine.max(initial=-math.inf)))
        self.cosine_counts += np.bincount(
            np.searchsorted(COSINE_EDGES, cosine, side="left"), minlength=len(COSINE_EDGES) + 1
        )
        if label_pairs is not None:
            self._add_labels(*label_pairs)

    def _add_labels(
        self, names: list[str], indices: np.ndarray, shadow_names: list[str], shadow: np.ndarray
    ) -> None:
        rows = self._label_index(names)[np.asarray(indices)]
        cols = self._label_index(shadow_names)[np.asarray(shadow)]
        np.add.at(self.confusion, (rows, cols), 1)

    def _label_index(self, names: list[str]) -> np.ndarray:
        """Where each of `names` sits in this summary's labels (added when new)."""
        new = [n for n in names if n not in self.labels]
        if new:
            grown = np.zeros((len(self.labels) + len(new),) * 2, dtype=np.int64)
            grown[: len(self.labels), : len(self.labels)] = self.confusion
            self.labels, self.confusion = [*self.labels, *new], grown
        return np.array([self.labels.index(n) for n in names], dtype=np.int64)

    def merge(self, other: AgreementSummary) -> AgreementSummary:
        """The summary of both (neither is changed)."""
        merged = AgreementSummary.from_dict(self.to_dict())
        merged.requests += other.requests
        merged.rows += other.rows
        merged.failed += other.failed
        merged.dropped += other.dropped
        merged.abs_diff_sum += other.abs_diff_sum
        merged.abs_diff_count += other.abs_diff_count
        merged.abs_diff_max = max(merged.abs_diff_max, other.abs_diff_max)
        merged.cosine_sum += other.cosine_sum
        merged.cosine_min = min(merged.cosine_min, other.cosine_min)
        merged.cosine_max = max(merged.cosine_max, other.cosine_max)
        merged.cosine_counts = merged.cosine_counts + other.cosine_counts
        index = merged._label_index(other.labels)
        merged.confusion[np.ix_(index, index)] += other.confusion
        return merged

    # --- figures -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """What `agreement` measures: predicted labels, or the cosine of the outputs."""
        return LABELS if self.labels else COSINE

    @property
    def label_agreement(self) -> float | None:
        """Share of rows whose predicted labels agree (None: no labels compared)."""
        total = int(self.confusion.sum())
        return float(np.trace(self.confusion)) / total if total else None

    @property
    def cosine_mean(self) -> float | None:
        return self.cosine_sum / self.rows if self.rows else None

    @property
    def agreement(self) -> float | None:
        """Label agreement for classifiers, else the mean cosine; None before any row."""
        return self.label_agreement if self.kind == LABELS else self.cosine_mean

    @property
    def abs_diff_mean(self) -> float | None:
        return self.abs_diff_sum / self.abs_diff_count if self.abs_diff_count else None

    def cosine_quantile(self, q: float) -> float | None:
        """A lower bound of the `q` quantile of the rows' cosines: the lower edge of the
        histogram bucket it falls in, kept within the smallest and largest cosine seen
        (so identical outputs read 1.0, not the edge below it)."""
        total = int(self.cosine_counts.sum())
        if not total:
            return None
        bucket = int(np.searchsorted(np.cumsum(self.cosine_counts), q * total, side="left"))
        lower = COSINE_EDGES[bucket - 1] if bucket > 0 else -1.0
        return min(max(lower, self.cosine_min), self.cosine_max)

    def figures(self) -> dict[str, Any]:
        """Every derived figure, for reports, gauges and the gate."""
        return {
            "requests": self.requests,
            "rows": self.rows,
            "failed": self.failed,
            "dropped": self.dropped,
            "kind": self.kind,
            "agreement": self.agreement,
            "label_agreement": self.label_agreement,
            # null also when NaN came out of a version (JSON has no infinity)
            "abs_diff_max": _finite(self.abs_diff_max) if self.abs_diff_count else None,
            "abs_diff_mean": None if self.abs_diff_mean is None else _finite(self.abs_diff_mean),
            "cosine_min": self.cosine_min if self.rows else None,
            "cosine_mean": self.cosine_mean,
            **{f"cosine_p{round(q * 100):02d}": self.cosine_quantile(q) for q in QUANTILES},
        }

    # --- JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        confusion = {
            p: {s: int(n) for s, n in zip(self.labels, row, strict=True) if n}
            for p, row in zip(self.labels, self.confusion, strict=True)
            if row.any()
        }
        return {
            "requests": self.requests,
            "rows": self.rows,
            "failed": self.failed,
            "dropped": self.dropped,
            "labels": list(self.labels),
            "confusion": confusion,
            "abs_diff": {
                "sum": self.abs_diff_sum,
                "count": self.abs_diff_count,
                "max": _finite(self.abs_diff_max),
            },
            "cosine": {
                "sum": self.cosine_sum,
                "min": _finite(self.cosine_min),
                "max": _finite(self.cosine_max),
                "edges": list(COSINE_EDGES),
                "counts": [int(n) for n in self.cosine_counts],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgreementSummary:
        """A summary from `to_dict`'s JSON; raises `ValueError` for one that is not."""
        try:
            cosine, diff = data["cosine"], data["abs_diff"]
            if [float(e) for e in cosine["edges"]] != list(COSINE_EDGES):
                raise ValueError("cosine histogram with other bucket edges")
            summary = cls(
                requests=int(data["requests"]),
                rows=int(data["rows"]),
                failed=int(data.get("failed", 0)),
                dropped=int(data.get("dropped", 0)),
                abs_diff_sum=float(diff["sum"]),
                abs_diff_count=int(diff["count"]),
                abs_diff_max=_number(diff["max"]),
                cosine_sum=float(cosine["sum"]),
                cosine_min=_number(cosine["min"], math.inf),
                cosine_max=_number(cosine.get("max"), -math.inf),
                cosine_counts=np.array([int(n) for n in cosine["counts"]], dtype=np.int64),
            )
            labels = [str(label) for label in data.get("labels", [])]
            index = summary._label_index(labels)
            for p, row in (data.get("confusion") or {}).items():
                for s, n in row.items():
                    summary.confusion[index[labels.index(p)], index[labels.index(s)]] += int(n)
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not an agreement summary: {err}") from err
        if len(summary.cosine_counts) != len(COSINE_EDGES) + 1:
            raise ValueError("cosine histogram of the wrong length")
        return summary


def row_cosines(want: np.ndarray, got: np.ndarray) -> np.ndarray:
    """The cosine between matching rows, as `export.quality.agreement` computes it (equal
    rows: exactly 1)."""
    norms = np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1)
    cosine = np.nan_to_num((want * got).sum(axis=1) / np.maximum(norms, 1e-12), nan=-1.0)
    # equal rows agree exactly: two zero rows (a masked-out text embeds to zeros in both
    # graphs), and any others, whose cosine would otherwise round to 1 - 2e-16
    return np.asarray(np.where(np.all(want == got, axis=1), 1.0, cosine))


def _finite(value: float) -> float | None:
    """JSON has no infinity: an infinite max |Δ| (NaN in an output) is written as null."""
    return value if math.isfinite(value) else None


def _number(value: Any, missing: float = math.inf) -> float:
    return missing if value is None else float(value)
