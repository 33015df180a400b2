"""The protocols bench's reading of /metrics (Prometheus' histogram_quantile, worked by
hand), and its floor: both protocols answered with no model behind them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loadtests.bench_protocols import buckets, histogram_quantile, protocol_floor

EXPOSITION = """\
# HELP ferry_request_end_to_end_seconds Successful inference requests
# TYPE ferry_request_end_to_end_seconds histogram
ferry_request_end_to_end_seconds_bucket{le="0.01",model="digits",version="1"} 10.0
ferry_request_end_to_end_seconds_bucket{le="0.02",model="digits",version="1"} 60.0
ferry_request_end_to_end_seconds_bucket{le="0.05",model="digits",version="1"} 98.0
ferry_request_end_to_end_seconds_bucket{le="+Inf",model="digits",version="1"} 100.0
ferry_request_end_to_end_seconds_bucket{le="0.01",model="tabular",version="1"} 7.0
"""


def test_buckets_of_one_model() -> None:
    assert buckets(EXPOSITION, "digits") == {0.01: 10, 0.02: 60, 0.05: 98, float("inf"): 100}


@pytest.mark.parametrize(
    ("q", "want"),
    [
        (0.05, 0.005),  # rank 5 of 10 in the first bucket, which starts at 0
        (0.5, 0.018),  # rank 50: 0.01 + 0.01 * (50 - 10) / (60 - 10)
        (0.98, 0.05),  # rank 98: the top of the 0.05 bucket
        (0.99, 0.05),  # rank 99 falls in +Inf: Prometheus answers the highest finite bound
    ],
)
def test_histogram_quantile_interpolates_like_prometheus(q: float, want: float) -> None:
    assert histogram_quantile(q, buckets(EXPOSITION, "digits")) == pytest.approx(want)


def test_the_protocols_floor_answers_both_protocols_alike(tmp_path: Path) -> None:
    x = np.ones((32, 64), dtype=np.float32)
    floor = protocol_floor("digits", "pixels", x, 20, 2, tmp_path / "floor.log")
    assert floor["rest_binary_p50_ms"] > 0 and floor["grpc_p50_ms"] > 0
    assert floor["bit_identical"]  # the same output bytes over both protocols
    assert floor["grpc_minus_rest_ms"] == pytest.approx(
        floor["grpc_p50_ms"] - floor["rest_binary_p50_ms"], abs=2e-3
    )
