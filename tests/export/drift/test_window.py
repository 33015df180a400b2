"""The sliding window is bounded by rows and by time, and judges only with rows enough."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from export.drift import Monitor, Window, WindowSettings
from tests.export.drift.test_reference import reference


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_keeps_the_newest_rows_up_to_max_rows() -> None:
    window = Window(2, WindowSettings(max_rows=5, max_age_s=60, min_rows=1), Clock())
    window.add(np.array([[0, 0], [1, 1], [2, 2]]))
    window.add(np.array([[3, 3], [4, 4], [5, 5], [6, 6]]))
    values, _ = window.snapshot()
    assert values[:, 0].tolist() == [2, 3, 4, 5, 6]  # oldest first
    window.add(np.arange(40.0).reshape(20, 2))  # larger than the window: its newest rows
    assert window.snapshot()[0][:, 0].tolist() == [30, 32, 34, 36, 38]


def test_rows_older_than_max_age_leave_the_window() -> None:
    clock = Clock()
    window = Window(1, WindowSettings(max_rows=100, max_age_s=60, min_rows=1), clock)
    window.add(np.array([[1.0], [2.0]]))
    clock.now += 30
    window.add(np.array([[3.0]]))
    clock.now += 10
    values, age = window.snapshot()
    assert values[:, 0].tolist() == [1, 2, 3] and age == 40
    clock.now += 25  # the first two are 65 s old
    values, age = window.snapshot()
    assert values[:, 0].tolist() == [3] and age == 35
    clock.now += 100
    values, age = window.snapshot()
    assert len(values) == 0 and age == 0
    window.add(np.array([[9.0]]))
    window.clear()
    assert len(window.snapshot()[0]) == 0


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_rows >= 1"):
        WindowSettings(max_rows=0)


def test_concurrent_adds_lose_no_row() -> None:
    window = Window(1, WindowSettings(max_rows=4000, max_age_s=60, min_rows=1))

    def feed(value: float) -> None:
        for _ in range(100):
            window.add(np.full((10, 1), value))

    threads = [threading.Thread(target=feed, args=(float(i),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    values, _ = window.snapshot()
    assert len(values) == 4000
    assert np.bincount(values[:, 0].astype(int)).tolist() == [1000] * 4


def test_a_monitor_judges_only_a_full_enough_window() -> None:
    built, x = reference()
    clock = Clock()
    monitor = Monitor(built, WindowSettings(max_rows=1000, max_age_s=60, min_rows=200), clock)
    shifted = x[:150].astype(np.float64) + 10.0  # far out of every bin
    probabilities = np.tile([[0.5, 0.5]], (150, 1))
    assert monitor.observe({"features": shifted}, {"probabilities": probabilities}) == 150
    early = monitor.report()
    assert early.rows == 150 and not early.enough and not early.drifted
    assert early.worst() is not None and early.worst().psi > 1  # measured, not judged
    monitor.observe({"features": shifted[:60]}, {"probabilities": probabilities[:60]})
    late = monitor.report()
    assert late.enough and late.drifted
    assert late.to_dict()["drifted_features"][:2] == ["f0", "f1"]
    clock.now += 61
    assert monitor.report().rows == 0
