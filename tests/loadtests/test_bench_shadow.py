"""The shadow bench's verdict: the primary's p99 with the shadow on against off."""

from __future__ import annotations

from collections import Counter

import numpy as np

from loadtests.bench_shadow import OFF, ON, _report
from loadtests.load import LoadResult


def load(latencies: list[float]) -> LoadResult:
    return LoadResult(32, 1.0, latencies, Counter({200: len(latencies)}))


def test_the_verdict_is_the_ratio_of_the_merged_p99s() -> None:
    base = list(np.linspace(1.0, 100.0, 100))
    loads = {OFF: [load(base), load(base)], ON: [load([x * 1.04 for x in base]), load(base)]}
    status = {"compared": 10, "dropped": 0, "failed": 0}
    report = _report("tabular", "1", "1", 1.0, 32, 2.0, 2, loads, status)
    p99_off = np.percentile(base * 2, 99)
    p99_on = np.percentile([x * 1.04 for x in base] + base, 99)
    assert report["p99_ratio"] == p99_on / p99_off and report["met"] is True
    assert [row["setup"] for row in report["setups"]] == [OFF, ON]
    slower = {OFF: [load(base)], ON: [load([x * 1.2 for x in base])]}
    assert _report("tabular", "1", "1", 1.0, 32, 1.0, 1, slower, status)["met"] is False
