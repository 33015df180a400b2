"""A bounded sliding window of feature rows: the last `max_rows` rows, none older than
`max_age_s`. Thread-safe; memory is fixed at creation (`max_rows` x features floats)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Clock = Callable[[], float]


@dataclass(frozen=True)
class WindowSettings:
    """How much a window keeps and how much it needs before judging drift."""

    max_rows: int = 1000
    max_age_s: float = 3600.0
    #: Fewer rows than this are reported but never called drifted: PSI's noise on N rows
    #: is about (bins - 1) / N, and at 500 rows against a few hundred reference rows
    #: the chance that one of 30 undrifted features passes 0.2 is well under 1%.
    min_rows: int = 500

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.max_age_s <= 0 or self.min_rows < 1:
            raise ValueError(
                f"a drift window needs max_rows >= 1 (got {self.max_rows}), max_age_s > 0 "
                f"(got {self.max_age_s}) and min_rows >= 1 (got {self.min_rows})"
            )


class Window:
    """The newest rows of `width` features in a ring buffer, with the time each arrived."""

    def __init__(self, width: int, settings: WindowSettings, clock: Clock = time.monotonic):
        self.settings = settings
        self.clock = clock
        self._values = np.zeros((settings.max_rows, width), dtype=np.float64)
        self._times = np.full(settings.max_rows, -np.inf)
        self._next = 0  # where the next row goes
        self._lock = threading.Lock()

    @property
    def width(self) -> int:
        return int(self._values.shape[1])

    def add(self, rows: np.ndarray, now: float | None = None) -> None:
        """Append `rows` ([n, width]); the oldest rows make way when the window is full."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.width)
        size = self.settings.max_rows
        rows = rows[-size:]  # a batch larger than the window: only its newest rows fit
        stamp = self.clock() if now is None else now
        with self._lock:
            slots = (self._next + np.arange(len(rows))) % size
            self._values[slots] = rows
            self._times[slots] = stamp
            self._next = int((self._next + len(rows)) % size)

    def snapshot(self, now: float | None = None) -> tuple[np.ndarray, float]:
        """A copy of the rows younger than `max_age_s`, oldest first, and the oldest's age."""
        now = self.clock() if now is None else now
        with self._lock:
            order = (self._next + np.arange(self.settings.max_rows)) % self.settings.max_rows
            times = self._times[order]
            live = times >= now - self.settings.max_age_s
            values = self._values[order][live]
        age = float(now - times[live][0]) if live.any() else 0.0
        return values, max(age, 0.0)

    def clear(self) -> None:
        with self._lock:
            self._times[:] = -np.inf
            self._next = 0
