"""The drift statistics against their textbook definitions and scipy (a test-only reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from export.drift.stats import (
    PSI_FLOOR,
    bin_edges,
    ks_statistic,
    normalised_wasserstein,
    proportions,
    psi,
    quantile_points,
    shares,
    wasserstein,
)

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
SAMPLE = arrays(np.float64, st.integers(1, 60), elements=FINITE)
# few distinct values: ties inside and across the samples
TIED = arrays(np.float64, st.integers(1, 60), elements=st.sampled_from([0.0, 1.0, 2.5, 16.0]))


def textbook_psi(expected: list[float], actual: list[float], floor: float) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, floor), max(a, floor)
        total += (a - e) * math.log(a / e)
    return total


def pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    return [
        (rng.normal(size=500), rng.normal(0.3, 1.2, size=170)),
        (rng.exponential(size=33), rng.exponential(2.0, size=1000)),
        (rng.integers(0, 17, size=400).astype(float), rng.integers(0, 12, size=90).astype(float)),
        (np.arange(10.0), np.arange(10.0)),  # identical: 0
        (np.zeros(5), np.ones(8)),  # disjoint: KS 1, W1 1
    ]


@pytest.mark.parametrize(("a", "b"), pairs())
def test_ks_and_wasserstein_equal_scipy(a: np.ndarray, b: np.ndarray) -> None:
    assert abs(ks_statistic(a, b) - scipy.stats.ks_2samp(a, b).statistic) <= 1e-9
    assert abs(wasserstein(a, b) - scipy.stats.wasserstein_distance(a, b)) <= 1e-9
    scale = float(np.std(b))  # a constant reference leaves the distance in its units
    expected = scipy.stats.wasserstein_distance(a, b) / (scale if scale > 0 else 1.0)
    assert abs(normalised_wasserstein(a, b, scale) - expected) <= 1e-9


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")  # its p-value, not ours
@settings(max_examples=200, deadline=None)
@given(a=SAMPLE | TIED, b=SAMPLE | TIED)
def test_ks_and_wasserstein_equal_scipy_on_any_samples(a: np.ndarray, b: np.ndarray) -> None:
    assert ks_statistic(a, b) == pytest.approx(scipy.stats.ks_2samp(a, b).statistic, abs=1e-9)
    want = scipy.stats.wasserstein_distance(a, b)
    assert wasserstein(a, b) == pytest.approx(want, abs=1e-9 * max(1.0, want))


def test_psi_is_the_textbook_sum() -> None:
    expected = [0.1, 0.2, 0.3, 0.4]
    actual = [0.25, 0.25, 0.25, 0.25]
    assert (
        abs(psi(np.array(expected), np.array(actual)) - textbook_psi(expected, actual, 0)) < 1e-12
    )
    # by hand: (.15 ln 2.5) + (.05 ln 1.25) + (-.05 ln(5/6)) + (-.15 ln(.625))
    by_hand = 0.15 * math.log(2.5) + 0.05 * math.log(1.25)
    by_hand += -0.05 * math.log(0.25 / 0.3) - 0.15 * math.log(0.625)
    assert psi(np.array(expected), np.array(actual)) == pytest.approx(by_hand, abs=1e-12)
    assert psi(np.array(expected), np.array(expected)) == 0.0


def test_psi_counts_an_empty_bin_as_the_floor() -> None:
    expected, actual = [0.5, 0.5, 0.0], [0.4, 0.4, 0.2]
    want = textbook_psi(expected, actual, PSI_FLOOR)
    assert psi(np.array(expected), np.array(actual)) == pytest.approx(want, abs=1e-12)
    assert math.isfinite(psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])))


def test_bins_are_right_closed_at_reference_quantiles() -> None:
    values = np.arange(1.0, 11.0)  # 1..10
    edges = bin_edges(values, 5)
    assert edges.tolist() == [2.0, 4.0, 6.0, 8.0]  # observed values, no interpolation
    # (-inf, 2], (2, 4], (4, 6], (6, 8], (8, inf)
    got = proportions(np.array([2.0, 2.0001, 4.0, 9.0, -5.0, 100.0]), edges)
    assert got.tolist() == pytest.approx([2 / 6, 2 / 6, 0, 0, 2 / 6])
    assert proportions(values, edges).tolist() == pytest.approx([0.2] * 5)


def test_repeated_values_collapse_bins() -> None:
    pixels = np.array([0.0] * 80 + [3.0] * 10 + [16.0] * 10)  # a mostly-dark pixel
    edges = bin_edges(pixels, 10)
    assert edges.tolist() == [0.0, 3.0]
    assert proportions(pixels, edges).tolist() == pytest.approx([0.8, 0.1, 0.1])


def test_shares_of_classes_ignore_codes_out_of_range() -> None:
    assert shares(np.array([0, 1, 1, 2, 5, -1]), 3).tolist() == pytest.approx([0.25, 0.5, 0.25])
    assert shares(np.array([], dtype=int), 2).tolist() == [0.0, 0.0]


def test_quantile_points_stand_for_the_sample() -> None:
    values = np.arange(100.0)
    points = quantile_points(values, 4)  # levels 1/8, 3/8, 5/8, 7/8
    assert points.tolist() == [12.0, 37.0, 62.0, 87.0]
    # 20 points of a uniform sample over 0..99 are within range / (4 * 20) of it
    assert wasserstein(values, quantile_points(values, 20)) <= 99 / 80
