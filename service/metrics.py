"""Prometheus figures of our own, next to BentoML's request metrics on `/metrics`.

Created at service start (not import) because BentoML sets the multiprocess
directory for prometheus_client only when its worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import prometheus_client as prom

ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass
class Metrics:
    batch_rows: prom.Histogram
    batch_requests: prom.Histogram
    batch_seconds: prom.Histogram
    model_info: prom.Gauge
    rejected: prom.Counter

    @classmethod
    def create(cls) -> Metrics:
        return cls(
            prom.Histogram(
                "ferry_batch_rows", "Rows per model batch", ["model"], buckets=ROW_BUCKETS
            ),
            prom.Histogram(
                "ferry_batch_requests", "Requests per model batch", ["model"], buckets=ROW_BUCKETS
            ),
            prom.Histogram("ferry_batch_seconds", "Model time per batch", ["model"]),
            prom.Gauge(
                "ferry_model_info",
                "1 for the version serving each model, with its execution providers",
                ["model", "version", "providers"],
                multiprocess_mode="livemax",
            ),
            prom.Counter(
                "ferry_rejected_requests", "Requests refused before batching", ["model", "status"]
            ),
        )

    def observe_batch(self, model: str, rows: int, requests: int, seconds: float) -> None:
        self.batch_rows.labels(model).observe(rows)
        self.batch_requests.labels(model).observe(requests)
        self.batch_seconds.labels(model).observe(seconds)

    def serving(self, model: str, version: str, providers: list[str]) -> None:
        self.model_info.labels(model, version, ",".join(providers)).set(1)
