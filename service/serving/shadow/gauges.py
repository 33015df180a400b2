"""Prometheus figures of shadow scoring, labelled by model, primary and shadow version only.

Counters and the cosine histogram add up across replicas and workers (the fleet's
label agreement is `sum(rate(ferry_shadow_label_agreements_total)) /
sum(rate(ferry_shadow_label_rows_total))`); the gauges are this process's figures
over its whole session. The shadow thread writes them every `FERRY_SHADOW_REPORT_S`,
the counters and histogram as increments since its last write.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import prometheus_client as prom

from export.shadow import COSINE_EDGES, AgreementSummary
from service.serving.shadow.jobs import Session

PAIR = ["model", "primary", "shadow"]
RESULTS = ("compared", "failed", "dropped")


class ShadowGauges:
    """The shadow's metrics; created at service start, like `Metrics`."""

    def __init__(self, registry: prom.CollectorRegistry | None = prom.REGISTRY) -> None:
        def gauge(name: str, doc: str) -> prom.Gauge:
            return prom.Gauge(name, doc, PAIR, registry=registry, multiprocess_mode="livemax")

        def counter(name: str, doc: str, labels: list[str] = PAIR) -> prom.Counter:
            return prom.Counter(name, doc, labels, registry=registry)

        self.requests = counter(
            "ferry_shadow_requests",
            "Requests mirrored to the shadow, by result: compared, failed (the shadow "
            "raised), dropped (the shadow queue was full)",
            [*PAIR, "result"],
        )
        self.rows = counter("ferry_shadow_rows", "Rows compared between primary and shadow")
        self.label_rows = counter(
            "ferry_shadow_label_rows", "Rows whose predicted labels were compared (classifiers)"
        )
        self.label_agreements = counter(
            "ferry_shadow_label_agreements", "Rows whose primary and shadow labels agree"
        )
        self.agreement = gauge(
            "ferry_shadow_agreement",
            "This process's label agreement (classifiers) or mean cosine (others) over the session",
        )
        self.abs_diff_mean = gauge(
            "ferry_shadow_abs_diff_mean", "Mean |primary - shadow| per output element"
        )
        self.abs_diff_max = gauge(
            "ferry_shadow_abs_diff_max", "Max |primary - shadow| over the session"
        )
        self.cosine = prom.Histogram(
            "ferry_shadow_cosine",
            "Cosine between each row's primary and shadow outputs",
            PAIR,
            buckets=COSINE_EDGES,
            registry=registry,
        )
        self._sent: dict[Session, dict[str, Any]] = {}

    def update(self, session: Session, summary: AgreementSummary) -> None:
        """Bring the figures of `session` up to `summary` (cumulative)."""
        labels = (session.model, session.primary, session.shadow)
        sent = self._sent.setdefault(session, _nothing())
        now = {
            "compared": summary.requests,
            "failed": summary.failed,
            "dropped": summary.dropped,
            "rows": summary.rows,
            "label_rows": int(summary.confusion.sum()),
            "agreements": int(np.trace(summary.confusion)) if summary.labels else 0,
            "counts": summary.cosine_counts.copy(),
            "cosine_sum": summary.cosine_sum,
        }
        for result in RESULTS:
            _inc(self.requests.labels(*labels, result), now[result] - sent[result])
        _inc(self.rows.labels(*labels), now["rows"] - sent["rows"])
        if summary.labels:
            _inc(self.label_rows.labels(*labels), now["label_rows"] - sent["label_rows"])
            _inc(self.label_agreements.labels(*labels), now["agreements"] - sent["agreements"])
        self._histogram(
            labels, now["counts"] - sent["counts"], now["cosine_sum"] - sent["cosine_sum"]
        )
        figures = summary.figures()
        for gauge, key in (
            (self.agreement, "agreement"),
            (self.abs_diff_mean, "abs_diff_mean"),
            (self.abs_diff_max, "abs_diff_max"),
        ):
            if figures[key] is not None:
                gauge.labels(*labels).set(figures[key])
        self._sent[session] = now

    def _histogram(self, labels: tuple[str, ...], counts: np.ndarray, total: float) -> None:
        child = self.cosine.labels(*labels)
        # prometheus_client keeps a child's buckets in `_buckets` (see service.serving.tally);
        # adding each bucket's count at once costs one write, not one per row
        if not (hasattr(child, "_buckets") and hasattr(child, "_sum")) or not counts.any():
            return
        for index, count in enumerate(counts):
            if count:
                child._buckets[index].inc(int(count))
        child._sum.inc(total)

    def forget(self, session: Session) -> None:
        self._sent.pop(session, None)


def _nothing() -> dict[str, Any]:
    return {
        **dict.fromkeys(("compared", "failed", "dropped", "rows", "label_rows", "agreements"), 0),
        "counts": np.zeros(len(COSINE_EDGES) + 1, dtype=np.int64),
        "cosine_sum": 0.0,
    }


def _inc(counter: Any, amount: float) -> None:
    if amount > 0:
        counter.inc(amount)
