"""The shadow's Prometheus figures: increments that add up to the summary, bounded labels."""

from __future__ import annotations

import numpy as np
import prometheus_client as prom

from export.shadow import COSINE_EDGES, AgreementSummary
from service.serving.shadow import Session, ShadowGauges

LABELS = ["no", "yes"]
SESSION = Session("tabular", "production", "1", "2", "r00000002")
PAIR = {"model": "tabular", "primary": "1", "shadow": "2"}


def compared(summary: AgreementSummary, primary: np.ndarray, shadow: np.ndarray) -> None:
    labels = (LABELS, primary.argmax(1), LABELS, shadow.argmax(1))
    summary.add(primary, shadow, len(primary), labels)


def test_counters_and_the_histogram_follow_the_cumulative_summary() -> None:
    registry = prom.CollectorRegistry()
    gauges = ShadowGauges(registry)
    summary = AgreementSummary()
    compared(summary, np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.8, 0.2], [0.6, 0.4]]))
    gauges.update(SESSION, summary)
    compared(summary, np.array([[0.9, 0.1]]), np.array([[0.9, 0.1]]))
    summary.failed, summary.dropped = 4, 5
    gauges.update(SESSION, summary)
    gauges.update(SESSION, summary)  # nothing new: nothing added

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {**PAIR, **labels})

    assert value("ferry_shadow_requests_total", result="compared") == 3
    assert value("ferry_shadow_requests_total", result="failed") == 4
    assert value("ferry_shadow_requests_total", result="dropped") == 5
    assert value("ferry_shadow_rows_total") == 3 and value("ferry_shadow_label_rows_total") == 3
    assert value("ferry_shadow_label_agreements_total") == 2
    assert value("ferry_shadow_agreement") == 2 / 3
    assert value("ferry_shadow_abs_diff_max") == np.float64(0.4)
    assert value("ferry_shadow_cosine_count") == 3
    ones = value("ferry_shadow_cosine_bucket", le="1.0")
    below = value("ferry_shadow_cosine_bucket", le=str(COSINE_EDGES[-2]))
    assert ones == 3 and below == 2  # one row's outputs were equal: cosine exactly 1
    names = {m.name for m in registry.collect()}
    assert all(
        set(s.labels) <= {*PAIR, "result", "le"} for m in registry.collect() for s in m.samples
    )
    assert "ferry_shadow_cosine" in names
