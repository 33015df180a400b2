"""The shadow and monitoring benches' verdicts: medians of paired turns, totals beside them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from export.registry import Registry
from loadtests import bench_shadow
from loadtests.bench_monitoring import DRIFT, LOGGED
from loadtests.bench_monitoring import OFF as UNWATCHED
from loadtests.bench_monitoring import _report as monitoring_report
from loadtests.bench_shadow import OFF, ON, _report
from loadtests.load import LoadResult, paired_median
from tests.support.onnx_models import publish_linear


def load(latencies: list[float], seconds: float = 1.0) -> LoadResult:
    return LoadResult(32, seconds, latencies, Counter({200: len(latencies)}))


def test_paired_median_takes_each_turn_against_its_partner() -> None:
    # the machine halves its speed halfway: each pair still says 1.1
    assert paired_median([110.0, 55.0, 55.0], [100.0, 50.0, 50.0]) == pytest.approx(1.1)
    assert paired_median([1.0, 9.0, 1.2], [1.0, 1.0, 1.0]) == pytest.approx(1.2)  # one burst
    assert paired_median([], []) == 0.0
    with pytest.raises(ValueError):
        paired_median([1.0], [1.0, 2.0])


def test_the_shadow_verdict_is_the_median_of_the_turns_p99_ratios() -> None:
    base = list(np.linspace(1.0, 100.0, 100))
    slow = [x * 3 for x in base]  # a slow minute, fallen on both turns of a round
    burst = [x * 5 for x in base]  # and a burst on the last "on" turn alone
    loads = {
        OFF: [load(base), load(slow), load(base)],
        ON: [load([x * 1.04 for x in base]), load([x * 1.04 for x in slow]), load(burst)],
    }
    status = {"compared": 10, "dropped": 0, "failed": 0}
    report = _report("tabular", "1", "1", 1.0, 32, 3.0, 3, loads, status)
    p99 = float(np.percentile(base, 99))
    assert report["p99_by_turn"][OFF] == [p99, p99 * 3, p99]
    assert report["p99_ratio"] == pytest.approx(1.04) and report["met"] is True
    assert report["p99_ratio_merged"] > 1.05  # the burst decides the merged p99s
    assert [row["setup"] for row in report["setups"]] == [OFF, ON]
    slower = {OFF: [load(base)], ON: [load([x * 1.2 for x in base])]}
    assert _report("tabular", "1", "1", 1.0, 32, 1.0, 1, slower, status)["met"] is False


def test_the_monitoring_verdict_is_the_median_of_the_turns_rps_ratios() -> None:
    def turns(*rps: int) -> list[LoadResult]:
        return [load([1.0] * n) for n in rps]

    loads = {
        UNWATCHED: turns(1000, 500, 1000),
        DRIFT: turns(980, 490, 400),  # the third turn hit by a burst
        LOGGED: turns(880, 440, 880),
    }
    report = monitoring_report("tabular", "1", 32, 3.0, 3, loads, {k: {} for k in loads})
    rows = {row["setup"]: row for row in report["setups"]}
    assert rows[DRIFT]["ratio"] == pytest.approx(0.98) and rows[DRIFT]["met"] is True
    assert rows[DRIFT]["ratio_of_totals"] == pytest.approx(1870 / 2500)
    assert rows[LOGGED]["ratio"] == pytest.approx(0.88) and rows[LOGGED]["met"] is False


@pytest.mark.slow  # starts a real service twice
def test_the_bench_mirrors_in_its_on_turns_and_never_in_a_control_run(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    publish_linear(registry, seed=0)
    measured = bench_shadow.run(registry.root, "tabular", 4, 1.0, 1)
    control = bench_shadow.run(registry.root, "tabular", 4, 1.0, 1, control=True)
    assert measured["shadow_status"]["compared"] > 0 and not measured["control"]
    assert control["shadow_status"]["compared"] == 0 and control["control"]
    for report in (measured, control):
        assert [s["errors"] for s in report["setups"]] == [0, 0]
        assert all(s["requests"] > 0 for s in report["setups"])
