"""Prometheus figures of our own, next to BentoML's request metrics on `/metrics`.

Created at service start (not import) because BentoML sets the multiprocess
directory for prometheus_client only when its worker starts. Every metric about a
model is labelled `model` and `version` only, so the series stay bounded by what
is loaded. The README's metrics table lists them all.

Every multiprocess metric write costs a few microseconds (a lock and an mmap
write), so the hot path writes nothing to them: histograms are counted in the
process (`service.serving.tally`) and written out by `publish` once a second and
before each scrape, when the gauges (queue depth, requests in flight) are also read
from the batchers.
On import, a worker moves to its instance's own multiprocess folder
(`service.serving.multiproc`), so another BentoML server on the host cannot wipe it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.serving.multiproc import use_own_folder

use_own_folder()  # before prometheus_client opens a file in BentoML's shared folder

import prometheus_client as prom  # noqa: E402

from service.serving.batcher import BatchStats  # noqa: E402
from service.serving.handlers import Answer  # noqa: E402
from service.serving.protocol.response import VERSION_HEADER  # noqa: E402
from service.serving.refresh import RefreshResult  # noqa: E402
from service.serving.served import ServedModel  # noqa: E402
from service.serving.tally import Tally  # noqa: E402

ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
TOKEN_BUCKETS = tuple(2**k for k in range(4, 18))  # 16 .. 131072 token positions
# Steps of 1.2-1.33x from 5 ms to 1 s, where latency quantiles are read: the linear
# interpolation of `histogram_quantile` inside a bucket is then off by a few percent
# at most, where the client library's defaults (2-2.5x steps) can be off by a third.
SECONDS_BUCKETS = (
    *(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004),
    *(0.005, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06),
    *(0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0),
    *(1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0),
)
MODEL = ["model", "version"]


@dataclass
class Metrics:
    batch_rows: prom.Histogram
    batch_requests: prom.Histogram
    batch_seconds: prom.Histogram
    batch_compute: prom.Histogram
    batch_tokens: prom.Histogram
    queue_wait: prom.Histogram
    end_to_end: prom.Histogram
    queue_rows: prom.Gauge
    in_flight: prom.Gauge
    model_info: prom.Gauge
    refreshes: prom.Counter
    request_seconds: prom.Histogram
    model_ready: prom.Gauge
    _serving: dict[str, tuple[str, str]] = field(default_factory=dict)
    # `labels()` costs a lookup and a lock on every call; each child gets one tally.
    _tallies: dict[tuple[Any, ...], Tally] = field(default_factory=dict)
    _bounds: dict[int, tuple[float, ...]] = field(default_factory=dict)  # by id(histogram)
    _sampled: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def create(cls, registry: prom.CollectorRegistry = prom.REGISTRY) -> Metrics:
        bounds: dict[int, tuple[float, ...]] = {}

        def histogram(
            name: str, about: str, buckets: Iterable[float], labels: Iterable[str] = MODEL
        ) -> prom.Histogram:
            made = prom.Histogram(name, about, labels, buckets=tuple(buckets), registry=registry)
            bounds[id(made)] = tuple(buckets)
            return made

        def gauge(name: str, about: str) -> prom.Gauge:
            return prom.Gauge(name, about, MODEL, multiprocess_mode="livesum", registry=registry)

        return cls(
            histogram("ferry_batch_rows", "Rows per model batch", ROW_BUCKETS),
            histogram("ferry_batch_requests", "Requests per model batch", ROW_BUCKETS),
            histogram(
                "ferry_batch_seconds",
                "Batch time from dispatch to results: hand-off, join, model run, split",
                SECONDS_BUCKETS,
            ),
            histogram("ferry_batch_compute_seconds", "Model run time per batch", SECONDS_BUCKETS),
            histogram(
                "ferry_batch_tokens",
                "Token positions per text-model batch (rows x the batch's padded length)",
                TOKEN_BUCKETS,
            ),
            histogram(
                "ferry_queue_wait_seconds",
                "Time each request waited in its model's queue before its batch started",
                SECONDS_BUCKETS,
            ),
            histogram(
                "ferry_request_end_to_end_seconds",
                "Successful inference requests, from arrival at the server to the answer",
                SECONDS_BUCKETS,
            ),
            gauge("ferry_queue_rows", "Rows waiting in the model's queue (sampled each second)"),
            gauge(
                "ferry_in_flight_requests",
                "Requests queued or being computed for the model (sampled each second)",
            ),
            prom.Gauge(
                "ferry_model_info",
                "1 for the version serving each model (0 once replaced), with its providers",
                ["model", "version", "providers"],
                multiprocess_mode="livemax",
                registry=registry,
            ),
            prom.Counter(
                "ferry_refreshes",
                "Model refreshes by result",
                ["model", "result"],
                registry=registry,
            ),
            # one histogram, no separate counter: its _count counts requests by status
            histogram(
                "ferry_request_seconds",
                "Inference requests answered by the front or the gRPC server, by endpoint "
                "and status",
                SECONDS_BUCKETS,
                ["endpoint", "code"],
            ),
            # livemin: with several workers a model counts as ready only where all have it
            prom.Gauge(
                "ferry_model_ready",
                "1 while the model serves, 0 while it is loading or failed to load",
                ["model"],
                multiprocess_mode="livemin",
                registry=registry,
            ),
            _bounds=bounds,
        )

    def _child(self, metric: prom.Histogram, *labels: str) -> Tally:
        key = (id(metric), *labels)
        tally = self._tallies.get(key)
        if tally is None:
            tally = Tally(metric.labels(*labels), self._bounds[id(metric)])
            self._tallies[key] = tally
        return tally

    def publish(self, served: Iterable[ServedModel]) -> None:
        """Write the tallied observations out and sample the gauges (once a second)."""
        for tally in self._tallies.values():
            tally.flush()
        self.sample(served)

    def observe_batch(self, stats: BatchStats) -> None:
        """A batch's figures (the batcher's `on_stats` hook)."""
        model, _, version = stats.name.partition(":")
        self._child(self.batch_rows, model, version).observe(stats.rows)
        self._child(self.batch_requests, model, version).observe(stats.requests)
        self._child(self.batch_seconds, model, version).observe(stats.seconds)
        self._child(self.batch_compute, model, version).observe(stats.compute_s)
        if stats.tokens:
            self._child(self.batch_tokens, model, version).observe(stats.tokens)
        waits = self._child(self.queue_wait, model, version)
        for wait in stats.waits:
            waits.observe(wait)

    def request(self, endpoint: str, answer: Answer, seconds: float) -> None:
        """One answered inference request: by endpoint and status, and by model when it
        succeeded."""
        self._child(self.request_seconds, endpoint, str(answer.status)).observe(seconds)
        version = answer.headers.get(VERSION_HEADER)
        if answer.status == 200 and answer.model and version:
            self.answered(answer.model, version, seconds)

    def answered(self, model: str, version: str, seconds: float) -> None:
        """End-to-end time of one successful inference request."""
        self._child(self.end_to_end, model, version).observe(seconds)

    def sample(self, served: Iterable[ServedModel]) -> None:
        """Set the queue gauges from every loaded version's batcher; zero those retired."""
        seen = set()
        for version in served:
            labels = (version.runtime.name, version.runtime.version)
            seen.add(labels)
            self.queue_rows.labels(*labels).set(version.batcher.queued_rows)
            self.in_flight.labels(*labels).set(version.batcher.in_flight)
        for labels in self._sampled - seen:
            self.queue_rows.labels(*labels).set(0)
            self.in_flight.labels(*labels).set(0)
        self._sampled = seen

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
