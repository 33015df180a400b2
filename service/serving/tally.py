"""Histogram observations counted in the process and written to Prometheus in bulk.

In multiprocess mode (BentoML's) every `Histogram.observe` takes two locked mmap
writes, a few microseconds each: on a 1-row MLP request, the histograms observed
per request cost about a tenth of its CPU (measured in-process: ~30 us of ~300).
A `Tally` counts into a list instead (a bisect and an increment) and `flush`
adds each bucket's count and the sum at once; the service flushes every second
and before it answers a scrape (`InferenceFront.before_metrics`).
"""

from __future__ import annotations

import bisect
from typing import Any


class Tally:
    """The pending observations of one labelled histogram child."""

    def __init__(self, child: Any, bounds: tuple[float, ...]) -> None:
        self.child = child
        self.bounds = (*bounds, float("inf"))
        self.counts = [0] * len(self.bounds)
        self.total = 0.0
        self.pending = 0
        # prometheus_client keeps a child's values in `_buckets` and `_sum`; if a
        # release renames them, every observation goes through `observe` instead.
        self.bulk = hasattr(child, "_buckets") and hasattr(child, "_sum")

    def observe(self, value: float) -> None:
        if not self.bulk:
            self.child.observe(value)
            return
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.pending += 1

    def flush(self) -> None:
        """Write the pending observations to the histogram."""
        if not self.pending:
            return
        for index, count in enumerate(self.counts):
            if count:
                self.child._buckets[index].inc(count)
                self.counts[index] = 0
        self.child._sum.inc(self.total)
        self.total, self.pending = 0.0, 0
