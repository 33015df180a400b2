"""The drift statistics, numpy only: PSI over reference bins, KS and Wasserstein-1.

Each function is the textbook definition on two samples (or two sets of bin
proportions), so it can be checked against `scipy.stats` without scipy being a
serving dependency.

Bins are right-closed: with inner edges `e_1 < ... < e_k`, bin 0 is `(-inf, e_1]`,
bin i is `(e_i, e_{i+1}]` and bin k is `(e_k, inf)`. Edges are values of the
reference sample, so a value that repeats (a pixel that is often 0) falls in one
bin in the reference and in what is served alike.
"""

from __future__ import annotations

import numpy as np

#: What an empty bin's proportion counts as in PSI, whose log term is otherwise infinite
#: (the usual choice in credit-scoring practice, where PSI comes from).
PSI_FLOOR = 1e-4


def bin_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Inner edges of up to `bins` quantile bins of `values` (fewer where values repeat)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    levels = np.arange(1, bins) / bins
    if levels.size == 0 or values.size == 0:
        return np.zeros(0, dtype=np.float64)
    return np.unique(
        np.quantile(np.asarray(values, dtype=np.float64), levels, method="inverted_cdf")
    )


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The right-closed bin of every value: 0 .. len(edges)."""
    return np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="left")


def proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of `values` in each bin of the inner `edges` (sums to 1; zeros if empty)."""
    counts = np.bincount(bin_index(values, edges), minlength=len(edges) + 1).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def shares(codes: np.ndarray, categories: int) -> np.ndarray:
    """The share of each category 0 .. categories-1 among integer `codes`."""
    codes = np.asarray(codes, dtype=np.int64)
    codes = codes[(codes >= 0) & (codes < categories)]
    counts = np.bincount(codes, minlength=categories).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index: sum over bins of (a - e) * ln(a / e), proportions below
    `floor` counted as `floor`. 0 for identical shares; 0.1 is a small shift, 0.2 a large one."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    if e.shape != a.shape:
        raise ValueError(f"bin counts differ: {e.shape} and {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs
    (what `scipy.stats.ks_2samp(a, b).statistic` returns)."""
    a, b = _sorted(a), _sorted(b)
    if a.size == 0 or b.size == 0:
        return float("nan")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance between the two samples' distributions: the area between
    their empirical CDFs (what `scipy.stats.wasserstein_distance(a, b)` returns)."""
    a, b = _sorted(a), _sorted(b)
    if a.size == 0 or b.size == 0:
        return float("nan")
    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)
    cdf_a = np.searchsorted(a, points[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, points[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def normalised_wasserstein(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    """`wasserstein(a, b)` in units of `scale` (the reference's standard deviation; a
    constant reference has none, and its distance is left in the feature's own units)."""
    distance = wasserstein(a, b)
    return distance / scale if scale > 0 else distance


def quantile_points(values: np.ndarray, points: int) -> np.ndarray:
    """`points` equally weighted values that stand for the sample: its quantiles at the
    midpoints (i + 0.5) / points. KS and Wasserstein against a reference use these."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0, dtype=np.float64)
    levels = (np.arange(points) + 0.5) / points
    return np.quantile(values, levels, method="inverted_cdf")


def _sorted(values: np.ndarray) -> np.ndarray:
    """The finite values, sorted: a NaN has no place on a CDF."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    return np.sort(flat[np.isfinite(flat)])
