"""Axis ranges and tick values at round numbers (1, 2, 2.5, 5 times 10^k), and their labels."""

from __future__ import annotations

import math
from collections.abc import Iterable

STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def span(values: Iterable[float | None], floor: float | None = None) -> tuple[float, float]:
    """The smallest and largest of the finite `values`, widened when they are all equal."""
    found = [v for v in values if v is not None and math.isfinite(v)]
    if floor is not None:
        found.append(floor)
    if not found:
        return 0.0, 1.0
    lo, hi = min(found), max(found)
    if hi - lo < 1e-300:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    return lo, hi


def step_for(lo: float, hi: float, count: int = 5) -> float:
    """A round step giving about `count` intervals between `lo` and `hi`."""
    raw = (hi - lo) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in STEPS if raw <= m * magnitude * (1 + 1e-9))


def nice(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """`lo..hi` widened outwards to whole steps, and the ticks from end to end."""
    step = step_for(lo, hi, count)
    start, stop = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [_clean(i * step) for i in range(start, stop + 1)]
    return ticks[0], ticks[-1], ticks


def fixed(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round ticks inside a range that must not widen (e.g. probabilities 0..1)."""
    step = step_for(lo, hi, count)
    start, stop = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [_clean(i * step) for i in range(start, stop + 1)]


def label(value: float, ticks: list[float]) -> str:
    """`value` written with as many decimals as the tick step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    largest = max(abs(t) for t in ticks) if ticks else abs(value)
    if largest < 1e-3 or step < 1e-9:
        return f"{value:.2g}" if value else "0"
    if largest >= 1e4 and step >= 1e3:  # 800k, 1.2M: short enough for the axis
        scale, suffix = (1e6, "M") if largest >= 1e6 else (1e3, "k")
        return label(value / scale, [t / scale for t in ticks]) + suffix if value else "0"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10**decimals, 6) % 1:  # 2.5, 0.25: one more decimal
        decimals += 1
    return f"{value:,.{decimals}f}"


def _clean(value: float) -> float:
    # i * 0.1 is 0.30000000000000004; labels and comparisons want 0.3
    return float(f"{value:.12g}")
