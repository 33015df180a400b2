"""Prometheus figures of our own, next to BentoML's request metrics on `/metrics`.

Created at service start (not import) because BentoML sets the multiprocess
directory for prometheus_client only when its worker starts; on import, a worker
moves to its instance's own folder (`service.serving.multiproc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.serving.multiproc import use_own_folder

use_own_folder()  # before prometheus_client opens a file in BentoML's shared folder

import prometheus_client as prom  # noqa: E402

from service.serving.refresh import RefreshResult  # noqa: E402

ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass
class Metrics:
    batch_rows: prom.Histogram
    batch_requests: prom.Histogram
    batch_seconds: prom.Histogram
    model_info: prom.Gauge
    refreshes: prom.Counter
    request_seconds: prom.Histogram
    model_ready: prom.Gauge
    _serving: dict[str, tuple[str, str]] = field(default_factory=dict)
    # `labels()` costs a lookup and a lock on every call; requests reuse their child.
    _per_request: dict[tuple[str, int], Any] = field(default_factory=dict)

    @classmethod
    def create(cls) -> Metrics:
        labels = ["model", "version"]
        return cls(
            prom.Histogram("ferry_batch_rows", "Rows per model batch", labels, buckets=ROW_BUCKETS),
            prom.Histogram(
                "ferry_batch_requests", "Requests per model batch", labels, buckets=ROW_BUCKETS
            ),
            prom.Histogram("ferry_batch_seconds", "Model time per batch", labels),
            prom.Gauge(
                "ferry_model_info",
                "1 for the version serving each model (0 once replaced), with its providers",
                ["model", "version", "providers"],
                multiprocess_mode="livemax",
            ),
            prom.Counter("ferry_refreshes", "Model refreshes by result", ["model", "result"]),
            # one histogram, no separate counter: its _count counts requests by status,
            # and every multiprocess metric write costs (6% of a 1-row request's CPU)
            prom.Histogram(
                "ferry_request_seconds",
                "Inference requests answered by the front, by endpoint and status",
                ["endpoint", "code"],
            ),
            # livemin: with several workers a model counts as ready only where all have it
            prom.Gauge(
                "ferry_model_ready",
                "1 while the model serves, 0 while it is loading or failed to load",
                ["model"],
                multiprocess_mode="livemin",
            ),
        )

    def observe_batch(self, batcher: str, rows: int, requests: int, seconds: float) -> None:
        model, _, version = batcher.partition(":")
        self.batch_rows.labels(model, version).observe(rows)
        self.batch_requests.labels(model, version).observe(requests)
        self.batch_seconds.labels(model, version).observe(seconds)

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        child = self._per_request.get((endpoint, status))
        if child is None:
            child = self.request_seconds.labels(endpoint, str(status))
            self._per_request[endpoint, status] = child
        child.observe(seconds)

    def serving(self, model: str, version: str, providers: list[str]) -> None:
        previous = self._serving.get(model)
        if previous is not None:
            self.model_info.labels(model, *previous).set(0)
        self._serving[model] = (version, ",".join(providers))
        self.model_info.labels(model, *self._serving[model]).set(1)

    def refreshed(self, result: RefreshResult, providers: list[str], ready: bool) -> None:
        if result.old is not None:  # a refresh; a model's first load shows in model_ready
            self.refreshes.labels(result.model, "failed" if result.error else "ok").inc()
        self.model_ready.labels(result.model).set(1 if ready else 0)
        if result.error is None and result.new is not None:
            self.serving(result.model, result.new, providers)
